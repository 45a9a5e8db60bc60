/**
 * Dissemination and anti-entropy of the membership machine (machine.ts has the protocol's
 * module comment): the per-flush batch of changes to every neighbour, the digest-first
 * reconciliation (`m-sync` → `m-digest` → `m-changes`), the periodic sync with a random
 * member, and Serf's reconnect loop (a random `failed` member gets an `m-sync`). The digest
 * itself (which buckets an `m-digest` lists, and its answer) is digest.ts.
 */
import type { Rng } from '../types.js';
import { BUCKETS, FAILED, SUSPECT, changesSkipped, isJoin, isUp, statusOf, type MemberMeta, type MembersConfig, type MembersMessage, type MemberStore } from './types.js';
import type { MembersIo } from './machine.js';
import { PiggybackRing } from './piggyback.js';
import { ChangeQueue } from './change-queue.js';
import { RecentSyncs } from './recent-syncs.js';
import { answerDigest, digestFor } from './digest.js';
import { FloodTree } from './flood-tree.js';
import { TallyRepair } from './tally.js';

/** `cur`, when given, is the state our table holds for `m` (the caller just read it). */
type Apply<P> = (m: P, state: number, meta: MemberMeta | null, sync: boolean, now: number, cur?: number) => boolean;
type Changes<P> = Extract<MembersMessage<P>, { type: 'm-changes' }>;
type Sync = Extract<MembersMessage<unknown>, { type: 'm-sync' }>;
type Digest<P> = Extract<MembersMessage<P>, { type: 'm-digest' }>;

/** A link that comes up while the flood of a failure wave reaches us syncs this many probe
 *  periods later (so does a periodic sync due then, once): mid-wave every bucket of two tables
 *  differs for a moment (changes in flight), so an immediate digest lists whole buckets that
 *  the flood is about to deliver anyway. Measured (the bench:members scenario, seed 1): at
 *  5,000 nodes, 10 % crashed, 3,114 digests listed 10.3 M entries during the wave, against
 *  19.4 M entries in the flood itself; at 2,000 nodes, 50 % crashed (with the ring shares
 *  below), digest entries 4.68 M (no wait) / 1.70 M (1 period) / 0.27 M (3 periods), p100
 *  7.00 / 7.03 / 8.48 s (6.78 s before this change and the ring shares). */
const LINK_SYNC_DEFER_PERIODS = 1;
/** With `linkSyncOnce`: a link that comes up while an `m-changes` brought news in the last
 *  probe period (members joining in a burst, or a wave) and another link is up syncs this many
 *  probe periods later at the smaller id's end, twice that at the larger's (only if the first
 *  sync has not come by then): during a fleet's join many overlay links live for less than that
 *  (HyParView's walks evict and replace them), and what a sync of one would bring, the flood is
 *  bringing. A node's only link syncs at once (it may have missed the flood meanwhile). Measured,
 *  `npm run bench:join-cost -- --nodes 50`: docs/results.md (h33j). */
const JOIN_BURST_LINK_SYNC_PERIODS = 1;
/** How long a joining node waits for the whole table it asked one peer for before it asks
 *  another (`syncWith`), in probe periods: the answer is one `m-changes` over TCP, back within a
 *  round trip unless the peer is starved; a peer that died fails the link first. */
const JOIN_ASK_WAIT_PERIODS = 2;

/** A flush that leaves a full batch queued calls the next one this many times sooner (see
 *  `nextFlushIn`): 25 ms at the default 200 ms period, so a backlog drains at 8 batches a
 *  period (40,960 changes a second at the default 1,024 a batch), above the ≈ 7,000 verdicts a
 *  second a node adopts at 10^5 nodes, 10 % crashed. */
const BACKLOG_FLUSH_DIVISOR = 8;

export class Dissemination<P> {
  /** Changes for the next flushes (change-queue.ts). */
  private readonly queue: ChangeQueue<P>;
  /** A change heard from another node is being merged (`absorb`, `onChanges`, `onDigest`). */
  private relaying = false;
  /** The sender of the `m-changes` being merged (set while `onChanges` runs). */
  private from: P | undefined = undefined;
  /** When a flooded batch last brought us news, and when any `m-changes` did (-∞: never). */
  private fedAt = -Infinity;
  private newsAt = -Infinity;
  /** The periodic sync was put off once because members were failing (`syncTick`). */
  private postponed = false;
  /** When the armed `m-sync-tick` is due, and the dues of ticks superseded by an earlier one
   *  (`linkDown`), ignored when they fire. */
  private syncDue = -Infinity;
  private readonly staleSyncs = new Set<number>();
  /** Links whose first sync waits until the failure wave has passed (`linkUp`), or until the
   *  whole table we asked for while joining has come (`syncWith`). */
  private readonly deferred = new Set<P>();
  /** While our table holds only ourselves: the one peer asked for its whole table (an `m-sync`
   *  with `join`) and when (`syncWith`). */
  private joinAsk: { peer: P; at: number } | undefined = undefined;
  private flushArmed = false;
  /** Piggyback buffer (SWIM §4.4; piggyback.ts). */
  private readonly piggy = new PiggybackRing<P>();
  /** Members learned without their meta, to ask at the next flush; and those asked, asked
   *  again every sync tick while the meta is still missing (the answer may be lost). */
  private readonly needMeta = new Set<P>();
  private readonly askedMeta = new Set<P>();
  /** Which neighbours get and send our whole batches (`pruneFlood`, `eagerFeeders`;
   *  flood-tree.ts). */
  readonly tree: FloodTree<P>;
  /** `tallyRepair` (with `eagerFeeders`): tallies over the pruned links (tally.ts); null off. */
  readonly tally: TallyRepair<P> | null;
  /** The failed member our last reconnect tick sent an `m-sync` (undefined: none, or it
   *  answered already): its `m-digest` tells the node's overlay it is back (`reconnectTick`). */
  private reconnecting: P | undefined = undefined;
  /** `linkSyncOnce`: whose m-syncs we answered lately (recent-syncs.ts). */
  private readonly recentSyncs = new RecentSyncs<P>();

  constructor(
    private readonly self: P,
    private readonly config: MembersConfig,
    private readonly rng: Rng,
    private readonly io: MembersIo<P>,
    private readonly store: MemberStore<P>,
    private readonly nbrs: ReadonlySet<P>,
    private readonly apply: Apply<P>,
    /** This node's subject in each ring (the members it probes): flushes go to them too. */
    private readonly subjectsByRing: () => (P | undefined)[],
  ) {
    this.queue = new ChangeQueue<P>(config.maxQueuedChanges, config.queueDepthPerMember, self, store);
    this.tree = new FloodTree<P>(config, rng, nbrs, store, (to, msg) => this.io.send(to, msg), (peer, now) => this.syncWith(peer, now));
    this.tally = config.tallyRepair && config.eagerFeeders > 0 ? new TallyRepair<P>(config, store, nbrs, (p) => this.tree.sendsAll(p), (to, msg) => this.io.send(to, msg)) : null;
  }

  start(now: number): void {
    const s = this.rng.int(this.config.syncIntervalMs);
    this.armSync(s, now);
    const r = this.rng.int(this.config.reconnectIntervalMs);
    this.io.timer(r, { type: 'm-reconnect-tick', due: now + r });
  }

  /** Queue a change of our table for the next flush to every neighbour. A suspicion is only
   *  piggybacked (SWIM §4.4), and only by the nodes that raised it (the accuser, and the
   *  observers it alerted), not relayed: it matters to the suspect (alerted directly, and
   *  told again on each probe of it) and the observers, not to the whole cluster; the verdict
   *  is flooded. Measured at 5,000 nodes, 10 % crashed: relayed, suspicions reached 24 % more
   *  (node, member) pairs than the verdicts themselves, for nothing. `prev`: the state our
   *  table held before (-1: absent; the tally's count of down entries, tally.ts). */
  enqueue(m: P, state: number, meta: MemberMeta | null, now: number, prev = -1): void {
    if (this.tally !== null && m !== this.self && this.tally.changed(m, state, prev)) this.armFlush();
    const suspect = statusOf(state) === SUSPECT;
    if (this.tree.pruning && (suspect || statusOf(state) === FAILED)) this.tree.feederDown(m, now);
    if (this.config.piggybackPerMessage > 0 && !(suspect && this.relaying)) this.piggy.add(m, state);
    if (suspect) return;
    // Without `floodWithoutMeta`, a join heard without its meta waits for it (`floodMeta`).
    if (!this.config.floodWithoutMeta && meta === null && m !== this.self && isJoin(state, prev) && this.store.meta(m) === undefined) return;
    // A change about us (a refutation of what the sender said) goes back to the sender too.
    if (this.queue.push(m, state, meta, m === this.self ? undefined : this.from)) this.armFlush();
  }

  /** `m` is up in our table but we lack its name and tags: ask it at the next flush. */
  wantMeta(m: P): void {
    if (this.askedMeta.size + this.needMeta.size >= this.config.maxEntriesPerMessage) return;
    this.needMeta.add(m);
    this.armFlush();
  }

  private armFlush(): void {
    if (this.flushArmed) return;
    this.flushArmed = true;
    this.io.timer(this.config.flushIntervalMs, { type: 'm-flush', due: 0 });
  }

  /** One `m-meta-req` to each member in `which` still up and without meta (it knows its own). */
  private askMetas(which: Iterable<P>): void {
    for (const m of which) {
      if (this.store.meta(m) !== undefined || !isUp(this.store.get(m))) {
        this.askedMeta.delete(m);
        continue;
      }
      this.askedMeta.add(m);
      this.dgram(m, { type: 'm-meta-req', ids: [m] });
    }
  }

  /** A member asks for metas: our state and meta of each listed member we hold with one. */
  onMetaReq(from: P, ids: P[], datagram = false): void {
    const out: { ids: P[]; states: number[]; metas: (MemberMeta | null)[] } = { ids: [], states: [], metas: [] };
    for (const m of ids.slice(0, 64)) {
      const meta = this.store.meta(m);
      const s = this.store.get(m);
      if (meta === undefined || s < 0) continue;
      out.ids.push(m);
      out.states.push(s);
      out.metas.push(meta);
    }
    if (out.ids.length === 0) return;
    const answer: MembersMessage<P> = { type: 'm-changes', ...out, sync: true };
    if (datagram) this.dgram(from, answer);
    else this.io.send(from, answer);
  }

  /**
   * A message that needs no evidence of an unreachable peer, as a datagram where the driver
   * has them (the TCP runtime sends it over TCP when it is too large for one): the meta
   * requests and their answers, and the batches to ring subjects that are not neighbours. Over
   * TCP each of those dialed a short-lived connection (hello, welcome, UDP token, close):
   * measured, 50 agents started at once against one seed, the membership dialed ~1,480 of the
   * fleet's ~2,500 connections during the join (m-changes 543, m-meta-req 395, m-sync 265,
   * indirect pings 156). The simulator's messages are datagrams already: its results do not
   * change. A lost one is repaired as a lost flood is (the meta is asked again each sync tick;
   * anti-entropy).
   */
  private dgram(to: P, msg: MembersMessage<P>): void {
    if (this.io.sendDatagram !== undefined) this.io.sendDatagram(to, msg);
    else this.io.send(to, msg);
  }

  /** Send (at most) one batch of queued changes to every neighbour; with `tallyRepair`, the
   *  tallies due (tally.ts), and the flushes they still need. */
  flush(now: number): void {
    this.flushArmed = false;
    const more = this.tally !== null && this.tally.tick(now);
    this.flushBatch();
    if (more) this.armFlush();
  }

  /** An `m-tally` (tally.ts). */
  onTally(from: P, counts: number[], want: number[], now: number): void {
    if (this.tally !== null && this.tally.onTally(from, counts, want, now)) this.armFlush();
  }

  private flushBatch(): void {
    if (this.needMeta.size > 0) {
      this.askMetas([...this.needMeta]);
      this.needMeta.clear();
    }
    const n = this.queue.length;
    if (n === 0) return;
    if (this.nbrs.size === 0 && this.subjectsByRing().every((x) => x === undefined)) {
      // No one to tell yet: keep the newest batch's worth (anti-entropy repairs the rest once
      // a link is up). The next flush is armed by what gives us someone: a link (`linkUp`) or
      // a member in the table (`enqueue`), not by polling (a lone agent's 10 ms flush period
      // woke it 100 times a second: 15–18 ms of CPU a second, docs/results.md, h34p).
      const keep = this.config.maxEntriesPerMessage;
      if (n > keep) this.queue.drop(n - keep);
      return;
    }
    const { ids, states, metas, srcs } = this.queue.take(Math.min(n, this.config.maxEntriesPerMessage));
    const msg: Changes<P> = { type: 'm-changes', ids, states, metas, sync: false, skip: null };
    const byRing = this.subjectsByRing();
    for (const p of this.nbrs) {
      if (this.tree.sendsAll(p)) this.sendBatch(p, msg, srcs, -1, null);
      // A neighbour that pruned us gets our own entry, and its ring share if it is a ring subject.
      else if (!byRing.includes(p)) this.sendBatch(p, msg, srcs, 0, null);
    }
    // The ring subjects too: the overlay may have islands (after a mass crash, or a join
    // storm) that no overlay link enters; each member is some members' ring subject. Each
    // ring's subject gets the changes of its share of the members (bucket mod K): every
    // member still has an observer in each ring, so each change reaches it over one ring
    // link instead of K (the flood's cost at 10^5 nodes is these per-link copies). Without
    // `ringRelayAll` only the changes no overlay batch brought go over ring links: measured at
    // 2·10^4 nodes (docs/results.md, h33w), flooded entries −23 %, the wave's events and CPU
    // unchanged, p100 +0.15 s; hence the default stays every change of the share.
    let ringOf: Int8Array | null = null;
    for (let r = 0; r < byRing.length; r++) {
      const p = byRing[r];
      if (p === undefined || (this.nbrs.has(p) && this.tree.sendsAll(p)) || byRing.indexOf(p) < r) continue;
      let rings = 0;
      for (let q = r; q < byRing.length; q++) if (byRing[q] === p) rings |= 1 << q;
      ringOf ??= this.ringsOf(msg.ids);
      this.sendBatch(p, msg, srcs, rings, ringOf);
    }
    if (this.queue.length > 0) {
      this.flushArmed = true;
      this.io.timer(this.nextFlushIn(), { type: 'm-flush', due: 0 });
    }
  }

  /** When the flush after this one is due: a flush period, or, while at least a full batch is
   *  still queued, 1/BACKLOG_FLUSH_DIVISOR of one (a catch-up flush). A node adopts a failure
   *  wave's verdicts at its own pace (n/10 changes within ≈ 1.5 s at 10 % crashed) but sent a
   *  batch of `maxEntriesPerMessage` per period: at 10^5 nodes 10^4 verdicts against 5,120 a
   *  second, so every queue filled towards the 4,096 bound and the wave held 10^5 full queues;
   *  catching up sends the same entries (each still once per link) sooner. Below ~2·10^4 nodes
   *  no queue holds two batches and nothing changes (docs/results.md, "Scale"). */
  private nextFlushIn(): number {
    const p = this.config.flushIntervalMs;
    return this.queue.length >= this.config.maxEntriesPerMessage ? Math.max(1, Math.floor(p / BACKLOG_FLUSH_DIVISOR)) : p;
  }

  /** Send `msg` to `p`, without the changes `p` itself sent us and, for a ring subject
   *  (`rings` ≥ 0: the bitmask of the rings in which `p` is our subject), only our own entry
   *  and the changes of members whose bucket mod K is one of those rings (`rings` 0 with no
   *  `ringOf`: a neighbour that pruned us, our own entry only). Every link shares the flush's
   *  batch arrays: what `p` must not get is marked in an exclusion bitmask (`skip`, 32 entries
   *  a word) carried beside them, so a link costs a message object and ⌈n/32⌉ words instead of
   *  a copy of the batch (the copies were 99.6 % of the entries in flight mid-wave at 2·10^4
   *  nodes: docs/results.md, "Scale"). The batch object itself goes when nothing is left out. */
  private sendBatch(p: P, msg: Changes<P>, srcs: (P | undefined)[], rings: number, ringOf: Int8Array | null): void {
    // (No closures here: a flush calls this for every link, and a closure per call costs an
    // allocation, and under tsx a `__name` call, for each.)
    const n = msg.ids.length;
    let skip: number[] | null = null;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (this.keepFor(p, msg.ids[i], srcs[i], rings, ringOf, i)) {
        kept++;
        continue;
      }
      skip ??= new Array<number>((n + 31) >>> 5).fill(0);
      skip[i >>> 5] |= 1 << (i & 31);
    }
    if (kept === 0) return;
    this.sendTo(p, skip === null ? msg : { type: 'm-changes', ids: msg.ids, states: msg.states, metas: msg.metas, sync: false, skip }, rings);
  }

  /** Whether change `i` of a batch (about `m`, brought by `src`) goes to `p` (see `sendBatch`):
   *  not back to its source; to a ring subject only our own entry (a join, a refutation, a
   *  leave: one entry, every ring subject gets it) and its rings' share, and without
   *  `ringRelayAll` only if no overlay neighbour's batch brought it. */
  private keepFor(p: P, m: P, src: P | undefined, rings: number, ringOf: Int8Array | null, i: number): boolean {
    if (src === p) return false;
    if (rings < 0 || m === this.self) return true;
    if (ringOf === null || ringOf[i] < 0 || (rings & (1 << ringOf[i])) === 0) return false;
    return this.config.ringRelayAll || src === undefined || !this.nbrs.has(src);
  }

  /** A ring subject that is not a neighbour has no link: a datagram (see `dgram`). A
   *  neighbour (one that pruned us, with `pruneFlood`) keeps its link. */
  private sendTo(p: P, m: Changes<P>, rings: number): void {
    if (rings < 0 || this.nbrs.has(p)) this.io.send(p, m);
    else this.dgram(p, m);
  }

  /** The ring share of each change of a batch (bucket mod K; -1 for our own entry, which every
   *  ring subject gets), computed once per flush for every ring subject. */
  private ringsOf(ids: P[]): Int8Array {
    const K = this.config.rings;
    const out = new Int8Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = ids[i] === this.self ? -1 : this.store.bucketOf(ids[i]) % K;
    return out;
  }

  /** Up to `piggybackPerMessage` recent changes for the next ping or ack. */
  piggyback(): { ids: P[]; states: number[] } {
    if (this.piggy.empty()) return this.piggy.take(0, 0);
    const limit = this.config.retransmitMult * Math.ceil(Math.log10(this.store.size() + 1));
    return this.piggy.take(this.config.piggybackPerMessage, limit);
  }

  /** Changes piggybacked on a ping or ack. */
  absorb(ids: P[], states: number[], now: number): void {
    this.relaying = true;
    for (let i = 0; i < ids.length; i++) if (!this.known(ids[i], states[i])) this.apply(ids[i], states[i], null, false, now);
    this.relaying = false;
  }

  /** Without `floodWithoutMeta`: the meta of a join we held back (`enqueue`) has come, at the
   *  state we hold: the join is flooded now, with it (not back to the sender of a flooded
   *  batch). */
  private floodMeta(m: P, state: number, meta: MemberMeta): void {
    if (this.queue.push(m, state, meta, this.from)) this.armFlush();
  }

  /** Dedupe before the merge: an entry about another member that we already hold at this
   *  state or newer changes nothing (the merge would return at once; with a meta it may still
   *  record the meta, so entries with one always go through `apply`). Most entries of a
   *  failure wave reach a node more than once: this is the common path. */
  private known(m: P, state: number): boolean {
    return m !== this.self && state <= this.store.get(m);
  }

  /** Entries queued and not yet flushed (tests, metrics). */
  pending(): number {
    return this.queue.length;
  }

  /** Changes the queue's bound kept out (tests, metrics; change-queue.ts). */
  get droppedChanges(): number {
    return this.queue.dropped;
  }

  onChanges(from: P, msg: Changes<P>, now: number): void {
    const { ids, states, metas } = msg;
    const skip = msg.skip ?? null;
    this.from = msg.sync ? undefined : from;
    this.relaying = true;
    const flood = !msg.sync && this.nbrs.has(from);
    let fresh = 0;
    for (let i = 0; i < ids.length; i++) {
      // Entries the sender's flush left out for us (`skip`: sendBatch).
      if (changesSkipped(skip, i)) continue;
      const m = ids[i];
      const meta = metas === null ? null : metas[i];
      if (m === this.self) {
        if (this.apply(m, states[i], meta, msg.sync, now)) fresh++;
        continue;
      }
      // One lookup per entry: a duplicate (most entries of a failure wave) costs no more, and
      // the merge gets the state we hold (the dedupe of `known`, inlined).
      const cur = this.store.get(m);
      if (meta === null && states[i] <= cur) continue;
      const lacked = meta !== null && states[i] === cur && !this.config.floodWithoutMeta && this.store.meta(m) === undefined;
      if (this.apply(m, states[i], meta, msg.sync, now, cur)) fresh++;
      else if (lacked && this.store.meta(m) !== undefined) this.floodMeta(m, cur, meta);
    }
    if (fresh > 0) this.newsAt = now;
    if (flood && fresh > 0) this.fedAt = now;
    if (flood) this.tree.onBatch(from, fresh > 0, now);
    this.relaying = false;
    this.from = undefined;
    if (flood && fresh === 0 && this.config.pruneFlood && ids.some((m, i) => m !== from && !changesSkipped(skip, i))) this.tree.maybePrune(from);
  }

  // ------------------------------------------------------------------ the flood's links

  /** `m-prune` from a neighbour (flood-tree.ts). */
  onPrune(from: P, graft: boolean): void {
    this.tree.onPrune(from, graft);
  }

  /** A new overlay link: it sends and receives the whole flood, or (`eagerFeeders`) is pruned
   *  at once when we have our feeders (flood-tree.ts). */
  linkReset(peer: P, now: number): void {
    this.tree.linkUp(peer, now);
  }

  /** An overlay link went down: if it fed us, graft (flood-tree.ts). If it was our last one, the
   *  flood no longer reaches us: the pull of every probe period (`syncTick`) starts within a
   *  probe period, not at the sync tick armed while we had neighbours (up to
   *  `syncIntervalMs` away). Measured, `rumor sim membership-failures` rows at 2,000 nodes, 90 %
   *  crashed, seed 1: one survivor left without neighbours held ≈ 250 crashed members
   *  `suspect` from t = 12 s until its next sync tick at t = 24 s (p100 24.3 s; docs/results.md,
   *  h31m). */
  linkDown(peer: P, now: number): void {
    if (this.nbrs.size === 0 && this.syncDue - now > this.config.probeIntervalMs) {
      this.staleSyncs.add(this.syncDue);
      this.armSync(this.config.probeIntervalMs, now);
    }
    this.tree.linkDown(peer, now);
    this.tally?.linkDown(peer);
  }

  private armSync(delay: number, now: number): void {
    this.syncDue = now + delay;
    this.io.timer(delay, { type: 'm-sync-tick', due: this.syncDue });
  }

  // ------------------------------------------------------------------ anti-entropy

  /** Members are failing (`troubled`) and the flood reaches us over the overlay (a batch from
   *  an overlay neighbour brought news in the last probe period): anti-entropy can wait for
   *  the wave to pass. A node cut off from the overlay's flood (fed by its ring links alone,
   *  which carry a share each) does not wait. Measured, 2,000 nodes, 50 % crashed, seed 1,
   *  3-period wait: waiting regardless put p100 from 6.8 to 8.1 s, waiting when any batch
   *  brought news 9.1 s, when an overlay batch did 8.5 s. */
  private fed(now: number, troubled: boolean): boolean {
    return troubled && now - this.fedAt < this.config.probeIntervalMs;
  }

  /** A new overlay link: reconcile with `peer` at once, or, while the flood of a failure wave
   *  reaches us (`fed`) and we are not joining, `LINK_SYNC_DEFER_PERIODS` probe periods later. */
  linkUp(peer: P, now: number, troubled: boolean): void {
    if (this.queue.length > 0) this.armFlush(); // queued while we had no one to tell (`flushBatch`)
    if (this.config.linkSyncOnce && this.store.size() > 1) {
      const larger = !((this.self as unknown as string) < (peer as unknown as string));
      // A batch brought news in the last probe period (a join burst, or a wave): with another
      // link the flood is reaching us, so the smaller id's end syncs a probe period later too,
      // and the larger's a period after that; our only link syncs at once (we may have missed
      // the flood while we had none). See JOIN_BURST_LINK_SYNC_PERIODS.
      const burst = now - this.newsAt < this.config.probeIntervalMs;
      if (burst && this.nbrs.size <= 1) {
        this.syncWith(peer, now);
        return;
      }
      if (larger || burst) {
        // The larger id's end: the smaller one syncs now (or after the burst's delay); ours
        // later, only if its sync has not come by then (`linkSync`).
        this.deferLink(peer, now, burst ? (larger ? 2 : 1) * JOIN_BURST_LINK_SYNC_PERIODS : LINK_SYNC_DEFER_PERIODS);
        return;
      }
    }
    if (!this.fed(now, troubled) || this.store.size() <= 1) {
      this.syncWith(peer, now);
      return;
    }
    this.deferLink(peer, now);
  }

  /** Sync with `peer` one probe period from now (`linkSync`), if it is still a neighbour then. */
  private deferLink(peer: P, now: number, periods = LINK_SYNC_DEFER_PERIODS): void {
    if (this.deferred.has(peer)) return;
    this.deferred.add(peer);
    const d = periods * this.config.probeIntervalMs;
    this.io.timer(d, { type: 'm-link-sync', peer, due: now + d });
  }

  /** The deferred sync of a link (`linkUp`), if the link is still up. */
  linkSync(peer: P, now: number): void {
    this.deferred.delete(peer);
    // We answered an m-sync of `peer` within the longest deferral (a join burst's larger end)
    // plus one probe period: the round it opened reconciled both tables.
    if (this.config.linkSyncOnce && this.recentSyncs.within(peer, now, (2 * JOIN_BURST_LINK_SYNC_PERIODS + 1) * this.config.probeIntervalMs)) return;
    if (this.nbrs.has(peer)) this.syncWith(peer, now);
  }

  /** Open a reconciliation with `peer`: our size and bucket hashes. A joining node (only itself
   *  in its table) asks one peer at a time for the whole table: the links that come up before
   *  that table arrives wait a probe period (`JOIN_ASK_WAIT_PERIODS`) and then reconcile by
   *  digest, or ask again if it still has not come. Each link's two ends open a sync, so the
   *  joining end used to ask for the table twice per link (its own ask, and again in answer to
   *  the peer's sync), and once more for every link it got before the first table came:
   *  measured, `npm run bench:join-cost -- --nodes 50` (docs/results.md, "The join's CPU: one
   *  table per joiner"). */
  syncWith(peer: P, now: number): void {
    if (this.store.size() <= 1) {
      const a = this.joinAsk;
      if (a !== undefined && now - a.at < JOIN_ASK_WAIT_PERIODS * this.config.probeIntervalMs) {
        if (a.peer !== peer) this.deferLink(peer, now);
        return;
      }
      this.joinAsk = { peer, at: now };
    }
    const hashes: number[] = new Array<number>(BUCKETS);
    for (let b = 0; b < BUCKETS; b++) hashes[b] = this.store.bucketHash(b);
    this.io.send(peer, { type: 'm-sync', count: this.store.size(), hashes, join: this.store.size() <= 1 });
  }

  private noteSynced(from: P, now: number): void {
    if (this.config.linkSyncOnce) this.recentSyncs.note(from, now);
  }

  onSync(from: P, msg: Sync, now: number): void {
    if (msg.join) {
      if (this.store.size() > 1) {
        this.sendAll(from);
        this.noteSynced(from, now);
      }
      return;
    }
    if (this.store.size() <= 1) {
      // We are the one joining: ask for everything.
      this.syncWith(from, now);
      return;
    }
    this.noteSynced(from, now);
    const d = digestFor(this.store, msg.hashes, this.config.maxEntriesPerMessage, this.rng);
    if (d !== null) this.io.send(from, { type: 'm-digest', ...d });
  }

  onDigest(from: P, msg: Digest<P>, now: number): void {
    if (from === this.reconnecting) {
      this.reconnecting = undefined;
      this.io.peerReconnected?.(from);
    }
    const out = answerDigest(this.store, msg, (m, state) => {
      this.relaying = true;
      this.apply(m, state, null, true, now);
      this.relaying = false;
    });
    this.sendChunks(from, out.ids, out.states, out.metas);
  }

  /** Our whole table, with names and tags, to a joining node. */
  private sendAll(to: P): void {
    const ids: P[] = [];
    const states: number[] = [];
    const metas: (MemberMeta | null)[] = [];
    this.store.forEach((m, s) => {
      ids.push(m);
      states.push(s);
      metas.push(this.store.meta(m) ?? null);
    });
    this.sendChunks(to, ids, states, metas);
  }

  private sendChunks(to: P, ids: P[], states: number[], metas: (MemberMeta | null)[]): void {
    const max = this.config.maxEntriesPerMessage;
    for (let i = 0; i < ids.length; i += max) {
      const m = metas.slice(i, i + max);
      this.io.send(to, {
        type: 'm-changes',
        ids: ids.slice(i, i + max),
        states: states.slice(i, i + max),
        metas: m.some((x) => x !== null) ? m : null,
        sync: true,
      });
    }
  }

  /** Periodic anti-entropy with a random up member (memberlist's push-pull partner choice). */
  syncTick(now: number, troubled: boolean, due: number): void {
    if (this.staleSyncs.delete(due)) return;
    // A node with no overlay neighbour hears no flood: it pulls every probe period instead.
    if (this.nbrs.size > 0 && this.fed(now, troubled) && !this.postponed) {
      // Members are failing: the flood is under way and every bucket differs for a moment.
      // Sync a little later (once; see LINK_SYNC_DEFER_PERIODS).
      this.postponed = true;
      this.armSync(LINK_SYNC_DEFER_PERIODS * this.config.probeIntervalMs, now);
      return;
    }
    this.postponed = false;
    this.armSync(this.nbrs.size === 0 ? this.config.probeIntervalMs : this.config.syncIntervalMs, now);
    if (this.askedMeta.size > 0) this.askMetas([...this.askedMeta]);
    const p = this.pick((s) => isUp(s));
    if (p !== undefined) this.syncWith(p, now);
  }

  /** Serf's reconnect: one random failed member gets an `m-sync`; if it answers (its
   *  `m-digest`, `onDigest`), the two views reconcile (a healed partition merges by itself),
   *  and the node's overlay is told (`io.peerReconnected`): the partition left the overlay in
   *  two pieces too, and only the node whose own reconnect was answered asks it to join.
   *  Returns the member tried (its pings to the dead stop: dead-pings.ts, the slow phase). */
  reconnectTick(now: number): P | undefined {
    this.io.timer(this.config.reconnectIntervalMs, { type: 'm-reconnect-tick', due: now + this.config.reconnectIntervalMs });
    const p = this.pick((s) => statusOf(s) === FAILED);
    this.reconnecting = p;
    if (p !== undefined) this.syncWith(p, now);
    return p;
  }

  /** A random member other than us whose state passes `ok` (bounded tries). */
  private pick(ok: (s: number) => boolean): P | undefined {
    for (let tries = 0; tries < 32; tries++) {
      const m = this.store.random(this.rng);
      if (m === undefined) return undefined;
      if (m !== this.self && ok(this.store.get(m))) return m;
    }
    return undefined;
  }
}
