/**
 * Deterministic discrete-event simulator driving the real protocol machines (HyParView,
 * Plumtree, …: one `SimNode` per node, routing as `ProtoNode` does).
 *
 * Virtual time in milliseconds; one event queue ordered by (time, insertion order); one
 * seeded generator for the network and one forked per node. Same seed ⇒ identical run.
 *
 * Connections model TCP between processes. Each node keeps a small list of connection
 * entries `[peer, flags, lastDelivery]` (flat number array, 3 slots per entry): `OUT` = this
 * node called `connect(peer)`, `IN` = the peer called `connect(this)`, `FAIL` = the
 * connection broke and a `handleLinkDown` is pending. A connection is shared: when a process
 * crashes, every node holding an entry for it learns after the failure-detection delay;
 * a partition breaks the connections across groups after the silent timeout. Messages on a
 * connection are delivered FIFO; sends on a broken connection are dropped. A send or connect
 * to an unreachable peer without a connection yields `handleLinkDown` after one round trip
 * (crashed process, refused) or the connect timeout (partitioned or silent host).
 *
 * Message and byte counts are taken at the `send` boundary, before loss.
 */
import { resolveNodeConfig, type NodeConfig, type NodeConfigInput } from '../proto/node.js';
import { Sfc32 } from '../proto/rng.js';
import type { BroadcastMessage, BroadcastTimer, CyclonMessage, HyParViewMessage, Message, MsgId, Timer, Verdict } from '../proto/types.js';
import { BroadcastRecord, type BroadcastStats, overlayStats, type OverlayStats } from './metrics.js';
import { NetworkModel, resolveNetworkConfig } from './network.js';
import { EventQueue, type EventRecord } from './queue.js';
import type { NetworkConfig } from './scenario-types.js';
import { MESSAGE_TYPES, messageSize, typeIndex } from './size.js';
import { FAIL, findEntry, FullMembership, IN, OUT, isBroadcastTimer, removeEntry, scheduleChurn, SimNode } from './sim-node.js';
import { AppHost, type AnyAppSpec } from './app-host.js';

export interface SimOptions {
  nodes: number;
  seed: number;
  protocol?: NodeConfigInput;
  network?: Partial<NetworkConfig>;
  /** Peer source of the fanout baseline: the membership view (default) or a uniform sample
   *  of all nodes (the talk's / epidemic-analysis model). */
  fanoutPeers?: 'membership' | 'full';
  /** Payload size of `broadcast()` messages in bytes. Default 64. */
  payloadBytes?: number;
  /** Applications hosted on every node (app-host.ts). Default: none. */
  apps?: readonly AnyAppSpec[];
  /** Defences and attackers of an experiment (exp-corruption.ts). Default: none (then the
   *  simulator takes no extra path and its output is bit-identical to one without it). */
  guard?: SimGuard;
}

/** An experiment's hooks on message arrival and validation (exp-corruption.ts). */
export interface SimGuard {
  /** A message from `from` reaches live node `to`: return it (or a replacement, e.g. a copy
   *  corrupted on the wire) to process it, or null to drop it (a bad frame, a quarantined
   *  peer, a Byzantine sender's dropped forward). */
  arrive(from: number, to: number, msg: Message<number>, now: number): Message<number> | null;
  /** Plumtree's validate-before-forward hook of node `node`; absent: no validation. */
  validate?(node: number, id: MsgId, payload: Uint8Array, from: number): Verdict;
}

/** Hooks for visualisation (web UI). Called synchronously; must not mutate the simulation. */
export interface SimObserver {
  onSend?(from: number, to: number, msg: Message<number>, t: number): void;
  onDeliver?(node: number, id: MsgId, round: number, from: number | null, t: number): void;
  onLinkDown?(a: number, b: number, t: number): void;
}

/** Message counts and bytes by type, taken at the send boundary. */
export type TrafficByType = Record<string, { messages: number; bytes: number }>;

// Event kinds (low 4 bits) and the "activity" flag (see runUntilQuiet).
const K_MSG = 0;
const K_TIMER = 1;
const K_LINKDOWN = 2;
const K_CALL = 3;
const K_JOIN = 4;
/** Application message / timer; the application's index is in bits 5..7 of the kind. */
const K_APP = 5;
const K_APPTIMER = 6;
const ACTIVE = 16;

// Node states.
const S_NEW = 0;
const S_ALIVE = 1;
const S_DEAD = 2;

const GOSSIP = typeIndex('gossip');
const IHAVE = typeIndex('ihave');
const GRAFT = typeIndex('graft');
const PRUNE = typeIndex('prune');
if (IHAVE !== GOSSIP + 1 || GRAFT !== GOSSIP + 2 || PRUNE !== GOSSIP + 3) throw new Error('size.ts: broadcast type indices must be contiguous');

export class Simulation {
  /** Number of node slots (ids 0..n-1). */
  readonly n: number;
  readonly seed: number;
  readonly config: NodeConfig;
  readonly network: NetworkModel;
  observer?: SimObserver;

  private _now = 0;
  private _events = 0;
  private activity = 0;
  private readonly queue = new EventQueue();
  private readonly ev: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
  private readonly master: Sfc32;
  /** Generator for the driver's own choices (broadcast origins, failures, contacts). */
  readonly rng: Sfc32;
  private readonly nodes: (SimNode | null)[];
  private readonly state: Uint8Array;
  private readonly inc: Int32Array;
  /** `inc[i]` while node i is alive, -1 otherwise: read when sending (an event carries the
   *  incarnation it was sent to); the receiving side checks the copy in its `SimNode`. */
  private readonly life: Int32Array;
  private group: Int32Array | null = null;
  private slowDelay: Float64Array | null = null;
  private readonly typeMsgs = new Float64Array(MESSAGE_TYPES.length);
  private readonly typeBytes = new Float64Array(MESSAGE_TYPES.length);
  private readonly records = new Map<string, BroadcastRecord>();
  private lastId = '';
  private lastRec: BroadcastRecord | undefined;
  private broadcasts = 0;
  private readonly payloadBytes: number;
  private readonly fullPeers: boolean;
  private liveCount = 0;
  /** The hosted applications (null: none; then no app path is ever taken). */
  readonly apps: AppHost | null;
  /** An experiment's defences and attackers (undefined: none). */
  readonly guard: SimGuard | undefined;
  /** Per node, the virtual time until which it is stalled (null: no stall ever). */
  private stallUntil: Float64Array | null = null;

  constructor(o: SimOptions) {
    if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 50_000_000) {
      throw new Error(`nodes: expected an integer in [1, 50000000], got ${String(o.nodes)}`);
    }
    if (!Number.isFinite(o.seed)) throw new Error(`seed: expected a finite number, got ${String(o.seed)}`);
    const cfg = resolveNodeConfig(o.protocol ?? {});
    if (!cfg.ok) throw new Error(`protocol.${cfg.reason}`);
    this.config = cfg.config;
    this.n = o.nodes;
    this.seed = o.seed;
    this.master = new Sfc32(o.seed);
    this.network = new NetworkModel(resolveNetworkConfig(o.network), this.master.fork());
    this.rng = this.master.fork();
    this.nodes = new Array<SimNode | null>(o.nodes).fill(null);
    this.state = new Uint8Array(o.nodes);
    this.inc = new Int32Array(o.nodes);
    this.life = new Int32Array(o.nodes).fill(-1);
    this.payloadBytes = o.payloadBytes ?? 64;
    this.fullPeers = o.fanoutPeers === 'full';
    if (o.fanoutPeers !== undefined && o.fanoutPeers !== 'full' && o.fanoutPeers !== 'membership') {
      throw new Error(`fanoutPeers: expected "membership" or "full", got ${JSON.stringify(o.fanoutPeers)}`);
    }
    this.apps = o.apps !== undefined && o.apps.length > 0 ? new AppHost(this, o.apps) : null;
    this.guard = o.guard;
  }

  /** Current virtual time (ms). */
  get now(): number {
    return this._now;
  }

  /** Events processed so far. */
  get eventsProcessed(): number {
    return this._events;
  }

  /** Events pending in the queue. */
  get pendingEvents(): number {
    return this.queue.size;
  }

  // ------------------------------------------------------------------ running

  /** Process one event. Returns false when the queue is empty. */
  step(): boolean {
    return this.stepUntil(Infinity);
  }

  /** Process the next event if it is due at or before `limit`; false otherwise. */
  private stepUntil(limit: number): boolean {
    const e = this.ev;
    if (!this.queue.pop(e, limit)) return false;
    this._now = e.time;
    this._events++;
    let kind = e.kind;
    const active = (kind & ACTIVE) !== 0;
    if (active) {
      this.activity--;
      kind &= 15;
    }
    const a = e.node;
    if (this.stallUntil !== null && kind !== K_CALL && kind !== K_JOIN && this.stallUntil[a] > e.time) {
      // A stalled process: its inputs wait, in their order, until it wakes; then its due
      // timers fire first and what arrived is read 1 ms later (as Node's event loop runs the
      // timers phase before it polls the sockets).
      if (active) this.activity++;
      const timerKind = kind === K_TIMER || (kind & 15) === K_APPTIMER;
      this.queue.push(this.stallUntil[a] + (timerKind ? 0 : 1), e.kind, a, e.peer, e.aux, e.obj);
      e.obj = null;
      return true;
    }
    // Messages and timers go to a node that has started (sends need a live receiver, timers
    // come from a machine); its `SimNode` (one object: liveness, machines, sink) is the one
    // random memory access before the machine's own.
    if (kind === K_MSG) {
      const sn = this.nodes[a]!;
      if (sn.life !== e.aux) return true;
      if (this.group !== null && this.group[a] !== this.group[e.peer]) return true;
      let m = e.obj as Message<number>;
      if (this.guard !== undefined) {
        const g = this.guard.arrive(e.peer, a, m, e.time);
        if (g === null) return true;
        m = g;
      }
      // ACTIVE messages are the broadcast ones (see `_send`), the others membership ones.
      if (active) sn.broadcaster.handleMessage(e.peer, m as BroadcastMessage, e.time);
      else sn.membership.handleMessage(e.peer, m as HyParViewMessage<number> | CyclonMessage<number>, e.time);
    } else if (kind === K_TIMER) {
      const sn = this.nodes[a]!;
      if (sn.life !== e.aux) return true;
      if (active) sn.broadcaster.handleTimer(e.obj as BroadcastTimer, e.time);
      else sn.handleTimer(e.obj as Timer<number>, e.time);
    } else if (kind === K_LINKDOWN) {
      this.fireLinkDown(a, e.peer, e.aux);
    } else if (kind === K_JOIN) {
      this.joinThroughEarlier(a, e.peer);
    } else if ((kind & 15) === K_APP) {
      const sn = this.nodes[a]!;
      if (sn.life === e.aux && (this.group === null || this.group[a] === this.group[e.peer])) sn.apps![kind >> 5].handleMessage(e.peer, e.obj, e.time);
    } else if ((kind & 15) === K_APPTIMER) {
      const sn = this.nodes[a]!;
      if (sn.life === e.aux) sn.apps![kind >> 5].handleTimer(e.obj, e.time);
    } else {
      (e.obj as () => void)();
    }
    e.obj = null;
    return true;
  }

  /** Run every event up to and including time `t`; afterwards `now` is `t`. */
  runUntil(t: number): void {
    while (this.stepUntil(t));
    if (t > this._now) this._now = t;
  }

  /** Run for `ms` of virtual time. */
  runFor(ms: number): void {
    this.runUntil(this._now + ms);
  }

  /**
   * Run until no broadcast traffic is pending — no GOSSIP / IHAVE / GRAFT / PRUNE message in
   * flight and no Plumtree missing-message / IHAVE-flush or fanout-round timer — or until
   * `maxMs` of virtual time have passed. Membership upkeep (shuffles, neighbour requests,
   * link failures) does not count: it never stops.
   */
  runUntilQuiet(maxMs: number): void {
    const deadline = this._now + maxMs;
    while (this.activity > 0 && this.stepUntil(deadline));
    if (this.activity > 0 && deadline > this._now) this._now = deadline;
  }

  /** Schedule `fn` at virtual time `t` (driver control: scenario events, churn). */
  at(t: number, fn: () => void): void {
    this.queue.push(Math.max(t, this._now), K_CALL, 0, 0, 0, fn);
  }

  // ------------------------------------------------------------------ membership control

  /**
   * Start every node that has not started yet, one every `intervalMs` (default 1 ms) from
   * now, in id order; each joins through up to three random nodes started before it.
   */
  joinAll(intervalMs = 1): void {
    if (!(intervalMs >= 0)) throw new Error(`intervalMs: expected a number >= 0, got ${String(intervalMs)}`);
    let k = 0;
    for (let i = 0; i < this.n; i++) {
      if (this.state[i] !== S_NEW) continue;
      this.queue.push(this._now + k * intervalMs, K_JOIN, i, i, 0, null);
      k++;
    }
  }

  private joinThroughEarlier(node: number, limit: number): void {
    if (this.state[node] === S_ALIVE) return;
    const contacts: number[] = [];
    if (limit > 0) {
      for (let tries = 0; tries < 8 && contacts.length < 3; tries++) {
        const c = this.rng.int(limit);
        if (c !== node && this.state[c] === S_ALIVE && !contacts.includes(c)) contacts.push(c);
      }
    }
    this.join(node, contacts);
  }

  /** Start `node` (or restart it with fresh state if it crashed) and join through `contacts`. */
  join(node: number, contacts: number[]): void {
    this.checkNode(node, 'node');
    if (this.state[node] === S_ALIVE) return;
    if (this.state[node] === S_DEAD) this.inc[node]++;
    const peerSource = this.fullPeers ? new FullMembership(this.n, node) : undefined;
    const sn = new SimNode(this, node, this.config, this.master.fork(), peerSource);
    const old = this.nodes[node];
    if (old !== null) {
      // A restart: the node id's traffic counts go on (its connections died with it).
      sn.sentMsgs = old.sentMsgs;
      sn.sentBytes = old.sentBytes;
    }
    this.nodes[node] = sn;
    this.state[node] = S_ALIVE;
    this.life[node] = this.inc[node];
    sn.life = this.inc[node];
    this.liveCount++;
    sn.join(contacts, this._now);
    if (this.apps !== null) {
      const apps = this.apps.create(node, this.master.fork());
      sn.apps = apps;
      for (const app of apps) app.start(this._now);
    }
  }

  /** Crash `nodes` at once (no goodbye): their connection peers learn after the
   *  failure-detection delay (`silent`: after the silent-host timeout, as a host that froze
   *  or lost power, with no reset); messages to them are dropped; their applications stop
   *  without a word. */
  crash(nodes: number[], opts: { silent?: boolean } = {}): void {
    for (const x of nodes) this.checkNode(x, 'crash');
    for (const x of nodes) {
      if (this.state[x] !== S_ALIVE) continue;
      this.state[x] = S_DEAD;
      this.life[x] = -1;
      this.liveCount--;
      const sn = this.nodes[x]!;
      sn.life = -1;
      if (sn.apps !== null) {
        sn.apps = null;
        this.apps!.dispose(x);
      }
      const list = sn.conn;
      sn.conn = null;
      if (list === null) continue;
      for (let i = 0; i < list.length; i += 3) {
        const p = list[i];
        if ((list[i + 1] & FAIL) !== 0) continue;
        this.breakEntry(p, x, opts.silent === true ? this.network.silentMs() : this.network.crashDetectMs());
      }
    }
  }

  /** Leave gracefully: the node's applications `stop` (their last messages go out), then
   *  the process ends as a crash does (its overlay links reset). */
  leave(node: number): void {
    this.checkNode(node, 'leave');
    if (this.state[node] !== S_ALIVE) return;
    const apps = this.nodes[node]!.apps;
    if (apps !== null) for (const app of apps) app.stop(this._now);
    this.crash([node]);
  }

  /** Stall `node` for `ms` from now (a stopped process: SIGSTOP, a long GC pause, a
   *  swapped-out VM): every message, timer and link notice for it waits, in its order, until
   *  it wakes — its timers at the wake time, its messages and link notices 1 ms later (timers
   *  fire before the sockets are read, as in Node's event loop); its connections stay up.
   *  Extends a stall in progress. */
  stall(node: number, ms: number): void {
    this.checkNode(node, 'stall');
    if (!(ms >= 0)) throw new Error(`stall: expected a duration >= 0 ms, got ${String(ms)}`);
    this.stallUntil ??= new Float64Array(this.n);
    this.stallUntil[node] = Math.max(this.stallUntil[node], this._now + ms);
  }

  /** True while `node` is stalled. */
  isStalled(node: number): boolean {
    return this.stallUntil !== null && this.stallUntil[node] > this._now;
  }

  /** Crash `p` % of the live nodes, chosen at random. Returns the crashed ids (sorted). */
  failPercent(p: number): number[] {
    if (!(p >= 0 && p <= 100)) throw new Error(`percent: expected a number in [0, 100], got ${String(p)}`);
    const live = this.liveNodes();
    const k = Math.round((p / 100) * live.length);
    const chosen = this.pickLive(live, k);
    this.crash(chosen);
    return chosen.sort((a, b) => a - b);
  }

  /** Split the live nodes into `groups` random groups of (nearly) equal size. */
  partition(groups: number): void {
    if (!Number.isInteger(groups) || groups < 1) throw new Error(`groups: expected an integer >= 1, got ${String(groups)}`);
    const live = this.liveNodes();
    const order = this.pickLive(live, live.length);
    const g = new Int32Array(this.n);
    for (let i = 0; i < order.length; i++) g[order[i]] = i % groups;
    this.group = g;
    const t = this.network.silentMs();
    for (let a = 0; a < this.n; a++) {
      const list = this.connOf(a);
      if (list === null) continue;
      for (let i = 0; i < list.length; i += 3) {
        const b = list[i];
        if (b > a && g[a] !== g[b] && (list[i + 1] & FAIL) === 0) {
          list[i + 1] |= FAIL;
          this.schedLinkDown(a, b, t);
          this.breakEntry(b, a, t);
        }
      }
    }
  }

  /** End the partition: messages flow between every pair again. */
  heal(): void {
    this.group = null;
  }

  /** Cut the connection a–b (both processes stay up, as a reset by a firewall): each end
   *  learns after the crash-detection delay and repairs its view. No-op without a link. */
  cutLink(a: number, b: number): void {
    const d = this.network.crashDetectMs();
    this.breakEntry(a, b, d);
    this.breakEntry(b, a, d);
  }

  /** Change the message loss rate from now on. */
  setLoss(r: number): void {
    if (!(r >= 0 && r <= 1)) throw new Error(`loss: expected a number in [0, 1], got ${String(r)}`);
    this.network.loss = r;
  }

  /** Make `percent` % of the live nodes slow: every message to them is delayed by `delayMs`. */
  slow(percent: number, delayMs: number): number[] {
    if (!(percent >= 0 && percent <= 100)) throw new Error(`percent: expected a number in [0, 100], got ${String(percent)}`);
    if (!(delayMs >= 0)) throw new Error(`delayMs: expected a number >= 0, got ${String(delayMs)}`);
    const live = this.liveNodes();
    const chosen = this.pickLive(live, Math.round((percent / 100) * live.length));
    this.slowDelay ??= new Float64Array(this.n);
    for (const x of chosen) this.slowDelay[x] = delayMs;
    return chosen.sort((a, b) => a - b);
  }

  /**
   * Churn for `durationMs` from now: crashes (`leavePerSec`) and restarts of crashed or
   * never-started nodes (`joinPerSec`), as two Poisson processes.
   */
  churn(durationMs: number, joinPerSec: number, leavePerSec: number): void {
    scheduleChurn(this, durationMs, joinPerSec, leavePerSec);
  }

  // ------------------------------------------------------------------ broadcasts & stats

  /** Originate a broadcast at `from` (default: a random live node). Returns its id. */
  broadcast(from?: number): string {
    let origin: number;
    if (from === undefined) {
      if (this.liveCount === 0) throw new Error('broadcast: no live node');
      const live = this.liveNodes();
      origin = live[this.rng.int(live.length)];
    } else {
      this.checkNode(from, 'from');
      if (this.state[from] !== S_ALIVE) throw new Error(`from: node ${from} is not alive`);
      origin = from;
    }
    const id = `m${this.broadcasts++}`;
    const payload = new Uint8Array(this.payloadBytes);
    for (let i = 0; i < payload.length; i++) payload[i] = (this.broadcasts * 31 + i) & 255;
    this.records.set(id, new BroadcastRecord(id, origin, this._now, this.n));
    this.nodes[origin]!.broadcast(id, payload, this._now);
    return id;
  }

  /** Figures of broadcast `id` as of now. */
  broadcastStats(id: string): BroadcastStats {
    const r = this.records.get(id);
    if (r === undefined) throw new Error(`broadcast id: unknown ${JSON.stringify(id)}`);
    return r.stats((i) => this.state[i] === S_ALIVE, this.liveCount);
  }

  /** Ids of every broadcast so far, in order. */
  broadcastIds(): string[] {
    return [...this.records.keys()];
  }

  /** Overlay health from the active views of the live nodes. */
  overlayStats(sampleSources = 10): OverlayStats {
    const live = new Uint8Array(this.n);
    for (let i = 0; i < this.n; i++) live[i] = this.state[i] === S_ALIVE ? 1 : 0;
    const rng = new Sfc32((this.seed ^ 0x0ea1) + this._events);
    return overlayStats(this.n, live, (i) => this.nodes[i]!.activeView(), rng, sampleSources);
  }

  /** Messages and bytes sent, by message type (types never sent are omitted). */
  trafficByType(): TrafficByType {
    const out: TrafficByType = {};
    MESSAGE_TYPES.forEach((t, i) => {
      if (this.typeMsgs[i] > 0) out[t] = { messages: this.typeMsgs[i], bytes: this.typeBytes[i] };
    });
    return out;
  }

  /** Messages sent by node `n` so far. */
  sentMessages(n: number): number {
    const s = this.nodes[n];
    return s === null ? 0 : s.sentMsgs;
  }

  /** Bytes sent by node `n` so far. */
  sentBytes(n: number): number {
    const s = this.nodes[n];
    return s === null ? 0 : s.sentBytes;
  }

  isAlive(n: number): boolean {
    return n >= 0 && n < this.n && this.state[n] === S_ALIVE;
  }

  liveCountNow(): number {
    return this.liveCount;
  }

  liveNodes(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.n; i++) if (this.state[i] === S_ALIVE) out.push(i);
    return out;
  }

  /** The protocol node `n` (throws if it never started). */
  node(n: number): SimNode {
    this.checkNode(n, 'node');
    const p = this.nodes[n];
    if (p === null) throw new Error(`node: ${n} has not started`);
    return p;
  }

  // ------------------------------------------------------------------ Io (internal)

  /** @internal Send from started node `from` (tests; the nodes use `_sendFrom`). */
  _send(from: number, to: number, msg: Message<number>): void {
    this._sendFrom(this.node(from), to, msg);
  }

  /** @internal `src` sends `msg` to `to`. Counters and connection list are fields of `src`
   *  (in cache: it is the sink the machine just called), not arrays indexed by node. */
  _sendFrom(src: SimNode, to: number, msg: Message<number>): void {
    const from = src.self;
    const ti = typeIndex(msg.type);
    const sz = messageSize(msg);
    this.typeMsgs[ti]++;
    this.typeBytes[ti] += sz;
    src.sentMsgs++;
    src.sentBytes += sz;
    if (ti >= GOSSIP && ti <= GRAFT) this.countBroadcastMsg(msg);
    if (this.observer !== undefined && this.observer.onSend !== undefined) this.observer.onSend(from, to, msg, this._now);
    if (!(to >= 0 && to < this.n) || to === from) {
      this.schedLinkDown(from, to, this.network.refusedMs());
      return;
    }
    let list = src.conn;
    const idx = list === null ? -1 : findEntry(list, to);
    if (idx >= 0 && (list![idx + 1] & FAIL) !== 0) return;
    if (!this.reachable(from, to)) {
      // No connection (or a stale one): the connection attempt fails.
      if (list === null) list = src.conn = [];
      if (idx >= 0) list[idx + 1] |= FAIL;
      else list.push(to, FAIL, 0);
      this.schedLinkDown(from, to, this.unreachableMs(to));
      return;
    }
    if (this.network.lost()) return;
    let t = this._now + this.network.latency();
    if (this.slowDelay !== null) t += this.slowDelay[to];
    if (idx >= 0) {
      if (t < list![idx + 2]) t = list![idx + 2];
      list![idx + 2] = t;
    }
    const active = ti >= GOSSIP && ti <= PRUNE;
    if (active) this.activity++;
    this.queue.push(t, active ? K_MSG | ACTIVE : K_MSG, to, from, this.life[to], msg);
  }

  /** @internal Application `index` of live node `from` sends `msg` to `to` (app-host.ts). */
  _appSend(from: number, index: number, to: number, msg: unknown): void {
    const sz = this.apps!.countSend(from, index, msg);
    const src = this.nodes[from]!;
    src.sentMsgs++;
    src.sentBytes += sz;
    if (!(to >= 0 && to < this.n) || to === from || this.life[to] < 0) return;
    if (this.group !== null && this.group[from] !== this.group[to]) return;
    if (this.network.lost()) return;
    let t = this._now + this.network.latency();
    if (this.slowDelay !== null) t += this.slowDelay[to];
    this.queue.push(t, K_APP | (index << 5), to, from, this.life[to], msg);
  }

  /** @internal Application `index` of `node` sets a timer. */
  _appTimer(node: number, index: number, delayMs: number, t: unknown): void {
    const life = this.nodes[node]!.life;
    this.queue.push(this._now + delayMs, K_APPTIMER | (index << 5), node, 0, life >= 0 ? life : -2, t);
  }

  /** @internal An application broadcast from `node` on its channel `id`. */
  _appBroadcast(node: number, id: string, payload: Uint8Array): void {
    this.nodes[node]!.broadcast(id, payload, this._now);
  }

  /** @internal Open a connection from started node `a` (tests; the nodes use `_connectFrom`). */
  _connect(a: number, b: number): void {
    this._connectFrom(this.node(a), b);
  }

  /** @internal */
  _connectFrom(src: SimNode, b: number): void {
    const a = src.self;
    if (b === a) return;
    if (!(b >= 0 && b < this.n)) {
      this.schedLinkDown(a, b, this.network.refusedMs());
      return;
    }
    let list = src.conn;
    if (list === null) list = src.conn = [];
    const idx = findEntry(list, b);
    if (idx >= 0) {
      if ((list[idx + 1] & FAIL) !== 0) return;
      list[idx + 1] |= OUT;
    } else if (!this.reachable(a, b)) {
      list.push(b, FAIL, 0);
      this.schedLinkDown(a, b, this.unreachableMs(b));
      return;
    } else {
      list.push(b, OUT, 0);
    }
    // Reachable: b is alive, so it has started.
    const bn = this.nodes[b]!;
    let bl = bn.conn;
    if (bl === null) bl = bn.conn = [];
    const j = findEntry(bl, a);
    if (j >= 0) bl[j + 1] |= IN;
    else bl.push(a, IN, 0);
  }

  /** @internal `src` sets a timer. */
  _timerFrom(src: SimNode, delayMs: number, t: Timer<number>): void {
    // The incarnation the timer belongs to; -2 (never alive) from a node that is not alive.
    const life = src.life >= 0 ? src.life : -2;
    const active = isBroadcastTimer(t.type);
    if (active) this.activity++;
    this.queue.push(this._now + delayMs, active ? K_TIMER | ACTIVE : K_TIMER, src.self, 0, life, t);
  }

  /** @internal */
  _deliver(node: number, id: MsgId, round: number, from: number | null): void {
    const r = this.rec(id);
    if (r !== undefined) r.deliver(node, this._now, from === null ? 0 : round + 1);
    if (this.observer?.onDeliver !== undefined) this.observer.onDeliver(node, id, round, from, this._now);
  }

  // ------------------------------------------------------------------ helpers

  /** Charge a GOSSIP to its broadcast's payload count, IHAVE entries / GRAFT to control. */
  private countBroadcastMsg(msg: Message<number>): void {
    if (msg.type === 'gossip') {
      const r = this.rec(msg.id);
      if (r !== undefined) r.payloadMessages++;
    } else if (msg.type === 'ihave') {
      const entries = msg.entries;
      for (let i = 0; i < entries.length; i++) {
        const r = this.rec(entries[i].id);
        if (r !== undefined) r.controlMessages++;
      }
    } else if (msg.type === 'graft' && msg.id !== null) {
      const r = this.rec(msg.id);
      if (r !== undefined) r.controlMessages++;
    }
  }

  private rec(id: string): BroadcastRecord | undefined {
    if (id === this.lastId) return this.lastRec;
    const r = this.records.get(id);
    this.lastId = id;
    this.lastRec = r;
    return r;
  }

  /** @internal Connection list of node `x` (null: none, or never started). */
  connOf(x: number): number[] | null {
    const s = this.nodes[x];
    return s === null ? null : s.conn;
  }

  private reachable(a: number, b: number): boolean {
    return this.life[b] >= 0 && (this.group === null || this.group[a] === this.group[b]);
  }

  private unreachableMs(b: number): number {
    return this.state[b] === S_ALIVE ? this.network.silentMs() : this.network.refusedMs();
  }

  /** Mark `p`'s entry for `x` broken and tell `p` after `delay`. */
  private breakEntry(p: number, x: number, delay: number): void {
    const pl = this.connOf(p);
    if (pl === null) return;
    const j = findEntry(pl, x);
    if (j < 0 || (pl[j + 1] & FAIL) !== 0) return;
    pl[j + 1] |= FAIL;
    this.schedLinkDown(p, x, delay);
  }

  private schedLinkDown(a: number, b: number, delay: number): void {
    this.queue.push(this._now + delay, K_LINKDOWN, a, b, this.inc[a], null);
  }

  private fireLinkDown(a: number, b: number, incA: number): void {
    if (this.life[a] !== incA) return;
    const list = this.nodes[a]!.conn;
    if (list !== null) {
      const idx = findEntry(list, b);
      if (idx >= 0) {
        if ((list[idx + 1] & FAIL) === 0) return; // re-established since: stale notice
        removeEntry(list, idx);
      }
    }
    this.nodes[a]!.handleLinkDown(b, this._now);
    if (this.observer?.onLinkDown !== undefined) this.observer.onLinkDown(a, b, this._now);
  }

  /** @internal `k` distinct random elements of `live` (partial Fisher–Yates on a copy). */
  pickLive(live: number[], k: number): number[] {
    const pool = live.slice();
    for (let i = 0; i < k; i++) {
      const j = i + this.rng.int(pool.length - i);
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
    }
    pool.length = k;
    return pool;
  }

  private checkNode(x: number, field: string): void {
    if (!Number.isInteger(x) || x < 0 || x >= this.n) {
      throw new Error(`${field}: node id ${String(x)} out of range [0, ${this.n - 1}]`);
    }
  }
}
