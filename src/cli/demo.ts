/**
 * `rumor demo`: a small scenario that shows the point of the system in a few seconds —
 * 1,000 nodes on HyParView + Plumtree, a burst of broadcasts, then 30 % of the nodes crash
 * at once and broadcasts keep reaching the survivors. Prints a short summary and writes the
 * HTML report to `./sim-report/`.
 *
 * Registration only: the action loads `sim-run.ts` (simulator and report renderer).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Register the `demo` verb. */
export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run a small simulation (1,000 nodes, 30% crash) and write ./sim-report/report.html')
    .option('--nodes <n>', 'number of nodes', '1000')
    .option('--seed <s>', 'random seed', '1')
    .option('--out <dir>', 'report directory', 'sim-report')
    .action(async (opts: { nodes: string; seed: string; out: string }) => {
      const { runDemo } = await import('./sim-run.js');
      await runDemo(ctx, opts);
    });
}
