import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

/** The folders of src/ and which others each imports from. */
function folderImports(): Map<string, Set<string>> {
  const src = resolve(import.meta.dirname, "../../src");
  const edges = new Map<string, Set<string>>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) {
        const from = relative(src, dir).split("/")[0]!;
        for (const m of readFileSync(path, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
          const target = relative(src, resolve(dir, m[1]!));
          if (target.startsWith("..") || !target.includes("/")) continue;
          const to = target.split("/")[0]!;
          if (from !== "" && to !== from) edges.set(from, (edges.get(from) ?? new Set()).add(to));
        }
      }
    }
  };
  walk(src);
  return edges;
}

describe("the source folders", () => {
  it("depend one way: no folder imports, through others, one that imports it", () => {
    const edges = folderImports();
    const reach = (start: string): Set<string> => {
      const seen = new Set<string>();
      const stack = [start];
      while (stack.length > 0)
        for (const next of edges.get(stack.pop()!) ?? [])
          if (!seen.has(next)) stack.push(seen.add(next) && next);
      return seen;
    };
    const cyclic = [...edges.keys()].filter((folder) => reach(folder).has(folder));
    expect(cyclic).toEqual([]);
    expect(edges.get("ir")?.has("ops")).toBeFalsy();
  });
});
