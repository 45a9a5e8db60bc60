/**
 * What the `sim` and `demo` verbs run once their command line is parsed: scenario loading,
 * the simulator (`engine.ts`, itself loaded only once the command line is known to be good),
 * progress bar, text/JSON output and the report files. Loaded lazily by `sim.ts`/`demo.ts`.
 */
import { renderReport } from '../sim/report.js';
import { DEFAULT_NETWORK, loadScenario, MAX_SCENARIO_NODES } from '../sim/scenario-schema.js';
import type { Scenario } from '../sim/scenario-types.js';
import { type CliContext, parseIntOption, RunError, UsageError } from './context.js';
import { startProgress } from './progress.js';
import { DEFAULT_SIM_SEED, type SimOptions } from './sim.js';
import { resultJson, textTable, writeReport } from './sim-output.js';

function unknownExperiment(name: string, names: readonly string[]): UsageError {
  const list = names.join(', ');
  return new UsageError(`unknown experiment ${JSON.stringify(name)} (expected ${list}, or a .toml/.json scenario file)`);
}

/** Run `rumor sim <target>`. */
export async function runSim(ctx: CliContext, target: string, opts: SimOptions): Promise<void> {
  const nodes = opts.nodes === undefined ? undefined : parseIntOption('--nodes', opts.nodes, 2, MAX_SCENARIO_NODES);
  const seed = opts.seed === undefined ? undefined : parseIntOption('--seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
  const fanout = opts.fanout === undefined ? undefined : parseIntOption('--fanout', opts.fanout, 1, 1000);
  const learn = learnOptions(target, opts);
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
      result = runExperimentChecked(engine, target, { nodes, seed: seed ?? DEFAULT_SIM_SEED, fanout, ...learn, onProgress: progress.update });
    } else throw unknownExperiment(target, engine.EXPERIMENT_NAMES);
  } finally {
    progress.stop();
  }
  await printResult(ctx, title, result, opts);
}

/** A decimal number option in [min, max] (in (min, max] when `openMin`); a UsageError names the option. */
function parseNumberOption(option: string, raw: string, min: number, max: number, openMin: boolean): number {
  const v = Number(raw);
  const low = openMin ? v > min : v >= min;
  if (raw.trim() === '' || !Number.isFinite(v) || !low || v > max) {
    throw new UsageError(`option ${option}: expected a number ${openMin ? '>' : '>='} ${min} and <= ${max}, got ${JSON.stringify(raw)}`);
  }
  return v;
}

/** `--lr`, `--lr-decay`, `--epochs`: gossip-learning only. */
function learnOptions(target: string, opts: SimOptions): { lr?: number; lrDecay?: number; epochs?: number } {
  const out: { lr?: number; lrDecay?: number; epochs?: number } = {};
  const given = (['lr', 'lrDecay', 'epochs'] as const).filter((k) => opts[k] !== undefined);
  if (given.length === 0) return out;
  const flag = given[0] === 'lrDecay' ? '--lr-decay' : `--${given[0]}`;
  if (target !== 'gossip-learning') throw new UsageError(`option ${flag}: applies to gossip-learning only`);
  if (opts.lr !== undefined) out.lr = parseNumberOption('--lr', opts.lr, 0, 1000, true);
  if (opts.lrDecay !== undefined) out.lrDecay = parseNumberOption('--lr-decay', opts.lrDecay, 0, 1000, false);
  if (opts.epochs !== undefined) out.epochs = parseIntOption('--epochs', opts.epochs, 1, 1000);
  return out;
}

/** Run an experiment; its input errors (`LearnInputError`: bad --nodes, missing dataset) become one-line CLI errors. */
function runExperimentChecked(engine: typeof import('./engine.js'), name: Parameters<typeof engine.runExperiment>[0], o: Parameters<typeof engine.runExperiment>[1]): object {
  try {
    return engine.runExperiment(name, o);
  } catch (err) {
    if (err instanceof Error && err.name === 'LearnInputError') throw (err as Error & { usage: boolean }).usage ? new UsageError(err.message) : new RunError(err.message);
    throw err;
  }
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

/** Run `rumor demo`. */
export async function runDemo(ctx: CliContext, opts: { nodes: string; seed: string; out: string }): Promise<void> {
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
}
