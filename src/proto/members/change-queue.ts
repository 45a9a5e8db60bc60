/**
 * The membership machine's queue of changes for the next flushes (dissemination.ts): each
 * change adopted (and not a suspicion) waits here until a flush sends up to
 * `maxEntriesPerMessage` of them, oldest first, to every link. A failure wave queues ~n/10
 * changes at every node, so the queue is kept compact (a 10^5-node simulation holds every
 * node's): **4 bytes per change**, a 32-bit reference into a `ChangeLog` of (member, state)
 * pairs (types.ts) — the simulator's store shares one log among every node's queue (every
 * node queues the same wave of verdicts, each pair interned once), the agent's queue keeps a
 * private one — with metas and sources on the side, consumed from a head index.
 *
 * Storage: one `Uint32Array` of references, live from `head` to `tail`. When an append finds
 * the array full, the consumed prefix is reclaimed first (the live part moved to the front)
 * unless it is under a quarter of the array, then the array doubles, up to the bound; a queue
 * that drains to an eighth of a large array moves into a smaller one, so the memory of a wave
 * is given back after it. Measured by h27c's census at 10^5 nodes, 6.5 s into the wave: 302 M
 * changes queued in 370 M slots of 16 bytes (≈ 5.9 GB, 18 % of the slots a consumed prefix)
 * before this layout.
 *
 * Bounded (`room`) by max(`maxQueuedChanges`, `queueDepthPerMember` × the table's size) —
 * Serf's dynamic queue depth, max(`MinQueueDepth`, 2 × cluster size), which Consul turns on
 * with a floor of 4,096: a failure wave queues up to one verdict per member at every node, so
 * a fixed bound below the wave's size refuses part of it everywhere (at 10^5 nodes the fixed
 * 4,096 refused 130.5 M changes and left 6,098 crashed members `alive` somewhere after 120 s:
 * docs/results.md, "Scale"). Memory: 4 bytes per change actually queued (the array grows by
 * doubling up to the bound, so up to 8 bytes); at the default 2 per member a node of a
 * 10^5-member cluster may hold up to 800 KB of references mid-wave, 16 KiB when the floor
 * binds. When full, superseded changes go first, then new changes are refused (tail drop),
 * our own entry excepted. Limits: the bound counts changes, not bytes; the array can be up to twice the live queue (up to the bound) or four times a
 * small one; a private log holds the pairs from the oldest queued change on, removed ones
 * included, until the head passes them; a shared log keeps every pair it ever interned (in the
 * simulator: a few per member); a refused change is repaired by its other feeders, piggybacks
 * and anti-entropy, which at a bound below a wave's backlog is slow (tens of seconds:
 * docs/results.md, "Scale").
 */
import { SUSPECT, statusOf, type ChangeLog, type MemberMeta, type MemberStore } from './types.js';

/** Slots of a new (or shrunk) queue: 16 references = 64 bytes, V8's largest typed array kept
 *  inside the JS heap (no separate backing store for the many idle queues). */
const MIN_SLOTS = 16;
/** A drained queue whose array is larger than this moves into a smaller one (`drop`). */
const SHRINK_ABOVE = 1024;

/** A queue's own log (no shared one): references number the pushes (mod 2^32); the pairs
 *  before the oldest one still queued are dropped once they are half the log. */
class PrivateLog<P> implements ChangeLog<P> {
  private ids: P[] = [];
  private states: number[] = [];
  /** Reference of `ids[0]`. */
  private base = 0;

  ref(m: P, state: number): number {
    this.ids.push(m);
    this.states.push(state);
    return (this.base + this.ids.length - 1) >>> 0;
  }
  member(r: number): P {
    return this.ids[(r - this.base) >>> 0];
  }
  state(r: number): number {
    return this.states[(r - this.base) >>> 0];
  }
  release(first: number | undefined): void {
    const k = first === undefined ? this.ids.length : (first - this.base) >>> 0;
    if (k >= this.ids.length) {
      this.base = (this.base + this.ids.length) >>> 0;
      this.ids = [];
      this.states = [];
    } else if (k >= MIN_SLOTS && k * 2 >= this.ids.length) {
      this.ids = this.ids.slice(k);
      this.states = this.states.slice(k);
      this.base = (this.base + k) >>> 0;
    }
  }
}

export class ChangeQueue<P> {
  private readonly log: ChangeLog<P>;
  /** Queued changes as references into `log`, live from `head` to `tail` (see the module
   *  comment). */
  private refs = new Uint32Array(MIN_SLOTS);
  private head = 0;
  private tail = 0;
  /** Absolute number of `refs[0]` (the queue's count of changes ever dropped from the front,
   *  the moves' reclaimed prefixes included). */
  private base = 0;
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

  /** `floor`: `maxQueuedChanges`; `perMember`: `queueDepthPerMember` (0: the floor alone). */
  constructor(
    private readonly floor: number,
    private readonly perMember: number,
    private readonly self: P,
    private readonly store: MemberStore<P>,
  ) {
    this.log = store.changeLog ?? new PrivateLog<P>();
  }

  /** The bound now (see the module comment): it follows the table's size. */
  get bound(): number {
    return Math.max(this.floor, this.perMember * this.store.size());
  }

  /** Changes queued. */
  get length(): number {
    return this.tail - this.head;
  }

  /** Slots of the reference array (memory figure: 4 bytes each). */
  get slots(): number {
    return this.refs.length;
  }

  /** Queue `m` now `state` (with its meta, if any), brought by `src` (undefined: our own, or a
   *  sync): false when the bound refused it. */
  push(m: P, state: number, meta: MemberMeta | null, src: P | undefined): boolean {
    // Under the floor the bound (≥ the floor) needs no look at the table's size (a cache miss
    // per adopted change in the simulator, whose nodes interleave).
    if (this.tail - this.head >= this.floor) {
      const max = this.bound;
      if (this.tail - this.head >= max && !this.room(m, max)) return false;
    }
    if (this.tail === this.refs.length) this.makeRoom(this.bound);
    const at = this.base + this.tail;
    this.refs[this.tail++] = this.log.ref(m, state);
    if (meta !== null) this.metaAt.set(at, meta);
    const runs = this.srcPeer.length;
    if (runs === this.srcHead || this.srcPeer[runs - 1] !== src) {
      this.srcStart.push(at);
      this.srcPeer.push(src);
    }
    this.sinceCoalesce++;
    return true;
  }

  /** The array is full at the tail: reclaim the consumed prefix (when it is a quarter of the
   *  array or more, or the array is at the bound already), else double the array. Each move
   *  leaves a quarter of the array free, so appends cost O(1) amortised. */
  private makeRoom(max: number): void {
    const cap = this.refs.length;
    if (this.head > 0 && (this.head * 4 >= cap || cap >= max)) this.resize(cap);
    else this.resize(cap < max ? Math.min(cap * 2, max) : cap * 2);
  }

  /** Move the live references to the front of an array of `slots` (the same one if it is
   *  that size already). */
  private resize(slots: number): void {
    const live = this.refs.subarray(this.head, this.tail);
    if (slots === this.refs.length) this.refs.copyWithin(0, this.head, this.tail);
    else {
      const next = new Uint32Array(slots);
      next.set(live);
      this.refs = next;
    }
    this.base += this.head;
    this.tail -= this.head;
    this.head = 0;
  }

  /** The `k` oldest changes, consumed: ids, states, metas (null when none has one) and the
   *  source of each. */
  take(k: number): { ids: P[]; states: number[]; metas: (MemberMeta | null)[] | null; srcs: (P | undefined)[] } {
    const h = this.head;
    const n = Math.min(k, this.tail - h);
    const ids = new Array<P>(n);
    const states = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const r = this.refs[h + i];
      ids[i] = this.log.member(r);
      states[i] = this.log.state(r);
    }
    const out = { ids, states, metas: this.batchMetas(n), srcs: this.batchSrcs(n) };
    this.drop(n);
    return out;
  }

  /**
   * The queue holds its bound `max`: make room for a change of `m`, or refuse it (false).
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
  private room(m: P, max: number): boolean {
    if (this.sinceCoalesce >= max >>> 3) {
      this.sinceCoalesce = 0;
      this.coalesce();
      if (this.tail - this.head < max) return true;
    }
    this.dropped++;
    if (m !== this.self) return false;
    this.drop(1);
    return true;
  }

  /** Remove the queued changes superseded by a newer one of the same member queued after
   *  them: our table holds a newer state that is neither `suspect` (never queued) nor absent
   *  (a reap is not queued). Every other change of the table is queued (`enqueue`), in order,
   *  so the newer state is in the queue behind the old one. Renumbers the live queue (in
   *  place: the kept changes move towards the head). */
  private coalesce(): void {
    const n = this.tail - this.head;
    const srcs = this.batchSrcs(n);
    const a0 = this.base + this.head;
    const metas = new Map<number, MemberMeta>();
    const srcStart: number[] = [];
    const srcPeer: (P | undefined)[] = [];
    const refs = this.refs;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const r = refs[this.head + i];
      const cur = this.store.get(this.log.member(r));
      if (cur > this.log.state(r) && statusOf(cur) !== SUSPECT) continue;
      const at = a0 + kept;
      const meta = this.metaAt.get(a0 + i);
      if (meta !== undefined) metas.set(at, meta);
      if (srcPeer.length === 0 || srcPeer[srcPeer.length - 1] !== srcs[i]) {
        srcStart.push(at);
        srcPeer.push(srcs[i]);
      }
      refs[this.head + kept++] = r;
    }
    this.dropped += n - kept;
    this.tail = this.head + kept;
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
    if (this.head + k >= this.tail) {
      this.base += this.tail;
      this.head = 0;
      this.tail = 0;
      if (this.refs.length > SHRINK_ABOVE) this.refs = new Uint32Array(MIN_SLOTS);
      this.metaAt.clear();
      this.srcStart = [];
      this.srcPeer = [];
      this.srcHead = 0;
      this.log.release(undefined);
      return;
    }
    const a = this.base + this.head;
    if (this.metaAt.size > 0) for (let i = 0; i < k; i++) this.metaAt.delete(a + i);
    this.head += k;
    // The run holding the new front stays; those wholly before it go.
    while (this.srcHead + 1 < this.srcStart.length && this.srcStart[this.srcHead + 1] <= a + k) this.srcHead++;
    if (this.srcHead >= MIN_SLOTS && this.srcHead * 2 >= this.srcStart.length) {
      this.srcStart = this.srcStart.slice(this.srcHead);
      this.srcPeer = this.srcPeer.slice(this.srcHead);
      this.srcHead = 0;
    }
    // A large array mostly drained moves into one twice the live queue (at least MIN_SLOTS).
    const live = this.tail - this.head;
    if (this.refs.length > SHRINK_ABOVE && live * 8 <= this.refs.length) this.resize(Math.max(MIN_SLOTS, 2 ** Math.ceil(Math.log2(live * 2))));
    this.log.release(this.refs[this.head]);
  }
}
