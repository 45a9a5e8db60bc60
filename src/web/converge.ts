/**
 * Measured convergence: the real protocol under Serf's five inputs, over several seeds.
 *
 * For each seed: build the cluster, let the overlay form, crash `failedPct` % of the nodes,
 * set the loss rate, start one broadcast at a random live node and record the virtual time at
 * which each live node delivers it. The curve is the % of live nodes that have it at each
 * time on a common grid; the page plots the mean and the 5–95% band across seeds.
 *
 * Mapping of Serf's inputs: fanout → the fanout of fanout gossip (ignored by flooding and
 * Plumtree, whose degree is the HyParView active view); gossip interval → fanout gossip's
 * round period; packet loss → the simulator's per-message loss; failed nodes → nodes crashed
 * just before the broadcast (they stay in full membership, as in Serf's model, so contacts
 * to them are wasted).
 */
import { createEngine } from './engine.js';
import { engineOptions, SETTLE_MS, SPREAD_LATENCY_MS } from './spread.js';
import { messageSize } from '../sim/size.js';
import { type ConvergeParams, type ConvergeResult, type SeriesBand } from './protocol.js';
import { Sfc32 } from '../proto/rng.js';

export const CONVERGE_MAX_NODES = 100000;
export const CONVERGE_MAX_SEEDS = 20;
/** Stop a run after this much virtual time without progress (ms). */
const QUIET_MS = 5000;
/** Hard cap on a run's virtual time (ms). */
const MAX_RUN_MS = 120000;

export function validateConvergeParams(p: ConvergeParams): string | null {
  if (!['fanout', 'flood', 'plumtree'].includes(p.protocol)) return 'protocol: expected fanout, flood or plumtree';
  if (!(p.interval > 0)) return 'interval: gossip interval must be a positive value';
  if (!(p.fanout > 0) || !Number.isInteger(p.fanout)) return 'fanout: gossip fanout must be a positive integer';
  if (!Number.isInteger(p.nodes) || p.nodes < 2 || p.nodes > CONVERGE_MAX_NODES) return `nodes: must be an integer from 2 to ${CONVERGE_MAX_NODES.toLocaleString('en-US')}`;
  if (!(p.lossPct >= 0 && p.lossPct < 100)) return 'lossPct: packet loss must be ≥ 0 and < 100';
  if (!(p.failedPct >= 0 && p.failedPct < 100)) return 'failedPct: failed nodes must be ≥ 0 and < 100';
  if (!Number.isInteger(p.seeds) || p.seeds < 1 || p.seeds > CONVERGE_MAX_SEEDS) return `seeds: must be an integer from 1 to ${CONVERGE_MAX_SEEDS}`;
  return null;
}

export interface SeedRun {
  /** Delivery times (s, from the broadcast), sorted. */
  times: number[];
  live: number;
  bytes: number;
  durationS: number;
}

/** Where a seed's run is: building the overlay (joins, then the settle time) or spreading
 *  the broadcast; `fraction` of that seed done, 0..1 (the overlay is the first half). */
export interface SeedProgress {
  phase: 'overlay' | 'spread';
  fraction: number;
}

/** Virtual time per step of the overlay build (ms): a step is a few hundred ms of wall time
 *  at 100,000 nodes, so a cancel is seen promptly. */
const BUILD_STEP_MS = 1000;

/** One seed of the measured experiment. */
export function runSeed(p: ConvergeParams, seed: number): SeedRun {
  const steps = seedSteps(p, seed);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/**
 * One seed of the measured experiment, in steps: the generator yields its progress between
 * steps (a caller may stop there) and returns the run. Same result as one uninterrupted run
 * (the steps only split `runFor` into consecutive `runUntil`s).
 */
export function* seedSteps(p: ConvergeParams, seed: number): Generator<SeedProgress, SeedRun> {
  const sim = createEngine(engineOptions(p.protocol, p.nodes, p.fanout, seed, 0, p.interval * 1000));
  // The overlay as `joinAndSettle` (spread.ts) builds it, in steps.
  if (p.protocol === 'fanout') {
    for (let i = 0; i < p.nodes; i++) sim.join(i, []);
    sim.runFor(SPREAD_LATENCY_MS);
  } else {
    sim.joinAll(1);
    const start = sim.now;
    const end = start + p.nodes + SETTLE_MS;
    while (sim.now < end) {
      sim.runUntil(Math.min(end, sim.now + BUILD_STEP_MS));
      yield { phase: 'overlay', fraction: (0.5 * (sim.now - start)) / (end - start) };
    }
  }
  if (p.failedPct > 0) sim.failPercent(p.failedPct);
  sim.setLoss(p.lossPct / 100);
  const live = sim.liveNodes();
  const origin = live[new Sfc32(seed ^ 0x5eed).int(live.length)];
  const times: number[] = [];
  let rumor: string | null = null;
  let pending = true;
  let bytes = 0;
  let t0 = sim.now;
  let last: number;
  sim.observer = {
    onSend: (_f, _t, msg) => {
      if (msg.type === 'gossip' || msg.type === 'ihave' || msg.type === 'graft' || msg.type === 'prune') bytes += messageSize(msg);
    },
    onDeliver: (_node, id, _round, _from, t) => {
      if (rumor === null && pending) rumor = id;
      if (id !== rumor) return;
      times.push((t - t0) / 1000);
      last = t;
    },
  };
  t0 = sim.now;
  last = t0;
  rumor = sim.broadcast(origin);
  pending = false;
  const chunk = Math.max(5, Math.min(100, p.interval * 250));
  while (times.length < live.length && sim.now - last < QUIET_MS && sim.now - t0 < MAX_RUN_MS) {
    sim.runFor(chunk);
    yield { phase: 'spread', fraction: 0.5 + (0.5 * times.length) / live.length };
  }
  const end = times.length ? times[times.length - 1] : 0;
  return { times: times.sort((a, b) => a - b), live: live.length, bytes: bytes * 2, durationS: end };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0];
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** % of live nodes informed at time t (s) in one run. */
function pctAt(run: SeedRun, t: number): number {
  // times is sorted: binary search for the count of times ≤ t.
  let lo = 0;
  let hi = run.times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (run.times[mid] <= t + 1e-9) lo = mid + 1;
    else hi = mid;
  }
  return (100 * lo) / run.live;
}

/** Mean and 5–95% band of the runs on a common time grid. */
export function band(runs: SeedRun[], points = 120): SeriesBand {
  const tmax = Math.max(1e-3, ...runs.map((r) => r.durationS));
  const out: SeriesBand = { t: [], mean: [], p5: [], p95: [] };
  for (let i = 0; i <= points; i++) {
    const t = (tmax * i) / points;
    const v = runs.map((r) => pctAt(r, t)).sort((a, b) => a - b);
    out.t.push(t);
    out.mean.push(v.reduce((s, x) => s + x, 0) / v.length);
    out.p5.push(quantile(v, 0.05));
    out.p95.push(quantile(v, 0.95));
  }
  return out;
}

/** Mean time at which a run reaches `pct` % of its live nodes; null if any run never did. */
export function meanTimeTo(runs: SeedRun[], pct: number): number | null {
  let sum = 0;
  for (const r of runs) {
    const need = Math.ceil((r.live * pct) / 100 - 1e-9);
    if (r.times.length < need || need === 0) return need === 0 ? 0 : null;
    sum += r.times[need - 1];
  }
  return sum / runs.length;
}

/** Run every seed; `progress` is called after each. */
export function runConvergence(p: ConvergeParams, seq: number, progress?: (done: number, total: number) => void): ConvergeResult {
  const bad = validateConvergeParams(p);
  if (bad) throw new RangeError(bad);
  const start = Date.now();
  const runs: SeedRun[] = [];
  for (let s = 0; s < p.seeds; s++) {
    runs.push(runSeed(p, 1 + s));
    progress?.(s + 1, p.seeds);
  }
  return convergeResult(p, seq, runs, Date.now() - start);
}

/** Progress of a whole convergence run: `done` seeds of `total` complete, and where seed
 *  `done + 1` is (`phase`, `fraction` of it); `fraction` 1 once every seed is done. */
export interface ConvergeProgress extends SeedProgress {
  done: number;
  total: number;
}

/** Wall time between two yields to the worker's event loop (ms): a cancel request is read
 *  there, and progress is posted. */
const YIELD_EVERY_MS = 100;

/**
 * Run every seed as `runConvergence` does (same result), yielding to the event loop about
 * every 100 ms of wall time: `progress` gets where the run is, and the run stops (resolving
 * to null) at the first yield after `cancelled()` turns true.
 */
export async function runConvergenceAsync(p: ConvergeParams, seq: number, progress: (p: ConvergeProgress) => void, cancelled: () => boolean): Promise<ConvergeResult | null> {
  const bad = validateConvergeParams(p);
  if (bad) throw new RangeError(bad);
  const start = Date.now();
  const runs: SeedRun[] = [];
  let lastYield = performance.now();
  for (let s = 0; s < p.seeds; s++) {
    const steps = seedSteps(p, 1 + s);
    for (;;) {
      const r = steps.next();
      if (r.done === true) {
        runs.push(r.value);
        break;
      }
      if (performance.now() - lastYield >= YIELD_EVERY_MS) {
        progress({ done: s, total: p.seeds, ...r.value });
        await new Promise((ok) => setTimeout(ok, 0));
        lastYield = performance.now();
        if (cancelled()) return null;
      }
    }
    // Seed s done: the next one starts (or, after the last, the run is complete).
    progress(s + 1 < p.seeds ? { done: s + 1, total: p.seeds, phase: 'overlay', fraction: 0 } : { done: p.seeds, total: p.seeds, phase: 'spread', fraction: 1 });
  }
  return convergeResult(p, seq, runs, Date.now() - start);
}

function convergeResult(p: ConvergeParams, seq: number, runs: SeedRun[], wallMs: number): ConvergeResult {
  const bytesPerNode = runs.reduce((s, r) => s + r.bytes / p.nodes, 0) / runs.length;
  const bytesPerNodePerSec = runs.reduce((s, r) => s + (r.durationS > 0 ? r.bytes / p.nodes / r.durationS : 0), 0) / runs.length;
  return {
    type: 'converge-result',
    seq,
    params: p,
    measured: band(runs),
    t99: meanTimeTo(runs, 99),
    t100: meanTimeTo(runs, 100),
    bytesPerNode,
    bytesPerNodePerSec,
    wallMs,
  };
}
