/**
 * Spread session: one rumor spreading through a simulated cluster, observed hop by hop.
 *
 * A "round" here is a hop: the origin has the rumor at round 0 and a node that receives the
 * payload with message round r (the protocol's hop count, 0 at the origin's neighbours) has
 * it at round r + 1. This is the talk's round for fanout gossip, and the same quantity for
 * flooding and Plumtree. Stepping one round runs the simulation (virtual time) until some
 * node gets the rumor at a later hop than the one shown, or the spread goes quiet; the view
 * shows deliveries up to the current hop only, so the picture is exact even though the event
 * simulation may have run a little ahead.
 */
import { createEngine, type Engine, type EngineOptions } from './engine.js';
import { SERF_PACKET_BYTES } from './analytic.js';
import { DEFAULT_HYPARVIEW_CONFIG } from '../proto/hyparview-config.js';
import type { Message } from '../proto/types.js';
import type { SpreadParams, SpreadState, SpreadStats } from './protocol.js';

/** Virtual time per simulation chunk while stepping (ms): the constant link latency. */
export const SPREAD_LATENCY_MS = 10;
/** Spread is "quiet" once no node learned the rumor for this long (virtual ms). Long enough
 *  for Plumtree's missing-message timers and for a few fanout-gossip rounds. */
export const QUIET_MS = 3000;
/** Virtual time given to the overlay to form after the last node joined (ms): six shuffle
 *  periods, so that small islands formed by concurrent joins have healed (measured: 7 of 40
 *  overlays of 40–200 nodes were still split 30 s after joining, none after 60 s). */
export const SETTLE_MS = 60_000;

/**
 * Start every node and let the overlay settle. Over HyParView nodes join 1 ms apart, each
 * through earlier nodes (measured: joining 10,000 nodes 0.1 ms apart leaves 4–5 components,
 * 1 ms apart leaves one). Fanout gossip over full membership needs no overlay: every node
 * starts at once without contacts.
 */
export function joinAndSettle(sim: Engine, n: number, fullMembership = false): void {
  if (fullMembership) {
    for (let i = 0; i < n; i++) sim.join(i, []);
    sim.runFor(SPREAD_LATENCY_MS);
    return;
  }
  sim.joinAll(1);
  sim.runFor(n + SETTLE_MS);
}

/** HyParView's active-view size (the default of src/proto, DSN 2007 §5). */
export const HYPARVIEW_ACTIVE = DEFAULT_HYPARVIEW_CONFIG.activeViewSize;

export function validateSpreadParams(p: SpreadParams): string | null {
  if (!['fanout', 'flood', 'plumtree'].includes(p.protocol)) return `protocol: expected fanout, flood or plumtree, got ${JSON.stringify(p.protocol)}`;
  if (!Number.isInteger(p.nodes) || p.nodes < 10 || p.nodes > 10000) return 'nodes: must be an integer from 10 to 10,000';
  if (!Number.isInteger(p.fanout) || p.fanout < 1 || p.fanout > 50) return 'fanout: must be an integer from 1 to 50';
  if (!Number.isInteger(p.seed) || p.seed < 0) return 'seed: must be a non-negative integer';
  if (!(p.loss >= 0 && p.loss < 1)) return 'loss: must be ≥ 0 and < 1';
  return null;
}

/** memberlist's retransmit limit: RetransmitMult (4, LAN) · ceil(log10(n + 1))
 *  (hashicorp/memberlist util.go, protocols.md §3.3). */
export function memberlistRetransmits(n: number): number {
  return 4 * Math.ceil(Math.log10(n + 1));
}

/**
 * Simulation options for a protocol choice (shared by the spread and convergence views).
 * Without `roundMs`, fanout gossip is infect-and-die (the talk's model: forward once on
 * receipt). With `roundMs`, it is Serf/memberlist-like: a node pushes to `fanout` fresh peers
 * on receipt and on each of its next gossip ticks, up to memberlist's retransmit limit.
 */
export function engineOptions(protocol: SpreadParams['protocol'], nodes: number, fanout: number, seed: number, loss: number, roundMs?: number): EngineOptions {
  const fanoutCfg = roundMs === undefined ? { fanout, rounds: 1 } : { fanout, rounds: memberlistRetransmits(nodes), roundIntervalMs: roundMs };
  return {
    nodes,
    seed,
    protocol: { membership: 'hyparview', broadcast: protocol, fanout: fanoutCfg },
    network: { latency: { kind: 'constant', ms: SPREAD_LATENCY_MS }, loss },
    fanoutPeers: protocol === 'fanout' ? 'full' : 'membership',
    // Serf's packet size when modelling Serf (convergence view), the simulator's default otherwise.
    payloadBytes: roundMs === undefined ? undefined : SERF_PACKET_BYTES,
  };
}

export class SpreadSession {
  readonly n: number;
  readonly params: SpreadParams;
  private readonly sim: Engine;
  private readonly hop: Int32Array;
  private readonly parent: Int32Array;
  private rumor: string | null = null;
  private pending = false;
  private shown = 0;
  private maxHop = 0;
  private infected = 0;
  private payloadMsgs = 0;
  private controlMsgs = 0;
  private startT = 0;
  private lastDeliveryT = 0;
  private quiet = false;
  /** Rumors started on this cluster. */
  rumors = 0;

  constructor(params: SpreadParams) {
    const bad = validateSpreadParams(params);
    if (bad) throw new RangeError(bad);
    this.params = params;
    this.n = params.nodes;
    this.hop = new Int32Array(this.n).fill(-1);
    this.parent = new Int32Array(this.n).fill(-1);
    this.sim = createEngine(engineOptions(params.protocol, params.nodes, params.fanout, params.seed, 0));
    joinAndSettle(this.sim, this.n, params.protocol === 'fanout');
    this.sim.setLoss(params.loss);
    this.sim.observer = {
      onSend: (_from, _to, msg) => this.onSend(msg),
      onDeliver: (node, id, round, from, t) => this.onDeliver(node, id, round, from, t),
    };
  }

  get started(): boolean {
    return this.rumor !== null || this.pending;
  }

  private onSend(msg: Message<number>): void {
    if (this.rumor === null && !this.pending) return;
    if (msg.type === 'gossip') {
      if (this.rumor === null) this.rumor = msg.id;
      if (msg.id === this.rumor) this.payloadMsgs++;
    } else if (msg.type === 'ihave' || msg.type === 'graft' || msg.type === 'prune') {
      this.controlMsgs++;
    }
  }

  private onDeliver(node: number, id: string, round: number, from: number | null, t: number): void {
    if (this.rumor === null && this.pending) this.rumor = id;
    if (id !== this.rumor || this.hop[node] >= 0) return;
    const h = from === null ? 0 : round + 1;
    this.hop[node] = h;
    this.parent[node] = from === null ? -1 : from;
    this.infected++;
    if (h > this.maxHop) this.maxHop = h;
    this.lastDeliveryT = t;
  }

  /** Start a rumor at `origin`. A new rumor replaces the previous one on the same cluster
   *  (Plumtree then spreads it over the tree the previous rumor pruned). */
  start(origin: number): void {
    if (!Number.isInteger(origin) || origin < 0 || origin >= this.n) throw new RangeError(`origin: must be a node from 0 to ${this.n - 1}`);
    if (!this.sim.isAlive(origin)) throw new RangeError(`origin: node ${origin} has failed`);
    this.hop.fill(-1);
    this.parent.fill(-1);
    this.rumor = null;
    this.maxHop = 0;
    this.infected = 0;
    this.payloadMsgs = 0;
    this.controlMsgs = 0;
    this.quiet = false;
    this.rumors++;
    this.pending = true;
    this.startT = this.sim.now;
    this.lastDeliveryT = this.sim.now;
    const id = this.sim.broadcast(origin);
    this.pending = false;
    this.rumor = id;
    this.shown = 0;
  }

  private liveUninfected(): number {
    let c = 0;
    for (let i = 0; i < this.n; i++) if (this.hop[i] < 0 && this.sim.isAlive(i)) c++;
    return c;
  }

  /** Advance the shown hop by up to `rounds`; runs the simulation as far as needed. */
  step(rounds = 1): void {
    if (this.rumor === null) throw new RangeError('rumor: click a node (or enter its number) to start a rumor first');
    const target = this.shown + rounds;
    for (let guard = 0; guard < 100000; guard++) {
      if (this.maxHop > target) break;
      if (this.liveUninfectedFast() === 0 || this.sim.now - this.lastDeliveryT > QUIET_MS) {
        this.quiet = true;
        break;
      }
      this.sim.runFor(SPREAD_LATENCY_MS);
    }
    this.shown = this.quiet ? Math.min(target, this.maxHop) : target;
    if (this.quiet && this.shown < this.maxHop) this.quiet = false;
  }

  private liveUninfectedFast(): number {
    // Cheap check first: if fewer nodes are infected than alive, count exactly.
    return this.infected >= this.n ? 0 : this.liveUninfected();
  }

  crash(nodes: number[]): void {
    for (const x of nodes) if (!Number.isInteger(x) || x < 0 || x >= this.n) throw new RangeError(`node: must be from 0 to ${this.n - 1}`);
    this.sim.crash(nodes.filter((x) => this.sim.isAlive(x)));
    this.quiet = false;
  }

  /** Cut the overlay link a–b: both ends see the link fail and HyParView replaces it. */
  cut(a: number, b: number): void {
    if (this.params.protocol === 'fanout') throw new RangeError('link: fanout gossip over full membership has no long-lived links to cut');
    const av = this.sim.node(a).activeView();
    if (!av.includes(b)) throw new RangeError(`link: ${a}–${b} is not an active-view link`);
    this.sim.cutLink(a, b);
    this.quiet = false;
  }

  failPercent(p: number): number[] {
    if (!(p >= 0 && p <= 100)) throw new RangeError('fail: percent must be from 0 to 100');
    this.quiet = false;
    return this.sim.failPercent(p);
  }

  setLoss(r: number): void {
    if (!(r >= 0 && r < 1)) throw new RangeError('loss: must be ≥ 0 and < 1');
    this.sim.setLoss(r);
  }

  /** f in log_f(n): the fanout for fanout gossip, the active-view size over HyParView. */
  get f(): number {
    return this.params.protocol === 'fanout' ? this.params.fanout : HYPARVIEW_ACTIVE;
  }

  stats(): SpreadStats {
    let alive = 0;
    let infected = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.sim.isAlive(i)) alive++;
      if (this.hop[i] >= 0 && this.hop[i] <= this.shown) infected++;
    }
    const rmr = this.infected > 1 ? this.payloadMsgs / (this.infected - 1) - 1 : 0;
    const f = this.f;
    return {
      rumor: this.rumors,
      round: this.shown,
      logfn: f > 1 ? Math.log(this.n) / Math.log(f) : Infinity,
      f,
      infected,
      alive,
      payloadMsgs: this.payloadMsgs,
      duplicates: Math.max(0, this.payloadMsgs - Math.max(0, this.infected - 1)),
      rmr,
      controlMsgs: this.controlMsgs,
      done: this.rumor !== null && this.quiet && this.shown >= this.maxHop,
      elapsedMs: this.rumor === null ? 0 : this.sim.now - this.startT,
    };
  }

  /** Active-view links as pairs (a < b), live nodes only; empty for fanout gossip. */
  links(): Int32Array {
    if (this.params.protocol === 'fanout') return new Int32Array(0);
    return activeLinks(this.sim, this.n);
  }

  state(seq: number): SpreadState {
    const hop = new Int32Array(this.n);
    const edges: number[] = [];
    for (let i = 0; i < this.n; i++) {
      const h = this.hop[i];
      hop[i] = h >= 0 && h <= this.shown ? h : -1;
      if (hop[i] > 0 && this.parent[i] >= 0) edges.push(this.parent[i], i);
    }
    const alive = new Uint8Array(this.n);
    for (let i = 0; i < this.n; i++) alive[i] = this.sim.isAlive(i) ? 1 : 0;
    return { type: 'spread-state', seq, n: this.n, hop, alive, edges: Int32Array.from(edges), links: this.links(), stats: this.stats() };
  }
}

/** Undirected active-view links among live nodes, each once (a < b). */
export function activeLinks(sim: Engine, n: number): Int32Array {
  const out: number[] = [];
  for (let a = 0; a < n; a++) {
    if (!sim.isAlive(a)) continue;
    for (const b of sim.node(a).activeView()) {
      if (b === a || !sim.isAlive(b)) continue;
      if (a < b || !sim.node(b).activeView().includes(a)) out.push(Math.min(a, b), Math.max(a, b));
    }
  }
  return Int32Array.from(out);
}
