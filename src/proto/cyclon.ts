/**
 * Cyclon peer sampling (Voulgaris, Gavidia, van Steen, "CYCLON: Inexpensive Membership
 * Management for Unstructured P2P Overlays", J. Network and Systems Management 13(2), 2005).
 *
 * Kept as the baseline that HyParView (Leitão et al., DSN 2007) was measured against: the
 * fanout-gossip broadcaster picks its targets from Cyclon's view.
 *
 * In the paper's terms: every peer keeps a small *cache* (here: the *view*) of `c` neighbour
 * entries, each a peer address with an *age*. Periodically, a peer P runs **enhanced
 * shuffling**:
 *  1. increase by one the age of every neighbour;
 *  2. select the neighbour Q with the highest age, and `l − 1` other random neighbours
 *     (`l` = shuffle length);
 *  3. replace Q's entry with a fresh entry for P (age 0) — Q leaves P's view;
 *  4. send the subset to Q;
 *  5. receive from Q a subset of at most `l` of Q's entries;
 *  6. discard entries pointing at P and entries already in P's cache;
 *  7. include the remaining entries, first in empty cache slots, then replacing entries
 *     among the ones sent to Q.
 * Q, on receiving the shuffle, answers with `l` random entries of its own and merges the
 * received ones by steps 6–7 (replacing the entries it sent back to P).
 *
 * Because the oldest entry is always the one contacted and then dropped, an entry pointing
 * at a crashed node is removed at most about `c` periods after it stopped being refreshed;
 * every live node is injected fresh (age 0) into a neighbour's view every period, which
 * keeps in-degrees tightly distributed around `c`.
 *
 * Differs from the paper:
 *  - Join is simplified. The paper joins by `c` random walks from the contact, each ending
 *    with a swap of entries. Here the joiner sends its contact a `cyclon-shuffle` holding
 *    only itself; the contact answers with `l` entries of its view and inserts the joiner,
 *    replacing one of the entries it handed over (so the contact's in-degree contribution is
 *    transferred, not duplicated). The joiner merges the answer plus the contact itself
 *    (age 0); its view then fills through normal shuffles. If
 *    the view is still empty at a shuffle timer, the join is retried through the next contact.
 *  - The reply never contains the initiator itself (it would be discarded at step 6 anyway);
 *    the slot is used for another entry.
 *  - No failure detector: `handleLinkDown` removes nothing. Dead entries only age out through
 *    shuffles (a shuffle sent to a dead oldest entry simply drops it). This is plain Cyclon,
 *    and exactly why it loses to HyParView after massive failures.
 *  - Cyclon keeps no long-lived links: it never calls `io.connect` / `io.disconnect`.
 *  - `leave` sends nothing (the paper has no leave message either); the machine goes inert
 *    and its entries age out of other views.
 *
 * Neighbour events: with `emitNeighborEvents` (default true), every entry entering the view
 * is reported with `neighborUp` and every entry leaving it with `neighborDown(peer,
 * 'evicted')` (`'leaving'` on `leave`). This costs at most ~2·l calls per shuffle and lets
 * the flood / Plumtree broadcasters run over Cyclon's (directed) view; the fanout baseline
 * does not need them (it samples `activeView()` directly), so large simulations of
 * Cyclon + fanout may turn them off.
 *
 * Memory: per node two small parallel arrays (peers, ages) of at most `viewSize` entries, the
 * peers last sent (≤ l) and a few scalars; the config object is shared between nodes.
 */
import type { MembershipIo, MembershipMachine } from './machine.js';
import { sample } from './rng.js';
import type { ConfigResult, CyclonEntry, CyclonMessage, CyclonTimer, HyParViewMessage, HyParViewTimer, Rng } from './types.js';

/** Cyclon parameters. */
export interface CyclonConfig {
  /** Cache size `c`: number of entries in the view. */
  viewSize: number;
  /** Shuffle length `l`: entries exchanged per shuffle (1 ≤ l ≤ viewSize). */
  shuffleLength: number;
  /** Mean period between two shuffles initiated by this node (ms). */
  shuffleIntervalMs: number;
  /** Each period is drawn uniformly in `interval · [1 − j, 1 + j)` (whole ms); `j` in [0, 1). */
  shuffleJitter: number;
  /** Report view changes through `neighborUp` / `neighborDown` (see module comment). */
  emitNeighborEvents: boolean;
}

/**
 * Defaults.
 *  - `viewSize` 35: HyParView's evaluation gave every protocol the same amount of membership
 *    state, and HyParView holds 5 + 30 = 35 peers (DSN 2007, §5 experimental setting).
 *    [RECALL-low: we could not retrieve the paper's table; 35 is our best reading of it.]
 *  - `shuffleLength` 14: the value we recall for the paper's Cyclon configuration (§5)
 *    [RECALL-low]; it is 40% of the view, in line with the Cyclon paper's own experiments
 *    where `l` is a sizeable fraction of `c`. The fanout gossiped over this view is 4.
 *  - `shuffleIntervalMs` 10 000: the papers count in rounds; one round per 10 s matches the
 *    shuffle period of lasp-lang/partisan's HyParView (reference/protocols.md §1.4), so that
 *    "one membership round" means the same wall time for both protocols in our runtime.
 *  - `shuffleJitter` 0.5: design choice, desynchronises nodes started at the same instant.
 *  - `emitNeighborEvents` true: so that every broadcaster works over Cyclon out of the box.
 */
export const DEFAULT_CYCLON_CONFIG: CyclonConfig = {
  viewSize: 35,
  shuffleLength: 14,
  shuffleIntervalMs: 10_000,
  shuffleJitter: 0.5,
  emitNeighborEvents: true,
};

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function isInt(v: unknown, min: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

/** Validate a Cyclon configuration; the reason names the first bad field. */
export function validateCyclonConfig(c: CyclonConfig): ConfigResult<CyclonConfig> {
  if (!isInt(c.viewSize, 1)) return { ok: false, reason: `viewSize: expected an integer >= 1, got ${show(c.viewSize)}` };
  if (!isInt(c.shuffleLength, 1) || c.shuffleLength > c.viewSize) {
    return { ok: false, reason: `shuffleLength: expected an integer in [1, viewSize=${c.viewSize}], got ${show(c.shuffleLength)}` };
  }
  const iv = c.shuffleIntervalMs;
  if (typeof iv !== 'number' || !Number.isFinite(iv) || iv <= 0) {
    return { ok: false, reason: `shuffleIntervalMs: expected a finite number > 0, got ${show(iv)}` };
  }
  const j = c.shuffleJitter;
  if (typeof j !== 'number' || !(j >= 0 && j < 1)) {
    return { ok: false, reason: `shuffleJitter: expected a number in [0, 1), got ${show(j)}` };
  }
  if (typeof c.emitNeighborEvents !== 'boolean') {
    return { ok: false, reason: `emitNeighborEvents: expected true or false, got ${show(c.emitNeighborEvents)}` };
  }
  return { ok: true, config: c };
}

/** One Cyclon node. */
export class Cyclon<P> implements MembershipMachine<P> {
  private readonly self: P;
  private readonly cfg: CyclonConfig;
  private readonly rng: Rng;
  private readonly io: MembershipIo<P>;
  /** View: `peers[i]` has age `ages[i]`. No duplicates, never `self`. */
  private readonly peers: P[] = [];
  private readonly ages: number[] = [];
  /** Peer of the shuffle in flight and the entries (other than self) we sent it. */
  private pendingTo: P | null = null;
  private pendingSent: P[] | null = null;
  /** The shuffle in flight is a join (its answer also adds the contact itself). */
  private pendingJoin = false;
  private contacts: readonly P[] = [];
  private joinAttempt = 0;
  /** Deadline of the current timer chain; -1 before the first timer. */
  private nextShuffleAt = -1;
  private left = false;

  constructor(self: P, config: CyclonConfig, rng: Rng, io: MembershipIo<P>) {
    this.self = self;
    this.cfg = config;
    this.rng = rng;
    this.io = io;
  }

  /** Send a join shuffle (just ourselves) to the first contact and start the shuffle timer. */
  join(contacts: readonly P[], now: number): void {
    if (this.left) return;
    this.contacts = contacts.filter((c) => c !== this.self);
    this.joinAttempt = 0;
    if (this.peers.length === 0 && this.contacts.length > 0) this.sendJoin();
    this.schedule(now);
  }

  handleMessage(from: P, msg: HyParViewMessage<P> | CyclonMessage<P>, now: number): void {
    if (this.left || from === this.self) return;
    if (this.nextShuffleAt < 0) this.schedule(now);
    if (msg.type === 'cyclon-shuffle') this.onShuffle(from, msg.entries);
    else if (msg.type === 'cyclon-reply') this.onReply(from, msg.entries);
    // HyParView messages are not ours: ignored.
  }

  handleTimer(t: HyParViewTimer<P> | CyclonTimer, now: number): void {
    if (this.left || t.type !== 'cyclon-shuffle') return;
    // Timers cannot be cancelled: a firing before the current deadline belongs to a
    // superseded chain and is dropped without rescheduling. 1 ms of slack tolerates drivers
    // whose timers fire marginally early (Node's setTimeout can, by up to 1 ms).
    if (now < this.nextShuffleAt - 1) return;
    this.schedule(now);
    if (this.peers.length === 0) {
      if (this.contacts.length > 0) this.sendJoin();
      return;
    }
    this.initiateShuffle();
  }

  /** Plain Cyclon has no failure detector: nothing is removed (see module comment). */
  handleLinkDown(_peer: P, _now: number): void {}

  /** Go inert. Nothing is sent; our entries age out of other views. */
  leave(_now: number): void {
    if (this.left) return;
    this.left = true;
    if (this.cfg.emitNeighborEvents) for (const p of this.peers) this.io.neighborDown(p, 'leaving');
    this.peers.length = 0;
    this.ages.length = 0;
    this.pendingTo = null;
    this.pendingSent = null;
    this.pendingJoin = false;
  }

  /** The current view's peers (live array: do not keep or mutate). */
  activeView(): readonly P[] {
    return this.peers;
  }

  /** Cyclon has a single view: always empty. */
  passiveView(): readonly P[] {
    return [];
  }

  /** Copy of the view with ages, in slot order (tests, inspection). */
  viewEntries(): CyclonEntry<P>[] {
    return this.peers.map((peer, i) => ({ peer, age: this.ages[i] }));
  }

  // ---------------------------------------------------------------------------------------

  private sendJoin(): void {
    const to = this.contacts[this.joinAttempt % this.contacts.length];
    this.joinAttempt++;
    this.pendingTo = to;
    this.pendingSent = [];
    this.pendingJoin = true;
    this.io.send(to, { type: 'cyclon-shuffle', entries: [{ peer: this.self, age: 0 }] });
  }

  private schedule(now: number): void {
    const j = this.cfg.shuffleJitter;
    // Whole milliseconds, so drivers that round times cannot make the deadline look unmet.
    const delay = Math.max(1, Math.floor(this.cfg.shuffleIntervalMs * (1 - j + 2 * j * this.rng.next())));
    this.nextShuffleAt = now + delay;
    this.io.timer(delay, { type: 'cyclon-shuffle' });
  }

  /** Steps 1–4 of enhanced shuffling. */
  private initiateShuffle(): void {
    const { peers, ages } = this;
    let oldest = 0;
    let ties = 0;
    for (let i = 0; i < peers.length; i++) {
      const a = ++ages[i];
      if (i === 0 || a > ages[oldest]) {
        oldest = i;
        ties = 1;
      } else if (a === ages[oldest] && this.rng.int(++ties) === 0) {
        oldest = i; // reservoir choice among equally old entries
      }
    }
    const q = peers[oldest];
    this.removeAt(oldest);
    const picked = sample(this.indices(), this.cfg.shuffleLength - 1, this.rng);
    const entries: CyclonEntry<P>[] = [{ peer: this.self, age: 0 }];
    const sent: P[] = [];
    for (const i of picked) {
      entries.push({ peer: peers[i], age: ages[i] });
      sent.push(peers[i]);
    }
    this.pendingTo = q;
    this.pendingSent = sent;
    this.pendingJoin = false;
    this.io.send(q, { type: 'cyclon-shuffle', entries });
  }

  /** Q's side: answer with `l` random entries (not the initiator), then merge. */
  private onShuffle(from: P, received: readonly CyclonEntry<P>[]): void {
    const idx = this.indices();
    const fromAt = this.peers.indexOf(from);
    if (fromAt >= 0) idx.splice(fromAt, 1);
    const picked = sample(idx, this.cfg.shuffleLength, this.rng);
    const entries: CyclonEntry<P>[] = [];
    const sent: P[] = [];
    for (const i of picked) {
      entries.push({ peer: this.peers[i], age: this.ages[i] });
      sent.push(this.peers[i]);
    }
    this.io.send(from, { type: 'cyclon-reply', entries });
    this.merge(received, sent, this.cfg.shuffleLength);
  }

  /** Steps 5–7 at P. A reply from anyone but the pending target only fills empty slots.
   *  The answer to a join also inserts the contact itself (age 0), first: otherwise a node
   *  joining through a contact whose view holds only the joiner would stay alone. */
  private onReply(from: P, received: readonly CyclonEntry<P>[]): void {
    let sent: P[] = [];
    let limit = this.cfg.shuffleLength;
    if (from === this.pendingTo && this.pendingSent !== null) {
      sent = this.pendingSent;
      if (this.pendingJoin) {
        received = [{ peer: from, age: 0 }, ...received];
        limit++;
      }
      this.pendingTo = null;
      this.pendingSent = null;
      this.pendingJoin = false;
    }
    this.merge(received, sent, limit);
  }

  /** Steps 6–7: skip self and known peers, fill empty slots, then replace sent entries.
   *  At most `limit` received entries are considered (bounds work on oversized input). */
  private merge(received: readonly CyclonEntry<P>[], sent: readonly P[], limit: number): void {
    const { peers, ages } = this;
    const n = Math.min(received.length, limit);
    let cursor = 0;
    for (let k = 0; k < n; k++) {
      const e = received[k];
      if (e.peer === this.self || peers.indexOf(e.peer) >= 0) continue;
      if (peers.length < this.cfg.viewSize) {
        peers.push(e.peer);
        ages.push(e.age);
        if (this.cfg.emitNeighborEvents) this.io.neighborUp(e.peer);
        continue;
      }
      let slot = -1;
      while (slot < 0 && cursor < sent.length) slot = peers.indexOf(sent[cursor++]);
      if (slot < 0) return; // view full and every sent entry already replaced
      const old = peers[slot];
      peers[slot] = e.peer;
      ages[slot] = e.age;
      if (this.cfg.emitNeighborEvents) {
        this.io.neighborDown(old, 'evicted');
        this.io.neighborUp(e.peer);
      }
    }
  }

  private removeAt(i: number): void {
    const p = this.peers[i];
    this.peers.splice(i, 1);
    this.ages.splice(i, 1);
    if (this.cfg.emitNeighborEvents) this.io.neighborDown(p, 'evicted');
  }

  private indices(): number[] {
    const out = new Array<number>(this.peers.length);
    for (let i = 0; i < out.length; i++) out[i] = i;
    return out;
  }
}
