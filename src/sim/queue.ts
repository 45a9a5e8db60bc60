/**
 * The simulator's event queue: a 4-ary min-heap ordered by (time, insertion sequence).
 *
 * Ties in virtual time are broken by insertion order, which makes a run a pure function of
 * its seed. An event is a handful of numbers (kind, node, peer, aux) plus one object
 * reference (the message or timer), stored in slot arrays (typed arrays, recycled through a
 * free list); the heap itself only moves (time, slot) pairs, so a push or pop allocates
 * nothing and touches two contiguous arrays. Four children per node halves the depth of a
 * binary heap and keeps siblings in one cache line.
 */

const INITIAL_CAPACITY = 1024;

/** One popped event, written into a caller-owned record (no allocation per pop). */
export interface EventRecord {
  time: number;
  kind: number;
  node: number;
  peer: number;
  aux: number;
  obj: unknown;
}

export class EventQueue {
  // Heap, in heap order.
  private hTime = new Float64Array(INITIAL_CAPACITY);
  private hSlot = new Int32Array(INITIAL_CAPACITY);
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
    return this.n === 0 ? Infinity : this.hTime[0];
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
    if (this.n === this.hTime.length) this.growHeap();
    const T = this.hTime;
    const H = this.hSlot;
    const S = this.seq;
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

  /** Remove the earliest event into `out`. Returns false when the queue is empty. */
  pop(out: EventRecord): boolean {
    if (this.n === 0) return false;
    const slot = this.hSlot[0];
    out.time = this.hTime[0];
    out.kind = this.kind[slot];
    out.node = this.node[slot];
    out.peer = this.peer[slot];
    out.aux = this.aux[slot];
    out.obj = this.obj[slot];
    this.obj[slot] = null;
    this.free[this.nFree++] = slot;
    const last = --this.n;
    if (last > 0) this.siftDown(this.hTime[last], this.hSlot[last], last);
    return true;
  }

  /** Drop every pending event. */
  clear(): void {
    this.obj.fill(null);
    this.n = 0;
    this.nFree = 0;
    this.nSlots = 0;
  }

  /** Place (t, slot) into the hole at the root of a heap of `n` elements. */
  private siftDown(t: number, slot: number, n: number): void {
    const T = this.hTime;
    const H = this.hSlot;
    const S = this.seq;
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

  private growHeap(): void {
    const cap = this.hTime.length * 2;
    const t = new Float64Array(cap);
    t.set(this.hTime);
    this.hTime = t;
    const h = new Int32Array(cap);
    h.set(this.hSlot);
    this.hSlot = h;
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
