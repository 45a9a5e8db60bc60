/**
 * Full cluster membership with failure detection (issue 20): who is in the cluster, each
 * member `alive`, `suspect`, `failed` or `left` with an incarnation number, name and tags —
 * the list `rumor members` prints, and Serf's events. An application (`App`, app.ts) over the
 * node: the simulator hosts it at 10^4–10^5 nodes, the agent over TCP; same code.
 *
 * In the papers' terms:
 * - **Monitoring (Rapid, Suresh et al., ATC 2018, §4.1).** K rings order the members by K
 *   hashes of their ids; the *observers* of member s are its first up predecessor in each
 *   ring, its *subjects* its first up successor in each. Observer sets are derived from the
 *   table, independent of the HyParView active view, and change as soon as the table does: a
 *   node whose every neighbour crashed with it still has K observers, and when an observer is
 *   marked failed the next predecessor takes over. One probe tick every `probeInterval / K`
 *   probes every `suspect` member before each ring's subject (so a run of crashed members is
 *   walked in parallel, not one suspicion after the other), a subject that is new (its
 *   predecessor failed) at once, and the next ring's subject: on every tick while members are
 *   failing (a suspicion or failure reached the table in the last 10 periods), only
 *   `quietProbes` (2) per period otherwise — each member is then still probed about twice
 *   per period by its K observers together, at half the idle traffic.
 * - **Probing (SWIM, Das et al., DSN 2002, §4.1).** `m-ping` → `m-ack` within the probe
 *   timeout; else one more direct ping (memberlist's fallback ping) and `m-ping-req` through
 *   k members (those that answered our own latest probes first,
 *   then overlay neighbours, then random members), which ping the subject and answer `m-ack`,
 *   or `m-nack` at 80 % of the timeout (Lifeguard's nack, memberlist's timing). No ack by the
 *   end of the probe period: the subject becomes `suspect` (SWIM §4.2).
 * - **Suspicion (Lifeguard, Dadgar et al., 2018, §4.2; Rapid's alerts).** The accuser sends
 *   `m-alert` to the subject's other observers, which probe it themselves and time the same
 *   suspicion, and probes those observers too: one that crashed with the subject never
 *   confirms, and once it is suspect it is no longer expected to (below). Each distinct
 *   accuser is a confirmation C, and the timeout is
 *   `max − (max − min)·log(C+1)/log(k+1)`, k = its other observers we hold `alive`, min = α·max(1, log10 n)·interval,
 *   max = 6·min. At expiry the subject becomes `failed`. Only observers time suspicions;
 *   everyone else holds `suspect` in its list until the verdict or the refutation arrives.
 * - **Refutation (SWIM §4.2).** A node that hears itself `suspect`/`failed`/`left` at its
 *   incarnation or above answers `alive` with a higher incarnation, which overrides.
 * - **Local health (Lifeguard §4.1).** A score 0…7 multiplies the probe period and every
 *   timeout: +1 when a probe's relays all stayed silent although each had answered our own
 *   probes just before, +1 per refutation, +⌈late/interval⌉
 *   when a timer fires more than a probe timeout late (a stalled process); −1 per answered
 *   probe. A late probe or suspicion timer does not conclude: it waits one more probe timeout,
 *   so the answers that queued up while the node was stopped are read before it accuses.
 * - **TCP fast path.** `neighborDown(peer, 'link-failed')` (a reset on an active link) is
 *   evidence: ping and ping-req at once, and if no one answers within the probe timeout, the
 *   suspicion lasts only `linkFailedSuspicionMs`. If the driver reports the dial of that probe
 *   refused (`handleUnreachable`), the member is marked `failed` at once and the verdict is
 *   flushed immediately: a reset and then a refused dial on its advertised address are strong
 *   evidence that its process is gone (it can still refute if it is alive). A refused dial
 *   during an ordinary probe accuses at once (a suspicion of `linkFailedSuspicionMs`).
 * - **Dissemination.** Changes are queued and sent every `flushIntervalMs` in one `m-changes`
 *   per link (≤ `maxEntriesPerMessage`; the rest next flush): a burst of 10,000 failures
 *   costs a few messages per link, not 10,000 floods. The links are the overlay neighbours
 *   and the K ring subjects: the overlay alone may have islands (measured: a 1,000-node join
 *   storm left a triangle of nodes linked only to each other, which learnt every failure
 *   15 s late; with the first ring subject only, a node left without overlay neighbours
 *   after a 50 % crash learnt them 70 s late), and every member is the ring subject of K
 *   others. A ring subject gets only its ring's share of a batch (members whose bucket mod K
 *   is that ring, and our own entry): each member has an observer in every ring, so a change
 *   reaches it over one ring link, not K. No change goes back to the peer that sent it. A
 *   node without any overlay neighbour also pulls (`m-sync` to a random member)
 *   every probe period instead of every `syncIntervalMs`, from one probe period after its
 *   last link went down. `suspect` is not flooded, only
 *   piggybacked by the nodes that raised it (accuser, alerted observers): the suspect (to
 *   refute) and the observers (alerted directly) are the ones it matters to. A node forwards
 *   an entry once, when it changed its table (infection-style; the flood stops by itself). A
 *   few recent changes also ride on every ping and ack (SWIM §4.4), each sent
 *   `retransmitMult·⌈log10(n+1)⌉` times: a batch lost on a lossy link still arrives.
 * - **Anti-entropy (Scuttlebutt, van Renesse et al. 2008 §3, digest-first).** A new link,
 *   and a random member every `syncIntervalMs`, get `m-sync`: the table size and 64 bucket
 *   hashes (XOR of the entries, kept up to date on every change). Differing buckets come back
 *   as an `m-digest` (ids and states, no names), answered by the entries the digest's sender
 *   lacks or holds stale. A joining node (only itself in its table) asks for the whole table.
 *   `failed` and `left` are in the hashes, so anti-entropy reconciles them too. While a
 *   failure wave's flood reaches a node (a batch brought news in the last probe period), its
 *   new links and its periodic sync wait a probe period: mid-wave every bucket differs and a
 *   digest would list whole buckets the flood is delivering anyway. With `linkSyncOnce` (the
 *   agent's setting) a new link gets one sync, not one from each end: the smaller id's end
 *   opens it, the other only if none came within a probe period (one round reconciles both);
 *   in a join burst both wait (a link that HyParView replaces within a period is not synced).
 * - **Reconnect (Serf).** Every `reconnectIntervalMs` one random `failed` member gets an
 *   `m-sync`: across a healed partition it answers, and both sides learn the other's view.
 *   Its answer (`m-digest`) also goes to the node's overlay (`io.peerReconnected`), which
 *   JOINs through that member: the partition split the HyParView overlay too, and only the
 *   node whose own reconnect was answered acts (a few per second in a cluster of thousands).
 * - **Tombstones.** `failed` entries are reaped after `reconnectTimeoutMs`, `left` after
 *   `tombstoneTimeoutMs` (Serf: 24 h each), with `member-reap`. The reaped (member, state) is
 *   remembered (bounded, `maxReaped`, for as long as the longer timeout) and a rumour not newer
 *   than it is ignored: a stale message cannot resurrect a reaped member; the member itself can
 *   come back, with a higher incarnation.
 * - **Names.** A member announcing a name held by another address that is down replaces it
 *   (the old entry is reaped: no ghost twin); if both are up, `member-conflict` names the
 *   winner (the smaller address, the same everywhere) and the loser. A member learned without
 *   its name and tags (a change piggybacked on a ping or listed in a digest carries none) is
 *   asked for them: an `m-meta-req` to the member itself at the next flush (it always knows
 *   its own), answered by an `m-changes` (sync) with its state and meta, and asked again every
 *   sync tick while the meta is missing. A meta that arrives with a state we already hold is
 *   recorded (the table's state is unchanged, nothing is forwarded). In the simulator names
 *   are static (`n<id>`, members-store.ts), so no request is ever sent there.
 *
 * The member table is reached only through `MemberStore` (types.ts), injected at
 * construction: the agent passes a `MapStore`; the simulator passes a view of one shared
 * table that keeps each member's versions in flight with a bitset of holders (memory O(n +
 * changes·n/8) for n nodes, instead of n²). Everything else — probes, suspicions, queues —
 * is per-node state of this machine, O(K + pending changes), whatever the driver.
 *
 * Differs from the papers:
 * - Rings as in Rapid, but no consensus on view changes: a verdict spreads by gossip, as in
 *   SWIM (Rapid's cut detection needs every observer's alert; we accept a suspicion that
 *   times out with fewer, the Lifeguard way).
 * - α = 1 where memberlist has SuspicionMult 4: K observers confirming each other are the
 *   evidence a longer timeout buys in memberlist (measured: `rumor sim
 *   membership-false-positives`).
 * - Local health does not count relays' missing nacks one by one (memberlist) but only a
 *   probe with no answer from any relay when every relay had just answered our own probes:
 *   in a mass failure some relays are dead, which says nothing about our own health
 *   (measured, 2,000 nodes, 50 % crash: counting every silent probe stretched p100 from
 *   8.5 s with local health off to 10.5 s).
 * - Dissemination floods the overlay with per-flush batches instead of piggybacking on
 *   pings to random members: each node forwards each change once per link (about 5 copies
 *   of each change reach each node: 4 overlay links and one ring link). Plumtree's eager /
 *   lazy split (`m-prune`, config `pruneFlood`, off by default) prunes an overlay link whose
 *   batch brought nothing new, keeping two feeders; it learns its tree during the wave itself
 *   (membership has no traffic before it) and has no lazy IHAVE (a pruned link carries
 *   nothing but the sender's own entry; a graft — a feeder's link down, or a feeder marked
 *   suspect or failed — asks the pruned back and reconciles with each by `m-sync`, in place
 *   of Plumtree's retransmission on GRAFT). Measured at 2,000 nodes, seed 1 (docs/results.md,
 *   "Scale", h29m): it cuts the flooded copies only 4–18 % (a batch mixes new and known
 *   changes, so few links are pruned before the wave has passed) while the grafts' syncs
 *   cost more than that: detection bytes +12 % (10 % crashed) and +38 % (50 %), p100 at 90 %
 *   13.7 → 27.3 s (without the graft's sync the 50 % p100 was 15.0 s); hence off. The tree
 *   set before any traffic (`eagerFeeders` F, off by default; flood-tree.ts: every link after
 *   the first F is pruned as it comes up, a lost feeder replaced by one graft) cuts the copies
 *   by a fifth to a third but, without IHAVE, leaves a node whose feeder's batch or PRUNE /
 *   GRAFT was lost (1 % loss in the simulator) to anti-entropy: at 2·10^4 nodes, F = 2,
 *   p100 6.6 → 28.2 s (60.0 s with the repairs tried; docs/results.md, h32m); hence off.
 *   Per-bucket tallies over the pruned links (`tallyRepair`, tally.ts) bring that p100 to
 *   8.8 s but not the wave's CPU down, and at 50 % crashed p100 is 22 s: off too (h33w).
 * - `failed` learned through anti-entropy at the incarnation we hold `alive` is taken as
 *   `suspect` (memberlist's push-pull merge): the subject gets a chance to refute. Where
 *   memberlist then times that suspicion at every node, only observers time ours: the node
 *   probes the subject itself at once (detector.ts `verify`, its `suspect` entry on the
 *   ping), and with no answer, direct or indirect, the verdict stands (`failed`); otherwise
 *   the node waited for another sync to list that bucket again (at 10^5 members, crashed
 *   members stayed `alive` or `suspect` at a few nodes for the 120 s of bench:members).
 *
 * Limits:
 * - Suspicion timers run at observers only: if every observer of a suspect dies, the next
 *   ones (which probe suspects too) take the accusation up; it costs one more round.
 * - A quiet node sends `quietProbes` pings and acks per probe period, K while members fail;
 *   a member that crashes in a quiet cluster waits up to K / quietProbes periods for its
 *   first probe from a given observer (about one period from all of them together).
 * - A conflict of names is reported, not enforced: the losing node keeps running (the agent
 *   logs it); Serf's vote-based resolution is not implemented.
 * - The digest of a differing bucket lists the whole bucket (n/64 entries), and a digest
 *   lists up to 4 × `maxEntriesPerMessage` entries but at least 8 differing buckets (an
 *   eighth of the table: at 10^5 members ≈ 12,500 entries) while under 16 ×, chosen from a
 *   random one on.
 * - A change reaches a member over one ring link (its ring's share): while that ring's
 *   observer is dead but not yet failed, the member gets that share over its overlay links
 *   only, and from anti-entropy (a node cut off from the overlay's flood syncs at once).
 * - Each node still receives about 5 copies of each flooded change (4 overlay links, one ring
 *   link); with every node adopting every failure, the simulator's failure wave is quadratic
 *   in n (≈ 2–3 µs of CPU per adoption at 10^4–2·10^4 nodes) and at 10^5 nodes is over the
 *   10-minute budget (docs/results.md, "Scale").
 */
import type { App, AppIo } from '../app.js';
import type { DownReason, Rng } from '../types.js';
import { Detector } from './detector.js';
import { Dissemination } from './dissemination.js';
import {
  ALIVE,
  FAILED,
  LEFT,
  SUSPECT,
  incOf,
  isJoin,
  isUp,
  pack,
  statusOf,
  type MemberMeta,
  type MembersConfig,
  type MembersEvent,
  type MembersMessage,
  type MembersTimer,
  type MemberStore,
} from './types.js';

export type MembersIo<P> = AppIo<P, MembersMessage<P>, MembersTimer<P>, MembersEvent<P>>;

export class Members<P> implements App<P, MembersMessage<P>, MembersTimer<P>> {
  readonly detector: Detector<P>;
  private readonly spread: Dissemination<P>;
  private incarnation: number;
  private stopped = false;
  private readonly nbrs = new Set<P>();
  /** Reaped members: their last state and when (refuse stale rumours; see the module comment). */
  private readonly reaped = new Map<P, { state: number; at: number }>();
  private readonly byName = new Map<string, P>();

  constructor(
    readonly self: P,
    private readonly meta: MemberMeta,
    private readonly config: MembersConfig,
    private readonly rng: Rng,
    private readonly io: MembersIo<P>,
    readonly store: MemberStore<P>,
  ) {
    this.incarnation = config.incarnation;
    this.detector = new Detector<P>(
      {
        self,
        send: (to, msg) => this.io.send(to, msg),
        datagram: (to, msg) => (this.io.sendDatagram !== undefined ? this.io.sendDatagram(to, msg) : this.io.send(to, msg)),
        timer: (d, t) => this.io.timer(d, t),
        markSuspect: (m, s, now) => this.apply(m, s, null, false, now),
        markFailed: (m, s, now, urgent) => {
          if (this.apply(m, pack(incOf(s), FAILED), null, false, now) && urgent === true) this.spread.flush(now);
        },
        neighbors: () => this.nbrs,
        reconnected: (m) => this.io.peerReconnected?.(m),
        piggyback: () => this.spread.piggyback(),
        absorb: (ids, states, now) => this.spread.absorb(ids, states, now),
      },
      config,
      rng,
      store,
    );
    this.spread = new Dissemination<P>(
      self,
      config,
      rng,
      io,
      store,
      this.nbrs,
      (m, s, meta, sync, now, cur) => this.apply(m, s, meta, sync, now, cur),
      () => this.detector.subjectsByRing(),
    );
  }

  // ------------------------------------------------------------------ App inputs

  start(now: number): void {
    const cur = this.store.get(this.self);
    if (cur > pack(this.incarnation, ALIVE)) this.incarnation = incOf(cur) + 1;
    this.setSelf(ALIVE, now);
    this.detector.start(now);
    this.spread.start(now);
    const reap = this.reapCheckMs();
    this.io.timer(reap, { type: 'm-reap-tick', due: now + reap });
  }

  neighborUp(peer: P, now: number): void {
    if (this.stopped) return;
    this.nbrs.add(peer);
    this.spread.linkReset(peer, now);
    this.spread.linkUp(peer, now, this.detector.troubled(now));
  }

  neighborDown(peer: P, reason: DownReason, now: number): void {
    this.nbrs.delete(peer);
    if (this.stopped) return;
    this.spread.linkDown(peer, now);
    if (reason === 'link-failed') this.detector.linkFailed(peer, now);
  }

  handleUnreachable(peer: P, now: number): void {
    if (!this.stopped) this.detector.unreachable(peer, now);
  }

  handleMessage(from: P, msg: MembersMessage<P>, now: number, datagram = false): void {
    if (this.stopped) return;
    switch (msg.type) {
      case 'm-ping':
        if (msg.ids.length > 0) this.spread.absorb(msg.ids, msg.states, now);
        // (A refutation rides on the ack.)
        this.detector.onPing(from, msg.seq, datagram);
        return this.detector.afterMessage(from, false, now);
      case 'm-ack': {
        const inc = this.incarnation;
        if (msg.ids.length > 0) this.spread.absorb(msg.ids, msg.states, now);
        this.detector.onAck(from, msg.seq);
        return this.detector.afterMessage(from, this.incarnation !== inc, now);
      }
      case 'm-nack':
        return this.detector.onNack(msg.seq);
      case 'm-ping-req':
        return this.detector.onPingReq(from, msg.seq, msg.target, now, datagram);
      case 'm-alert':
        return this.detector.onAlert(from, msg.subject, msg.state, now);
      case 'm-changes':
        this.spread.onChanges(from, msg, now);
        return this.detector.afterMessage(from, false, now);
      case 'm-sync':
        return this.spread.onSync(from, msg, now);
      case 'm-digest':
        return this.spread.onDigest(from, msg, now);
      case 'm-meta-req':
        return this.spread.onMetaReq(from, msg.ids, datagram);
      case 'm-prune':
        return this.spread.onPrune(from, msg.graft);
      case 'm-tally':
        return this.spread.onTally(from, msg.counts, msg.want, now);
    }
  }

  handleBroadcast(): void {
    // Membership spreads point to point (m-changes to neighbours); it sends no broadcast.
  }

  handleTimer(t: MembersTimer<P>, now: number): void {
    if (this.stopped) return;
    switch (t.type) {
      case 'm-tick':
        return this.detector.tick(t.due, now);
      case 'm-probe-timeout':
        return this.detector.probeTimeout(t.seq, t.due, t.indirect, now);
      case 'm-relay-timeout':
        return this.detector.relayTimeout(t.seq);
      case 'm-suspect-timeout':
        return this.detector.suspectTimeout(t.subject, t.due, now);
      case 'm-flush':
        return this.spread.flush(now);
      case 'm-sync-tick':
        return this.spread.syncTick(now, this.detector.troubled(now), t.due);
      case 'm-reconnect-tick': {
        const tried = this.spread.reconnectTick(now);
        if (tried !== undefined) this.detector.reconnectTried(tried);
        return;
      }
      case 'm-reap-tick':
        return this.reapTick(now);
      case 'm-dead-tick':
        return this.detector.deadTick(now);
      case 'm-link-sync':
        return this.spread.linkSync(t.peer, now);
    }
  }

  /** Leave: our entry goes `left` to every neighbour at once; the machine is then inert. */
  stop(now: number): void {
    if (this.stopped) return;
    this.setSelf(LEFT, now);
    this.spread.flush(now);
    this.stopped = true;
  }

  /**
   * Serf's force-leave, on this node's table: a member that is down here (`failed`, or already
   * `left`) becomes `left` at its incarnation, queued for the neighbours like any change (so
   * tables that hold it `failed` move it to `left`, reaped after `tombstoneTimeoutMs`); with
   * `prune` it is also removed at once (reaped with `member-reap`, and remembered so that no
   * stale rumour brings it back). Refused for ourselves, an unknown member, and an up (alive or
   * suspect) one, which would refute the leave at once. The member itself can still come back
   * with a higher incarnation.
   */
  forceLeave(m: P, prune: boolean, now: number): { ok: true; status: 'left' | 'pruned' } | { ok: false; reason: 'self' | 'unknown' | 'up' } {
    if (this.stopped) return { ok: false, reason: 'unknown' };
    if (m === this.self) return { ok: false, reason: 'self' };
    const cur = this.store.get(m);
    if (cur < 0) return { ok: false, reason: 'unknown' };
    if (isUp(cur)) return { ok: false, reason: 'up' };
    const left = pack(incOf(cur), LEFT);
    if (cur < left) this.apply(m, left, null, false, now);
    if (!prune) return { ok: true, status: 'left' };
    this.reap(m, left, now, true);
    return { ok: true, status: 'pruned' };
  }

  // ------------------------------------------------------------------ queries

  /** Our current incarnation. */
  get currentIncarnation(): number {
    return this.incarnation;
  }

  /** Lifeguard's local health score (0 healthy). */
  get health(): number {
    return this.detector.health;
  }

  // ------------------------------------------------------------------ the table

  private setSelf(status: number, now: number): void {
    const s = pack(this.incarnation, status);
    this.store.set(this.self, s, now);
    this.store.setMeta(this.self, this.meta);
    this.spread.enqueue(this.self, s, status === ALIVE ? this.meta : null, now);
  }

  /**
   * Merge `state` for `m` (from a change, an anti-entropy answer, or our own detector).
   * Returns true when the table changed (the change is then queued for our neighbours).
   * `held`: the state our table holds for `m`, when the caller has just read it.
   */
  apply(m: P, state: number, meta: MemberMeta | null, sync: boolean, now: number, held?: number): boolean {
    if (m === this.self) return this.aboutSelf(state, now);
    const cur = held ?? this.store.get(m);
    if (cur < 0) {
      const r = this.reaped.get(m);
      if (r !== undefined) {
        if (state <= r.state && now - r.at <= this.reapMemoryMs()) return false;
        this.reaped.delete(m);
      }
    }
    let s = state;
    // memberlist's push-pull merge: a `failed` we hear by anti-entropy about a member we hold
    // alive at that incarnation is a suspicion, which the member can still refute.
    const downgraded = sync && statusOf(s) === FAILED && cur >= 0 && statusOf(cur) === ALIVE && incOf(cur) === incOf(s);
    if (downgraded) s = pack(incOf(s), SUSPECT);
    if (s <= cur) {
      // A meta that comes with a state we already hold (we learned the member from a
      // piggyback or a digest, which carry none): record it, the table's state is unchanged.
      // With exactly the state we hold it is the member's meta for that incarnation, so it also
      // replaces an older one (a restarted member whose new state reached us first without its
      // meta, e.g. on an ack, must not keep its previous run's tags).
      if (meta !== null && cur >= 0 && (this.store.meta(m) === undefined || (s === cur && !sameMeta(this.store.meta(m)!, meta)))) this.setMeta(m, meta, now);
      return false;
    }
    this.store.set(m, s, now);
    this.detector.changed(m, s, now, cur);
    // The verdict's evidence is checked by our own probe (detector.ts `verify`).
    if (downgraded) this.detector.verify(m, s, now);
    if (meta !== null) this.setMeta(m, meta, now);
    else if (isUp(s) && this.store.meta(m) === undefined) this.spread.wantMeta(m);
    this.emitTransition(m, cur, s);
    this.spread.enqueue(m, s, meta ?? (isJoin(s, cur) ? (this.store.meta(m) ?? null) : null), now, cur);
    return true;
  }

  private emitTransition(m: P, cur: number, s: number): void {
    const st = statusOf(s);
    const incarnation = incOf(s);
    if (isUp(s)) {
      if (cur < 0 || !isUp(cur)) this.io.event({ type: 'member-join', member: m, incarnation });
    } else if (st === FAILED) {
      if (cur < 0 || statusOf(cur) !== FAILED) this.io.event({ type: 'member-failed', member: m, incarnation });
    } else if (st === LEFT) {
      this.io.event({ type: 'member-leave', member: m, incarnation });
    }
  }

  /** A rumour about ourselves: refute anything but `alive` at or above our incarnation. */
  private aboutSelf(state: number, now: number): boolean {
    if (this.stopped) return false;
    const mine = pack(this.incarnation, ALIVE);
    if (state <= mine) return false;
    // Someone holds us suspect/failed/left (or alive at a later incarnation of a past life).
    this.incarnation = incOf(state) + 1;
    if (statusOf(state) !== ALIVE) this.detector.refuted();
    this.setSelf(ALIVE, now);
    return true;
  }

  /** Record `m`'s name and tags; resolve names held by two addresses. */
  private setMeta(m: P, meta: MemberMeta, now: number): void {
    const old = this.store.meta(m);
    this.store.setMeta(m, meta);
    if (old !== undefined && !sameMeta(old, meta)) {
      this.io.event({ type: 'member-update', member: m, incarnation: incOf(this.store.get(m)) });
    }
    const other = this.byName.get(meta.name);
    if (other === undefined || other === m || this.store.meta(other)?.name !== meta.name) {
      this.byName.set(meta.name, m);
      return;
    }
    const os = this.store.get(other);
    if (os < 0 || !isUp(os)) {
      // A restart under a new address: the old entry goes (no ghost twin), and is remembered
      // as reaped so that no stale rumour brings it back.
      if (os >= 0) this.reap(other, os, now, false);
      this.byName.set(meta.name, m);
      return;
    }
    if (!isUp(this.store.get(m))) return;
    const [winner, loser] = String(m) < String(other) ? [m, other] : [other, m];
    this.byName.set(meta.name, winner);
    this.io.event({ type: 'member-conflict', name: meta.name, winner, loser, self: winner === this.self || loser === this.self });
  }

  /** Remove `m` (at `state`) and remember it; `event`: emit `member-reap`. */
  private reap(m: P, state: number, now: number, event: boolean): void {
    this.store.set(m, -1, now);
    this.reaped.set(m, { state, at: now });
    while (this.reaped.size > this.config.maxReaped) this.reaped.delete(this.reaped.keys().next().value as P);
    if (event) this.io.event({ type: 'member-reap', member: m, status: statusOf(state) === LEFT ? 'left' : 'failed' });
  }

  private reapMemoryMs(): number {
    return Math.max(this.config.reconnectTimeoutMs, this.config.tombstoneTimeoutMs);
  }

  private reapCheckMs(): number {
    return Math.max(1000, Math.round(Math.min(this.config.reconnectTimeoutMs, this.config.tombstoneTimeoutMs) / 8));
  }

  /** Reap tombstones past their timeout; forget reaped records past the longer one. */
  private reapTick(now: number): void {
    const d = this.reapCheckMs();
    this.io.timer(d, { type: 'm-reap-tick', due: now + d });
    const doomed: [P, number][] = [];
    this.store.forEach((m, s) => {
      const st = statusOf(s);
      if (st !== FAILED && st !== LEFT) return;
      const limit = st === FAILED ? this.config.reconnectTimeoutMs : this.config.tombstoneTimeoutMs;
      if (now - this.store.since(m) >= limit) doomed.push([m, s]);
    });
    for (const [m, s] of doomed) this.reap(m, s, now, true);
    for (const [m, r] of this.reaped) {
      if (now - r.at <= this.reapMemoryMs()) break;
      this.reaped.delete(m);
    }
  }
}

function sameMeta(a: MemberMeta, b: MemberMeta): boolean {
  return a.name === b.name && sameTags(a.tags, b.tags);
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (a[k] !== b[k]) return false;
  return true;
}
