/**
 * Tallies over the flood's pruned links (`tallyRepair`, with `eagerFeeders`; flood-tree.ts has
 * the tree, dissemination.ts calls this at each flush). Plumtree (Leitão et al., SRDS 2007, §3)
 * sends a lazy link the ids of the messages it did not send, and the receiver pulls an id it
 * has not seen after a timeout. A membership verdict is as small as its id (flood-tree.ts), so
 * here a lazy link carries instead a summary the receiver checks without per-entry work: the
 * sender's tally of down entries (`failed` or `left`) per anti-entropy bucket (BUCKETS counts),
 * at most once a probe period while its table takes verdicts. The receiver keeps the last tally
 * of each neighbour it pruned and, a probe period later (the flood's time to reach it by its
 * feeders), compares it with its own: a bucket where the neighbour had more down entries than
 * we have now holds a verdict the tree did not bring us, and we ask that neighbour for the
 * bucket's recent down entries (`m-tally` with `want`), which it sends as a flooded
 * `m-changes` (not a sync: a sync's `failed` is taken as `suspect` and probed, which made the
 * holes slow; the neighbour would have flooded them to us had the link been eager).
 *
 * Where it is approximate: the tally counts transitions into and out of "down" through the
 * machine's merge (`changed`), so a member reaped from one table and not yet from another, or a
 * member one table holds down at two incarnations in a row where another saw one, leaves the
 * two tallies apart; the receiver then pulls a bucket that brings nothing (at most once per
 * neighbour per probe period, and only while tallies flow, that is while verdicts are being
 * taken). The answer holds the bucket's down entries that changed within `syncIntervalMs`
 * (older ones the periodic anti-entropy has had its chance to bring), at most
 * `maxEntriesPerMessage` of them.
 *
 * Measured (bench:members, seed 1; docs/results.md, h33w): at 2·10^4 nodes, 10 % crashed,
 * F = 2 with tallies held p100 at 8.8 s (28.2 s without) with 33 % fewer flooded entries, but
 * the wave's events rose 16 % and its CPU did not fall; at 10^4 nodes, 50 % crashed, p100 was
 * 22.2 s (main 8.7 s). Hence off by default (`tallyRepair`).
 */
import { BUCKETS, isUp, type MembersConfig, type MembersMessage, type MemberStore } from './types.js';

export class TallyRepair<P> {
  /** Our down entries per bucket, as taken through `changed`. */
  private readonly mine: number[] = new Array<number>(BUCKETS).fill(0);
  /** The tally changed since we last sent it. */
  private dirty = false;
  private sentAt = -Infinity;
  /** The last tally of each neighbour that sent one, to check a probe period after it came. */
  private readonly heard = new Map<P, { counts: number[]; at: number }>();
  /** Tallies sent, pulls asked and entries sent in answer (tests, metrics). */
  sent = 0;
  pulls = 0;
  answered = 0;

  constructor(
    private readonly config: MembersConfig,
    private readonly store: MemberStore<P>,
    private readonly nbrs: ReadonlySet<P>,
    /** Whether overlay neighbour `p` gets our whole batches (flood-tree.ts `sendsAll`). */
    private readonly eager: (p: P) => boolean,
    private readonly send: (to: P, msg: MembersMessage<P>) => void,
  ) {}

  /** Our table took `state` for `m` where it held `prev` (-1: absent). True when the tally
   *  changed (a tally is then due: the caller arms a flush). */
  changed(m: P, state: number, prev: number): boolean {
    const wasDown = prev >= 0 && !isUp(prev);
    const down = state >= 0 && !isUp(state);
    if (wasDown === down) return false;
    const b = this.store.bucketOf(m);
    this.mine[b] = Math.max(0, this.mine[b] + (down ? 1 : -1));
    this.dirty = true;
    return true;
  }

  /** At each flush: our tally to every neighbour that pruned us, if it changed and none went
   *  out for a probe period; each neighbour's tally heard a probe period ago checked against
   *  ours (a pull of the buckets where we are behind). True while a later flush has work
   *  here (a tally to send, or one to check). */
  tick(now: number): boolean {
    const period = this.config.probeIntervalMs;
    if (this.dirty && now - this.sentAt >= period) {
      this.dirty = false;
      this.sentAt = now;
      for (const p of this.nbrs) {
        if (this.eager(p)) continue;
        this.sent++;
        this.send(p, { type: 'm-tally', counts: this.mine.slice(), want: [] });
      }
    }
    for (const [p, t] of this.heard) if (now - t.at >= period) this.check(p, t.counts);
    return this.dirty || this.heard.size > 0;
  }

  /** Pull from `p` the buckets where its tally `counts` is above ours. */
  private check(p: P, counts: number[]): void {
    this.heard.delete(p);
    if (!this.nbrs.has(p)) return;
    const want: number[] = [];
    for (let b = 0; b < BUCKETS; b++) if (counts[b] > this.mine[b]) want.push(b);
    if (want.length === 0) return;
    this.pulls++;
    this.send(p, { type: 'm-tally', counts: [], want });
  }

  /** An `m-tally` from `from`: its tally kept to check a probe period from now (only from an
   *  overlay neighbour: the tree's links); its `want` answered with the recent down entries of
   *  those buckets. True when a check is pending (the caller arms a flush). */
  onTally(from: P, counts: number[], want: number[], now: number): boolean {
    if (want.length > 0) this.answer(from, want, now);
    if (counts.length !== BUCKETS || !this.nbrs.has(from)) return false;
    const prev = this.heard.get(from);
    if (prev !== undefined && now - prev.at >= this.config.probeIntervalMs) this.check(from, prev.counts);
    this.heard.set(from, { counts, at: now });
    return true;
  }

  private answer(to: P, want: number[], now: number): void {
    const since = now - this.config.syncIntervalMs;
    const max = this.config.maxEntriesPerMessage;
    const ids: P[] = [];
    const states: number[] = [];
    for (const b of want) {
      if (!(Number.isInteger(b) && b >= 0 && b < BUCKETS)) continue;
      this.store.forEachInBucket(b, (m, s) => {
        if (ids.length < max && !isUp(s) && this.store.since(m) >= since) {
          ids.push(m);
          states.push(s);
        }
      });
    }
    if (ids.length === 0) return;
    this.answered += ids.length;
    this.send(to, { type: 'm-changes', ids, states, metas: null, sync: false });
  }

  /** A neighbour's link went down: its tally is no longer checked. */
  linkDown(p: P): void {
    this.heard.delete(p);
  }
}
