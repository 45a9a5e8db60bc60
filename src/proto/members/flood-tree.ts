/**
 * Which overlay neighbours send us the membership flood in full (dissemination.ts): Plumtree's
 * eager / lazy split (Leitão et al., SRDS 2007, §3) applied to the `m-changes` batches, in two
 * forms.
 *
 * - `pruneFlood` (off by default; h29m): a batch of a neighbour that brought nothing new prunes
 *   it (`m-prune`), keeping FLOOD_FEEDERS that still send; a feeder's link down, or a feeder
 *   marked suspect or failed, grafts every pruned neighbour back and reconciles with each by
 *   `m-sync`. It learns its tree during a failure wave (membership is quiet before), and a
 *   batch mixes new and known changes, so few links are pruned before the wave has passed.
 * - `eagerFeeders` F > 0: the tree is set before any traffic. A link that comes up while we
 *   already have F feeders (neighbours we did not prune) is pruned at once; so each node takes
 *   the whole flood from F neighbours (the first F links it got), and each change reaches it
 *   about F times over the overlay instead of once per link (≈ 4–5; the ring subjects' shares
 *   come on top, dissemination.ts). Measured (the bench:members scenario, 2,000 nodes, 10 %
 *   crashed): with every link eager each link brought 9–32 % (p10–p90) of a node's first copies
 *   and only 94 of 15,862 links none — the flood's own arrival order never singles out a tree,
 *   so it is imposed. F = 2, not 1: each node taking one feeder would make the feeder graph a
 *   set of in-trees whose sources reach their own descendants only; two make it, for random
 *   choices, connected with high probability (random 2-in digraphs). A feeder lost (its link
 *   down, or marked suspect or failed here) is replaced by grafting one pruned neighbour that
 *   we hold up (`m-prune` graft), at random; when no feeder is left (a hole in the tree, where
 *   changes may have been missed) the new one is also reconciled by `m-sync`. A link kept as a
 *   feeder is sent a graft when it comes up (`linkUp`), and a feeder silent through a wave is
 *   grafted again and replaced (`onBatch`).
 *
 * Where we differ from Plumtree: no IHAVE. A pruned link carries only the sender's own entry
 * (and its ring share when the peer is a ring subject), never the ids of the changes it did not
 * send: a membership change is (member, state) — its id *is* the whole entry (an address and a
 * number), and a receiver's duplicate costs one table lookup (dissemination.ts `onChanges`), so
 * announcing ids would cost the receiver the same lookup per change as the copy it replaces.
 * What the tree misses is repaired by the ring subjects' shares, the grafts' syncs, the
 * piggyback on pings, and the periodic anti-entropy — slowly: measured (bench:members, seed 1,
 * 10 % crashed; docs/results.md, h32m), at 2,000 nodes F = 3 kept p100 (6.40 s against 6.35 s)
 * with 20 % fewer copies, but at 2·10^4 F = 2 and F = 3 cut the flooded entries 33 % and 22 %
 * while p100 went from 6.6 s to 28.2 s and 17.3 s (60.0 s and 35.2 s with the link-up graft
 * and the silent-feeder check, which at 2,000 nodes had brought F = 3 back to 6.35 s): with
 * 1 % loss a node whose feeder's batch, or whose PRUNE or GRAFT, was lost (the two ends of a
 * link also see it come and go at different times) misses verdicts until a sync brings them,
 * as `suspect` first. Hence off. With `tallyRepair` (tally.ts) a pruned link carries, at most
 * once a probe period, a per-bucket tally of the sender's down entries, and the receiver pulls
 * the buckets where it is still behind a probe period later: at 2·10^4 nodes, F = 2, p100 8.8 s
 * instead of 28.2 s, the flooded entries −33 %, but the wave's events +16 % and its CPU not
 * lower, and at 10^4 nodes, 50 % crashed, p100 22.2 s (docs/results.md, h33w). Also off.
 */
import type { Rng } from '../types.js';
import { isUp, type MembersConfig, type MembersMessage, type MemberStore } from './types.js';

/** With `pruneFlood`, overlay neighbours that keep sending us their batches, at least: two,
 *  so that a silent crash of one (its link breaks only after the link timeout) leaves the
 *  flood another path, beside the ring links. */
const FLOOD_FEEDERS = 2;

export class FloodTree<P> {
  /** Overlay neighbours that pruned us (they get our own entry only). */
  private readonly lazy = new Set<P>();
  /** Overlay neighbours we pruned (they send us theirs only). */
  private readonly pruned = new Set<P>();
  /** `eagerFeeders`: when each overlay neighbour's last flooded batch came (or its link came
   *  up), and the feeders silent through a failure wave (`onBatch`). */
  private readonly heard = new Map<P, number>();
  private readonly silent = new Set<P>();
  /** `eagerFeeders`: when a batch last brought us news, when the current run of such batches
   *  began, and when feeders were last checked for silence. */
  private lastFresh = -Infinity;
  private freshSince = -Infinity;
  private lastCheck = -Infinity;
  /** Grafts sent (tests, metrics). */
  grafts = 0;

  constructor(
    private readonly config: MembersConfig,
    private readonly rng: Rng,
    private readonly nbrs: ReadonlySet<P>,
    private readonly store: MemberStore<P>,
    private readonly send: (to: P, msg: MembersMessage<P>) => void,
    private readonly syncWith: (peer: P, now: number) => void,
  ) {}

  /** Whether `p` (an overlay neighbour) gets our whole batches. */
  sendsAll(p: P): boolean {
    return !this.lazy.has(p);
  }

  /** Whether we pruned any neighbour (a suspicion or verdict may be about a feeder). */
  get pruning(): boolean {
    return this.pruned.size > 0;
  }

  /** Neighbours we pruned (tests). */
  prunedCount(): number {
    return this.pruned.size;
  }

  /** A batch of `from` (an overlay neighbour) brought only changes we held (other than its own
   *  entry): with `pruneFlood`, ask it to stop, unless it is one of our last FLOOD_FEEDERS
   *  neighbours that still send to us. */
  maybePrune(from: P): void {
    if (!this.config.pruneFlood || this.pruned.has(from)) return;
    if (this.feeders(undefined, false) <= FLOOD_FEEDERS) return;
    this.prune(from);
  }

  private prune(p: P): void {
    this.pruned.add(p);
    this.send(p, { type: 'm-prune', graft: false });
  }

  /** Neighbours that send us everything (not pruned), `except` left out; with `up`, only
   *  those we hold up (alive or suspect). */
  private feeders(except: P | undefined, up: boolean): number {
    let f = 0;
    for (const p of this.nbrs) if (p !== except && !this.pruned.has(p) && (!up || (isUp(this.store.get(p)) && !this.silent.has(p)))) f++;
    return f;
  }

  /** `m-prune` from a neighbour: send it our own entry only (`graft`: everything again). */
  onPrune(from: P, graft: boolean): void {
    if (graft) this.lazy.delete(from);
    else if (this.nbrs.has(from)) this.lazy.add(from);
  }

  /** A new overlay link: it sends and receives the whole flood, unless (`eagerFeeders`) we have
   *  our feeders (that we hold up) already, and then we prune it at once. A link kept as a
   *  feeder is told so (`m-prune` graft): the two ends see a link come and go at different
   *  times, and a peer whose end never went down may still hold our earlier prune. Measured
   *  (2,000 nodes, 10 % crashed, seed 1): without it a node took its feeder's batches as
   *  coming while the feeder held it pruned, and with the other feeder's batch lost (1 %) it
   *  waited 3.8 s for anti-entropy. */
  linkUp(peer: P, now: number): void {
    this.lazy.delete(peer);
    this.pruned.delete(peer);
    this.silent.delete(peer);
    const f = this.config.eagerFeeders;
    if (f === 0) return;
    this.heard.set(peer, now);
    if (this.feeders(peer, true) >= f) this.prune(peer);
    else this.send(peer, { type: 'm-prune', graft: true });
  }

  /** An overlay link went down. */
  linkDown(peer: P, now: number): void {
    this.lazy.delete(peer);
    this.heard.delete(peer);
    this.silent.delete(peer);
    if (this.pruned.delete(peer)) return;
    if (this.config.eagerFeeders > 0) this.refill(undefined, now);
    else this.graftAll(now);
  }

  /** Member `m` is now suspect or failed in our table: if it is one of our feeders, replace it
   *  (`eagerFeeders`) or graft every pruned neighbour (`pruneFlood`) at once rather than when
   *  its link times out (5 s after a silent crash in the simulator; TCP keepalive in the
   *  agent), so the flood has its paths back before the wave of verdicts that includes it. */
  feederDown(m: P, now: number): void {
    if (this.pruned.size === 0 || !this.nbrs.has(m) || this.pruned.has(m)) return;
    if (this.config.eagerFeeders > 0) this.refill(m, now);
    else this.graftAll(now);
  }

  /** `eagerFeeders`: a flooded batch from overlay neighbour `from` (`fresh`: it brought news).
   *  A feeder that sent us no batch for a probe period while batches have brought news for a
   *  probe period or more (a failure wave: every node relays hundreds of verdicts a second) is
   *  taken as not feeding us — its GRAFT lost, the link one-sided, or the feeder crashed
   *  before its link times out — and is sent the GRAFT again, while a pruned neighbour is
   *  grafted in its place (`refill`); its next batch makes it a feeder again. Checked at most
   *  once a flush period; the cost, a look at each neighbour. */
  onBatch(from: P, fresh: boolean, now: number): void {
    if (this.config.eagerFeeders === 0) return;
    this.heard.set(from, now);
    this.silent.delete(from);
    if (!fresh) return;
    const period = this.config.probeIntervalMs;
    if (now - this.lastFresh > period) this.freshSince = now;
    this.lastFresh = now;
    if (now - this.freshSince < period || now - this.lastCheck < this.config.flushIntervalMs) return;
    this.lastCheck = now;
    let quiet = false;
    for (const p of this.nbrs) {
      if (this.pruned.has(p) || this.silent.has(p) || now - (this.heard.get(p) ?? -Infinity) <= period) continue;
      this.silent.add(p);
      this.send(p, { type: 'm-prune', graft: true });
      quiet = true;
    }
    if (quiet) this.refill(undefined, now);
  }

  /** `eagerFeeders`: graft pruned neighbours we hold up, at random, until F feeders that we
   *  hold up send to us (`down`: a feeder that no longer counts). With none left before the
   *  graft, the first one grafted is also reconciled (`m-sync`): changes may have been missed. */
  private refill(down: P | undefined, now: number): void {
    let live = this.feeders(down, true);
    const hole = live === 0;
    while (live < this.config.eagerFeeders) {
      const p = this.pickPruned();
      if (p === undefined) return;
      this.pruned.delete(p);
      this.grafts++;
      this.send(p, { type: 'm-prune', graft: true });
      if (hole && live === 0) this.syncWith(p, now);
      live++;
    }
  }

  /** A random pruned neighbour that we hold up (undefined: none). */
  private pickPruned(): P | undefined {
    let k = 0;
    let pick: P | undefined = undefined;
    for (const p of this.pruned) {
      if (!isUp(this.store.get(p))) continue;
      k++;
      if (this.rng.int(k) === 0) pick = p;
    }
    return pick;
  }

  /** `pruneFlood`: ask every neighbour we pruned to send everything again, and reconcile with
   *  them: their flushes since the prune left out what they relayed (Plumtree's GRAFT asks for
   *  the missed message; here an `m-sync` to each, the digest bringing what we lack). */
  private graftAll(now: number): void {
    if (this.pruned.size === 0) return;
    for (const p of this.pruned) {
      this.grafts++;
      this.send(p, { type: 'm-prune', graft: true });
      this.syncWith(p, now);
    }
    this.pruned.clear();
  }
}
