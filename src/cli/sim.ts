/**
 * `rumor sim <experiment|scenario-file>`: run a built-in experiment or a scenario file in
 * the deterministic simulator, print a table (or one JSON document with `--json`), and with
 * `--out DIR` write `DIR/report.html` and `DIR/result.json`.
 *
 * Registration only: the action loads `sim-run.ts` (the simulator, the scenario schema and
 * the report renderer), so other verbs and `--help` never load them.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.js';

/** Default seed when `--seed` is omitted. */
export const DEFAULT_SIM_SEED = 1;

/** Names of the built-in experiments (for help; `engine.ts` has the authoritative list). */
const EXPERIMENT_NAMES = [
  'hyparview-failures',
  'plumtree-redundancy',
  'rounds-vs-n',
  'bootstrap',
  'membership-failures',
  'membership-false-positives',
  'membership-partition',
  'membership-restart',
  'aggregation',
  'kv-staleness',
  'gossip-learning',
  'corruption',
  'byzantine',
];

/** Options of the `sim` verb as commander parses them. */
export interface SimOptions {
  nodes?: string;
  seed?: string;
  fanout?: string;
  lr?: string;
  lrDecay?: string;
  epochs?: string;
  json?: boolean;
  out?: string;
}

/** Register the `sim` verb. */
export function registerSim(program: Command, ctx: CliContext): void {
  program
    .command('sim')
    .description('run a simulation experiment or scenario file (deterministic for a given seed)')
    .argument('<target>', `experiment (${EXPERIMENT_NAMES.join(', ')}) or a .toml/.json scenario file`)
    .option('--nodes <n>', 'number of nodes (default: the experiment\'s or the scenario\'s)')
    .option('--seed <s>', `random seed (default: ${DEFAULT_SIM_SEED}, or the scenario's)`)
    .option('--fanout <f>', 'gossip fanout for experiments that use one')
    .option('--lr <rate>', 'gossip-learning: the learners\' initial learning rate')
    .option('--lr-decay <d>', 'gossip-learning: the learners\' rate decay per epoch (rate / (1 + d × epochs))')
    .option('--epochs <e>', 'gossip-learning: local passes over each shard (the central reference trains as many)')
    .option('--json', 'print exactly one JSON document (no wall-clock figures) to stdout')
    .option('--out <dir>', 'write report.html and result.json into this directory')
    .action(async (target: string, opts: SimOptions) => {
      const { runSim } = await import('./sim-run.js');
      await runSim(ctx, target, opts);
    });
}
