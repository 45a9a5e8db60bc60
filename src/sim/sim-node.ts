/**
 * Building blocks of the simulator (`simulation.ts`): the per-node `Io` sink, the
 * full-membership peer source of the fanout baseline, and the per-node connection list.
 *
 * A connection list is a flat number array with 3 slots per entry `[peer, flags,
 * lastDelivery]` (see `Simulation`): small (≈ active + a few pending peers), scanned linearly,
 * no Map and no object per connection.
 */
import type { Io, Message, MsgId, NodeEvent, PeerSource, Rng, Timer } from '../proto/types.js';
import type { Simulation } from './simulation.js';

// Connection entry flags.
export const OUT = 1;
export const IN = 2;
export const FAIL = 4;

/** Index of `peer`'s entry in `list`, or -1. */
export function findEntry(list: number[], peer: number): number {
  for (let i = 0; i < list.length; i += 3) if (list[i] === peer) return i;
  return -1;
}

/** Remove the entry at index `i` (swap with the last entry). */
export function removeEntry(list: number[], i: number): void {
  const last = list.length - 3;
  if (i !== last) {
    list[i] = list[last];
    list[i + 1] = list[last + 1];
    list[i + 2] = list[last + 2];
  }
  list.length = last;
}

/** The `Io` sink of one simulated node: forwards to the simulation with the node's id. */
export class NodeIo implements Io<number> {
  constructor(
    private readonly sim: Simulation,
    private readonly id: number,
  ) {}
  send(to: number, msg: Message<number>): void {
    this.sim._send(this.id, to, msg);
  }
  connect(peer: number): void {
    this.sim._connect(this.id, peer);
  }
  disconnect(peer: number): void {
    this.sim._disconnect(this.id, peer);
  }
  timer(delayMs: number, t: Timer<number>): void {
    this.sim._timer(this.id, delayMs, t);
  }
  deliver(id: MsgId, _payload: Uint8Array, round: number, from: number | null): void {
    this.sim._deliver(this.id, id, round, from);
  }
  event(_e: NodeEvent<number>): void {}
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
