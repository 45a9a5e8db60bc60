/**
 * The engine of the deterministic discrete-event simulator (`Simulation`, simulation.ts, adds
 * the driver's controls on top: joins, crashes, partitions, broadcasts, figures): the event
 * loop, the connections between processes, and the `Io` the simulated nodes call
 * (`SimNode`, one per node, routing as `ProtoNode` does).
 *
 * Virtual time in milliseconds; one event queue ordered by (time, insertion order); one
 * seeded generator for the network and one forked per node. Same seed ⇒ identical run.
 *
 * Connections model TCP between processes. Each node keeps a small list of connection entries
 * `[peer, flags, lastDelivery]` (peer and flags packed in one number, in a block of one shared
 * Float64Array, conn-table.ts): `OUT` =
 * this node called `connect(peer)`, `IN` = the peer called `connect(this)`, `FAIL` = the
 * connection broke and a `handleLinkDown` is pending. A connection is shared: when a process
 * crashes, every node holding an entry for it learns after the failure-detection delay; a
 * partition breaks the connections across groups after the silent timeout. Messages on a
 * connection are delivered FIFO; sends on a broken connection are dropped. A send or connect to
 * an unreachable peer without a connection yields `handleLinkDown` after one round trip
 * (crashed process, refused) or the connect timeout (partitioned or silent host).
 *
 * Message and byte counts are taken at the `send` boundary, before loss.
 */
import { resolveNodeConfig, type NodeConfig } from '../proto/node.js';
import { Sfc32 } from '../proto/rng.js';
import type { BroadcastMessage, BroadcastTimer, CyclonMessage, HyParViewMessage, Message, MsgId, Timer } from '../proto/types.js';
import { BroadcastLog } from './metrics.js';
import { NetworkModel, resolveNetworkConfig } from './network.js';
import { EventQueue, type EventRecord } from './queue.js';
import { MESSAGE_TYPES, messageSize, typeIndex } from './size.js';
import { FAIL, IN, OUT, isBroadcastTimer, type SimNode } from './sim-node.js';
import { ConnTable, STRIDE } from './conn-table.js';
import { AppHost } from './app-host.js';
import { RowViews } from '../proto/hyparview-views.js';
import type { SimGuard, SimObserver, SimOptions } from './sim-types.js';

// Event kinds (low 4 bits) and the "activity" flag (see runUntilQuiet).
const K_MSG = 0;
const K_TIMER = 1;
const K_LINKDOWN = 2;
const K_CALL = 3;
export const K_JOIN = 4;
/** Application message / timer; the application's index is in bits 5..7 of the kind. */
const K_APP = 5;
const K_APPTIMER = 6;
const ACTIVE = 16;

// Node states.
export const S_NEW = 0;
export const S_ALIVE = 1;
export const S_DEAD = 2;

const GOSSIP = typeIndex('gossip');
const IHAVE = typeIndex('ihave');
const GRAFT = typeIndex('graft');
const PRUNE = typeIndex('prune');
if (IHAVE !== GOSSIP + 1 || GRAFT !== GOSSIP + 2 || PRUNE !== GOSSIP + 3) throw new Error('size.ts: broadcast type indices must be contiguous');

export abstract class SimEngine {
  /** Number of node slots (ids 0..n-1). */
  readonly n: number;
  readonly seed: number;
  readonly config: NodeConfig;
  readonly network: NetworkModel;
  observer?: SimObserver;

  protected _now = 0;
  protected _events = 0;
  protected activity = 0;
  /** Sink of the prefetch load in `stepUntil` (never read for a decision). */
  protected prefetched = 0;
  protected readonly queue = new EventQueue();
  protected readonly ev: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
  protected readonly master: Sfc32;
  /** Generator for the driver's own choices (broadcast origins, failures, contacts). */
  readonly rng: Sfc32;
  protected readonly nodes: (SimNode | null)[];
  /** @internal Every node's connection list (conn-table.ts); empty until its first
   *  connection, and once crashed. */
  readonly conns: ConnTable;
  /** @internal Every node id's HyParView views, a row each (hyparview-views.ts `RowViews`:
   *  the machines keep their views there instead of arrays of their own); null when the
   *  membership is not HyParView. */
  readonly hvRows: RowViews | null;
  protected readonly state: Uint8Array;
  protected readonly inc: Int32Array;
  /** `inc[i]` while node i is alive, -1 otherwise: read when sending (an event carries the
   *  incarnation it was sent to); the receiving side checks the copy in its `SimNode`. */
  protected readonly life: Int32Array;
  protected group: Int32Array | null = null;
  protected slowDelay: Float64Array | null = null;
  protected readonly typeMsgs = new Float64Array(MESSAGE_TYPES.length);
  protected readonly typeBytes = new Float64Array(MESSAGE_TYPES.length);
  /** Every broadcast's record (deliveries, payload and control messages). */
  protected readonly log = new BroadcastLog();
  protected readonly payloadBytes: number;
  protected readonly fullPeers: boolean;
  protected liveCount = 0;
  /** The hosted applications (null: none; then no app path is ever taken). */
  readonly apps: AppHost | null;
  /** An experiment's defences and attackers (undefined: none). */
  readonly guard: SimGuard | undefined;
  /** Per node, the virtual time until which it is stalled (null: no stall ever). */
  protected stallUntil: Float64Array | null = null;

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
    this.conns = new ConnTable(o.nodes);
    const hv = this.config.hyparview;
    this.hvRows = this.config.membership === 'hyparview' ? new RowViews(o.nodes, hv.activeViewSize, hv.passiveViewSize) : null;
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
  protected stepUntil(limit: number): boolean {
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
    this.prefetched = this.loadAhead();
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

  /**
   * Prefetch as a software pipeline over the next four events (the loaded values are never
   * used): the fourth next event's `SimNode`, connection block and HyParView row (the row's
   * first line, the active view, and the line of the passive view's count: both found from
   * the node id alone; membership inputs only), the third's machine objects (and its seen
   * cache object, for a broadcast input: kind ACTIVE), the second's links array (and its
   * cache's two ring arrays), the next one's links elements (and the newest entry in the
   * ring). Each level of a node's state (node → machine → array → elements) is a dependent
   * cache miss; loaded one level per event, each load has its address from the event before
   * and overlaps this event's work, where loading a whole chain at once (or only its first
   * level, one event ahead, as until 2026-12-07) waits for each miss in turn. Only events
   * already in the bucket being read are looked at (a later push can still come first: a
   * hint only). Measured with the mirrored `npm run bench:sim-pair` (docs/results.md
   * "Simulator speed", h28s): about −6 % CPU at 10^5 nodes, in the join and settle phases;
   * the views as rows: "The views as rows of one typed array" (h32s); the seen cache and the
   * rows by the input's kind: h35s (2026-12-07).
   */
  protected loadAhead(): number {
    const Q = this.queue;
    const N = this.nodes;
    let x = 0;
    // Each hint: node · 32 + the kind's low 5 bits (ACTIVE: a broadcast input), or -1.
    const h3 = Q.peekHint(3);
    if (h3 >= 0) {
      const n3 = h3 >> 5;
      const s = N[n3];
      // Compared, not added: the sum stays a small integer (a double would be boxed).
      if (s !== null) x += s.life + (this.conns.a[n3 * STRIDE] > 0 ? 1 : 0);
      const R = this.hvRows;
      // The rows are the membership's: a broadcast input never reads them.
      if (R !== null && (h3 & ACTIVE) === 0) x += R.a[R.activeOffset(n3)] + R.a[R.passiveOffset(n3)];
    }
    const h2 = Q.peekHint(2);
    if (h2 >= 0) {
      const s = N[h2 >> 5];
      if (s !== null) {
        x += s.warm();
        // Every broadcast input reads the seen cache (an id's lookup, the flush's number).
        if ((h2 & ACTIVE) !== 0 && s.seen !== null) x += s.seen.warm();
      }
    }
    const h1 = Q.peekHint(1);
    if (h1 >= 0) {
      const s = N[h1 >> 5];
      if (s !== null) {
        x += s.links.length;
        if ((h1 & ACTIVE) !== 0 && s.seen !== null) x += s.seen.warmArrays();
      }
    }
    const h0 = Q.peekHint(0);
    if (h0 >= 0) {
      const s = N[h0 >> 5];
      if (s !== null) {
        const l = s.links;
        // Compared, not added: a peer read from an array that holds the links' ages is a
        // double (adding it would make `x` one, boxed at the return).
        if (l.length > 0 && l[0] >= 0) x++;
        if ((h0 & ACTIVE) !== 0 && s.seen !== null) x += s.seen.warmRing();
      }
    }
    return x;
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

  /** @internal `src` sends `msg` to `to`. Traffic counters are fields of `src` (in cache: it
   *  is the sink the machine just called); its connection list is its block of `conns`. */
  _sendFrom(src: SimNode, to: number, msg: Message<number>): void {
    const from = src.self;
    const ti = typeIndex(msg.type);
    const sz = messageSize(msg);
    this.typeMsgs[ti]++;
    this.typeBytes[ti] += sz;
    src.sentMsgs++;
    src.sentBytes += sz;
    if (ti >= GOSSIP && ti <= GRAFT) this.log.countSend(msg);
    if (this.observer !== undefined && this.observer.onSend !== undefined) this.observer.onSend(from, to, msg, this._now);
    if (!(to >= 0 && to < this.n) || to === from) {
      this.schedLinkDown(from, to, this.network.refusedMs());
      return;
    }
    const C = this.conns;
    const idx = C.find(from, to);
    if (idx >= 0 && (C.flags(idx) & FAIL) !== 0) return;
    if (!this.reachable(from, to)) {
      // No connection (or a stale one): the connection attempt fails.
      if (idx >= 0) C.setFlags(idx, C.flags(idx) | FAIL);
      else C.push(from, to, FAIL, 0);
      this.schedLinkDown(from, to, this.unreachableMs(to));
      return;
    }
    if (this.network.lost()) return;
    let t = this._now + this.network.latency();
    if (this.slowDelay !== null) t += this.slowDelay[to];
    if (idx >= 0) {
      const A = C.a;
      if (t < A[idx + 1]) t = A[idx + 1];
      A[idx + 1] = t;
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

  /** @internal An application of live `node` says `peer` answers again (`AppIo.peerReconnected`):
   *  the node's overlay machine may JOIN through it. True when it did. */
  _appReconnect(node: number, peer: number): boolean {
    const s = this.nodes[node];
    if (s === null || this.life[node] < 0 || !(peer >= 0 && peer < this.n)) return false;
    return s.membership.reconnect?.(peer, this._now) ?? false;
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
    const C = this.conns;
    const idx = C.find(a, b);
    if (idx >= 0) {
      const f = C.flags(idx);
      if ((f & FAIL) !== 0) return;
      C.setFlags(idx, f | OUT);
    } else if (!this.reachable(a, b)) {
      C.push(a, b, FAIL, 0);
      this.schedLinkDown(a, b, this.unreachableMs(b));
      return;
    } else {
      C.push(a, b, OUT, 0);
    }
    // Reachable: b is alive, so it has started.
    const j = C.find(b, a);
    if (j >= 0) C.setFlags(j, C.flags(j) | IN);
    else C.push(b, a, IN, 0);
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
    const r = this.log.rec(id);
    if (r !== undefined) r.deliver(node, this._now, from === null ? 0 : round + 1);
    if (this.observer?.onDeliver !== undefined) this.observer.onDeliver(node, id, round, from, this._now);
  }

  // ------------------------------------------------------------------ helpers

  protected reachable(a: number, b: number): boolean {
    return this.life[b] >= 0 && (this.group === null || this.group[a] === this.group[b]);
  }

  protected unreachableMs(b: number): number {
    return this.state[b] === S_ALIVE ? this.network.silentMs() : this.network.refusedMs();
  }

  /** Mark `p`'s entry for `x` broken and tell `p` after `delay`. */
  protected breakEntry(p: number, x: number, delay: number): void {
    const C = this.conns;
    const j = C.find(p, x);
    if (j < 0 || (C.flags(j) & FAIL) !== 0) return;
    C.setFlags(j, C.flags(j) | FAIL);
    this.schedLinkDown(p, x, delay);
  }

  protected schedLinkDown(a: number, b: number, delay: number): void {
    this.queue.push(this._now + delay, K_LINKDOWN, a, b, this.inc[a], null);
  }

  protected fireLinkDown(a: number, b: number, incA: number): void {
    if (this.life[a] !== incA) return;
    const C = this.conns;
    const idx = C.find(a, b);
    if (idx >= 0) {
      if ((C.flags(idx) & FAIL) === 0) return; // re-established since: stale notice
      C.remove(a, idx);
    }
    this.nodes[a]!.handleLinkDown(b, this._now);
    if (this.observer?.onLinkDown !== undefined) this.observer.onLinkDown(a, b, this._now);
  }


  protected checkNode(x: number, field: string): void {
    if (!Number.isInteger(x) || x < 0 || x >= this.n) {
      throw new Error(`${field}: node id ${String(x)} out of range [0, ${this.n - 1}]`);
    }
  }

  /** Start `node`, joining through up to three random nodes below `limit` (a K_JOIN event). */
  protected abstract joinThroughEarlier(node: number, limit: number): void;
}
