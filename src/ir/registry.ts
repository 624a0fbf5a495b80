import type { OpDef, SurfaceParam } from "./op.js";

/**
 * The op table. ops/ registers its definitions (ops/registry.ts) when it is loaded; the IR
 * builder, the evaluator and the lowering look ops up here, so the core never imports them.
 */
const table = new Map<string, OpDef>();

export function registerOps(defs: readonly OpDef[]): void {
  for (const def of defs) {
    if (table.has(def.name)) throw new Error(`op ${def.name} registered twice`);
    table.set(def.name, def);
  }
}

export function getOp(name: string): OpDef {
  const def = table.get(name);
  if (!def) throw new Error(`no op named ${name}`);
  return def;
}

export function allOps(): readonly OpDef[] {
  return [...table.values()];
}

/** Functions users can call by name. */
export function surfaceFunction(name: string): OpDef | undefined {
  const def = table.get(name);
  return def?.surface ? def : undefined;
}

export function surfaceNames(): string[] {
  return [...table.values()].filter((d) => d.surface).map((d) => d.name);
}

/** How a function is called, for editors: `leaky_relu(x, alpha = 0.01)`. */
export function signature(name: string, params: readonly SurfaceParam[]): string {
  return `${name}(${params.map((p) => (p.default === undefined ? p.name : `${p.name} = ${p.default}`)).join(", ")})`;
}
