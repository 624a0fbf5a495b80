import { MultiBar, type SingleBar } from "cli-progress";
import type { StepProgress } from "./loop.js";

/** Where training reports: a progress bar on a terminal, plain lines (one per epoch) otherwise. */
export interface Progress {
  step(progress: StepProgress): void;
  /** A line of the report (an epoch's losses): above the bar on a terminal, else to stdout. */
  line(text: string): void;
  stop(): void;
}

const formatLoss = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v));

/** The report for `nabla train`: a bar on stderr when it is a terminal (cli-progress). */
export function trainingProgress(epochs: number, stepsPerEpoch: number, terminal: boolean): Progress {
  if (!terminal)
    return {
      step: () => {},
      line: (text) => void process.stdout.write(`${text}\n`),
      stop: () => {},
    };
  const bars = new MultiBar({
    stream: process.stderr,
    format:
      "epoch {epoch}/{epochs} {bar} step {step}/{steps} | loss {loss} | {rate} steps/s | {eta_formatted} left",
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    gracefulExit: false,
    etaBuffer: 200,
    fps: 10,
  });
  const started = performance.now();
  let done = 0;
  const payload = { epoch: 1, epochs, step: 0, steps: stepsPerEpoch, loss: "…", rate: "…" };
  const bar: SingleBar = bars.create(epochs * stepsPerEpoch, 0, payload);
  // With stdout the same terminal, a line goes above the bar; redirected, to stdout as it is.
  const above = process.stdout.isTTY === true;
  return {
    step: (p) => {
      done++;
      const seconds = (performance.now() - started) / 1000;
      bar.update(done, {
        epoch: p.epoch,
        epochs,
        step: p.step,
        steps: p.steps,
        loss: formatLoss(p.loss),
        rate: seconds > 0 ? Math.round(done / seconds).toString() : "…",
      });
    },
    line: (text) => {
      if (above) bars.log(`${text}\n`);
      else process.stdout.write(`${text}\n`);
    },
    stop: () => {
      // Lines logged since the last redraw are written by a redraw, not by stop().
      bars.update();
      bars.stop();
    },
  };
}
