/**
 * The membership machine's queue of changes for the next flushes (dissemination.ts): each
 * change adopted (and not a suspicion) waits here until a flush sends up to
 * `maxEntriesPerMessage` of them, oldest first, to every link. A failure wave queues ~n/10
 * changes at every node, so the queue is kept compact (a 10^5-node simulation holds every
 * node's): 16 bytes per change, metas and sources on the side, consumed from a head index.
 *
 * Bounded by `maxQueuedChanges` (`room`): when full, superseded changes go first, then new
 * changes are refused (tail drop), our own entry excepted. Limits: the bound counts changes,
 * not bytes; the arrays can hold up to twice the live queue before they are compacted; a
 * refused change is repaired by its other feeders, piggybacks and anti-entropy, which at a
 * bound below a wave's backlog is slow (tens of seconds: docs/results.md, "Scale").
 */
import { SUSPECT, statusOf, type MemberMeta, type MemberStore } from './types.js';

export class ChangeQueue<P> {
  /** Queued changes: `ids[i]` now `states[i]`, from `head` on (a flush consumes from the
   *  front without copying the rest: a failure wave queues ~n/10 changes at every node, sent
   *  `maxEntriesPerMessage` per flush). Kept compact (a 10^5-node simulation holds every
   *  node's queue): 16 bytes per change, metas and sources on the side. */
  private ids: P[] = [];
  private states: number[] = [];
  /** Absolute number of `ids[0]` (the queue's count of changes ever dropped from the front). */
  private base = 0;
  private head = 0;
  /** The metas of the queued changes that have one, by absolute number. */
  private readonly metaAt = new Map<number, MemberMeta>();
  /** The peer whose batch brought each queued change (undefined: our own, or a sync), not
   *  sent back there; as runs: change number `srcStart[r]` on (absolute) came from
   *  `srcPeer[r]`, runs from `srcHead` on are live. */
  private srcStart: number[] = [];
  private srcPeer: (P | undefined)[] = [];
  private srcHead = 0;
  /** Changes enqueued since the last `coalesce` (starts high: the first full queue coalesces). */
  private sinceCoalesce = 0x3fffffff;
  /** Changes the bound kept out of the queue or removed from it (`room`, `coalesce`),
   *  superseded ones included. */
  dropped = 0;

  constructor(
    private readonly max: number,
    private readonly self: P,
    private readonly store: MemberStore<P>,
  ) {}

  /** Changes queued. */
  get length(): number {
    return this.ids.length - this.head;
  }

  /** Queue `m` now `state` (with its meta, if any), brought by `src` (undefined: our own, or a
   *  sync): false when the bound refused it. */
  push(m: P, state: number, meta: MemberMeta | null, src: P | undefined): boolean {
    if (this.ids.length - this.head >= this.max && !this.room(m)) return false;
    const at = this.base + this.ids.length;
    this.ids.push(m);
    this.states.push(state);
    if (meta !== null) this.metaAt.set(at, meta);
    const runs = this.srcPeer.length;
    if (runs === this.srcHead || this.srcPeer[runs - 1] !== src) {
      this.srcStart.push(at);
      this.srcPeer.push(src);
    }
    this.sinceCoalesce++;
    return true;
  }

  /** The `k` oldest changes, consumed: ids, states, metas (null when none has one) and the
   *  source of each. */
  take(k: number): { ids: P[]; states: number[]; metas: (MemberMeta | null)[] | null; srcs: (P | undefined)[] } {
    const h = this.head;
    const out = { ids: this.ids.slice(h, h + k), states: this.states.slice(h, h + k), metas: this.batchMetas(k), srcs: this.batchSrcs(k) };
    this.drop(k);
    return out;
  }

  /**
   * The queue holds `maxQueuedChanges`: make room for a change of `m`, or refuse it (false).
   * First the changes superseded by a newer queued change of the same member go (`coalesce`,
   * at most once per eighth of the bound's enqueues, so the pass costs O(1) per change); if
   * none was, the new change is not queued (tail drop), unless it is about us (a join, a
   * refutation, a leave: only we send it), which takes the oldest one's place. Measured at
   * 10^4 nodes, 10 % crashed, bound 128 (a third of the busiest queue): dropping the oldest
   * instead put detection p100 from 6.5 s to 92.6 s — every node drops the same changes (the
   * wave's first, queued first everywhere), so they stop spreading and wait for anti-entropy.
   * A change refused here was adopted and is in our table: our neighbours get it from their
   * other feeders (each node hears of each flooded change ≈ 5 times), from the piggyback on
   * our pings and acks (every change enters that ring), and from anti-entropy.
   */
  private room(m: P): boolean {
    const max = this.max;
    if (this.sinceCoalesce >= max >>> 3) {
      this.sinceCoalesce = 0;
      this.coalesce();
      if (this.ids.length - this.head < max) return true;
    }
    this.dropped++;
    if (m !== this.self) return false;
    this.drop(1);
    return true;
  }

  /** Remove the queued changes superseded by a newer one of the same member queued after
   *  them: our table holds a newer state that is neither `suspect` (never queued) nor absent
   *  (a reap is not queued). Every other change of the table is queued (`enqueue`), in order,
   *  so the newer state is in the queue behind the old one. Renumbers the live queue. */
  private coalesce(): void {
    const n = this.ids.length - this.head;
    const ids: P[] = [];
    const states: number[] = [];
    const srcs = this.batchSrcs(n);
    const a0 = this.base + this.head;
    const metas = new Map<number, MemberMeta>();
    const srcStart: number[] = [];
    const srcPeer: (P | undefined)[] = [];
    for (let i = 0; i < n; i++) {
      const m = this.ids[this.head + i];
      const s = this.states[this.head + i];
      const cur = this.store.get(m);
      if (cur > s && statusOf(cur) !== SUSPECT) continue;
      const at = a0 + ids.length;
      const meta = this.metaAt.get(a0 + i);
      if (meta !== undefined) metas.set(at, meta);
      if (srcPeer.length === 0 || srcPeer[srcPeer.length - 1] !== srcs[i]) {
        srcStart.push(at);
        srcPeer.push(srcs[i]);
      }
      ids.push(m);
      states.push(s);
    }
    this.dropped += n - ids.length;
    this.ids = ids;
    this.states = states;
    this.base = a0;
    this.head = 0;
    this.metaAt.clear();
    for (const [k, v] of metas) this.metaAt.set(k, v);
    this.srcStart = srcStart;
    this.srcPeer = srcPeer;
    this.srcHead = 0;
  }

  /** The metas of the next `k` queued changes (null when the whole queue has none). */
  private batchMetas(k: number): (MemberMeta | null)[] | null {
    if (this.metaAt.size === 0) return null;
    const out: (MemberMeta | null)[] = new Array<MemberMeta | null>(k).fill(null);
    const a = this.base + this.head;
    for (let i = 0; i < k; i++) out[i] = this.metaAt.get(a + i) ?? null;
    return out;
  }

  /** The source of each of the next `k` queued changes. */
  private batchSrcs(k: number): (P | undefined)[] {
    const out = new Array<P | undefined>(k);
    const a = this.base + this.head;
    let r = this.srcHead;
    for (let i = 0; i < k; i++) {
      while (r + 1 < this.srcStart.length && this.srcStart[r + 1] <= a + i) r++;
      out[i] = this.srcPeer[r];
    }
    return out;
  }

  /** Consume the `k` oldest queued changes. */
  drop(k: number): void {
    if (this.head + k >= this.ids.length) {
      this.base += this.ids.length;
      this.ids = [];
      this.states = [];
      this.head = 0;
      this.metaAt.clear();
      this.srcStart = [];
      this.srcPeer = [];
      this.srcHead = 0;
      return;
    }
    const a = this.base + this.head;
    if (this.metaAt.size > 0) for (let i = 0; i < k; i++) this.metaAt.delete(a + i);
    this.head += k;
    // The run holding the new front stays; those wholly before it go.
    while (this.srcHead + 1 < this.srcStart.length && this.srcStart[this.srcHead + 1] <= a + k) this.srcHead++;
    // Compact once the consumed prefix is the larger part (amortised O(1) per change).
    if (this.head >= 4096 && this.head * 2 >= this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.states = this.states.slice(this.head);
      this.base += this.head;
      this.head = 0;
      this.srcStart = this.srcStart.slice(this.srcHead);
      this.srcPeer = this.srcPeer.slice(this.srcHead);
      this.srcHead = 0;
    }
  }
}
