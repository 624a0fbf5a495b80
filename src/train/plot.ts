import type { EpochRecord } from "./loop.js";

const WIDTH = 640;
const HEIGHT = 400;
const MARGIN = { left: 70, right: 20, top: 40, bottom: 50 };

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Round numbers for axis ticks: about `count` of them from lo to hi. */
function ticks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

const label = (v: number) =>
  Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(1) : String(v);

/**
 * The loss curves as an SVG line plot: the training loss per epoch and, where there is one, the
 * validation loss, against the epoch, with axes, ticks, labels and a legend.
 */
export function lossPlot(history: readonly EpochRecord[], title: string): string {
  const series: { name: string; colour: string; points: [number, number][] }[] = [
    {
      name: "train",
      colour: "#1f77b4",
      points: history.filter((r) => Number.isFinite(r.trainLoss)).map((r) => [r.epoch, r.trainLoss]),
    },
  ];
  if (history.some((r) => r.validLoss !== undefined))
    series.push({
      name: "validation",
      colour: "#d62728",
      points: history
        .filter((r) => r.validLoss !== undefined && Number.isFinite(r.validLoss))
        .map((r) => [r.epoch, r.validLoss!]),
    });
  const all = series.flatMap((s) => s.points);
  const xMax = Math.max(1, ...all.map((p) => p[0]));
  const ys = all.map((p) => p[1]);
  let yMin = Math.min(0, ...ys);
  let yMax = ys.length ? Math.max(...ys) : 1;
  if (yMax <= yMin) yMax = yMin + 1;
  const yTicks = ticks(yMin, yMax, 5);
  yMax = Math.max(yMax, yTicks[yTicks.length - 1]!);
  yMin = Math.min(yMin, yTicks[0]!);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + (v / xMax) * plotW;
  const y = (v: number) => MARGIN.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const f = (v: number) => v.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `  <title>${escape(title)}</title>`,
    `  <rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `  <text x="${WIDTH / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
  ];
  out.push(`  <g stroke="#ccc" stroke-width="1">`);
  for (const t of yTicks)
    out.push(`    <line x1="${MARGIN.left}" y1="${f(y(t))}" x2="${MARGIN.left + plotW}" y2="${f(y(t))}"/>`);
  out.push(`  </g>`);
  out.push(
    `  <g stroke="black" stroke-width="1">`,
    `    <line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}"/>`,
    `    <line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotH}"/>`,
    `  </g>`,
  );
  out.push(`  <g text-anchor="end">`);
  for (const t of yTicks) out.push(`    <text x="${MARGIN.left - 6}" y="${f(y(t) + 4)}">${label(t)}</text>`);
  out.push(`  </g>`, `  <g text-anchor="middle">`);
  for (const t of ticks(0, xMax, Math.min(10, Math.ceil(xMax))).filter(
    (t) => Number.isInteger(t) || xMax < 2,
  ))
    out.push(`    <text x="${f(x(t))}" y="${MARGIN.top + plotH + 18}">${label(t)}</text>`);
  out.push(`  </g>`);
  out.push(
    `  <text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">epoch</text>`,
    `  <text x="16" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})">loss</text>`,
  );
  series.forEach((s, i) => {
    // A curve starts at epoch 0 only if it has a point there; one point is drawn as a dot.
    const points = s.points.map(([px, py]) => `${f(x(px))},${f(y(py))}`).join(" ");
    out.push(
      `  <polyline class="${s.name}" fill="none" stroke="${s.colour}" stroke-width="2" points="${points}"/>`,
    );
    if (s.points.length === 1)
      out.push(
        `  <circle cx="${f(x(s.points[0]![0]))}" cy="${f(y(s.points[0]![1]))}" r="3" fill="${s.colour}"/>`,
      );
    const ly = MARGIN.top + 10 + i * 18;
    const lx = MARGIN.left + plotW - 110;
    out.push(
      `  <line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${s.colour}" stroke-width="2"/>`,
      `  <text x="${lx + 30}" y="${ly + 4}">${s.name}</text>`,
    );
  });
  out.push(`</svg>`, "");
  return out.join("\n");
}
