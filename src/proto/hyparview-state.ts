/**
 * The state of a HyParView machine (hyparview.ts) and the bookkeeping of its views: the
 * active and passive views, the outstanding NEIGHBOR / JOIN requests, and the operations
 * that move a peer between them (paper §4.2 "addNodeActiveView", "dropRandomElementFromActiveView",
 * "addNodePassiveView", and the merge of a shuffle reply, §4.4). The protocol's message and
 * timer handlers are in the `HyParView` subclass. One class hierarchy, one object per node:
 * the simulator holds 10^6 of them, so no separate views object.
 */
import { HyParViewRecord, KIND_JOIN, KIND_NEIGHBOR, NONE } from './hyparview-record.js';
import { ArrayViews, pickNotIn, removeAt, removeValue, sampleInto, type ViewStore } from './hyparview-views.js';
import type { MembershipIo } from './machine.js';
import type { DownReason, HyParViewMessage, Rng } from './types.js';
import type { HyParViewConfig } from './hyparview-config.js';

/** Bootstrap-retry ticks without a new neighbour before the retry backs off. */
const RETRY_STALL_LIMIT = 8;


export { KIND_JOIN, KIND_NEIGHBOR, NONE };

/** Work array of `sampleInto`, shared by every machine (each call runs to completion and
 *  overwrites it; it keeps up to `passiveViewSize` stale ids): one array less per node. */
export const SCRATCH: unknown[] = [];


export const MSG_DISCONNECT_ALIVE = { type: 'disconnect', alive: true } as const;
const MSG_JOIN = { type: 'join' } as const;
export const MSG_NEIGHBOR_HIGH = { type: 'neighbor', priority: 'high' } as const;
const MSG_NEIGHBOR_LOW = { type: 'neighbor', priority: 'low' } as const;

/** Views, requests and per-node counters of a HyParView machine, with the view operations. */
/** Shuffle replies in a row that bring nothing new before a node with a full active view and
 *  a half-empty passive view re-JOINs (see `checkIsolated`). Own choice: three periods (30 s on
 *  the default shuffle interval) keep the cost in small clusters low. */
const STALE_SHUFFLES_TO_REJOIN = 3;

/** Shuffle periods in a row in which only neighbours' SHUFFLEs arrived before a closed clique
 *  with no spare contact JOINs through a passive peer (see `checkIsolated`). Own choice: a node
 *  of a healthy small overlay receives several walks per period from random origins, so six
 *  periods with none from outside its neighbours should not happen. measured: 12 nodes, the
 *  `local` timings, no partition, 700 s (≈ 350 shuffle periods), seeds 1–8: the same JOIN
 *  counts (26, 11, 16, 17, 14, 22, 12, 12) with the rule and with it disabled — it never fired;
 *  after a 6/6 partition it heals all of seeds 1–30 (scenarios/partition-heal-small.toml). */
const CLOSED_PERIODS_TO_REJOIN = 6;

/** Retry periods after a contact accepted our JOIN during which its walks are awaited instead
 *  of JOINing again (`cut-off` only, see `awaitingWalks`): 2 (800 ms at `lan`'s 400 ms), own
 *  choice, a few times a loaded LAN's six-hop walk. */
const WALK_GRACE_RETRIES = 2;

export abstract class HyParViewState<P> extends HyParViewRecord<P> {
  /** Where the active and passive views live (hyparview-views.ts: the machine's own arrays,
   *  or its row of the simulator's shared rows), and the offsets naming them there. */
  protected readonly views: ViewStore<P>;
  protected readonly aOff: number;
  protected readonly pOff: number;
  /** Passive peers that rejected a low-priority NEIGHBOR since the last shuffle tick (`NONE`
   *  when none; cleared by putting `NONE` back). */
  protected rejected: P[] = NONE;
  /** `NONE` until `join` adds the first (then an array of exact size, see `addContacts`). */
  protected contacts: P[] = NONE;
  /** Joiners accepted while this node was still joining with no other neighbour (see
   *  `onJoin`): their FORWARDJOIN walks wait for our first neighbour outside this list. */
  protected held: P[] = NONE;
  protected joinIdx = -1;
  protected seq = 0;
  protected repairAttempt = 0;
  /** Consecutive shuffle ticks with a short, non-empty active view and no accepted request. */
  protected starved = 0;
  /** Low-priority requests this shuffle period may still start (see `promotionsPerPeriod`);
   *  granted by each shuffle tick, none before the first (a joiner's links come from FORWARDJOIN). */
  protected budget = 0;
  /** Escalations so far (odd ones prefer an original contact). */
  protected escalations = 0;
  /** Consecutive shuffle periods with a full active view and an empty passive view. */
  protected isolated = 0;
  /** Consecutive shuffle replies that added no new peer to the passive view. */
  protected staleShuffles = 0;
  /** Consecutive shuffle periods with a full active view in which every SHUFFLE this node
   *  received (to answer or to pass on) was started by one of its neighbours, and whether one
   *  started elsewhere arrived in the current period (see `checkIsolated`; `heardOutside`). */
  protected closedPeriods = 0;
  /** Current bootstrap-retry timer (`hv-join-retry`; older firings are stale; whether it is
   *  the long periodic one: `retryLong`), and the short delay it backs off from. */
  protected retrySeq = 0;
  protected retryDelay = 0;
  /** `now` of the first `join` (start of the bootstrap window). */
  protected joinAt = 0;
  /** Neighbours added so far, their number at the last bootstrap-retry tick, and retry ticks
   *  in a row with no neighbour added in between (see `armRetry`). */
  protected gains = 0;
  protected lastGains = 0;
  protected stalled = 0;
  /** Bootstrap retries under half full so far (contacts and learned addresses by turns). */
  protected retryTurn = 0;
  /** Next configured contact a bootstrap retry tries (round robin). */
  protected contactIdx = 0;
  /** Ids sent in our last SHUFFLE (evicted first when merging its reply). */
  protected lastShuffle: P[] | null = null;
  /** Nodes that added this one as the end of a FORWARDJOIN walk while a configured contact was
   *  a neighbour or after a contact had accepted our JOIN (`bootstrapRejoin: 'cut-off'` only;
   *  pruned to active members as it grows; `NONE` until the first). */
  protected walkedIn: P[] = NONE;
  /** When a configured contact last accepted a JOIN of ours (null: never; `cut-off`
   *  bookkeeping, see `noteWalkedIn` and `awaitingWalks`). null rather than -Infinity: a
   *  field that holds a non-integer number from the start is a boxed number of its own in V8,
   *  one more object in every machine. */
  protected contactAcceptedAt: number | null = null;

  /** @param views where the views live (default: arrays of this machine's own); `row`, the
   *  machine's row in it (the node id in the simulator's `RowViews`). */
  constructor(
    protected readonly self: P,
    protected readonly cfg: HyParViewConfig,
    protected readonly rng: Rng,
    protected readonly io: MembershipIo<P>,
    views?: ViewStore<P>,
    row = 0,
  ) {
    super();
    const v = views ?? new ArrayViews<P>();
    v.reset(row);
    this.views = v;
    this.aOff = v.activeOffset(row);
    this.pOff = v.passiveOffset(row);
  }

  protected nActive(): number {
    return this.views.len(this.aOff);
  }
  protected nPassive(): number {
    return this.views.len(this.pOff);
  }
  protected activeAt(i: number): P {
    return this.views.at(this.aOff, i);
  }
  protected passiveAt(i: number): P {
    return this.views.at(this.pOff, i);
  }
  protected isActive(p: P): boolean {
    return this.views.indexOf(this.aOff, p) >= 0;
  }
  protected isPassive(p: P): boolean {
    return this.views.indexOf(this.pOff, p) >= 0;
  }

  protected addPending(peer: P, kind: number, high: boolean): void {
    const seq = ++this.seq;
    const info = seq * 4 + kind * 2 + (high ? 1 : 0);
    if (this.pendPeer === NONE) {
      this.pendPeer = [peer];
      this.pendInfo = [info];
    } else {
      this.pendPeer.push(peer);
      this.pendInfo.push(info);
    }
    this.io.timer(kind === KIND_JOIN ? this.cfg.joinTimeoutMs : this.cfg.neighborTimeoutMs, { type: 'hv-neighbor-timeout', peer, seq });
  }

  /** Remember that `peer` rejected us (or dropped us) until the next shuffle tick. */
  protected addRejected(peer: P): void {
    if (this.rejected === NONE) this.rejected = [peer];
    else if (this.rejected.indexOf(peer) < 0) this.rejected.push(peer);
  }

  /** Put `peer` in the active view (dropping a random member when full): connect + neighborUp. */
  protected addActive(peer: P): void {
    if (peer === this.self || this.isActive(peer)) return;
    removeValue(this.views, this.pOff, peer);
    const pi = this.pendPeer.indexOf(peer);
    if (pi >= 0) this.removePending(pi);
    if (this.nActive() >= this.cfg.activeViewSize) this.dropRandomActive();
    this.views.push(this.aOff, peer);
    this.gains++;
    this.io.connect(peer);
    this.io.neighborUp(peer);
    if (this.held.length > 0 && this.held.indexOf(peer) < 0) this.releaseHeld(peer);
    if (this.nActive() >= this.cfg.activeViewSize) {
      this.rejected = NONE;
      this.wasFull = true;
    }
  }

  /** A neighbour outside the held joiners arrived: send it one FORWARDJOIN(joiner, ARWL) per
   *  held joiner still in the active view (the walks the JOIN would have started), then forget them. */
  private releaseHeld(via: P): void {
    const h = this.held;
    for (let i = 0; i < h.length; i++) {
      if (!this.isActive(h[i])) continue;
      this.io.send(via, { type: 'forward-join', peer: h[i], ttl: this.cfg.arwl });
      this.introduce(h[i]);
    }
    this.held = NONE;
  }

  /**
   * Tell a joiner we accepted whom we know: a one-hop SHUFFLE (ttl 1, so it stops at the
   * joiner) carrying up to `shuffleActive` of our other neighbours and `shufflePassive` passive
   * peers. The joiner merges them into its passive view (and answers with a sample of its own,
   * as any shuffle end does). Without it a node that joined a small fleet at the same moment as
   * the others starts with an empty passive view, and losing its few neighbours leaves it with
   * nobody to ask (a pair that knows only each other). Nothing to tell: nothing is sent.
   * Limit: the joiner's reply is not told apart from the reply to a SHUFFLE of ours; if one is
   * in flight, the reply merged is the joiner's (its ids are as good; the other is ignored).
   */
  protected introduce(joiner: P): void {
    if (this.nActive() <= 1 && this.nPassive() === 0) return;
    const peers: P[] = [];
    sampleInto(this.views, this.aOff, this.cfg.shuffleActive, joiner, peers, SCRATCH as P[], this.rng);
    sampleInto(this.views, this.pOff, this.cfg.shufflePassive, joiner, peers, SCRATCH as P[], this.rng);
    if (peers.length > 0) this.io.send(joiner, { type: 'shuffle', origin: this.self, peers, ttl: 1 });
  }

  /** True while every active member is a held joiner (none at all included). */
  protected onlyHeld(): boolean {
    const n = this.nActive();
    for (let i = 0; i < n; i++) if (this.held.indexOf(this.activeAt(i)) < 0) return false;
    return true;
  }

  /** Evict a random member, never a configured contact while another member can go (the
   *  links to contacts hold a fleet that joined at once together: see hyparview.ts). */
  protected dropRandomActive(): void {
    const len = this.nActive();
    const cs = this.contacts;
    let i = -1;
    if (cs.length > 0) {
      let n = 0;
      for (let k = 0; k < len; k++) if (cs.indexOf(this.activeAt(k)) < 0) n++;
      if (n > 0 && n < len) {
        let r = this.rng.int(n);
        for (let k = 0; k < len && i < 0; k++) if (cs.indexOf(this.activeAt(k)) < 0 && r-- === 0) i = k;
      }
    }
    if (i < 0) i = this.rng.int(len);
    const victim = this.activeAt(i);
    this.views.removeAt(this.aOff, i);
    this.io.send(victim, MSG_DISCONNECT_ALIVE);
    this.io.neighborDown(victim, 'evicted');
    this.io.disconnect(victim);
    this.addPassive(victim);
  }

  protected removeActive(peer: P, reason: DownReason): boolean {
    const i = this.views.indexOf(this.aOff, peer);
    if (i < 0) return false;
    this.views.removeAt(this.aOff, i);
    this.io.neighborDown(peer, reason);
    this.io.disconnect(peer);
    return true;
  }

  /** Add to the passive view unless known; when full, evict a random entry. */
  protected addPassive(peer: P): void {
    if (peer === this.self || this.isActive(peer) || this.isPassive(peer)) return;
    if (this.pendPeer.indexOf(peer) >= 0) return;
    if (this.nPassive() >= this.cfg.passiveViewSize) this.views.removeAt(this.pOff, this.rng.int(this.nPassive()));
    this.views.push(this.pOff, peer);
  }

  /** Merge shuffle ids (and `first` when `hasFirst`) into the passive view; when full, evict
   *  entries of `prefer` (what we sent to the other side) first, then random ones. */
  protected merge(first: P, hasFirst: boolean, incoming: readonly P[], prefer: readonly P[]): number {
    const cap = this.cfg.passiveViewSize;
    let added = 0;
    const limit = incoming.length < cap ? incoming.length : cap;
    const V = this.views;
    const pv = this.pOff;
    let cursor = 0;
    for (let i = hasFirst ? -1 : 0; i < limit; i++) {
      const p = i < 0 ? first : incoming[i];
      if (p === this.self || this.isActive(p) || V.indexOf(pv, p) >= 0) continue;
      if (this.pendPeer.indexOf(p) >= 0) continue;
      if (V.len(pv) >= cap) {
        let evicted = false;
        while (!evicted && cursor < prefer.length) {
          const j = V.indexOf(pv, prefer[cursor++]);
          if (j >= 0) {
            V.removeAt(pv, j);
            evicted = true;
          }
        }
        if (!evicted) V.removeAt(pv, this.rng.int(V.len(pv)));
      }
      V.push(pv, p);
      added++;
    }
    return added;
  }

  /**
   * Add `list` to the configured contacts (self and duplicates skipped), in order, up to
   * `maxContacts`. A longer list (a DNS name that resolves to a whole fleet) is sampled at
   * random with a bounded number of draws, so that its size costs nothing per entry.
   */
  protected addContacts(list: readonly P[]): void {
    const cs: P[] = this.contacts === NONE ? [] : this.contacts;
    const before = cs.length;
    const cap = this.cfg.maxContacts;
    if (list.length <= cap - cs.length) {
      for (let i = 0; i < list.length; i++) {
        const c = list[i];
        if (c !== this.self && cs.indexOf(c) < 0) cs.push(c);
      }
    } else {
      for (let tries = 4 * cap; tries > 0 && cs.length < cap; tries--) {
        const c = list[this.rng.int(list.length)];
        if (c !== this.self && cs.indexOf(c) < 0) cs.push(c);
      }
    }
    // An exact-size copy: a pushed-to array keeps room for 17 entries (152 B), the list
    // rarely changes after `join`, and the simulator holds 10^6 of them (3 contacts: 40 B).
    if (cs.length !== before) this.contacts = cs.slice();
  }

  // ------------------------------------------------------------------ view operations

  /** Arm the healing timer: delay = min(max, base·2^attempt) · U[0.5, 1) ("equal jitter"). */
  protected armRepair(): void {
    if (this.repairArmed || this.nActive() > 0) return;
    if (this.contacts.length === 0 && this.nPassive() === 0) return; // nothing to try
    this.repairArmed = true;
    const exp = this.repairAttempt > 30 ? 30 : this.repairAttempt;
    const cap = Math.min(this.cfg.repairMaxMs, this.cfg.repairBaseMs * 2 ** exp);
    const d = Math.floor(cap * (0.5 + 0.5 * this.rng.next()));
    this.io.timer(d, { type: 'hv-repair', attempt: this.repairAttempt });
  }

  /** Connect to `peer` and send it JOIN (an outstanding request until answered). */
  protected sendJoin(peer: P): void {
    this.io.connect(peer);
    this.io.send(peer, MSG_JOIN);
    this.addPending(peer, KIND_JOIN, true);
  }

  /** JOIN through the first usable contact from index `from`; arm healing when none is left. */
  protected startJoin(from: number): void {
    const cs = this.contacts;
    for (let k = from; k < cs.length; k++) {
      const c = cs[k];
      if (this.isActive(c) || this.pendPeer.indexOf(c) >= 0) continue;
      this.joinIdx = k;
      removeValue(this.views, this.pOff, c);
      this.sendJoin(c);
      return;
    }
    this.joinIdx = -1;
    if (this.pendPeer.length === 0) this.armRepair();
  }

  /**
   * Escalation of a starved node: a high-priority NEIGHBOR (always accepted) to a random passive
   * peer, or, with an empty passive view, a JOIN through the original contacts. False when a
   * high-priority request or a JOIN is already outstanding, or there is nobody to ask.
   */
  protected escalate(): boolean {
    if (this.highPending()) return false;
    const np = this.nPassive();
    const cs = this.contacts;
    let nc = 0;
    for (let i = 0; i < cs.length; i++) if (this.isSpareContact(cs[i])) nc++;
    // Every other escalation goes to an original contact: likely outside an island that
    // formed later, whose passive views know only island members.
    this.escalations++;
    const toContact = nc > 0 && (np === 0 || (this.escalations & 1) === 1);
    if (toContact || np > 0) {
      let peer: P;
      if (toContact) {
        let r = this.rng.int(nc);
        peer = cs[0];
        for (let i = 0; i < cs.length; i++) if (this.isSpareContact(cs[i]) && r-- === 0) peer = cs[i];
      } else {
        const r = this.rng.int(np);
        peer = this.passiveAt(r);
        this.views.removeAt(this.pOff, r);
      }
      this.io.connect(peer);
      this.io.send(peer, MSG_NEIGHBOR_HIGH);
      this.addPending(peer, KIND_NEIGHBOR, true);
      return true;
    }
    return false;
  }

  /** An original contact that is in neither view nor pending (passive ones are drawn as passive). */
  protected isSpareContact(c: P): boolean {
    return !this.isActive(c) && !this.isPassive(c) && this.pendPeer.indexOf(c) < 0;
  }

  /** `fill` within what is left of this period's budget of low-priority requests. */
  protected fillBudgeted(): void {
    const before = this.pendPeer.length;
    this.fill(this.budget);
    const started = this.pendPeer.length - before;
    this.budget = started >= this.budget ? 0 : this.budget - started;
  }

  /**
   * Promote random passive peers until active + pending reaches the view size, starting at most
   * `limit` requests unless the active view is empty (then as many as there are free slots).
   */
  protected fill(limit: number): void {
    const size = this.cfg.activeViewSize;
    const max = this.nActive() === 0 ? size : limit;
    let started = 0;
    while (this.nActive() + this.pendPeer.length < size && started < max) {
      started++;
      const idx = pickNotIn(this.views, this.pOff, this.rejected, this.rng);
      if (idx < 0) break;
      const peer = this.passiveAt(idx);
      this.views.removeAt(this.pOff, idx);
      const high = this.nActive() === 0 && !this.highPending();
      this.io.connect(peer);
      this.io.send(peer, high ? MSG_NEIGHBOR_HIGH : MSG_NEIGHBOR_LOW);
      this.addPending(peer, KIND_NEIGHBOR, high);
    }
    if (this.nActive() === 0 && this.pendPeer.length === 0) this.armRepair();
  }

  /**
   * FORWARDJOIN(self, ARWL) through random active members, one per missing neighbour: as if
   * we had just joined through them, each walk ends at a random node that adds us (the
   * paper's JOIN fan-out, started by the short node itself). False with no active member.
   */
  protected walkForNeighbors(): boolean {
    const n = this.nActive();
    if (n === 0) return false;
    const missing = this.cfg.activeViewSize - n - this.pendPeer.length;
    const msg: HyParViewMessage<P> = { type: 'forward-join', peer: this.self, ttl: this.cfg.arwl };
    for (let k = 0; k < missing; k++) this.io.send(this.activeAt(this.rng.int(n)), msg);
    return missing > 0;
  }

  /** One JOIN of the bootstrap retry through the next configured contact not in the active
   *  view, else (`learned`) a random passive peer; false when there is nobody to ask. */
  protected retryJoin(learned: boolean): boolean {
    if (this.joinPending()) return true; // one in flight: wait for it
    const cs = this.contacts;
    for (let i = 0; i < cs.length; i++) {
      const k = (this.contactIdx + i) % cs.length;
      if (this.isActive(cs[k]) || this.pendPeer.indexOf(cs[k]) >= 0) continue;
      this.contactIdx = k + 1;
      this.startJoin(k);
      return true;
    }
    if (!learned || this.nPassive() === 0) return false;
    // Addresses learned since: any member of the overlay can be a contact.
    this.joinThroughPassive();
    return true;
  }

  /**
   * Closed islands. A clique of `activeViewSize + 1` nodes can end up with full active views
   * that only point at each other (seen in the simulator at 10^4 nodes: 6-cliques formed by
   * concurrent joins); nothing in the paper's rules ever breaks it. Two local signs, checked
   * each shuffle period while the active view is full:
   * - the passive view is empty for more than `escalateLowAfter` periods: every peer ever
   *   heard of is a neighbour;
   * - the passive view is under half full and the last `STALE_SHUFFLES_TO_REJOIN` shuffle
   *   replies taught nothing new: the shuffle walks never leave the group.
   * Either makes the node re-JOIN through an original contact that is in neither view; the
   * accepted JOIN replaces a random link and the contact's FORWARDJOIN walks spread it into
   * the rest of the overlay.
   * In a cluster small enough that every contact sits in a view, a healed partition leaves each
   * side of `activeViewSize + 1` or fewer nodes as such a clique, with the other side only in
   * its passive view (`scenarios/partition-heal-small.toml`: 11 of seeds 1–30 stayed split).
   * There the second sign plus `CLOSED_PERIODS_TO_REJOIN` periods in which every SHUFFLE that
   * reached the node was started by a neighbour (no walk from outside the group) make it JOIN
   * through a random passive peer instead.
   */
  protected checkIsolated(full: boolean): void {
    const outside = this.heardOutside;
    this.heardOutside = false;
    this.closedPeriods = full && !outside ? this.closedPeriods + 1 : 0;
    if (!full) {
      this.isolated = 0;
      return;
    }
    const empty = this.nPassive() === 0;
    this.isolated = empty ? this.isolated + 1 : 0;
    const stuck = empty
      ? this.isolated > this.cfg.escalateLowAfter
      : this.staleShuffles >= STALE_SHUFFLES_TO_REJOIN && this.nPassive() < this.cfg.passiveViewSize / 2;
    if (!stuck || this.pendPeer.length > 0) return;
    // Only an original contact that is in neither view is evidence that the overlay is larger
    // than the group this node sees: in a cluster small enough to leave passive views half
    // empty, every contact sits in one of the views and nothing happens.
    for (let k = 0; k < this.contacts.length; k++) {
      if (!this.isSpareContact(this.contacts[k])) continue;
      this.isolated = 0;
      this.staleShuffles = 0;
      return this.startJoin(k);
    }
    if (empty || this.closedPeriods < CLOSED_PERIODS_TO_REJOIN) return;
    this.closedPeriods = 0;
    this.staleShuffles = 0;
    this.joinThroughPassive();
  }

  /** JOIN through a random passive peer (the passive view must not be empty); a failure goes
   *  on with no configured contact. */
  protected joinThroughPassive(): void {
    const r = this.rng.int(this.nPassive());
    const peer = this.passiveAt(r);
    this.views.removeAt(this.pOff, r);
    this.joinIdx = this.contacts.length;
    this.sendJoin(peer);
  }

  /** Arm the bootstrap retry: the long period, or the short one (reset after a tick that
   *  started a request, doubled after one that did not or after `RETRY_STALL_LIMIT` ticks
   *  without progress, up to `repairMaxMs`). */
  protected armRetry(long: boolean, acted: boolean): void {
    this.retrySeq++;
    this.retryLong = long;
    let base: number;
    if (long) base = this.cfg.rejoinIntervalMs;
    else {
      const fresh = this.retryDelay === 0 || (acted && this.stalled < RETRY_STALL_LIMIT);
      const next = fresh ? this.cfg.joinRetryMs : this.retryDelay * 2;
      this.retryDelay = next > this.cfg.repairMaxMs ? Math.max(this.cfg.repairMaxMs, this.cfg.joinRetryMs) : next;
      base = this.retryDelay;
    }
    this.io.timer(Math.floor(base * (0.5 + this.rng.next())), { type: 'hv-join-retry', seq: this.retrySeq });
  }

  /** `from` sent an unrequested high-priority NEIGHBOR: the end of a FORWARDJOIN walk for
   *  this node (or an escalation). Remembered when a contact is a neighbour, or once a contact
   *  has accepted our JOIN: the walk then most likely came from the contact's side of the
   *  overlay. The second case is the walks of our own accepted JOIN arriving after the contact
   *  already evicted us (a seed taking a fleet's JOINs at once evicts a joiner within a few
   *  JOINs, before its six-hop walks end): such a walk also counts the node as joined again, so
   *  the bootstrap retry does not JOIN the contact a second time (measured, 50 agents against
   *  one seed: 408 of 529 walk ends arrived with the contact gone, and 74 re-JOINs followed;
   *  docs/results.md, "Fewer re-JOINs (h28j)"). */
  protected noteWalkedIn(from: P): void {
    const accepted = this.contactAcceptedAt !== null;
    if (this.pendPeer.indexOf(from) >= 0 || !(accepted || this.hasActiveContact())) return;
    const w = this.walkedIn;
    for (let i = w.length - 1; i >= 0; i--) if (!this.isActive(w[i])) removeAt(w, i);
    if (w.indexOf(from) < 0 && w.length < this.cfg.activeViewSize) {
      if (w === NONE) this.walkedIn = [from];
      else w.push(from);
    }
    if (accepted) this.joined = true;
  }

  /** `cut-off` only: a contact accepted our JOIN less than `WALK_GRACE_RETRIES` retry periods
   *  ago, so its FORWARDJOIN walks (ARWL hops) may still be on their way to us: the bootstrap
   *  retry does not JOIN again meanwhile, even when the contact already evicted us or the view is
   *  under half full (measured, 50 agents against one seed: docs/results.md, "Fewer re-JOINs
   *  (h28j)"). */
  protected awaitingWalks(now: number): boolean {
    const at = this.contactAcceptedAt;
    return this.cfg.bootstrapRejoin === 'cut-off' && at !== null && now - at < WALK_GRACE_RETRIES * this.cfg.joinRetryMs;
  }

  /** Some active member is a node remembered by `noteWalkedIn`. */
  protected hasWalkedIn(): boolean {
    for (let i = 0; i < this.walkedIn.length; i++) if (this.isActive(this.walkedIn[i])) return true;
    return false;
  }

  protected hasActiveContact(): boolean {
    for (let i = 0; i < this.contacts.length; i++) if (this.isActive(this.contacts[i])) return true;
    return false;
  }

  /** Exchange addresses with a configured contact outside both views: a SHUFFLE whose walk
   *  ends at the contact (islands learn of each other; nothing is evicted). */
  protected exchangeWithContact(): void {
    if (this.lastShuffle !== null) return; // a shuffle of ours is in flight
    const cs = this.contacts;
    let n = 0;
    for (let i = 0; i < cs.length; i++) if (this.isSpareContact(cs[i])) n++;
    if (n === 0) return;
    let r = this.rng.int(n);
    let peer = cs[0];
    for (let i = 0; i < cs.length; i++) if (this.isSpareContact(cs[i]) && r-- === 0) peer = cs[i];
    const peers: P[] = [];
    sampleInto(this.views, this.aOff, this.cfg.shuffleActive, peer, peers, SCRATCH as P[], this.rng);
    sampleInto(this.views, this.pOff, this.cfg.shufflePassive, peer, peers, SCRATCH as P[], this.rng);
    this.lastShuffle = peers;
    this.io.send(peer, { type: 'shuffle', origin: this.self, peers, ttl: 1 });
  }
}
