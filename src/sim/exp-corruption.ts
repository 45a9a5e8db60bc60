/**
 * Issue 13 §3: the 2008 Amazon S3 outage replayed, and Byzantine senders.
 *
 * `corruption` (`rumor sim corruption`): n nodes (default 10,000) on HyParView + Plumtree.
 * Each node holds a state table (one entry per server, as the S3 servers shared); the
 * experiment keeps, per node, whether its copy of one server's entry is the corrupted one.
 * At t0 server C gossips a new version of its entry, and one bit of it is flipped:
 * - `wire`: on the wire, in every frame C sends (a faulty NIC or link). The simulator hands
 *   message values across, so a flipped bit is modelled as a *replacement message* with a
 *   new payload buffer marked corrupt; the receiver's frame checksum (CRC32C and the
 *   content-derived id in the real decoder, src/wire/body.ts) rejects exactly those copies
 *   when — and only when — the checksum defence is on. With it off, the corrupt copy is
 *   delivered and re-gossiped like any other (as in 2008).
 * - `memory`: in C's memory before it is sent: the checksum is computed over the corrupted
 *   bytes, so every check on the wire passes.
 * Defences (rows): `off`; `checksum`; `checksum+reset`; `checksum+validation+reset`.
 * Validation is the validate-before-forward hook (src/proto/plumtree.ts): the state table's
 * validator checks the entry's invariants, and we assume the flipped bit breaks one (S3's
 * corrupted state named servers in impossible states; a flip that leaves a valid-looking value
 * is not caught by any validator). Reset is the cluster-wide reset switch: `resetAfterMs`
 * after t0 (an operator answering the alarm), node R (a random node other than C) broadcasts
 * a reset of the channel; each node that gets it (or any message of the new epoch) drops the
 * channel's state and refuses messages of older epochs; C rebuilds its entry from its source
 * of truth (the bit flip is gone) and gossips it again at the new epoch.
 * Reported per row: nodes holding the corrupt value, peak and at the end; the time from t0
 * until no node holds it (`clean_after_s`, null if never within `runMs`); nodes holding the
 * good new value at the end; the time from the reset's issue until every node applied it
 * (`reset_all_s`); the corrupt broadcast's last-delivery hop (`ldh`) against
 * log2(n); and a timeline (affected nodes every `sampleMs`).
 *
 * `byzantine` (`rumor sim byzantine`): n nodes (default 2,000: 12 overlays), a fraction of
 * them Byzantine — a simulator-side wrapper around the honest machines, acting on what they
 * send (`SimGuard.arrive`): `blackhole` drops every broadcast message it sends (GOSSIP, IHAVE)
 * and ignores GRAFTs (membership traffic passes, so it stays in the overlay); `forge` sends
 * every GOSSIP with a forged id (the receiver's decoder drops it as a bad frame) and
 * announces real ids by IHAVE but never answers the GRAFTs they draw; `flood` forwards
 * honestly and sends `floodFactor` extra frames per message, over the receiver's token
 * bucket (dropped there and counted as rate excess). Scoring on: every honest node runs
 * `PeerScores` (src/proto/peer-score.ts, the runtime's scoring) on these offences; a peer
 * below the threshold is quarantined: its link is cut and its messages dropped. Measured over
 * `broadcasts` broadcasts from random honest nodes: the lowest fraction of honest nodes a
 * broadcast reached, and the p99 delivery latency at honest nodes.
 *
 * Limits: the simulator has no CPU or bandwidth model, so a flood costs honest traffic
 * nothing here beyond what scoring does to the overlay (the latency cost of a flood is
 * measured on loopback: `npm run bench:flood`); black holes commit no detectable offence, so
 * scoring cannot find them — Plumtree's lazy IHAVE/GRAFT repair is what routes around them.
 */
import { DEFAULT_SCORING, PeerScores, type Offence } from '../proto/peer-score.js';
import type { BroadcastMessage, Message, MsgId, Verdict } from '../proto/types.js';
import { Simulation, type SimGuard } from './simulation.js';
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { checkNodes, JOIN_INTERVAL_MS, STABILISE_MS, warmOverlay } from './overlay-build.js';

/** Join every node, let the overlay settle, warm Plumtree's tree up (as experiments.ts). */
function buildOverlay(nodes: number, seed: number, guard: SimGuard): Simulation {
  return warmOverlay(new Simulation({ nodes, seed, guard }), nodes);
}

// ----------------------------------------------------------------------- corruption

export type Defences = 'off' | 'checksum' | 'checksum+reset' | 'checksum+validation+reset';
export type Corruption = 'wire' | 'memory';
export const DEFENCES: readonly Defences[] = ['off', 'checksum', 'checksum+reset', 'checksum+validation+reset'];
export const CORRUPTIONS: readonly Corruption[] = ['wire', 'memory'];

const RESET_AFTER_MS = 10_000;
const RUN_MS = 60_000;
const SAMPLE_MS = 500;

/** The state-table model of one corruption run (see the module comment). */
class StateTable implements SimGuard {
  /** Per node: 1 if its copy of C's entry is the corrupt one. */
  readonly bad: Uint8Array;
  /** Per node: 1 if it holds C's good new entry. */
  readonly good: Uint8Array;
  readonly epoch: Uint32Array;
  affected = 0;
  peak = 0;
  /** Last time `affected` became 0 (−1: never since it was last > 0). */
  cleanAt = 0;
  /** Entry broadcasts: id → epoch and whether every copy is corrupt (memory corruption). */
  readonly entries = new Map<MsgId, { epoch: number; corrupt: boolean }>();
  readonly resets = new Map<MsgId, number>();
  private readonly corruptWire = new WeakSet<Uint8Array>();
  wireFlip = false;
  /** Nodes that applied the reset, and when the last one did. */
  resetCount = 0;
  resetAllAt = -1;
  checksumDrops = 0;
  rejects = 0;
  readonly validate?: (node: number, id: MsgId, payload: Uint8Array, from: number) => Verdict;

  constructor(
    n: number,
    readonly c: number,
    private readonly checksum: boolean,
    private readonly validation: boolean,
    private readonly now: () => number,
    private readonly onReset: (node: number) => void,
  ) {
    this.bad = new Uint8Array(n);
    this.good = new Uint8Array(n);
    this.epoch = new Uint32Array(n);
    this.validate = (node, id, payload) => this.check(node, id, payload);
  }

  arrive(from: number, _to: number, msg: Message<number>): Message<number> | null {
    if (msg.type !== 'gossip' || from !== this.c || !this.wireFlip || !this.entries.has(msg.id)) return msg;
    if (this.checksum) {
      this.checksumDrops++;
      return null; // CRC32C / content id mismatch: a bad frame, never delivered
    }
    const flipped = msg.payload.slice();
    flipped[0] ^= 0x10;
    this.corruptWire.add(flipped);
    const copy: BroadcastMessage = { type: 'gossip', id: msg.id, round: msg.round, payload: flipped };
    return copy;
  }

  /** Plumtree's validate hook: the experiment's observation point (first copy of an id). */
  private check(node: number, id: MsgId, payload: Uint8Array): Verdict {
    const ep = this.resets.get(id);
    if (ep !== undefined) return 'accept';
    const e = this.entries.get(id);
    if (e === undefined) return 'accept'; // warm-up traffic
    if (e.epoch < this.epoch[node]) return 'ignore';
    const corrupt = e.corrupt || this.corruptWire.has(payload);
    if (corrupt && this.validation) {
      this.rejects++;
      return 'reject';
    }
    if (e.epoch > this.epoch[node]) this.applyReset(node, e.epoch);
    this.set(node, corrupt);
    return 'accept';
  }

  set(node: number, corrupt: boolean): void {
    if (this.bad[node] === 1) this.affected--;
    this.bad[node] = corrupt ? 1 : 0;
    this.good[node] = corrupt ? 0 : 1;
    if (corrupt) this.affected++;
    if (this.affected > this.peak) this.peak = this.affected;
    if (this.affected === 0 && corrupt === false && this.cleanAt < 0) this.cleanAt = this.now();
    if (this.affected > 0) this.cleanAt = -1;
  }

  /** A reset of epoch `ep` reaches `node`: drop the channel's state, start the new epoch. */
  applyReset(node: number, ep: number): void {
    if (ep <= this.epoch[node]) return;
    this.epoch[node] = ep;
    if (++this.resetCount === this.epoch.length) this.resetAllAt = this.now();
    if (this.bad[node] === 1) {
      this.bad[node] = 0;
      this.affected--;
      if (this.affected === 0) this.cleanAt = this.now();
    }
    this.good[node] = 0;
    this.onReset(node);
  }
}

function pickOther(sim: Simulation, not: number): number {
  for (let k = 0; k < 1000; k++) {
    const r = sim.pickLive(sim.liveNodes(), 1)[0];
    if (r !== not) return r;
  }
  throw new Error('no other live node');
}

function corruptionRow(n: number, seed: number, defences: Defences, corruption: Corruption): object {
  let sim: Simulation | null = null;
  const now = (): number => (sim === null ? 0 : sim.now);
  const checksum = defences !== 'off';
  const validation = defences === 'checksum+validation+reset';
  const reset = defences.endsWith('+reset');
  const c = 0;
  let rebroadcast: (() => void) | null = null;
  const st = new StateTable(n, c, checksum, validation, now, (node) => {
    if (node === c && rebroadcast !== null) rebroadcast();
  });
  sim = buildOverlay(n, seed, st);
  const s = sim;
  const t0 = s.now;
  // C publishes its new entry; the bit flips on the wire or in its memory.
  st.wireFlip = corruption === 'wire';
  if (corruption === 'memory') st.set(c, true);
  st.cleanAt = corruption === 'memory' ? -1 : 0;
  const bad = s.broadcast(c);
  st.entries.set(bad, { epoch: 0, corrupt: corruption === 'memory' });
  rebroadcast = () =>
    s.at(s.now, () => {
      st.wireFlip = false; // C's state is rebuilt; the faulty path is assumed repaired too
      st.set(c, false);
      st.entries.set(s.broadcast(c), { epoch: st.epoch[c], corrupt: false });
    });
  if (reset) {
    const r = pickOther(s, c);
    s.at(t0 + RESET_AFTER_MS, () => {
      st.resets.set(s.broadcast(r), 1);
      st.applyReset(r, 1);
    });
  }
  s.observer = { onDeliver: (node, id) => { const ep = st.resets.get(id); if (ep !== undefined) st.applyReset(node, ep); } };
  const timeline: [number, number][] = [];
  for (let t = 0; t <= RUN_MS; t += SAMPLE_MS) {
    s.runUntil(t0 + t);
    timeline.push([t / 1000, st.affected]);
  }
  let goodEnd = 0;
  for (let i = 0; i < n; i++) goodEnd += st.good[i];
  const clean = st.affected === 0 ? Math.round(Math.max(0, st.cleanAt - t0)) / 1000 : null;
  return {
    defences,
    corruption,
    nodes_affected_peak: st.peak,
    nodes_affected_end: st.affected,
    clean_after_s: clean,
    good_value_end: goodEnd,
    ldh: s.broadcastStats(bad).ldh,
    reset_all_s: st.resetAllAt < 0 ? null : Math.round(st.resetAllAt - t0 - RESET_AFTER_MS) / 1000,
    checksum_drops: st.checksumDrops,
    validation_rejects: st.rejects,
    timeline,
  };
}

function corruptionExperiment(o: ExperimentOptions): ExperimentResult {
  const nodes = checkNodes(o.nodes, 10_000, 10);
  const rows: object[] = [];
  let done = 0;
  for (const corruption of CORRUPTIONS) {
    for (const defences of DEFENCES) {
      rows.push(corruptionRow(nodes, o.seed, defences, corruption));
      o.onProgress?.(++done / (DEFENCES.length * CORRUPTIONS.length));
    }
  }
  return {
    experiment: 'corruption',
    seed: o.seed,
    nodes,
    rows,
    log2_n: Math.log2(nodes),
    corruptNode: 0,
    resetAfterMs: RESET_AFTER_MS,
    runMs: RUN_MS,
    sampleMs: SAMPLE_MS,
    joinIntervalMs: JOIN_INTERVAL_MS,
    stabiliseMs: STABILISE_MS,
    model:
      'wire: every frame C sends has a flipped bit, rejected by the receiver iff the checksum defence is on; memory: flipped before the checksum is computed. Validation assumes the flip breaks an invariant of the entry. Reset issued resetAfterMs after t0 by a random other node; C then re-publishes a good entry at the new epoch.',
  };
}

// ----------------------------------------------------------------------- Byzantine senders

export type Attack = 'blackhole' | 'forge' | 'flood';
export const ATTACKS: readonly Attack[] = ['blackhole', 'forge', 'flood'];
const PERCENTS = [10, 30];
const BROADCASTS = 20;
const BROADCAST_INTERVAL_MS = 500;
const FLOOD_FACTOR = 50;

/** The Byzantine wrapper and the honest nodes' scoring (see the module comment). */
class Byzantine implements SimGuard {
  private readonly scores = new Map<number, PeerScores>();
  quarantines = 0;
  sim: Simulation | null = null;

  constructor(
    private readonly byz: Uint8Array,
    private readonly attack: Attack,
    private readonly scoring: boolean,
  ) {}

  arrive(from: number, to: number, msg: Message<number>, now: number): Message<number> | null {
    const sc = this.scoring ? this.scores.get(to) : undefined;
    if (sc !== undefined && sc.quarantined(String(from), now)) return null;
    if (this.byz[to] === 1 && this.byz[from] === 0 && msg.type === 'graft' && this.attack !== 'flood') return null;
    if (this.byz[from] === 0) return msg;
    const a = this.attack;
    if (a === 'blackhole') return msg.type === 'gossip' || msg.type === 'ihave' ? null : msg;
    if (a === 'forge') {
      if (msg.type !== 'gossip') return msg;
      this.offence(from, to, 'bad-frame', now, 1);
      return null;
    }
    if (msg.type === 'gossip' || msg.type === 'ihave') this.offence(from, to, 'rate-excess', now, FLOOD_FACTOR);
    return msg;
  }

  private offence(from: number, to: number, o: Offence, now: number, times: number): void {
    if (!this.scoring) return;
    let sc = this.scores.get(to);
    if (sc === undefined) this.scores.set(to, (sc = new PeerScores(DEFAULT_SCORING)));
    if (sc.penalize(String(from), o, now, times) > 0) {
      this.quarantines++;
      this.sim!.cutLink(to, from);
    }
  }
}

function byzantineRow(n: number, seed: number, attack: Attack, percent: number, scoring: boolean): object {
  const byz = new Uint8Array(n);
  const g = new Byzantine(byz, attack, scoring);
  const sim = buildOverlay(n, seed, g);
  g.sim = sim;
  // The same Byzantine set for every row of a seed: the last `percent` % of a seeded shuffle.
  const order = sim.pickLive(sim.liveNodes(), n);
  const k = Math.round((n * percent) / 100);
  for (let i = 0; i < k; i++) byz[order[n - 1 - i]] = 1;
  const honest = n - k;
  const starts = new Map<MsgId, number>();
  const reached = new Map<MsgId, number>();
  const lat: number[] = [];
  sim.observer = {
    onDeliver: (node, id, _r, _f, t) => {
      const s = starts.get(id);
      if (s === undefined || byz[node] === 1) return;
      reached.set(id, (reached.get(id) ?? 0) + 1);
      lat.push(t - s);
    },
  };
  for (let i = 0; i < BROADCASTS; i++) {
    const from = order[i % (n - k)];
    const id = sim.broadcast(from);
    // The origin delivered inside `broadcast`, before its id was known here: count it now.
    starts.set(id, sim.now);
    reached.set(id, 1);
    sim.runFor(BROADCAST_INTERVAL_MS);
  }
  sim.runUntilQuiet(30_000);
  let min = 1;
  for (const id of starts.keys()) min = Math.min(min, (reached.get(id) ?? 0) / honest);
  lat.sort((a, b) => a - b);
  const p99 = lat.length === 0 ? null : lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))];
  return { attack, percent, scoring: scoring ? 'on' : 'off', reliability_min: min, latency_p99_ms: p99, quarantines: g.quarantines };
}

function byzantineExperiment(o: ExperimentOptions): ExperimentResult {
  const nodes = checkNodes(o.nodes, 2000, 10);
  const rows: object[] = [];
  let done = 0;
  const total = ATTACKS.length * PERCENTS.length * 2;
  for (const attack of ATTACKS) {
    for (const percent of PERCENTS) {
      for (const scoring of [false, true]) {
        rows.push(byzantineRow(nodes, o.seed, attack, percent, scoring));
        o.onProgress?.(++done / total);
      }
    }
  }
  return {
    experiment: 'byzantine',
    seed: o.seed,
    nodes,
    rows,
    broadcasts: BROADCASTS,
    broadcastIntervalMs: BROADCAST_INTERVAL_MS,
    floodFactor: FLOOD_FACTOR,
    scoring: 'DEFAULT_SCORING (src/proto/peer-score.ts)',
    reliability_min: 'lowest fraction of honest nodes that delivered one broadcast (origins honest)',
    latency_p99_ms: 'p99 of delivery latency over all honest deliveries (virtual ms)',
    target: 'blackhole 10 %: reliability_min >= 0.999',
  };
}

export const SECURITY_EXPERIMENTS = {
  corruption: corruptionExperiment,
  byzantine: byzantineExperiment,
};
