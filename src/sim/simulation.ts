/**
 * Deterministic discrete-event simulator driving the real protocol machines (HyParView,
 * Plumtree, …: one `SimNode` per node, routing as `ProtoNode` does).
 *
 * Virtual time in milliseconds; one event queue ordered by (time, insertion order); one
 * seeded generator for the network and one forked per node. Same seed ⇒ identical run.
 *
 * `SimEngine` (sim-engine.ts) holds the event loop, the connection model and the nodes'
 * `Io`; this class adds what a driver does with it: start and join nodes, crash, stall,
 * partition, slow them down, churn, originate broadcasts, and read the figures.
 */
import { Sfc32 } from '../proto/rng.js';
import { BroadcastRecord, type BroadcastStats, overlayStats, type OverlayStats } from './metrics.js';
import { MESSAGE_TYPES } from './size.js';
import { FAIL, FullMembership, scheduleChurn, SimNode } from './sim-node.js';
import { K_JOIN, SimEngine, S_ALIVE, S_DEAD, S_NEW } from './sim-engine.js';
import type { TrafficByType } from './sim-types.js';
import { ENTRY } from './conn-table.js';

export type { SimGuard, SimObserver, SimOptions, TrafficByType } from './sim-types.js';

export class Simulation extends SimEngine {
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

  protected joinThroughEarlier(node: number, limit: number): void {
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
    const sn = new SimNode(this, node, this.config, this.master.forkSeed(), peerSource);
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
      // Its peers' entries break, in its list's order; its own list empties (breakEntry
      // touches only the peers' lists, so the block can be read while they change).
      const C = this.conns;
      const b = C.base(x);
      const c = C.count(x);
      for (let i = b; i < b + ENTRY * c; i += ENTRY) {
        if ((C.flags(i) & FAIL) !== 0) continue;
        this.breakEntry(C.peerAt(i), x, opts.silent === true ? this.network.silentMs() : this.network.crashDetectMs());
      }
      C.clear(x);
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
      const C = this.conns;
      const i0 = C.base(a);
      const end = i0 + ENTRY * C.count(a);
      for (let i = i0; i < end; i += ENTRY) {
        const b = C.peerAt(i);
        if (b > a && g[a] !== g[b] && (C.flags(i) & FAIL) === 0) {
          C.setFlags(i, C.flags(i) | FAIL);
          this.schedLinkDown(a, b, t);
          this.breakEntry(b, a, t);
        }
      }
    }
  }

  /** The group of each node while partitioned (`partition`), null when not partitioned. */
  partitionGroups(): Int32Array | null {
    return this.group;
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
    const seq = this.log.size;
    const id = `m${seq}`;
    const payload = new Uint8Array(this.payloadBytes);
    for (let i = 0; i < payload.length; i++) payload[i] = ((seq + 1) * 31 + i) & 255;
    this.log.start(new BroadcastRecord(id, origin, this._now, this.n));
    this.nodes[origin]!.broadcast(id, payload, this._now);
    return id;
  }

  /** Figures of broadcast `id` as of now. */
  broadcastStats(id: string): BroadcastStats {
    const r = this.log.get(id);
    if (r === undefined) throw new Error(`broadcast id: unknown ${JSON.stringify(id)}`);
    return r.stats((i) => this.state[i] === S_ALIVE, this.liveCount);
  }

  /** Ids of every broadcast so far, in order. */
  broadcastIds(): string[] {
    return this.log.ids();
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
}
