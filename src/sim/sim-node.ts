/**
 * Building blocks of the simulator (`simulation.ts`): the simulated node (`SimNode`), the
 * full-membership peer source of the fanout baseline, and the flags of a connection entry.
 *
 * A connection list holds 2 numbers per entry, `[peer · 8 + flags, lastDelivery]` (see `SimEngine`):
 * small (≈ active + a few pending peers), scanned linearly, no Map and no object per
 * connection; every node's list is a block of one shared array (conn-table.ts).
 */
import { createMachines, routeMessage, routeTimer, type NodeConfig } from '../proto/node.js';
import type { BroadcastIo, BroadcastMachine, MembershipIo, MembershipMachine } from '../proto/machine.js';
import { Sfc32 } from '../proto/rng.js';
import type { DownReason, Message, MsgId, PeerSource, Rng, Timer, Verdict } from '../proto/types.js';
import type { App } from '../proto/app.js';
import type { Simulation } from './simulation.js';

/** The read-only `warm()` hint of the protocol machines that have one (HyParView, Plumtree):
 *  reads the fields most inputs read, so that the event loop can load a coming input's
 *  machine objects ahead of it; the value is meaningless. Absent: nothing is loaded ahead. */
type Warm = { warm?(): number };
/** The seen cache's read-only hints (seen.ts), one level of its state each. */
type SeenHints = { warm(): number; warmArrays(): number; warmRing(): number };

// Connection entry flags.
export const OUT = 1;
export const IN = 2;
export const FAIL = 4;

/**
 * One simulated node: its two protocol machines, the sink of both (the machines call it
 * to send, connect, set timers and deliver; it forwards to the simulation with the node's
 * id), and their random generator (it extends `Sfc32`, seeded as `master.fork()` would seed a
 * generator of its own: the same draws, one object less per node, and the generator's state
 * in the object every input touches). It routes inputs as `ProtoNode` does (node.ts) but is
 * one object where `ProtoNode` with its membership sink, the driver's `Io` and the generator
 * are four: at 10^6 nodes each object is one more memory access per event (and one more
 * object for the garbage collector to mark).
 * Neighbour changes reach the broadcast machine at the simulation's current time, which is
 * the time of the input being handled (`ProtoNode` records it at each input).
 */
export class SimNode extends Sfc32 implements MembershipIo<number>, BroadcastIo<number>, Rng {
  readonly membership: MembershipMachine<number>;
  readonly broadcaster: BroadcastMachine<number>;
  /** @internal Messages and bytes sent so far by this node id (a restart carries them on). */
  sentMsgs = 0;
  sentBytes = 0;
  /** @internal The incarnation while alive, -1 once crashed (the simulation's `life`). */
  life = -1;
  /** @internal The hosted applications of this incarnation (app-host.ts); null: none. */
  apps: App<number, unknown, unknown>[] | null = null;
  /** Plumtree's validate hook, only when the simulation has a guard with one (`declare`: no
   *  field at all otherwise, so a node costs no more memory). */
  declare validate?: (id: MsgId, payload: Uint8Array, from: number) => Verdict;
  /** @internal The broadcast machine's live array of links (Plumtree's: `[peer, upAt]` pairs;
   *  empty when it has none), loaded ahead by the event loop (`loadAhead`; HyParView's views
   *  are rows of `sim.hvRows`, read ahead from the node id). */
  readonly links: readonly number[];
  /** @internal The broadcast machine's seen cache (its read-only hints), loaded ahead for
   *  the broadcast machine's inputs (`loadAhead`); null when the machine has none. */
  readonly seen: SeenHints | null;

  /** @param seed the seed of the machines' generator (`Sfc32.forkSeed` of the simulation's
   *  master generator). */
  constructor(
    private readonly sim: Simulation,
    readonly self: number,
    config: NodeConfig,
    seed: number,
    peerSource?: PeerSource<number>,
  ) {
    super(seed);
    const g = sim.guard;
    if (g !== undefined && g.validate !== undefined) {
      const v = g.validate.bind(g);
      this.validate = (id, payload, from) => v(self, id, payload, from);
    }
    const rows = sim.hvRows;
    const m = createMachines<number>(self, config, this, this, this, peerSource, rows !== null ? { store: rows, row: self } : undefined);
    this.membership = m.membership;
    this.broadcaster = m.broadcaster;
    const b = m.broadcaster as Warm & { linksView?(): readonly number[]; cacheView?(): SeenHints };
    this.links = b.linksView !== undefined ? b.linksView() : [];
    this.seen = b.cacheView !== undefined ? b.cacheView() : null;
  }

  join(contacts: readonly number[], now: number): void {
    this.membership.join(contacts, now);
  }

  broadcast(id: MsgId, payload: Uint8Array, now: number): boolean {
    return this.broadcaster.broadcast(id, payload, now);
  }

  handleMessage(from: number, msg: Message<number>, now: number): void {
    routeMessage(this.membership, this.broadcaster, from, msg, now);
  }

  handleTimer(t: Timer<number>, now: number): void {
    routeTimer(this.membership, this.broadcaster, t, now);
  }

  handleLinkDown(peer: number, now: number): void {
    this.membership.handleLinkDown(peer, now);
  }

  /** Load ahead the machines' objects for a coming input (sim-engine.ts `loadAhead`). */
  warm(): number {
    const m = this.membership as Warm;
    const b = this.broadcaster as Warm;
    return (m.warm !== undefined ? m.warm() : 0) + (b.warm !== undefined ? b.warm() : 0);
  }

  activeView(): readonly number[] {
    return this.membership.activeView();
  }

  passiveView(): readonly number[] {
    return this.membership.passiveView();
  }

  // ---------------------------------------------------------------- sink of both machines
  send(to: number, msg: Message<number>): void {
    this.sim._sendFrom(this, to, msg);
  }
  connect(peer: number): void {
    this.sim._connectFrom(this, peer);
  }
  /** Drop this side's OUT flag on the connection to `peer`, and `peer`'s IN flag for us; an
   *  entry left with no flag is removed. A broken connection (FAIL) is left to its pending
   *  link-down notice. */
  disconnect(peer: number): void {
    const C = this.sim.conns;
    const self = this.self;
    const idx = C.find(self, peer);
    if (idx < 0 || (C.flags(idx) & FAIL) !== 0) return;
    const f = C.flags(idx) & ~OUT;
    if (f === 0) C.remove(self, idx);
    else C.setFlags(idx, f);
    const j = C.find(peer, self);
    if (j < 0 || (C.flags(j) & FAIL) !== 0) return;
    const g = C.flags(j) & ~IN;
    if (g === 0) C.remove(peer, j);
    else C.setFlags(j, g);
  }
  timer(delayMs: number, t: Timer<number>): void {
    this.sim._timerFrom(this, delayMs, t);
  }
  deliver(id: MsgId, payload: Uint8Array, round: number, from: number | null): void {
    if (this.apps !== null) {
      // An application broadcast (app-host.ts): to the application, never to the origin.
      const c = this.sim.apps!.carriedBy(payload);
      if (c !== undefined) {
        if (from !== null) this.apps[c.index].handleBroadcast(c.msg, this.sim.now);
        return;
      }
    }
    this.sim._deliver(this.self, id, round, from);
  }
  neighborUp(peer: number): void {
    this.broadcaster.neighborUp(peer, this.sim.now);
    if (this.apps !== null) for (const app of this.apps) app.neighborUp(peer, this.sim.now);
  }
  neighborDown(peer: number, reason: DownReason): void {
    this.broadcaster.neighborDown(peer, this.sim.now);
    if (this.apps !== null) for (const app of this.apps) app.neighborDown(peer, reason, this.sim.now);
  }
}

/** Full membership for fanout gossip: uniform samples of all node ids but `self`. */
export class FullMembership implements PeerSource<number> {
  constructor(
    private readonly n: number,
    private readonly self: number,
  ) {}
  sample(k: number, exclude: number | null, rng: Rng, out: number[]): number {
    const n = this.n;
    let c = 0;
    const avail = n - 1 - (exclude !== null && exclude !== this.self && exclude >= 0 && exclude < n ? 1 : 0);
    if (avail <= k) {
      for (let i = 0; i < n; i++) if (i !== this.self && i !== exclude) out[c++] = i;
      return c;
    }
    while (c < k) {
      const x = rng.int(n);
      if (x === this.self || x === exclude) continue;
      let dup = false;
      for (let j = 0; j < c; j++) if (out[j] === x) dup = true;
      if (!dup) out[c++] = x;
    }
    return c;
  }
}

/** Broadcast traffic: the events `runUntilQuiet` waits for (membership upkeep never stops).
 *  Message types GOSSIP..PRUNE (contiguous indices) and these timers. */
export function isBroadcastTimer(type: Timer<number>['type']): boolean {
  switch (type) {
    case 'pt-missing':
    case 'pt-ihave-flush':
    case 'fanout-round':
      return true;
    default:
      return false;
  }
}

/**
 * Churn on `sim` for `durationMs` from now: crashes (`leavePerSec`) and restarts of crashed
 * or never-started nodes (`joinPerSec`), as two Poisson processes driven by `sim.rng`.
 */
export function scheduleChurn(sim: Simulation, durationMs: number, joinPerSec: number, leavePerSec: number): void {
  const end = sim.now + durationMs;
  const next = (rate: number): number => -Math.log(1 - sim.rng.next()) * (1000 / rate);
  const leave = (): void => {
    const live = sim.liveNodes();
    if (live.length > 1) sim.crash([live[sim.rng.int(live.length)]]);
    const t = sim.now + next(leavePerSec);
    if (t < end) sim.at(t, leave);
  };
  const join = (): void => {
    const down: number[] = [];
    for (let i = 0; i < sim.n; i++) if (!sim.isAlive(i)) down.push(i);
    if (down.length > 0) {
      const live = sim.liveNodes();
      const contacts = sim.pickLive(live, Math.min(3, live.length));
      sim.join(down[sim.rng.int(down.length)], contacts);
    }
    const t = sim.now + next(joinPerSec);
    if (t < end) sim.at(t, join);
  };
  if (leavePerSec > 0) sim.at(sim.now + next(leavePerSec), leave);
  if (joinPerSec > 0) sim.at(sim.now + next(joinPerSec), join);
}
