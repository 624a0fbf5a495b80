/**
 * The package's own folders, found from wherever the running code was loaded: the compiled
 * files (dist/src/…) and the one-file CLI bundle (dist/cli/…) sit at different depths.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/** The folder holding nabla's package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, "package.json")) || !existsSync(join(folder, "examples"))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error("nabla: cannot find its own package folder");
    folder = parent;
  }
  return (root = folder);
}

/** A path inside the package. */
export const packagePath = (...parts: string[]): string => join(packageRoot(), ...parts);
