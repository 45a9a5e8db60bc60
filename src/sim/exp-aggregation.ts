/**
 * `rumor sim aggregation`: convergence of the average under loss and crashes, push-sum
 * (Kempe et al., FOCS 2003) against flow updating (Jesus et al., DAIS 2009), at 10^5 nodes by
 * default, with the machines of `src/proto/aggregate` hosted on every simulated node.
 *
 * Set-up: one HyParView + Plumtree overlay is built (one join per ms, then STABILISE_MS); every
 * node holds a value drawn from an exponential distribution of mean 50 (seeded). Then each row
 * runs its own aggregate instance over that overlay, all rows of a phase at the same time (one
 * hosted application multiplexes them, as an agent runs several aggregates):
 * - phase 1: push-sum and flow updating at 0, 1, 10 and 30 % message loss;
 * - phase 2 (after phase 1 ended): both protocols without loss, and 10 % of the nodes crash
 *   (silently, at once) after half the rounds; the reference is then the survivors' average.
 * Every node is given the member list (as the agent's members machine provides it), so
 * push-sum picks uniform targets, as in the paper; flow updating uses the overlay's links.
 * Crashed nodes leave that list DETECT_ROUNDS rounds after the crash.
 * Loss is applied to the aggregate's own messages at the send boundary (each row its own
 * rate), so that every row shares one lossless overlay.
 *
 * Rounds: every node's aggregate runs its own timer (period PERIOD_MS) from a random phase
 * within the first period, so by the time `start + k · period` every live node has run exactly
 * k rounds: that instant is "after round k", where the maximum relative error over all live
 * nodes is measured (O(n) per round and row). A node with no estimate yet counts as infinite
 * error. Epochs are disabled (epochRounds = ∞): the experiment measures one computation.
 * `--fanout F` sets push-sum's targets per round (default 2; 1 is the paper's protocol).
 * `rounds_to_1e3` / `rounds_to_1e6`: the first round after which the error stays ≤ ε at every
 * later measured round (null: never).
 */
import type { App, AppIo } from '../proto/app.js';
import { createAggregate, DEFAULT_AGGREGATE_CONFIG, aggregateMsgSize, directFrameBytes, type AggEvent, type AggMsg, type AggregateConfig, type AggregateMachine, type AggregateProtocol, type AggTimer } from '../proto/aggregate/index.js';
import { Sfc32 } from '../proto/rng.js';
import type { DownReason, Rng } from '../proto/types.js';
import type { AppSpec } from './app-host.js';
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { Simulation } from './simulation.js';

const PERIOD_MS = 1000;
const JOIN_INTERVAL_MS = 1;
const STABILISE_MS = 10_000;
/** Rounds per phase: push-sum's target is 40 at 10^5 nodes; flow updating needs more. */
const ROUNDS = 60;
const CRASH_PERCENT = 10;
/** Rounds until the crashed nodes leave the member list (SWIM-style detection: memberlist's
 *  LAN profile suspects in about 1 s and declares dead in about 5 s at this period). */
const DETECT_ROUNDS = 5;
const LOSSES = [0, 0.01, 0.1, 0.3];
const VALUE_MEAN = 50;
/** Bytes counted per peer id (a "10.0.123.45:7946" address) and the channel "_app.agg.<name>"
 *  of an 8-character name. */
const ID_BYTES = 16;
const CHANNEL_BYTES = 17;

interface RowSpec {
  protocol: AggregateProtocol;
  loss: number;
  crash: boolean;
  phase: 0 | 1;
}

type BankMsg = { i: number; m: AggMsg<number> };
type BankTimer = { type: 'start'; phase: number } | { type: 'sub'; i: number; t: AggTimer };

/** Shared state of the experiment: row specs, start times, per-row traffic. */
class Bench {
  readonly messages: Float64Array;
  readonly bytes: Float64Array;
  readonly machines: (Bank | null)[];
  constructor(
    readonly rows: RowSpec[],
    readonly starts: number[],
    readonly values: Float64Array,
    readonly config: AggregateConfig,
  ) {
    this.messages = new Float64Array(rows.length);
    this.bytes = new Float64Array(rows.length);
    this.machines = new Array<Bank | null>(values.length).fill(null);
    this.members = Array.from({ length: values.length }, (_, i) => i);
  }
  /** The member list every node is given (shared), as the agent's members machine knows it. */
  readonly members: number[];
  /** End of each phase's measured rounds, and the virtual clock. */
  ends: number[] = [];
  now: () => number = () => 0;
}

/** One node's aggregates, one per row (started with their phase). */
class Bank implements App<number, BankMsg, BankTimer> {
  readonly subs: (AggregateMachine<number> | null)[];
  private readonly neighbors = new Set<number>();

  constructor(
    readonly self: number,
    private readonly rng: Rng,
    private readonly io: AppIo<number, BankMsg, BankTimer, never>,
    private readonly bench: Bench,
  ) {
    this.subs = bench.rows.map(() => null);
  }

  start(now: number): void {
    this.bench.starts.forEach((t, phase) => this.io.timer(Math.max(0, t - now), { type: 'start', phase }));
  }

  neighborUp(peer: number, now: number): void {
    this.neighbors.add(peer);
    for (const s of this.subs) s?.neighborUp(peer, now);
  }

  neighborDown(peer: number, reason: DownReason, now: number): void {
    this.neighbors.delete(peer);
    for (const s of this.subs) s?.neighborDown(peer, reason, now);
  }

  handleMessage(from: number, msg: BankMsg, now: number): void {
    this.subs[msg.i]?.handleMessage(from, msg.m, now);
  }

  handleBroadcast(): void {}

  handleTimer(t: BankTimer, now: number): void {
    if (t.type === 'sub') {
      this.subs[t.i]?.handleTimer(t.t, now);
      return;
    }
    this.bench.rows.forEach((r, i) => {
      if (r.phase !== t.phase) {
        // Rows of other phases have ended: stop them (no traffic beyond their phase).
        this.subs[i]?.stop(now);
        this.subs[i] = null;
        return;
      }
      const m = createAggregate<number>(this.self, 'avg', this.bench.config, this.rng, this.subIo(i, r.loss), r.protocol);
      this.subs[i] = m;
      for (const p of this.neighbors) m.neighborUp(p, now);
      m.setMembers(this.bench.members, true);
      m.set(this.bench.values[this.self], now);
      m.start(now);
    });
  }

  stop(): void {}

  private subIo(i: number, loss: number): AppIo<number, AggMsg<number>, AggTimer, AggEvent> {
    const b = this.bench;
    return {
      send: (to, m) => {
        if (b.now() < b.ends[b.rows[i].phase]) {
          // Traffic of the measured rounds only (a row runs on until the next phase starts).
          b.messages[i]++;
          b.bytes[i] += directFrameBytes(aggregateMsgSize(m, ID_BYTES), CHANNEL_BYTES);
        }
        if (loss > 0 && this.rng.next() < loss) return;
        this.io.send(to, { i, m });
      },
      broadcast: () => {},
      timer: (d, t) => this.io.timer(d, { type: 'sub', i, t }),
      event: () => {},
    };
  }
}

/** Maximum relative error of row `i` over live nodes, against `truth`. */
function maxRelError(sim: Simulation, bench: Bench, i: number, truth: number): number {
  let worst = 0;
  for (let n = 0; n < bench.machines.length; n++) {
    if (!sim.isAlive(n)) continue;
    const e = bench.machines[n]?.subs[i]?.estimate() ?? null;
    if (e === null) return Infinity;
    const err = Math.abs(e - truth) / Math.abs(truth);
    if (!(err <= worst)) worst = err;
  }
  return worst;
}

function liveMean(sim: Simulation, values: Float64Array): number {
  let s = 0;
  let k = 0;
  for (let n = 0; n < values.length; n++) {
    if (sim.isAlive(n)) {
      s += values[n];
      k++;
    }
  }
  return s / k;
}

/** First round r (1-based) such that every curve value from r on is ≤ eps; null: none. */
export function roundsTo(curve: readonly number[], eps: number): number | null {
  let r: number | null = null;
  for (let k = curve.length - 1; k >= 0; k--) {
    if (curve[k] <= eps) r = k + 1;
    else break;
  }
  return r;
}

function checkNodes(n: number | undefined): number {
  const v = n ?? 100_000;
  if (!Number.isInteger(v) || v < 2) throw new Error(`nodes: expected an integer >= 2, got ${String(v)}`);
  return v;
}

export function aggregation(o: ExperimentOptions): ExperimentResult {
  const nodes = checkNodes(o.nodes);
  const vr = new Sfc32(valueSeed(o.seed));
  const values = new Float64Array(nodes);
  for (let i = 0; i < nodes; i++) values[i] = -Math.log(1 - vr.next()) * VALUE_MEAN;
  const rows: RowSpec[] = [];
  for (const protocol of ['push-sum', 'flow'] as const) for (const loss of LOSSES) rows.push({ protocol, loss, crash: false, phase: 0 });
  for (const protocol of ['push-sum', 'flow'] as const) rows.push({ protocol, loss: 0, crash: true, phase: 1 });
  const t0 = nodes * JOIN_INTERVAL_MS + STABILISE_MS;
  const t1 = t0 + (ROUNDS + 2) * PERIOD_MS;
  const fanout = o.fanout ?? DEFAULT_AGGREGATE_CONFIG.fanout;
  if (!Number.isInteger(fanout) || fanout < 1) throw new Error(`fanout: expected a positive integer, got ${String(fanout)}`);
  const bench = new Bench(rows, [t0, t1], values, { ...DEFAULT_AGGREGATE_CONFIG, periodMs: PERIOD_MS, epochRounds: Infinity, fanout });
  const spec: AppSpec<BankMsg, BankTimer, never> = {
    name: 'agg',
    create(self, rng, io) {
      const b = new Bank(self, rng, io, bench);
      bench.machines[self] = b;
      return b;
    },
    size: (msg) => directFrameBytes(aggregateMsgSize(msg.m, ID_BYTES), CHANNEL_BYTES),
  };
  const sim = new Simulation({ nodes, seed: o.seed, apps: [spec] });
  bench.ends = [t0 + ROUNDS * PERIOD_MS, t1 + ROUNDS * PERIOD_MS];
  bench.now = () => sim.now;
  sim.joinAll(JOIN_INTERVAL_MS);
  const curves: number[][] = rows.map(() => []);
  const live: number[] = rows.map(() => 0);
  let crashed = 0;
  for (const [phase, start] of [t0, t1].entries()) {
    sim.runUntil(start);
    const idx = rows.map((r, i) => (r.phase === phase ? i : -1)).filter((i) => i >= 0);
    for (const i of idx) live[i] = sim.liveCountNow();
    for (let k = 1; k <= ROUNDS; k++) {
      if (phase === 1 && k === ROUNDS / 2 + 1) crashed = sim.failPercent(CRASH_PERCENT).length;
      if (phase === 1 && k === ROUNDS / 2 + 1 + DETECT_ROUNDS) {
        // The members machine has declared the crashed nodes dead: they leave the list.
        const alive = bench.members.filter((x) => sim.isAlive(x));
        bench.members.length = 0;
        bench.members.push(...alive);
      }
      sim.runUntil(start + k * PERIOD_MS);
      const truth = liveMean(sim, values);
      for (const i of idx) curves[i].push(maxRelError(sim, bench, i, truth));
      o.onProgress?.((phase * ROUNDS + k) / (2 * ROUNDS));
    }
  }
  const out = rows.map((r, i) => ({
    protocol: r.protocol,
    loss: r.loss,
    crash: r.crash ? CRASH_PERCENT / 100 : 0,
    rounds_to_1e3: roundsTo(curves[i], 1e-3),
    rounds_to_1e6: roundsTo(curves[i], 1e-6),
    final_max_rel_error: finite(curves[i][ROUNDS - 1]),
    msgs_per_node_round: bench.messages[i] / (live[i] * ROUNDS),
    bytes_per_node_round: bench.bytes[i] / (live[i] * ROUNDS),
  }));
  return {
    experiment: 'aggregation',
    seed: o.seed,
    nodes,
    rows: out,
    rounds: ROUNDS,
    periodMs: PERIOD_MS,
    values: `exponential, mean ${VALUE_MEAN} (generator Sfc32(seed * 2654435761 + 99))`,
    overlay: `HyParView + Plumtree, one join per ${JOIN_INTERVAL_MS} ms, then ${STABILISE_MS} ms`,
    loss: 'applied to the aggregate messages at the send boundary (the overlay is lossless)',
    crash: `${CRASH_PERCENT} % of the nodes crash silently after round ${ROUNDS / 2} (phase 2), leave the member list ${DETECT_ROUNDS} rounds later; error against the survivors' average`,
    crashed,
    fanout: bench.config.fanout,
    bytes: `direct frame bytes (frame, channel of ${CHANNEL_BYTES} bytes, message with ${ID_BYTES}-byte peer ids)`,
    round: 'one gossip period (each node its own timer, random phase); error measured at start + k * period',
    curves: rows.map((r, i) => ({ protocol: r.protocol, loss: r.loss, crash: r.crash ? CRASH_PERCENT / 100 : 0, max_rel_error: curves[i].map(finite) })),
    baselines: baselines(nodes, values),
  };
}

/** The values' own generator (independent of the simulator's). */
function valueSeed(seed: number): number {
  return (Math.imul(seed >>> 0, 2654435761) + 99) >>> 0;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Published reference curves, per round 1..ROUNDS (see docs/results.md). */
function baselines(n: number, values: Float64Array): object[] {
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let varSum = 0;
  for (const v of values) varSum += (v - mean) ** 2;
  const cv = Math.sqrt(varSum / n) / mean;
  const rho = 1 / (2 * Math.sqrt(Math.E));
  const rounds = Array.from({ length: ROUNDS }, (_, k) => k + 1);
  return [
    {
      name: 'Kempe et al. push-sum bound: eps = n * 2^-t (rounds = log2 n + log2 1/eps, O() constant taken as 1)',
      max_rel_error: rounds.map((t) => Math.min(1e3, n * 2 ** -t)),
    },
    {
      name: 'Jelasity et al. push-pull: relative std dev = cv * (1/(2 sqrt e))^(t/2)',
      max_rel_error: rounds.map((t) => cv * rho ** (t / 2)),
    },
  ];
}
