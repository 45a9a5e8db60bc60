/**
 * The simulator's event queue: events popped in (time, insertion order) order.
 *
 * Ties in virtual time are broken by insertion order, which makes a run a pure function of
 * its seed. An event is a handful of numbers (kind, node, peer, aux) plus one object
 * reference (the message or timer), stored in the typed arrays of a bucket; a push or a pop
 * allocates nothing once the buckets have grown to their working size.
 *
 * A calendar queue (R. Brown, CACM 31(10), 1988) in two tiers:
 * - a ring of `RING` near buckets of `W` ms each covering `[cur·W, (cur + RING)·W)`; a push
 *   appends to its bucket (messages in flight land 5–25 buckets ahead of the clock);
 * - far buckets of `FAR_W` ms (shuffle and cache timers, seconds ahead), appended to in the
 *   same way and spilled into the ring, in order, when the ring's window reaches them.
 * When the clock enters a near bucket, that bucket is sorted once by time (a quicksort of an
 * index permutation) and read in order; pushes into the bucket being read are inserted into
 * its sorted remainder.
 *
 * Why it keeps the exact order of one heap by (time, sequence): within a bucket, the index
 * order of the entries is their insertion order (a far bucket is spilled before any direct
 * push into its range is possible, and spills keep the far bucket's push order), so sorting
 * by (time, index) is sorting by (time, sequence), and no sequence number is stored.
 *
 * Why not a heap: the 4-ary heap it replaces (until 2026-12-06) kept each event's record in
 * a slot recycled through a free list, apart from the heap's (time, slot) pairs; in the bench
 * scenario at 3·10^4 nodes (sampled every 65,536 pops) the heap held 14,800 events on average
 * (75,000 at most) over 218,561 slots (≈ 9 MB of records), so a pop sifted through ~7 heap
 * levels and then read a cold slot (its record, its object). Here a pop reads the next entry
 * of a sorted bucket that the sort has just streamed through the cache. Measured against the
 * heap (`npm run bench:sim-pair`, docs/results.md "Simulator speed"): −15 % CPU at 10^5 nodes.
 *
 * Memory: 32 B per pending event (time, four int32, the object reference) plus each bucket's
 * spare room: a far bucket is dropped once spilled (its arrays at most twice its events), and a
 * near bucket's arrays are given back when they have been more than four times what it held
 * for `SHRINK_TURNS` turns of the ring in a row (a bucket of the join phase's bursts would
 * otherwise keep its size as the ring turns).
 *
 * Limits: an event whose time is earlier than the bucket being read (never done by the simulator,
 * which schedules at or after `now`) is read next, as a heap would pop it next; a sparse
 * queue (only far timers) skips empty stretches through the far buckets' index heap, but
 * steps through empty near buckets one at a time (at most `RING` per far bucket).
 */

const INITIAL_CAPACITY = 64;
/** Width of a near bucket (ms). 1 ms: ≈ 1,370 events per bucket at 10^5 nodes during the
 *  joins of the bench scenario (13,669,474 events in 10 s), sorted in cache; 0.25 ms measured
 *  no faster (docs/results.md). Only speed depends on it, never the order. */
const W = 1;
/** Near buckets in the ring (a power of two): 256 ms, past every message of the default
 *  5–25 ms latency model and the short Plumtree timers (IHAVE flush 10 ms, GRAFT 50 ms). */
const RING = 256;
/** Width of a far bucket (ms): half the ring's window, so that the window always holds the
 *  far bucket being spilled. */
const FAR_W = (RING * W) / 2;
const PER_FAR = FAR_W / W;
/** Turns of the ring (`RING` · `W` = 256 ms each) a near bucket stays oversized before its
 *  arrays are given back: 8 turns, 2 s, outlast the 1 s between the bench's broadcasts.
 *  Giving them back at the first quiet turn (until 2026-12-07) made every bucket regrow by
 *  doubling at every wave of the broadcast phase, and the typed arrays' backing stores
 *  allocated that way triggered 21 of the 59 scavenges of a 10^5 run ("external memory
 *  pressure", nearly all in the broadcast phase: docs/results.md, h35s). Only memory and
 *  speed depend on it, never the order. */
const SHRINK_TURNS = 8;

/** One popped event, written into a caller-owned record (no allocation per pop). */
export interface EventRecord {
  time: number;
  kind: number;
  node: number;
  peer: number;
  aux: number;
  obj: unknown;
}

/** Events in insertion order: time, four int32 (kind, node, peer, aux) and the object. */
class Bucket {
  t = new Float64Array(INITIAL_CAPACITY);
  r = new Int32Array(4 * INITIAL_CAPACITY);
  o: unknown[] = new Array<unknown>(INITIAL_CAPACITY).fill(null);
  n = 0;
  /** Consecutive resets at which the arrays were more than four times what the bucket held,
   *  and the most it held over them. */
  private low = 0;
  private lowMax = 0;

  /** Empty the (read) bucket; give back its arrays once they have been more than four times
   *  the size it needed for `SHRINK_TURNS` turns of the ring in a row (a burst's bucket
   *  would otherwise keep its size for good), then sized for the most it held over them. */
  reset(): void {
    const used = Math.max(this.n, INITIAL_CAPACITY);
    this.n = 0;
    if (this.t.length <= 4 * used) {
      this.low = 0;
      this.lowMax = 0;
      return;
    }
    if (used > this.lowMax) this.lowMax = used;
    if (++this.low < SHRINK_TURNS) return;
    let cap = INITIAL_CAPACITY;
    while (cap < 2 * this.lowMax) cap *= 2;
    this.low = 0;
    this.lowMax = 0;
    this.t = new Float64Array(cap);
    this.r = new Int32Array(4 * cap);
    this.o = new Array<unknown>(cap).fill(null);
  }

  append(time: number, kind: number, node: number, peer: number, aux: number, obj: unknown): number {
    const i = this.n;
    if (i === this.t.length) this.grow();
    this.t[i] = time;
    const r = this.r;
    const k = i << 2;
    r[k] = kind;
    r[k + 1] = node;
    r[k + 2] = peer;
    r[k + 3] = aux;
    this.o[i] = obj;
    this.n = i + 1;
    return i;
  }

  private grow(): void {
    const cap = this.t.length * 2;
    const t = new Float64Array(cap);
    t.set(this.t);
    this.t = t;
    const r = new Int32Array(4 * cap);
    r.set(this.r);
    this.r = r;
    const o = new Array<unknown>(cap).fill(null);
    for (let i = 0; i < this.n; i++) o[i] = this.o[i];
    this.o = o;
  }
}

export class EventQueue {
  private readonly ring: Bucket[] = Array.from({ length: RING }, () => new Bucket());
  /** Index (time / W) of the near bucket being read; its entries in `perm[pos..]`. */
  private cur = 0;
  private pos = 0;
  /** The current bucket's entries sorted by (time, index); valid from `pos` to its `n`. */
  private perm = new Int32Array(INITIAL_CAPACITY);
  /** Events in the ring (the current bucket's unread ones included). */
  private ringN = 0;
  private readonly far = new Map<number, Bucket>();
  /** Indices of the non-empty far buckets: a binary min-heap. */
  private readonly farHeap: number[] = [];
  /** First far bucket not yet spilled into the ring: an event with `time / FAR_W` below it
   *  goes to the ring. Invariant: `farNext · FAR_W ≤ (cur + RING) · W`. */
  private farNext = RING / PER_FAR;
  private n = 0;

  constructor() {
    this.sortCurrent();
  }

  /** Slots of the near buckets' arrays (for tests: their growth and shrinking). */
  ringCapacity(): number {
    let c = 0;
    for (const b of this.ring) c += b.t.length;
    return c;
  }

  /** Number of pending events. */
  get size(): number {
    return this.n;
  }

  /** The `k`-th next event (k = 0: the next one) if it is in the bucket being read, as
   *  `node · 32 + (kind & 31)` (node ids below 2^26), else -1. A hint only, read to prefetch:
   *  a later push can still come before it. */
  peekHint(k = 0): number {
    const b = this.ring[this.cur & (RING - 1)];
    const q = this.pos + k;
    if (q >= b.n) return -1;
    const i = this.perm[q] << 2;
    return (b.r[i + 1] << 5) | (b.r[i] & 31);
  }

  /** Time of the earliest pending event (Infinity when empty). */
  peekTime(): number {
    if (this.n === 0) return Infinity;
    const c = this.ring[this.cur & (RING - 1)];
    if (this.pos < c.n) return c.t[this.perm[this.pos]];
    if (this.ringN > 0) {
      for (let k = 1; k < RING; k++) {
        const b = this.ring[(this.cur + k) & (RING - 1)];
        if (b.n > 0) return minTime(b);
      }
    }
    return minTime(this.far.get(this.farHeap[0])!);
  }

  /** Schedule an event. `kind` must fit in 8 bits; `node`, `peer`, `aux` in 32-bit ints. */
  push(time: number, kind: number, node: number, peer: number, aux: number, obj: unknown): void {
    this.n++;
    const f = Math.floor(time / FAR_W);
    if (f >= this.farNext) {
      let b = this.far.get(f);
      if (b === undefined) {
        b = new Bucket();
        this.far.set(f, b);
        heapPushInt(this.farHeap, f);
      }
      b.append(time, kind, node, peer, aux, obj);
      return;
    }
    this.ringN++;
    const k = Math.floor(time / W);
    if (k > this.cur) {
      this.ring[k & (RING - 1)].append(time, kind, node, peer, aux, obj);
      return;
    }
    // Into the bucket being read: after every unread entry with a time not later.
    const b = this.ring[this.cur & (RING - 1)];
    const i = b.append(time, kind, node, peer, aux, obj);
    if (this.perm.length < b.n) this.growPerm(b.n);
    const P = this.perm;
    const T = b.t;
    let lo = this.pos;
    let hi = i;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (T[P[mid]] <= time) lo = mid + 1;
      else hi = mid;
    }
    P.copyWithin(lo + 1, lo, i);
    P[lo] = i;
  }

  /** Remove the earliest event into `out` if it is due at or before `limit`. Returns false
   *  when the queue is empty or its earliest event is later than `limit`. */
  pop(out: EventRecord, limit = Infinity): boolean {
    if (this.n === 0) return false;
    let b = this.ring[this.cur & (RING - 1)];
    while (this.pos === b.n) {
      if (!this.advance(limit)) return false;
      b = this.ring[this.cur & (RING - 1)];
    }
    const i = this.perm[this.pos];
    const time = b.t[i];
    if (time > limit) return false;
    this.pos++;
    this.n--;
    this.ringN--;
    out.time = time;
    const r = b.r;
    const k = i << 2;
    out.kind = r[k];
    out.node = r[k + 1];
    out.peer = r[k + 2];
    out.aux = r[k + 3];
    out.obj = b.o[i];
    b.o[i] = null;
    return true;
  }

  /** Drop every pending event. */
  clear(): void {
    for (const b of this.ring) {
      b.o.fill(null);
      b.n = 0;
    }
    this.far.clear();
    this.farHeap.length = 0;
    this.ringN = 0;
    this.n = 0;
    this.pos = 0;
  }

  /** Leave the (read) current bucket for the next one that can hold events, spilling the far
   *  buckets its window reaches, and sort it. False (nothing moved) when that bucket starts
   *  after `limit`. */
  private advance(limit: number): boolean {
    let next = this.cur + 1;
    if (this.ringN === 0) {
      // Only far events: skip to the first far bucket.
      const first = this.farHeap[0] * PER_FAR;
      if (first > next) next = first;
    }
    if (next * W > limit) return false;
    this.ring[this.cur & (RING - 1)].reset();
    this.pos = 0;
    if (next > this.cur + 1) this.farNext = Math.max(this.farNext, Math.floor((next * W) / FAR_W));
    this.cur = next;
    while ((this.farNext + 1) * FAR_W <= (next + RING) * W) this.spill(this.farNext++);
    this.sortCurrent();
    return true;
  }

  /** Move far bucket `f` (if any) into the ring, in its push order. */
  private spill(f: number): void {
    const src = this.far.get(f);
    if (src === undefined) return;
    this.far.delete(f);
    heapPopInt(this.farHeap);
    const T = src.t;
    const R = src.r;
    const O = src.o;
    for (let i = 0; i < src.n; i++) {
      const k = i << 2;
      this.ring[Math.floor(T[i] / W) & (RING - 1)].append(T[i], R[k], R[k + 1], R[k + 2], R[k + 3], O[i]);
    }
    this.ringN += src.n;
  }

  /** Sort the current bucket's entries by (time, index) into `perm`. */
  private sortCurrent(): void {
    const b = this.ring[this.cur & (RING - 1)];
    const n = b.n;
    if (this.perm.length < n) this.growPerm(n);
    const P = this.perm;
    for (let i = 0; i < n; i++) P[i] = i;
    if (n > 1) sortByTime(P, b.t, n);
  }

  private growPerm(n: number): void {
    let cap = this.perm.length;
    while (cap < n) cap *= 2;
    const p = new Int32Array(cap);
    p.set(this.perm);
    this.perm = p;
  }
}

function minTime(b: Bucket): number {
  let m = Infinity;
  for (let i = 0; i < b.n; i++) if (b.t[i] < m) m = b.t[i];
  return m;
}

/** Sort `P[0..n)` (indices into `T`) by (T[i], i): a quicksort with a median of three and an
 *  insertion sort below 16 elements, its pending ranges on an explicit stack. */
function sortByTime(P: Int32Array, T: Float64Array, n: number): void {
  const stack = SORT_STACK;
  let sp = 0;
  let lo = 0;
  let hi = n - 1;
  for (;;) {
    if (hi - lo < 16) {
      for (let i = lo + 1; i <= hi; i++) {
        const x = P[i];
        const tx = T[x];
        let j = i - 1;
        while (j >= lo) {
          const y = P[j];
          const ty = T[y];
          if (ty < tx || (ty === tx && y < x)) break;
          P[j + 1] = y;
          j--;
        }
        P[j + 1] = x;
      }
      if (sp === 0) return;
      hi = stack[--sp];
      lo = stack[--sp];
      continue;
    }
    // Median of three as the pivot, then Hoare partition on (time, index).
    const mid = (lo + hi) >> 1;
    if (before(P[mid], P[lo], T)) swap(P, mid, lo);
    if (before(P[hi], P[lo], T)) swap(P, hi, lo);
    if (before(P[hi], P[mid], T)) swap(P, hi, mid);
    const p = P[mid];
    const tp = T[p];
    let i = lo;
    let j = hi;
    for (;;) {
      do i++;
      while (T[P[i]] < tp || (T[P[i]] === tp && P[i] < p));
      do j--;
      while (T[P[j]] > tp || (T[P[j]] === tp && P[j] > p));
      if (i >= j) break;
      swap(P, i, j);
    }
    // Larger part on the stack, smaller first (stack depth ≤ log2 n).
    if (j - lo > hi - j) {
      stack[sp++] = lo;
      stack[sp++] = j;
      lo = j + 1;
    } else {
      stack[sp++] = j + 1;
      stack[sp++] = hi;
      hi = j;
    }
  }
}

const SORT_STACK = new Int32Array(128);

function before(a: number, b: number, T: Float64Array): boolean {
  return T[a] < T[b] || (T[a] === T[b] && a < b);
}

function swap(P: Int32Array, i: number, j: number): void {
  const x = P[i];
  P[i] = P[j];
  P[j] = x;
}

/** Push `x` onto the binary min-heap `h` of integers. */
function heapPushInt(h: number[], x: number): void {
  let i = h.length;
  h.push(x);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p] <= x) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = x;
}

/** Remove the minimum of the binary min-heap `h` (non-empty). */
function heapPopInt(h: number[]): void {
  const last = h.pop()!;
  const n = h.length;
  if (n === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const c = l + 1 < n && h[l + 1] < h[l] ? l + 1 : l;
    if (h[c] >= last) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = last;
}
