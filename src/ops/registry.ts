import type { OpDef } from "./def.js";
import { elementwiseOps } from "./elementwise.js";
import { linalgOps } from "./linalg.js";
import { reduceOps } from "./reduce.js";
import { lossOps } from "./losses.js";
import { convOps } from "./conv.js";
import { poolOps } from "./pool.js";
import { dimOps } from "./dims.js";
import { stepOps } from "./steps.js";

const table = new Map<string, OpDef>();
for (const def of [
  ...elementwiseOps,
  ...linalgOps,
  ...reduceOps,
  ...lossOps,
  ...dimOps,
  ...stepOps,
  ...convOps,
  ...poolOps,
]) {
  if (table.has(def.name)) throw new Error(`op ${def.name} registered twice`);
  table.set(def.name, def);
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
