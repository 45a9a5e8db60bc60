/**
 * The simulator's event queue: a 4-ary min-heap ordered by (time, insertion sequence).
 *
 * Ties in virtual time are broken by insertion order, which makes a run a pure function of
 * its seed. An event is a handful of numbers (kind, node, peer, aux) plus one object
 * reference (the message or timer), stored in slot arrays (typed arrays, recycled through a
 * free list); the heap itself only moves (time, slot) pairs, so a push or pop allocates
 * nothing and touches two contiguous arrays. Four children per node halves the depth of a
 * binary heap and keeps siblings in one cache line.
 *
 * Two heaps: events due within `NEAR_MS` of the last popped time (messages in flight, short
 * timers) go to a small "near" heap, later ones (shuffle and cache timers) to a "far" heap;
 * `pop` takes the smaller head by (time, sequence). The order is exactly that of one heap,
 * but the many message events sift through a heap of the in-flight messages only (≈ 10^5
 * at 10^6 nodes) instead of every pending timer (≈ 2·10^6), which stays in cache.
 */

const INITIAL_CAPACITY = 1024;
/** Horizon of the near heap (ms after the last popped time). Chosen: 100 ms holds every
 *  message of the default 5–25 ms latency model and the short Plumtree timers (IHAVE flush,
 *  10 ms), while shuffle (10 s) and cache (30 s) timers stay in the far heap. Only speed
 *  depends on it, never the order. */
const NEAR_MS = 100;

/** One popped event, written into a caller-owned record (no allocation per pop). */
export interface EventRecord {
  time: number;
  kind: number;
  node: number;
  peer: number;
  aux: number;
  obj: unknown;
}

/** A 4-ary min-heap of (time, slot) ordered by (time, seq[slot]). */
class Heap {
  time = new Float64Array(INITIAL_CAPACITY);
  slot = new Int32Array(INITIAL_CAPACITY);
  n = 0;

  push(time: number, slot: number, S: Float64Array): void {
    if (this.n === this.time.length) this.grow();
    const T = this.time;
    const H = this.slot;
    const s = S[slot];
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pt = T[p];
      if (pt < time || (pt === time && S[H[p]] < s)) break;
      T[i] = pt;
      H[i] = H[p];
      i = p;
    }
    T[i] = time;
    H[i] = slot;
  }

  /** Remove the head (the caller has read it). */
  pop(S: Float64Array): void {
    const last = --this.n;
    if (last > 0) this.siftDown(this.time[last], this.slot[last], last, S);
  }

  /** Place (t, slot) into the hole at the root of a heap of `n` elements. */
  private siftDown(t: number, slot: number, n: number, S: Float64Array): void {
    const T = this.time;
    const H = this.slot;
    const s = S[slot];
    let i = 0;
    for (;;) {
      const c0 = 4 * i + 1;
      if (c0 >= n) break;
      let c = c0;
      let ct = T[c0];
      const end = c0 + 4 < n ? c0 + 4 : n;
      for (let j = c0 + 1; j < end; j++) {
        const jt = T[j];
        if (jt < ct || (jt === ct && S[H[j]] < S[H[c]])) {
          c = j;
          ct = jt;
        }
      }
      if (t < ct || (t === ct && s < S[H[c]])) break;
      T[i] = ct;
      H[i] = H[c];
      i = c;
    }
    T[i] = t;
    H[i] = slot;
  }

  private grow(): void {
    const cap = this.time.length * 2;
    const t = new Float64Array(cap);
    t.set(this.time);
    this.time = t;
    const h = new Int32Array(cap);
    h.set(this.slot);
    this.slot = h;
  }
}

export class EventQueue {
  private readonly near = new Heap();
  private readonly far = new Heap();
  /** Time of the last popped event: the near heap's horizon starts there. */
  private lastPop = -Infinity;
  // Slots.
  private seq = new Float64Array(INITIAL_CAPACITY);
  private kind = new Uint8Array(INITIAL_CAPACITY);
  private node = new Int32Array(INITIAL_CAPACITY);
  private peer = new Int32Array(INITIAL_CAPACITY);
  private aux = new Int32Array(INITIAL_CAPACITY);
  private obj: unknown[] = new Array<unknown>(INITIAL_CAPACITY).fill(null);
  private free = new Int32Array(INITIAL_CAPACITY);
  private nFree = 0;
  private nSlots = 0;
  private n = 0;
  private nextSeq = 0;

  /** Number of pending events. */
  get size(): number {
    return this.n;
  }

  /** Time of the earliest pending event (Infinity when empty). */
  peekTime(): number {
    const nt = this.near.n === 0 ? Infinity : this.near.time[0];
    const ft = this.far.n === 0 ? Infinity : this.far.time[0];
    return nt < ft ? nt : ft;
  }

  /** Schedule an event. `kind` must fit in 8 bits; `node`, `peer`, `aux` in 32-bit ints. */
  push(time: number, kind: number, node: number, peer: number, aux: number, obj: unknown): void {
    let slot: number;
    if (this.nFree > 0) slot = this.free[--this.nFree];
    else {
      if (this.nSlots === this.seq.length) this.growSlots();
      slot = this.nSlots++;
    }
    const s = this.nextSeq++;
    this.seq[slot] = s;
    this.kind[slot] = kind;
    this.node[slot] = node;
    this.peer[slot] = peer;
    this.aux[slot] = aux;
    this.obj[slot] = obj;
    this.n++;
    if (time - this.lastPop <= NEAR_MS) this.near.push(time, slot, this.seq);
    else this.far.push(time, slot, this.seq);
  }

  /** Remove the earliest event into `out`. Returns false when the queue is empty. */
  pop(out: EventRecord): boolean {
    if (this.n === 0) return false;
    const near = this.near;
    const far = this.far;
    const S = this.seq;
    let h = near;
    if (near.n === 0) h = far;
    else if (far.n > 0) {
      const nt = near.time[0];
      const ft = far.time[0];
      if (ft < nt || (ft === nt && S[far.slot[0]] < S[near.slot[0]])) h = far;
    }
    const slot = h.slot[0];
    const time = h.time[0];
    h.pop(S);
    this.n--;
    this.lastPop = time;
    out.time = time;
    out.kind = this.kind[slot];
    out.node = this.node[slot];
    out.peer = this.peer[slot];
    out.aux = this.aux[slot];
    out.obj = this.obj[slot];
    this.obj[slot] = null;
    this.free[this.nFree++] = slot;
    return true;
  }

  /** Drop every pending event. */
  clear(): void {
    this.obj.fill(null);
    this.n = 0;
    this.near.n = 0;
    this.far.n = 0;
    this.nFree = 0;
    this.nSlots = 0;
  }

  private growSlots(): void {
    const cap = this.seq.length * 2;
    const grow = <A extends Float64Array | Int32Array | Uint8Array>(a: A, make: (n: number) => A): A => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.seq = grow(this.seq, (c) => new Float64Array(c));
    this.kind = grow(this.kind, (c) => new Uint8Array(c));
    this.node = grow(this.node, (c) => new Int32Array(c));
    this.peer = grow(this.peer, (c) => new Int32Array(c));
    this.aux = grow(this.aux, (c) => new Int32Array(c));
    this.free = grow(this.free, (c) => new Int32Array(c));
    const o = new Array<unknown>(cap).fill(null);
    for (let i = 0; i < this.nSlots; i++) o[i] = this.obj[i];
    this.obj = o;
  }
}
