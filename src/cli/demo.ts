/**
 * `rumor demo` (what `npm start` runs): a small scenario that shows the point of the
 * system in a few seconds — 1,000 nodes on HyParView + Plumtree, a burst of broadcasts,
 * then 30 % of the nodes crash at once and broadcasts keep reaching the survivors. Prints a
 * short summary and writes the HTML report to `./sim-report/`.
 */
import type { Command } from 'commander';
import { renderReport } from '../sim/report.js';
import { DEFAULT_NETWORK } from '../sim/scenario-schema.js';
import type { Scenario } from '../sim/scenario-types.js';
import { type CliContext, parseIntOption, resultJson, writeReport } from './context.js';
import { startProgress } from './progress.js';
import { textSummary } from './sim.js';

/** The demo scenario for `nodes` nodes and `seed`. */
export function demoScenario(nodes: number, seed: number): Scenario {
  const joinedAt = nodes * 5 + 5_000; // every node joined, plus 5 s of shuffles to settle
  return {
    name: 'demo: 30% of the nodes crash',
    nodes,
    seed,
    protocol: { membership: 'hyparview', broadcast: 'plumtree' },
    network: { ...DEFAULT_NETWORK },
    timeline: [
      { at: 0, type: 'join-all', intervalMs: 5 },
      { at: joinedAt, type: 'broadcast', count: 5, intervalMs: 500 },
      { at: joinedAt + 4_000, type: 'fail', percent: 30 },
      { at: joinedAt + 4_000, type: 'broadcast', count: 10, intervalMs: 500 },
    ],
    endMs: joinedAt + 15_000,
  };
}

/** Register the `demo` verb. */
export function registerDemo(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run a small simulation (1,000 nodes, 30% crash) and write ./sim-report/report.html')
    .option('--nodes <n>', 'number of nodes', '1000')
    .option('--seed <s>', 'random seed', '1')
    .option('--out <dir>', 'report directory', 'sim-report')
    .action(async (opts: { nodes: string; seed: string; out: string }) => {
      const nodes = parseIntOption('--nodes', opts.nodes, 2, 100_000);
      const seed = parseIntOption('--seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
      const scenario = demoScenario(nodes, seed);
      const { runScenarioFile } = await import('./engine.js');
      const progress = startProgress(ctx, 'demo');
      let result: object;
      try {
        result = runScenarioFile(scenario, progress.update);
      } finally {
        progress.stop();
      }
      ctx.stdout.write(textSummary(scenario.name, result));
      const paths = await writeReport(ctx, opts.out, renderReport(result), resultJson(result));
      ctx.stdout.write(`\nreport: ${paths.html}\n`);
    });
}
