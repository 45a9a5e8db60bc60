/**
 * `rumor bench-sim` (hidden; `npm run bench:sim`): the simulator benchmark of
 * `bench/sim.ts`, loaded lazily so ordinary commands do not load it.
 */
import type { Command } from 'commander';
import { type CliContext, parseIntOption } from './context.js';

/** Register the hidden `bench-sim` verb. */
export function registerBenchSim(program: Command, ctx: CliContext): void {
  program
    .command('bench-sim', { hidden: true })
    .description('benchmark the simulator: join N nodes, 10 Plumtree broadcasts; writes bench/results/sim-<N>.json')
    .option('--nodes <n>', 'number of nodes', '100000')
    .option('--seed <s>', 'random seed', '1')
    .action(async (opts: { nodes: string; seed: string }) => {
      const nodes = parseIntOption('--nodes', opts.nodes, 2, 10_000_000);
      const seed = parseIntOption('--seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
      const bench = await import('../../bench/sim.js');
      await bench.runBenchAndReport({ nodes, seed, cwd: ctx.cwd, out: (s) => ctx.stdout.write(s) });
    });
}
