/**
 * `rumor sim <experiment|scenario-file>`: run a built-in experiment or a scenario file in
 * the deterministic simulator, print a table (or one JSON document with `--json`), and with
 * `--out DIR` write `DIR/report.html` and `DIR/result.json`.
 */
import type { Command } from 'commander';
import { renderReport } from '../sim/report.js';
import { loadScenario, MAX_SCENARIO_NODES } from '../sim/scenario-schema.js';
import type { Scenario } from '../sim/scenario-types.js';
import { type CliContext, parseIntOption, resultJson, textTable, UsageError, writeReport } from './context.js';
import { startProgress } from './progress.js';

interface SimOptions {
  nodes?: string;
  seed?: string;
  fanout?: string;
  json?: boolean;
  out?: string;
}

/** Default seed when `--seed` is omitted. */
export const DEFAULT_SIM_SEED = 1;

/** Names of the built-in experiments (for help; `engine.ts` has the authoritative list). */
const EXPERIMENT_NAMES = ['hyparview-failures', 'plumtree-redundancy', 'rounds-vs-n'];

function unknownExperiment(name: string, names: readonly string[]): UsageError {
  const list = names.join(', ');
  return new UsageError(`unknown experiment ${JSON.stringify(name)} (expected ${list}, or a .toml/.json scenario file)`);
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
    .option('--json', 'print exactly one JSON document (no wall-clock figures) to stdout')
    .option('--out <dir>', 'write report.html and result.json into this directory')
    .action(async (target: string, opts: SimOptions) => {
      await runSim(ctx, target, opts);
    });
}

async function runSim(ctx: CliContext, target: string, opts: SimOptions): Promise<void> {
  const nodes = opts.nodes === undefined ? undefined : parseIntOption('--nodes', opts.nodes, 2, MAX_SCENARIO_NODES);
  const seed = opts.seed === undefined ? undefined : parseIntOption('--seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
  const fanout = opts.fanout === undefined ? undefined : parseIntOption('--fanout', opts.fanout, 1, 1000);
  const isFile = /\.(toml|json)$/i.test(target);
  let scenario: Scenario | undefined;
  if (isFile) {
    if (fanout !== undefined) throw new UsageError('option --fanout: applies to experiments; set protocol.fanout in the scenario file');
    const loaded = await loadScenario(target);
    if (!loaded.ok) throw new UsageError(loaded.reason);
    scenario = loaded.scenario;
    if (nodes !== undefined) scenario.nodes = nodes;
    if (seed !== undefined) scenario.seed = seed;
  }
  // The simulator is loaded only once the command line is known to be good.
  const engine = await import('./engine.js');
  let result: object;
  const title = scenario ? scenario.name : target;
  const progress = startProgress(ctx, title);
  try {
    if (scenario) result = engine.runScenarioFile(scenario, progress.update);
    else if (engine.isExperimentName(target)) {
      result = engine.runExperiment(target, { nodes, seed: seed ?? DEFAULT_SIM_SEED, fanout, onProgress: progress.update });
    } else throw unknownExperiment(target, engine.EXPERIMENT_NAMES);
  } finally {
    progress.stop();
  }
  await printResult(ctx, title, result, opts);
}

/** Print a result (JSON or text) and write the report files if `--out` was given. */
export async function printResult(ctx: CliContext, title: string, result: object, opts: { json?: boolean; out?: string }): Promise<void> {
  const json = resultJson(result);
  if (opts.json) ctx.stdout.write(json);
  else ctx.stdout.write(textSummary(title, result));
  if (opts.out !== undefined) {
    const paths = await writeReport(ctx, opts.out, renderReport(result), json);
    // With --json, stdout carries exactly one JSON document: say where on stderr.
    (opts.json ? ctx.stderr : ctx.stdout).write(`wrote ${paths.html} and ${paths.json}\n`);
  }
}

/** A readable text rendering: scalar fields on one line, then one table per array of rows. */
export function textSummary(title: string, result: object): string {
  const scalars: string[] = [];
  const tables: string[] = [];
  for (const [k, v] of Object.entries(result)) {
    if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object' && v[0] !== null) {
      tables.push(`${k}:\n${textTable(v as object[])}`);
    } else if (v === null || typeof v !== 'object') {
      scalars.push(`${k}=${typeof v === 'number' ? String(Math.round(v * 10000) / 10000) : String(v)}`);
    }
  }
  return `${title}\n${scalars.join('  ')}\n\n${tables.join('\n')}`;
}
