/**
 * A progress bar on stderr for long simulations, shown only when stderr is a terminal.
 * Simulations run synchronously, so the bar redraws from `update()` (cli-progress's
 * synchronous mode), not from a timer.
 */
import cliProgress from 'cli-progress';
import type { CliContext } from './context.js';

export interface Progress {
  /** Fraction done, 0..1. */
  update(fraction: number): void;
  stop(): void;
}

const NONE: Progress = { update: () => {}, stop: () => {} };

/** A progress bar titled `label` when `ctx.stderr` is a TTY; otherwise a no-op. */
export function startProgress(ctx: CliContext, label: string): Progress {
  if (!ctx.stderr.isTTY) return NONE;
  const bar = new cliProgress.SingleBar(
    {
      stream: ctx.stderr as NodeJS.WriteStream,
      format: `${label} [{bar}] {percentage}% | {duration_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      synchronousUpdate: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1000, 0);
  return {
    update: (f) => bar.update(Math.max(0, Math.min(1000, Math.round(f * 1000)))),
    stop: () => bar.stop(),
  };
}
