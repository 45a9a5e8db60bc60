/**
 * Flooding (eager-push gossip over the overlay): the baseline Plumtree is measured against
 * (SRDS 2007, §5 compares Plumtree with "eager push gossip" on the same HyParView overlay).
 *
 * On the first receipt of a message a node delivers it and sends it to every neighbour but
 * the one it came from; duplicates are ignored. Every node but the origin sends (degree − 1)
 * payloads, so a broadcast costs about (average degree − 1) payload messages per node, i.e.
 * RMR = m / (n − 1) − 1 ≈ average degree − 2 (3 on HyParView's 5-regular-ish active views).
 *
 * Rounds as in Plumtree: the origin sends round 0; a node forwards round + 1; `deliver`
 * reports the received round (origin: 0, `from` null).
 *
 * Differs from the paper: ids are remembered for `seenTtlMs` and at most `maxCacheEntries`
 * of them (the paper's model remembers them forever). Only those two settings of the
 * Plumtree configuration are used; no payload is cached.
 */
import type { BroadcastIo, BroadcastMachine } from './machine.js';
import type { PlumtreeConfig } from './plumtree.js';
import { SeenCache } from './seen.js';
import type { BroadcastMessage, BroadcastTimer, MsgId } from './types.js';

export class Flood<P> implements BroadcastMachine<P> {
  private readonly neighbors: P[] = [];
  private readonly seen: SeenCache;

  constructor(
    readonly self: P,
    config: PlumtreeConfig,
    private readonly io: BroadcastIo<P>,
  ) {
    this.seen = new SeenCache(config.seenTtlMs, 0, config.maxCacheEntries);
  }

  /** Current neighbours. */
  neighborList(): readonly P[] {
    return this.neighbors;
  }

  /** Number of remembered ids. */
  seenCount(): number {
    return this.seen.size;
  }

  broadcast(id: MsgId, payload: Uint8Array, now: number): boolean {
    if (!this.seen.add(id, now)) return false;
    this.seen.armGc(now, this.io);
    this.io.deliver(id, payload, 0, null);
    this.forward(id, payload, 0, null);
    return true;
  }

  handleMessage(from: P, msg: BroadcastMessage, now: number): void {
    if (msg.type !== 'gossip') return; // flooding never sends control messages
    if (!this.seen.add(msg.id, now)) return;
    this.seen.armGc(now, this.io);
    this.io.deliver(msg.id, msg.payload, msg.round, from);
    this.forward(msg.id, msg.payload, msg.round + 1, from);
  }

  handleTimer(t: BroadcastTimer, now: number): void {
    if (t.type === 'pt-cache-gc') this.seen.onGcTimer(now, this.io);
  }

  neighborUp(peer: P, _now: number): void {
    if (!this.neighbors.includes(peer)) this.neighbors.push(peer);
  }

  neighborDown(peer: P, _now: number): void {
    const i = this.neighbors.indexOf(peer);
    if (i >= 0) this.neighbors.splice(i, 1);
  }

  /** One shared (immutable) message object for every recipient. */
  private forward(id: MsgId, payload: Uint8Array, round: number, except: P | null): void {
    if (this.neighbors.length === 0) return;
    const msg: BroadcastMessage = { type: 'gossip', id, round, payload };
    for (const p of this.neighbors) if (p !== except) this.io.send(p, msg);
  }
}
