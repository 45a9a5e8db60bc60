/**
 * Simulator benchmark (not a test): join N nodes (HyParView + Plumtree) within 10 s, let the
 * overlay stabilise for three shuffle periods, deliver 10 Plumtree broadcasts; print a table
 * with one row per phase (join, settle, broadcasts) and the total, and write
 * `bench/results/sim-<N>.json` with `nodes`, `events`, `wall_s`, `cpu_s`, `events_per_s`,
 * `peak_rss_mb` (RSS sampled every 200 ms through the progress callback), `reliability`
 * (the minimum over the 10 broadcasts), `phases` (the same figures per phase), and the
 * date, Node version and 1-minute load average at start and end (wall-clock figures on a
 * shared machine vary with its load: compare runs made alternately at the same hour).
 *
 * Usage: `npm run bench:sim -- --nodes 100000`
 *    or: `node --max-old-space-size=16000 --max-semi-space-size=256 --import tsx bench/sim.ts --nodes 100000`
 * (the flags of the npm script; a larger young generation than the default: measured at
 * 30,000 nodes with 64 MB, GC share 12.8 % → 5.9 % of the profile).
 * Progress (virtual time, wall time, events, RSS) goes to stderr every 5 % of virtual time.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runScenario } from '../src/sim/run-scenario.js';
import { DEFAULT_NETWORK } from '../src/sim/scenario-schema.js';
import type { Scenario } from '../src/sim/scenario-types.js';

/** Wall time, events and peak RSS of one phase of the run. */
export interface PhaseFigures {
  phase: 'join' | 'settle' | 'broadcasts';
  /** Virtual time span of the phase (ms). */
  from_ms: number;
  to_ms: number;
  events: number;
  wall_s: number;
  /** CPU time of the process (user + system) in the phase: less sensitive than wall time to
   *  the other processes on a shared machine (it still grows with their cache contention). */
  cpu_s: number;
  events_per_s: number;
  /** Largest RSS sampled during the phase (every 200 ms of wall time and at its end). */
  peak_rss_mb: number;
}

/** Figures written to bench/results/sim-<N>.json. */
export interface BenchResult {
  nodes: number;
  seed: number;
  events: number;
  wall_s: number;
  /** CPU time of the process (user + system) over the run. */
  cpu_s: number;
  events_per_s: number;
  peak_rss_mb: number;
  reliability: number;
  broadcasts: number;
  /** join (0 to the last join), settle (the stabilisation), broadcasts (to the end). */
  phases: PhaseFigures[];
  /** When and on what it ran: wall-clock figures on a shared machine vary with its load. */
  date: string;
  node: string;
  loadavg_1m_start: number;
  loadavg_1m_end: number;
}

export interface BenchOptions {
  nodes: number;
  seed: number;
  /** Directory holding bench/results (the repository root). */
  cwd: string;
  out(s: string): void;
}

const BROADCASTS = 10;
/**
 * Join pacing: every node starts within `JOIN_WINDOW_MS` (a fleet being deployed), in id
 * order, at evenly spaced times: 10 nodes per ms at 100,000 nodes, 100 per ms at 1,000,000.
 * HyParView handles concurrent joins (a contact that has just joined accepts the newcomer
 * into its own active view). Joining one node per ms would make the run mostly virtual
 * shuffling (100 s at 100k, 1,000 s at 1M) before any broadcast, and the shuffle traffic
 * of the nodes already in grows with n × join time.
 */
export const JOIN_WINDOW_MS = 10_000;
/** Stabilisation after the last join: three HyParView shuffle periods (3 × 10 s). Measured:
 *  with 20 s a small island formed by the concurrent joins was not yet healed at 100k nodes
 *  (seed 2: reliability 0.99994); with 30 s every run delivered to every node. */
export const STABILISE_MS = 30_000;
/** Spacing of the 10 broadcasts, and the tail after the last one (the last delivery of a
 *  broadcast comes well within 1 s: LDH ~25 hops of 5–25 ms, plus GRAFT timers). */
export const BROADCAST_INTERVAL_MS = 1000;
export const TAIL_MS = 2000;

/** The benchmark scenario: joins over 10 s, stabilise 30 s, 10 broadcasts 1 s apart, 5 s tail. */
export function benchScenario(nodes: number, seed: number): Scenario {
  const intervalMs = JOIN_WINDOW_MS / nodes;
  const joined = JOIN_WINDOW_MS + STABILISE_MS;
  return {
    name: `bench-${nodes}`,
    nodes,
    seed,
    protocol: { membership: 'hyparview', broadcast: 'plumtree' },
    network: { ...DEFAULT_NETWORK },
    timeline: [
      { at: 0, type: 'join-all', intervalMs },
      { at: joined, type: 'broadcast', count: BROADCASTS, intervalMs: BROADCAST_INTERVAL_MS },
    ],
    endMs: joined + (BROADCASTS - 1) * BROADCAST_INTERVAL_MS + TAIL_MS,
  };
}

/** Number of simulator events processed, from a result (first field that counts them). */
function eventsOf(result: Record<string, unknown>): number {
  for (const k of ['events', 'eventsProcessed', 'processedEvents']) {
    if (typeof result[k] === 'number') return result[k];
  }
  const stats = result.stats ?? result.counters;
  return typeof stats === 'object' && stats !== null ? eventsOf(stats as Record<string, unknown>) : NaN;
}

/** Minimum reliability over the result's broadcasts. */
function minReliability(result: Record<string, unknown>): number {
  const list = (result.broadcasts ?? result.messages) as { reliability?: number }[] | undefined;
  if (!Array.isArray(list) || list.length === 0) return NaN;
  return Math.min(...list.map((b) => (typeof b.reliability === 'number' ? b.reliability : NaN)));
}

/** Phase boundaries in virtual time (ms) of `benchScenario`. */
function phaseBounds(nodes: number): { phase: PhaseFigures['phase']; to: number }[] {
  const s = benchScenario(nodes, 0);
  const joined = JOIN_WINDOW_MS + STABILISE_MS;
  return [
    { phase: 'join', to: JOIN_WINDOW_MS },
    { phase: 'settle', to: joined },
    { phase: 'broadcasts', to: s.endMs! },
  ];
}

const MB = 1048576;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Run the benchmark and return its figures. */
export function runBench(nodes: number, seed: number): BenchResult {
  const bounds = phaseBounds(nodes);
  const phases: PhaseFigures[] = [];
  const load0 = loadavg()[0];
  let peak = process.memoryUsage().rss;
  let phasePeak = peak;
  let lastSample = 0;
  let lastReport = 0;
  const cpuSeconds = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const cpu0 = cpuSeconds();
  let phaseCpu0 = cpu0;
  const t0 = performance.now();
  let phaseT0 = t0;
  let phaseEvents0 = 0;
  let phaseFrom = 0;
  const sample = (fraction: number, atMs: number, events: number): void => {
    const now = performance.now();
    const b = bounds[phases.length];
    const end = b !== undefined && atMs >= b.to;
    if (now - lastSample >= 200 || end) {
      lastSample = now;
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      phasePeak = Math.max(phasePeak, rss);
    }
    if (end) {
      const wall = (now - phaseT0) / 1000;
      const ev = events - phaseEvents0;
      const cpu = cpuSeconds();
      phases.push({ phase: b.phase, from_ms: phaseFrom, to_ms: b.to, events: ev, wall_s: round3(wall), cpu_s: round3(cpu - phaseCpu0), events_per_s: Math.round(ev / wall), peak_rss_mb: Math.round(phasePeak / MB) });
      phaseCpu0 = cpu;
      phaseT0 = now;
      phaseEvents0 = events;
      phaseFrom = b.to;
      phasePeak = 0;
    }
    // Progress on stderr every 5 % of virtual time (long runs: 10^6 nodes take minutes).
    if (fraction - lastReport >= 0.05 - 1e-9) {
      lastReport = fraction;
      const wall = ((now - t0) / 1000).toFixed(1);
      process.stderr.write(`bench/sim: ${Math.round(fraction * 100)}% of virtual time, ${wall} s wall, ${events} events, rss ${Math.round(peak / MB)} MB\n`);
    }
  };
  const marks = bounds.map((b) => b.to);
  const result = runScenario(benchScenario(nodes, seed), sample, marks) as unknown as Record<string, unknown>;
  const wall = (performance.now() - t0) / 1000;
  peak = Math.max(peak, process.memoryUsage().rss);
  const events = eventsOf(result);
  return {
    nodes,
    seed,
    events,
    wall_s: round3(wall),
    cpu_s: round3(cpuSeconds() - cpu0),
    events_per_s: Math.round(events / wall),
    peak_rss_mb: Math.round(peak / MB),
    reliability: minReliability(result),
    broadcasts: BROADCASTS,
    phases,
    date: new Date().toISOString(),
    node: process.version,
    loadavg_1m_start: Math.round(load0 * 100) / 100,
    loadavg_1m_end: Math.round(loadavg()[0] * 100) / 100,
  };
}

/** The printed table: one row per phase and the total. */
export function formatBench(r: BenchResult): string {
  const head = ['phase', 'virtual ms', 'wall s', 'CPU s', 'events', 'events/s', 'peak RSS MB'];
  const rows = r.phases.map((p) => [p.phase, `${p.from_ms}-${p.to_ms}`, p.wall_s.toFixed(1), p.cpu_s.toFixed(1), String(p.events), String(p.events_per_s), String(p.peak_rss_mb)]);
  rows.push(['total', `0-${r.phases.at(-1)?.to_ms ?? ''}`, r.wall_s.toFixed(1), r.cpu_s.toFixed(1), String(r.events), String(r.events_per_s), String(r.peak_rss_mb)]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [
    `bench:sim  nodes ${r.nodes}  seed ${r.seed}  reliability ${r.reliability}  broadcasts ${r.broadcasts}`,
    line(head),
    ...rows.map(line),
    `node ${r.node}  ${r.date}  load average (1 min) ${r.loadavg_1m_start} at start, ${r.loadavg_1m_end} at end`,
  ].join('\n');
}

/** Run, print a table, write bench/results/sim-<N>.json. */
export async function runBenchAndReport(o: BenchOptions): Promise<BenchResult> {
  const r = runBench(o.nodes, o.seed);
  const dir = resolve(o.cwd, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `sim-${o.nodes}.json`);
  await writeFile(file, JSON.stringify(r, null, 2) + '\n');
  o.out(`${formatBench(r)}\nwrote ${file}\n`);
  return r;
}

function parseArgs(argv: string[]): { nodes: number; seed: number } | string {
  const out = { nodes: 100_000, seed: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag !== '--nodes' && flag !== '--seed') return `unknown option ${JSON.stringify(flag)} (expected --nodes N, --seed S)`;
    const raw = argv[++i] ?? '';
    const v = Number(raw);
    const min = flag === '--nodes' ? 2 : 0;
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(v) || v < min) return `option ${flag}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`;
    if (flag === '--nodes') out.nodes = v;
    else out.seed = v;
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`bench/sim: ${args}\n`);
    process.exitCode = 2;
  } else {
    await runBenchAndReport({ ...args, cwd: process.cwd(), out: (s) => process.stdout.write(s) });
  }
}
