import type { NodeId } from "../ir/types.js";
import type { StatementEmitter } from "./emitter.js";

/**
 * Body values read where they lie — x_t in x, h_{t−1} in the state's array, δ_t in the
 * adjoint's — instead of copied into a buffer of their own at every step, as hand-written
 * code indexes them. A body value's name stands for a row of another array: while the step
 * is built it is a marker, and each element read of it, `marker[i]`, becomes
 * `array[offset + i]`. A step that uses such a value any other way (passes it whole to a
 * `.set`) is built again with the copies.
 */
export interface Row {
  readonly array: string;
  /** The offset expression, bound to a local at the start of the step. */
  readonly offset: string;
}

const MARK_OPEN = "\u27ea";
const MARK_CLOSE = "\u27eb";
const markerPattern = new RegExp(`${MARK_OPEN}(\\d+)${MARK_CLOSE}`, "g");

export class RowReads {
  private readonly rows: { row: Row; local: string }[] = [];
  private readonly byNode = new Map<NodeId, number>();
  /** Whether markers are handed out (the first attempt) or the copies are made. */
  active = true;

  constructor(private readonly ctx: StatementEmitter) {}

  /** The marker standing for `id`'s row, or undefined when the step copies it. */
  marker(id: NodeId): string | undefined {
    if (!this.active) return undefined;
    const k = this.byNode.get(id);
    return k === undefined ? undefined : `${MARK_OPEN}${k}${MARK_CLOSE}`;
  }

  has(id: NodeId): boolean {
    return this.byNode.has(id);
  }

  add(id: NodeId, row: Row): void {
    this.byNode.set(id, this.rows.length);
    // Rows at the same offset (of different arrays) share its local.
    const same = this.rows.find((r) => r.row.offset === row.offset);
    this.rows.push({ row, local: same?.local ?? this.ctx.fresh("o") });
  }

  get size(): number {
    return this.rows.length;
  }

  /** The statements binding the offsets, for the step's start (only the rows the step reads). */
  offsets(used: ReadonlySet<number>): string {
    const bound = new Map<string, string>();
    this.rows.forEach(({ row, local }, k) => {
      if (used.has(k)) bound.set(local, row.offset);
    });
    return [...bound].map(([local, offset]) => `const ${local} = ${offset};`).join(" ");
  }

  /**
   * `code` with every marker's element reads rewritten, and the rows it reads; undefined when
   * a marker appears other than as `marker[…]`.
   */
  resolve(code: string): { code: string; used: Set<number> } | undefined {
    const used = new Set<number>();
    let out = "";
    let from = 0;
    for (const m of code.matchAll(markerPattern)) {
      const k = Number(m[1]);
      const open = m.index + m[0].length;
      if (code[open] !== "[") return undefined;
      let depth = 0;
      let close = open;
      for (; close < code.length; close++) {
        if (code[close] === "[") depth++;
        else if (code[close] === "]" && --depth === 0) break;
      }
      const index = code.slice(open + 1, close);
      if (index.includes(MARK_OPEN)) return undefined;
      const { row, local } = this.rows[k]!;
      this.ctx.use(row.array);
      used.add(k);
      const simple = /^[\w\s+*]*$/.test(index);
      out += `${code.slice(from, m.index)}${row.array}[${local} + ${simple ? index : `(${index})`}]`;
      from = close + 1;
    }
    return { code: out + code.slice(from), used };
  }
}

/**
 * The step's statements from `build`, with the rows in `reads` read in place when every use
 * of them is an element read; otherwise built again, `copies` first, every value in its buffer.
 */
export function stepReadingRows(reads: RowReads, build: () => string[], copies: () => string[]): string[] {
  if (reads.size > 0) {
    reads.active = true;
    const resolved = reads.resolve(build().join("\n"));
    reads.active = false;
    if (resolved !== undefined) return [reads.offsets(resolved.used), resolved.code];
  }
  reads.active = false;
  return [...copies(), ...build()];
}
