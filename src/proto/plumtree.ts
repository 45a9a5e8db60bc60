/**
 * Plumtree: Epidemic Broadcast Trees (Leitão, Pereira, Rodrigues, SRDS 2007, §3).
 *
 * Each node splits its overlay neighbours (the HyParView active view) into two sets:
 * `eagerPushPeers`, the links of a spanning tree, on which the full payload is pushed
 * (GOSSIP), and `lazyPushPeers`, on which only the id is announced (IHAVE). Initially every
 * neighbour is eager (`neighborUp` adds to eager), so the first broadcast floods; each
 * duplicate GOSSIP moves the link that carried it to lazy and is answered by PRUNE, which
 * leaves a tree. When a message announced by IHAVE does not arrive on the tree within
 * `timeout1` (`ihaveTimeoutMs`), the node GRAFTs the announcer: the link becomes eager
 * again and the payload is sent back; if that does not arrive within `timeout2`
 * (`graftTimeoutMs`), the next announcer is grafted. This repairs the tree after failures.
 * Optimisation (§3.7): when a GOSSIP arrives with round `r` although a lazy neighbour `q`
 * announced the id at round `r'` with `r − r' ≥ threshold`, the node grafts `q` (without
 * asking for the payload) and prunes the sender, shortening the tree.
 *
 * Rounds: the `round` in GOSSIP and IHAVE is the number of hops the message has travelled
 * minus one — the origin sends round 0, and a node that received round `r` forwards and
 * announces round `r + 1`. `deliver` reports the round of the received message (the origin
 * delivers locally with round 0 and `from` null), so hops from the origin = round + 1.
 *
 * Message objects handed to `io.send` may be shared between several recipients (one GOSSIP
 * object for all eager peers): drivers must treat them as immutable.
 *
 * Differs from the paper:
 * - `syncOnNeighborUp`: when a neighbour comes up, it is sent an IHAVE of the ids still in
 *   the payload cache (in batches of `maxIHaveBatch`), so a node that joins or reconnects
 *   after a failure or a partition can GRAFT what it missed. The paper only repairs
 *   messages announced while the link exists.
 * - IHAVEs are batched per neighbour and flushed by a timer, and an announcement still queued
 *   for a peer that meanwhile announced the same id to us is withdrawn: the lazy push,
 *   plumtree-lazy.ts, which explains both.
 * - Received ids and payloads are forgotten after `seenTtlMs` / `cacheTtlMs` and beyond
 *   `maxCacheEntries`, payloads also beyond `maxCacheBytes` (the paper keeps `receivedMsgs`
 *   forever).
 * - Messages from a peer that is in neither set (not, or no longer, a neighbour) are
 *   processed (delivered, GRAFT answered) but never change the eager/lazy sets, and
 *   duplicates from such a peer are not answered by PRUNE.
 * - A first copy that arrives over a link this node had made lazy (its PRUNE crossed the
 *   message on the wire, which happens under a stream of concurrent messages) re-grafts the
 *   link (GRAFT without id). The paper only moves the sender to eagerPushPeers locally; the
 *   sender then processes the PRUNE and both ends end up lazy, which can leave a node with
 *   no eager parent until an IHAVE timer fires (measured on loopback: deliveries delayed by
 *   timeout1 under a sustained stream).
 * - Repair after a broken tree link is immediate rather than after timeout1: when an eager
 *   neighbour goes down, every id announced (IHAVE) but not yet received is grafted from its
 *   next announcer at once, and until the next first copy arrives the node counts itself
 *   orphaned: an IHAVE for an unknown id is answered by GRAFT right away. The paper only
 *   starts timers on IHAVE. Effect: a message that the broken link was to bring arrives one
 *   round trip after the IHAVE instead of timeout1 + one round trip (on the `lan` profile,
 *   timeout1 is 50 ms against sub-millisecond RTTs). Cost: at most one extra payload per id
 *   when the lost link was not the one bringing it (the node is then grafted twice).
 * - Announcements that the tree cannot answer are grafted at once, not after timeout1: those
 *   that come over a link younger than timeout1 (the neighbour-up sync, and IHAVEs of
 *   messages that were under way before the link existed: the tree built before the link
 *   will not bring them over it, and a node that had no link then was in no tree at all), and
 *   those that arrive while this node has no eager link. The paper waits timeout1 for every
 *   IHAVE. Effect: a joiner (or a node that reconnects) fetches what it missed one round
 *   trip after the link comes up instead of timeout1 later (on the `lan` profile, 50 ms
 *   against sub-millisecond RTTs). Cost: a payload may be fetched that the tree was bringing
 *   anyway, one per id at most (the first announcer is grafted, the others wait for
 *   timeout2). Each link keeps its age (the `now` of its latest `neighborUp`) beside its
 *   peer in the links array, `[peer, upAt, …]`: one array for both (until 2026-12-08 the ages
 *   of links younger than timeout1 were an array of their own). Measured on loopback (bench
 *   cluster, 20 agents, shared 2-core machine, 3 alternating runs each): join_ms 113–149
 *   without, 127–134 with — within the noise of that machine; the gain is at most timeout1
 *   per missed announcement, and only on paths that lacked a tree link.
 * - No PRUNE for a duplicate that crossed our own copy: when a GOSSIP of the id this node
 *   pushed last arrives from an eager peer that this node sent the same id to (it was eager at
 *   the push, was not the sender of our first copy, and no peer was made eager since), that
 *   peer receives our copy as a duplicate too and makes the link lazy on its side; each end
 *   makes it lazy on its own duplicate. The paper PRUNEs every duplicate. In the first flood
 *   (every link eager) every duplicate is of this kind: at N = 50 that removed ~130 PRUNE
 *   frames from the first event (docs/results.md, h30p). Any other duplicate is PRUNEd as in
 *   the paper, so a lost or reordered copy leaves nothing worse than the next duplicate's PRUNE.
 * - Validate before forward (not in the paper; gossipsub's extended validators): when the
 *   driver's io has a `validate` hook, a GOSSIP with a new id is passed to it before delivery
 *   or forwarding. `reject`/`ignore` remember the id without payload and stop there (see
 *   `validated`); a copy from a neighbour then counts as a duplicate (PRUNE). Without a hook
 *   the machine runs exactly as before (simulator output bit-identical). Own broadcasts are
 *   not validated (the application checks its own input).
 * - The machine grafts when a `pt-missing` timer fires, however late. Overload (a real-time
 *   driver firing timers late because its loop is busy, while the GOSSIP sits unread in a
 *   socket) is the driver's concern: the TCP runtime holds such timers while its loop lags
 *   (`HeldTimers`, src/net/timers.ts).
 * - Timers cannot be cancelled: "cancel Timer(id)" deletes the `missing` entry and the
 *   stale firing is ignored; each `pt-missing` timer carries its deadline (`due`), and only
 *   the firing whose `due` equals the entry's current deadline acts (early firings by a
 *   real-time driver included).
 */
import type { BroadcastIo, BroadcastMachine } from './machine.js';
import type { PlumtreeConfig } from './plumtree-config.js';
import { flushIHaves, releaseQueue, takeQueue, withdrawIHave, type IHaveQueue } from './plumtree-lazy.js';
import { missingList, missingOf, missingSize, withMissing, withoutMissing, type Missing, type MissingSet } from './plumtree-missing.js';
import { SeenCache } from './seen.js';
import { gossipMessage } from './plumtree-gossip.js';
import { roomy10 } from './small-array.js';
import type { BroadcastMessage, BroadcastTimer, IHaveEntry, MsgId, Rng } from './types.js';

export { DEFAULT_PLUMTREE_CONFIG, validatePlumtreeConfig, type PlumtreeConfig } from './plumtree-config.js';

const FLUSH_TIMER: BroadcastTimer = Object.freeze({ type: 'pt-ihave-flush' });
const PRUNE: BroadcastMessage = Object.freeze({ type: 'prune' });

export class Plumtree<P> implements BroadcastMachine<P> {
  /** The peer sets in one array, mutated in place, as pairs `[peer, upAt, peer, upAt, …]`
   *  (`upAt`: the `now` of the link's latest `neighborUp`, read by `isFresh`): the eager peers
   *  in pairs `[0, nEager)`, the lazy ones after them, each set in the order its peers entered
   *  it. One array instead of two, and no copy per change: a membership test is one scan of
   *  one array (at 10^6 simulated nodes each array is one more cache miss per event); the link
   *  ages beside their peers rather than in an array of their own (one more object, two more
   *  dependent cache misses on every link change of the join phase: h36s's profile, 9.2 % of
   *  its CPU). Room for 5 pairs (small-array.ts). */
  private readonly links: (P | number)[] = roomy10<P | number>();
  /** Eager peers (pairs). */
  private nEager = 0;
  /** The id the cache received last while it holds any (the cache's own `newest`, mirrored
   *  here): nearly every duplicate GOSSIP and every IHAVE is about it, and this object is in
   *  the processor's cache when a message arrives, where the cache object may not be. */
  private newest: MsgId | undefined = undefined;
  /** Ids announced but not received: null while there are none (an empty `Map` costs
   *  ≈ 185 B, and a simulated node is idle most of the time), the entry while one, a `Map`
   *  beyond (plumtree-missing.ts). */
  private missing: MissingSet<P> = null;
  private readonly cache: SeenCache;
  /** Queued IHAVE announcements: pairs `[peer, entry, peer, entry, …]` in `queue.q`, the
   *  first `queued` slots used, and in `queue.no` the cache number (`SeenCache.numberOf`) of
   *  each pair's id. Ids are pushed in the order they are remembered, so `queue.no` never
   *  decreases along the queue, and an IHAVE's withdrawal finds its id's run by binary search
   *  (`runEnd`) instead of scanning back from the newest pair (h31f: under bench:flood's
   *  sustained flood that scan averaged ≈ 770 pairs a call). Taken from plumtree-lazy.ts's
   *  pool at the first announcement and given back at the flush: null while nothing is
   *  queued (an idle node holds no queue). */
  private queue: IHaveQueue<P> | null = null;
  private queued = 0;
  /** The cache's `nextNumber` when the queue was last flushed: an id numbered below it was
   *  received before that flush, so none of its announcements is still queued and an IHAVE
   *  of it withdraws nothing (without this test, every such IHAVE entry scanned the whole
   *  queue: the largest part of a flood's IHAVE handling, docs/results.md h31f). */
  private queueFrom = 0;
  /** An eager link went down and no first copy has arrived since (see `neighborDown`). */
  private orphaned = false;
  /** Bumped whenever a peer enters the eager set (`addEager`). */
  private eagerEpoch = 0;
  /** The id this node pushed last, the peer it came from (null: its own broadcast) and
   *  `eagerEpoch` at that push: a duplicate of it from an eager peer other than `pushedFrom`,
   *  with no peer made eager since, crossed our own copy on the wire (see `onGossip`). */
  private pushedId: MsgId | undefined = undefined;
  private pushedFrom: P | null = null;
  private pushedEpoch = 0;

  /**
   * @param self this node's id (kept for debugging; never sent to).
   * @param rng unused by the algorithm today; kept so tie-breaks can be randomised later
   *   without changing the constructor.
   */
  constructor(
    readonly self: P,
    private readonly config: PlumtreeConfig,
    private readonly rng: Rng,
    private readonly io: BroadcastIo<P>,
  ) {
    this.cache = new SeenCache(config.seenTtlMs, config.cacheTtlMs, config.maxCacheEntries, config.maxCacheBytes);
  }

  /** A read-only hint for a driver that loads the state of coming inputs ahead of them (the
   *  simulator's event loop, src/sim/sim-engine.ts `loadAhead`). No effect on behaviour; the
   *  value means nothing. */
  warm(): number {
    return this.nEager;
  }

  /** The seen cache, for the same driver's read-only hints (`SeenCache.warm`, …). */
  cacheView(): Pick<SeenCache, 'warm' | 'warmArrays' | 'warmRing'> {
    return this.cache;
  }

  /** The links as `[peer, upAt]` pairs, eager first (live array: a driver's read-only hint,
   *  like `warm`; read it, do not keep or mutate it). */
  linksView(): readonly (P | number)[] {
    return this.links;
  }

  /** Current eager (tree) peers, in the order they became eager (a copy). */
  eagerPeers(): readonly P[] {
    return this.peersIn(0, 2 * this.nEager);
  }

  /** Current lazy peers, in the order they became lazy (a copy). */
  lazyPeers(): readonly P[] {
    return this.peersIn(2 * this.nEager, this.links.length);
  }

  /** Number of ids announced but not yet received. */
  missingCount(): number {
    return missingSize(this.missing);
  }

  /** Number of remembered ids / cached payloads and their bytes (for metrics and tests). */
  cacheSize(): { ids: number; payloads: number; payloadBytes: number } {
    return { ids: this.cache.size, payloads: this.cache.payloadCount, payloadBytes: this.cache.payloadBytes };
  }

  broadcast(id: MsgId, payload: Uint8Array, now: number): boolean {
    if (!this.remember(id, now, payload, 0)) return false;
    this.cache.armGc(now, this.io);
    this.dropMissing(id);
    this.io.deliver(id, payload, 0, null);
    this.push(id, payload, 0, null, now);
    return true;
  }

  handleMessage(from: P, msg: BroadcastMessage, now: number): void {
    switch (msg.type) {
      case 'gossip':
        this.onGossip(from, msg.id, msg.round, msg.payload, now);
        break;
      case 'ihave':
        this.onIHave(from, msg.entries, now);
        break;
      case 'graft':
        this.onGraft(from, msg.id);
        break;
      case 'prune':
        if (this.isNeighbor(from)) this.addLazy(from);
        break;
    }
  }

  handleTimer(t: BroadcastTimer, now: number): void {
    switch (t.type) {
      case 'pt-missing':
        this.onMissingTimer(t.id, t.due, now);
        break;
      case 'pt-ihave-flush':
        this.flush();
        break;
      case 'pt-cache-gc':
        this.cache.onGcTimer(now, this.io);
        if (this.cache.size === 0) this.newest = undefined;
        break;
      default:
        break;
    }
  }

  neighborUp(peer: P, now: number): void {
    this.addEager(peer);
    // `addEager` put the pair at the end of the eager ones, or left it where it was.
    this.links[2 * this.linkIndex(peer) + 1] = now;
    if (this.config.syncOnNeighborUp) this.syncTo(peer, now);
  }

  neighborDown(peer: P, now: number): void {
    const wasEager = this.removeLink(peer);
    // A tree link broke: until the next first copy arrives, IHAVEs graft at once (`onIHave`).
    if (wasEager) this.orphaned = true;
    if (this.missing === null) return;
    for (const m of missingList(this.missing)) {
      const id = m.id;
      const a = m.ann;
      let i = m.next;
      while (i < a.length && a[i] !== peer) i += 2;
      if (i < a.length) {
        a.splice(i, 2);
        if (m.next === a.length) {
          this.dropMissing(id);
          continue;
        }
      }
      // Announced, not received, no GRAFT sent yet (still in timeout1, counting on the tree),
      // and a tree link is gone: it may have been the one to bring it. Fetch it now.
      if (wasEager && m.next === 0) this.graftNext(id, m, now);
    }
  }

  // -------------------------------------------------------------------------------------

  private onGossip(from: P, id: MsgId, round: number, payload: Uint8Array, now: number): void {
    // Validate before forward: only with a hook (without one, this is one property read).
    if (this.io.validate !== undefined && !this.has(id) && !this.validated(from, id, round, payload, now)) return;
    const known = this.isNeighbor(from);
    if (id === this.newest || !this.remember(id, now, payload, round + 1)) {
      // Duplicate: the link that carried it is redundant (paper Alg. 1, "else" branch). No
      // PRUNE when our own copy crossed it (see "Differs from the paper").
      if (known) {
        const crossed = this.crossed(from, id);
        this.addLazy(from);
        if (!crossed) this.io.send(from, PRUNE);
      }
      return;
    }
    this.cache.armGc(now, this.io);
    this.orphaned = false;
    this.io.deliver(id, payload, round, from);
    this.push(id, payload, round + 1, from, now);
    if (known) {
      // First copy over a link we had made lazy: our PRUNE crossed this message, so the
      // sender has (or will have) us lazy while we now count on it. Re-graft the link so it
      // is eager on both sides (see "Differs from the paper").
      if (this.linkIndex(from) >= this.nEager) this.io.send(from, { type: 'graft', id: null, round });
      this.addEager(from);
    }
    const m = missingOf(this.missing, id);
    if (m !== undefined) {
      this.dropMissing(id); // cancels Timer(id): its firing finds no entry
      if (known) this.optimize(m, from, round);
    }
  }

  /**
   * Run the validate hook on a new id. A rejected or ignored message is remembered without
   * its payload (copies count as duplicates, a GRAFT for it goes unanswered, its IHAVEs are
   * not grafted), never delivered and never forwarded; its pending GRAFT timers are dropped.
   */
  private validated(from: P, id: MsgId, round: number, payload: Uint8Array, now: number): boolean {
    if (this.io.validate!(id, payload, from) === 'accept') return true;
    this.remember(id, now, undefined, round + 1);
    this.cache.armGc(now, this.io);
    this.dropMissing(id);
    return false;
  }

  /**
   * True if `from`, an eager peer, sent us a copy of `id` that crossed ours: `id` is the id we
   * pushed last, `from` was among the eager peers it went to (eager now, not the one it came
   * from, and no peer made eager since the push). `from` then gets our copy as a duplicate
   * and moves us to lazy itself, as we move it: a PRUNE would say nothing new.
   */
  private crossed(from: P, id: MsgId): boolean {
    return id === this.pushedId && from !== this.pushedFrom && this.eagerEpoch === this.pushedEpoch && this.linkIndex(from) < this.nEager;
  }

  /** Eager-push to the tree and queue IHAVE for the lazy links (paper: eagerPush/lazyPush). */
  private push(id: MsgId, payload: Uint8Array, round: number, except: P | null, now: number): void {
    const l = this.links;
    const k = 2 * this.nEager;
    this.pushedId = id;
    this.pushedFrom = except;
    this.pushedEpoch = this.eagerEpoch;
    if (k > 0) {
      const msg = gossipMessage(id, round, payload);
      for (let i = 0; i < k; i += 2) if (l[i] !== except) this.io.send(l[i] as P, msg);
    }
    if (l.length > k) {
      const entry: IHaveEntry = { id, round };
      for (let i = k; i < l.length; i += 2) if (l[i] !== except) this.enqueue(l[i] as P, entry, now);
    }
  }

  /** §3.7: a lazy announcer much closer to the source than the sender replaces it. */
  private optimize(m: Missing<P>, from: P, round: number): void {
    const t = this.config.optimizationThreshold;
    const a = m.ann;
    for (let i = m.next; i < a.length; i += 2) {
      const q = a[i] as P;
      const r = a[i + 1] as number;
      if (q === from || r >= round || round - r < t || this.linkIndex(q) < this.nEager) continue;
      this.addEager(q);
      this.io.send(q, { type: 'graft', id: null, round: r });
      this.addLazy(from);
      this.io.send(from, PRUNE);
      return;
    }
  }

  private onIHave(from: P, entries: readonly IHaveEntry[], now: number): void {
    // Orphaned (a tree link broke and no first copy came since), no tree link at all, or
    // announced over a link younger than timeout1 (its announcements are of messages sent
    // before the link existed): the tree will not bring it (see "Differs from the paper");
    // GRAFT the announcer now instead of after timeout1. Decided at the first unknown id (as
    // of the IHAVE's arrival: nothing changes before it): nearly every IHAVE is about a
    // message already received, and then it touches nothing but the cache.
    let decided = false;
    let graftNow = false;
    for (const e of entries) {
      const no = this.cache.numberOf(e.id);
      if (no >= 0) {
        if (this.queued > 0 && no >= this.queueFrom) {
          const end = this.runEnd(no);
          if (end > 0) withdrawIHave(this.queue!.q, end, from, e.id);
        }
        continue;
      }
      if (!decided) {
        decided = true;
        graftNow = this.orphaned || this.nEager === 0 || this.isFresh(from, now);
      }
      const m = missingOf(this.missing, e.id);
      if (m === undefined) {
        const due = now + this.config.ihaveTimeoutMs;
        const entry: Missing<P> = { id: e.id, ann: [from, e.round], next: 0, deadline: due };
        this.missing = withMissing(this.missing, entry);
        if (graftNow) this.graftNext(e.id, entry, now);
        else this.io.timer(this.config.ihaveTimeoutMs, { type: 'pt-missing', id: e.id, due });
        continue;
      }
      const a = m.ann;
      let i = m.next;
      while (i < a.length && a[i] !== from) i += 2;
      if (i < a.length) continue;
      a.push(from, e.round);
      // Still waiting for the tree (no GRAFT sent yet), and now a reason not to wait.
      if (graftNow && m.next === 0) this.graftNext(e.id, m, now);
    }
  }

  /**
   * A `pt-missing` timer fired. It is current iff it carries the entry's deadline, whatever
   * `now` says: a real-time driver may fire a timer a little early by its own clock, and
   * treating that firing as stale would lose the message (no other timer is pending).
   */
  private onMissingTimer(id: MsgId, due: number, now: number): void {
    const m = missingOf(this.missing, id);
    if (m === undefined || due !== m.deadline) return; // cancelled, or a stale firing
    if (m.next >= m.ann.length || this.has(id)) {
      this.dropMissing(id);
      return;
    }
    this.graftNext(id, m, now);
  }

  /** GRAFT the next announcer of `id` (there is one) and arm timeout2 for the one after. */
  private graftNext(id: MsgId, m: Missing<P>, now: number): void {
    const a = m.ann;
    const peer = a[m.next] as P;
    const round = a[m.next + 1] as number;
    a[m.next] = a[m.next + 1] = 0; // drop the reference to the grafted peer
    m.next += 2;
    m.deadline = now + this.config.graftTimeoutMs;
    this.io.timer(this.config.graftTimeoutMs, { type: 'pt-missing', id, due: m.deadline });
    if (this.isNeighbor(peer)) this.addEager(peer);
    this.io.send(peer, { type: 'graft', id, round });
  }

  private onGraft(from: P, id: MsgId | null): void {
    if (this.isNeighbor(from)) this.addEager(from);
    if (id === null) return;
    const payload = this.cache.payload(id);
    if (payload !== undefined) this.io.send(from, { type: 'gossip', id, round: this.cache.round(id), payload });
  }

  /** Announce every cached id to a new neighbour, in batches of `maxIHaveBatch`. */
  private syncTo(peer: P, _now: number): void {
    // No id at all (`newest` unset: the cache is empty, as on every node while an overlay
    // forms): nothing to announce, and the cache object is not touched.
    if (this.newest === undefined || this.cache.payloadCount === 0) return;
    const max = this.config.maxIHaveBatch;
    let batch: IHaveEntry[] = [];
    this.cache.forEachPayload((id, round) => {
      batch.push({ id, round });
      if (batch.length === max) {
        this.io.send(peer, { type: 'ihave', entries: batch });
        batch = [];
      }
    });
    if (batch.length > 0) this.io.send(peer, { type: 'ihave', entries: batch });
  }

  /** Queue an announcement (only `push` does, one id's entries in a row: see `withdrawIHave`). */
  private enqueue(peer: P, entry: IHaveEntry, _now: number): void {
    if (this.queued === 0) this.io.timer(this.config.ihaveFlushMs, FLUSH_TIMER);
    const queue = (this.queue ??= takeQueue<P>());
    // Only `push` enqueues, right after the id was remembered: it is the cache's newest.
    queue.no[this.queued >> 1] = this.cache.nextNumber - 1;
    queue.q[this.queued++] = peer;
    queue.q[this.queued++] = entry;
  }

  /** The end (slot index, exclusive) of the queued run of the id numbered `no`, or 0 if none
   *  is queued: binary search on `queue.no`. */
  private runEnd(no: number): number {
    const a = this.queue!.no;
    let lo = 0;
    let hi = this.queued >> 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid] <= no) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && a[lo - 1] === no ? 2 * lo : 0;
  }

  /** Send the queued announcements (plumtree-lazy.ts). */
  private flush(): void {
    const n = this.queued;
    if (n === 0) return;
    const queue = this.queue!;
    this.queued = 0;
    this.queue = null;
    this.queueFrom = this.cache.nextNumber;
    flushIHaves(queue.q, n, this.config.maxIHaveBatch, this.links, 2, this.io);
    releaseQueue(queue, n);
  }

  /** Forget the announcements of `id`; drop the set once empty, so that an idle node holds
   *  none (≈ 0.4 of the nodes of a simulation re-create one per broadcast; those die young,
   *  where kept ones would be 10^6 maps in the old generation at 10^6 nodes; the two 1M runs
   *  compared, 572 s against 610 s, differ by no more than the run-to-run spread). */
  private dropMissing(id: MsgId): void {
    if (this.missing !== null) this.missing = withoutMissing(this.missing, id);
  }

  /** True if the link to `p` came up less than `ihaveTimeoutMs` ago (its latest `neighborUp`;
   *  false for a peer that is no link). */
  private isFresh(p: P, now: number): boolean {
    const i = this.linkIndex(p);
    return i >= 0 && !((this.links[2 * i + 1] as number) <= now - this.config.ihaveTimeoutMs);
  }

  /** `cache.has(id)`, answered without touching the cache when `id` is the newest. */
  private has(id: MsgId): boolean {
    return id === this.newest || this.cache.has(id);
  }

  /** `cache.add`, keeping `newest` (the only way ids enter the cache). */
  private remember(id: MsgId, now: number, payload: Uint8Array | undefined, round: number): boolean {
    if (!this.cache.add(id, now, payload, round)) return false;
    this.newest = id;
    return true;
  }

  private isNeighbor(p: P): boolean {
    return this.linkIndex(p) >= 0;
  }

  /** The pair index of `p` in `links`, or -1 (a scan of the peers only: an `upAt` may equal a
   *  peer id). */
  private linkIndex(p: P): number {
    const l = this.links;
    for (let i = 0; i < l.length; i += 2) if (l[i] === p) return i >> 1;
    return -1;
  }

  /** The peers of the pairs in slots `[from, to)` (a copy). */
  private peersIn(from: number, to: number): P[] {
    const out: P[] = [];
    for (let i = from; i < to; i += 2) out.push(this.links[i] as P);
    return out;
  }

  /** Make `p` eager: its pair moved to the end of the eager ones (from the lazy ones), or a new
   *  pair there (`upAt` 0 until `neighborUp`, the only caller that adds a link, sets it). */
  private addEager(p: P): void {
    const l = this.links;
    const k = this.nEager;
    let i = this.linkIndex(p);
    if (i >= 0 && i < k) return;
    let up: P | number = 0;
    if (i < 0) {
      l.push(p, 0);
      i = (l.length >> 1) - 1;
    } else up = l[2 * i + 1];
    // The lazy pairs before it move up one, in order.
    for (let j = 2 * i; j > 2 * k; j -= 2) {
      l[j] = l[j - 2];
      l[j + 1] = l[j - 1];
    }
    l[2 * k] = p;
    l[2 * k + 1] = up;
    this.nEager = k + 1;
    this.eagerEpoch++;
  }

  /** Make `p`, a link, lazy: its pair moved to the end (from the eager ones). Every caller has
   *  checked that `p` is a link (only `neighborUp` adds one). */
  private addLazy(p: P): void {
    const l = this.links;
    const i = this.linkIndex(p);
    if (i < 0 || i >= this.nEager) return;
    const up = l[2 * i + 1];
    const last = l.length - 2;
    for (let j = 2 * i; j < last; j += 2) {
      l[j] = l[j + 2];
      l[j + 1] = l[j + 3];
    }
    l[last] = p;
    l[last + 1] = up;
    this.nEager--;
  }

  /** Remove `p` from either set (the others keep their order); true if it was eager. */
  private removeLink(p: P): boolean {
    const l = this.links;
    const i = this.linkIndex(p);
    if (i < 0) return false;
    const eager = i < this.nEager;
    for (let j = 2 * i; j < l.length - 2; j += 2) {
      l[j] = l[j + 2];
      l[j + 1] = l[j + 3];
    }
    l.pop();
    l.pop();
    if (eager) this.nEager--;
    return eager;
  }
}
