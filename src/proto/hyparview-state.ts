/**
 * The state of a HyParView machine (hyparview.ts) and the bookkeeping of its views: the
 * active and passive views, the outstanding NEIGHBOR / JOIN requests, and the operations
 * that move a peer between them (paper §4.2 "addNodeActiveView", "dropRandomElementFromActiveView",
 * "addNodePassiveView", and the merge of a shuffle reply, §4.4). The protocol's message and
 * timer handlers are in the `HyParView` subclass. One class hierarchy, one object per node:
 * the simulator holds 10^6 of them, so no separate views object.
 */
import { removeAt, removeValue } from './hyparview-views.js';
import type { MembershipIo } from './machine.js';
import type { DownReason, Rng } from './types.js';
import type { HyParViewConfig } from './hyparview-config.js';

/** Kinds of an outstanding request (`pendKind`). */
export const KIND_NEIGHBOR = 0;
export const KIND_JOIN = 1;

export const MSG_DISCONNECT_ALIVE = { type: 'disconnect', alive: true } as const;

/** Views, requests and per-node counters of a HyParView machine, with the view operations. */
export abstract class HyParViewState<P> {
  protected readonly active: P[] = [];
  protected readonly passive: P[] = [];
  /** Outstanding NEIGHBOR / JOIN requests (parallel arrays). A pending peer is in neither view. */
  protected readonly pendPeer: P[] = [];
  protected readonly pendSeq: number[] = [];
  protected readonly pendKind: number[] = [];
  protected readonly pendHigh: boolean[] = [];
  /** Passive peers that rejected a low-priority NEIGHBOR since the last shuffle tick. */
  protected readonly rejected: P[] = [];
  protected contacts: P[] = [];
  protected joinIdx = -1;
  protected seq = 0;
  protected shuffleStarted = false;
  protected repairArmed = false;
  protected repairAttempt = 0;
  /** Consecutive shuffle ticks with a short, non-empty active view and no accepted request. */
  protected starved = 0;
  /** Low-priority requests this shuffle period may still start (see `promotionsPerPeriod`);
   *  granted by each shuffle tick, none before the first (a joiner's links come from FORWARDJOIN). */
  protected budget = 0;
  /** The active view has been full at least once (see `onShuffleTimer`: such a node does not
   *  escalate when it is only one member short). */
  protected wasFull = false;
  /** Escalations so far (odd ones prefer an original contact). */
  protected escalations = 0;
  /** Consecutive shuffle periods with a full active view and an empty passive view. */
  protected isolated = 0;
  /** Consecutive shuffle replies that added no new peer to the passive view. */
  protected staleShuffles = 0;
  /** Ids sent in our last SHUFFLE (evicted first when merging its reply). */
  protected lastShuffle: P[] | null = null;
  protected left = false;

  constructor(
    protected readonly self: P,
    protected readonly cfg: HyParViewConfig,
    protected readonly rng: Rng,
    protected readonly io: MembershipIo<P>,
  ) {}

  protected addPending(peer: P, kind: number, high: boolean): void {
    const seq = ++this.seq;
    this.pendPeer.push(peer);
    this.pendSeq.push(seq);
    this.pendKind.push(kind);
    this.pendHigh.push(high);
    this.io.timer(this.cfg.neighborTimeoutMs, { type: 'hv-neighbor-timeout', peer, seq });
  }

  protected removePending(i: number): void {
    removeAt(this.pendPeer, i);
    removeAt(this.pendSeq, i);
    removeAt(this.pendKind, i);
    removeAt(this.pendHigh, i);
  }

  /** Put `peer` in the active view (dropping a random member when full): connect + neighborUp. */
  protected addActive(peer: P): void {
    if (peer === this.self || this.active.indexOf(peer) >= 0) return;
    removeValue(this.passive, peer);
    const pi = this.pendPeer.indexOf(peer);
    if (pi >= 0) this.removePending(pi);
    if (this.active.length >= this.cfg.activeViewSize) this.dropRandomActive();
    this.active.push(peer);
    this.io.connect(peer);
    this.io.neighborUp(peer);
    if (this.active.length >= this.cfg.activeViewSize) {
      this.rejected.length = 0;
      this.wasFull = true;
    }
  }

  protected dropRandomActive(): void {
    const i = this.rng.int(this.active.length);
    const victim = this.active[i];
    removeAt(this.active, i);
    this.io.send(victim, MSG_DISCONNECT_ALIVE);
    this.io.neighborDown(victim, 'evicted');
    this.io.disconnect(victim);
    this.addPassive(victim);
  }

  protected removeActive(peer: P, reason: DownReason): boolean {
    const i = this.active.indexOf(peer);
    if (i < 0) return false;
    removeAt(this.active, i);
    this.io.neighborDown(peer, reason);
    this.io.disconnect(peer);
    return true;
  }

  /** Add to the passive view unless known; when full, evict a random entry. */
  protected addPassive(peer: P): void {
    if (peer === this.self || this.active.indexOf(peer) >= 0 || this.passive.indexOf(peer) >= 0) return;
    if (this.pendPeer.indexOf(peer) >= 0) return;
    if (this.passive.length >= this.cfg.passiveViewSize) removeAt(this.passive, this.rng.int(this.passive.length));
    this.passive.push(peer);
  }

  /** Merge shuffle ids (and `first` when `hasFirst`) into the passive view; when full, evict
   *  entries of `prefer` (what we sent to the other side) first, then random ones. */
  protected merge(first: P, hasFirst: boolean, incoming: readonly P[], prefer: readonly P[]): number {
    const cap = this.cfg.passiveViewSize;
    let added = 0;
    const limit = incoming.length < cap ? incoming.length : cap;
    const pv = this.passive;
    let cursor = 0;
    for (let i = hasFirst ? -1 : 0; i < limit; i++) {
      const p = i < 0 ? first : incoming[i];
      if (p === this.self || this.active.indexOf(p) >= 0 || pv.indexOf(p) >= 0) continue;
      if (this.pendPeer.indexOf(p) >= 0) continue;
      if (pv.length >= cap) {
        let evicted = false;
        while (!evicted && cursor < prefer.length) {
          const j = pv.indexOf(prefer[cursor++]);
          if (j >= 0) {
            removeAt(pv, j);
            evicted = true;
          }
        }
        if (!evicted) removeAt(pv, this.rng.int(pv.length));
      }
      pv.push(p);
      added++;
    }
    return added;
  }
}
