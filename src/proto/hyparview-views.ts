/**
 * The views of the HyParView machine (hyparview.ts) and their helpers. A view is a short list
 * of peers (order is not significant; at most `activeViewSize` (5) or `passiveViewSize` (30)
 * entries), scanned linearly: the simulator holds 10^6 machines, so no Set or Map per view.
 *
 * Where a machine's views live is chosen at its construction (`ViewStore`), behind the same
 * operations, so the machine's behaviour is the same in either:
 * - `ArrayViews` (the default, any peer type): two plain arrays of the machine's own;
 * - `RowViews` (integer peers, chosen by the simulator): one shared `Int32Array` holding a
 *   row per node id, `[active count, active ids…, passive count, passive ids…]`. Reaching a
 *   node's view is then an index computed from its id, not a walk through the machine object
 *   to an array object to its elements (two dependent cache misses at 10^5–10^6 simulated
 *   nodes, issue 17), the driver can load a coming input's row ahead from the node id alone,
 *   and the 10^6 machines hold four array objects less each for the garbage collector.
 * A view is named by an offset the store gave the machine (`activeOffset`, `passiveOffset`).
 * Both stores remove an entry by moving the last one into its slot, so the order of the
 * entries, and with it every random choice made from a view, is the same in both.
 */
import type { Rng } from './types.js';

/** Where a HyParView machine keeps its active and passive views (see the module comment). */
export interface ViewStore<P> {
  /** The offsets naming machine `row`'s active and passive views (`ArrayViews` has one row). */
  activeOffset(row: number): number;
  passiveOffset(row: number): number;
  /** Empty both views of `row` (a machine's construction: a restarted simulated node gets
   *  the row of its previous incarnation). */
  reset(row: number): void;
  len(off: number): number;
  at(off: number, i: number): P;
  indexOf(off: number, p: P): number;
  /** Append `p`; the machine never exceeds the view's configured size. */
  push(off: number, p: P): void;
  /** Remove entry `i` by moving the last entry into its slot. */
  removeAt(off: number, i: number): void;
  clear(off: number): void;
  /** The view as an array: the live array (`ArrayViews`) or a copy (`RowViews`). Read it, do
   *  not keep or mutate it. */
  list(off: number): readonly P[];
  /** The random choices below, each store looping over its own representation (one algorithm,
   *  the same draws): `pickNotIn`, `pickExcept`, `sampleInto` (the free functions). */
  pickNotIn(off: number, skip: readonly P[], rng: Rng): number;
  pickExcept(off: number, a: P, b: P, rng: Rng): number;
  sampleInto(off: number, k: number, exclude: P, out: P[], scratch: P[], rng: Rng): void;
}

/** Remove `arr[i]` by moving the last element into its slot (order is not significant).
 *  Emptying an array releases its storage (`length = 0` does, `pop` keeps the 17 slots a
 *  pushed-to array gets: 4 request arrays × 10^6 simulated nodes that are mostly empty). */
export function removeAt<T>(arr: T[], i: number): void {
  const last = arr.length - 1;
  if (last === 0) {
    arr.length = 0;
    return;
  }
  arr[i] = arr[last];
  arr.pop();
}

/** The default store: the machine's two views as plain arrays (offset 0: active, 1: passive). */
export class ArrayViews<P> implements ViewStore<P> {
  private readonly lists: [P[], P[]] = [[], []];

  activeOffset(): number {
    return 0;
  }
  passiveOffset(): number {
    return 1;
  }
  reset(): void {
    this.lists[0].length = 0;
    this.lists[1].length = 0;
  }
  len(off: number): number {
    return this.lists[off].length;
  }
  at(off: number, i: number): P {
    return this.lists[off][i];
  }
  indexOf(off: number, p: P): number {
    return this.lists[off].indexOf(p);
  }
  push(off: number, p: P): void {
    this.lists[off].push(p);
  }
  removeAt(off: number, i: number): void {
    removeAt(this.lists[off], i);
  }
  clear(off: number): void {
    this.lists[off].length = 0;
  }
  list(off: number): readonly P[] {
    return this.lists[off];
  }
  pickNotIn(off: number, skip: readonly P[], rng: Rng): number {
    const arr = this.lists[off];
    const len = arr.length;
    if (skip.length === 0) return len === 0 ? -1 : rng.int(len);
    let n = 0;
    for (let i = 0; i < len; i++) if (skip.indexOf(arr[i]) < 0) n++;
    if (n === 0) return -1;
    let r = rng.int(n);
    for (let i = 0; i < len; i++) {
      if (skip.indexOf(arr[i]) >= 0) continue;
      if (r-- === 0) return i;
    }
    return -1;
  }
  pickExcept(off: number, a: P, b: P, rng: Rng): number {
    const arr = this.lists[off];
    let n = 0;
    for (let i = 0; i < arr.length; i++) if (arr[i] !== a && arr[i] !== b) n++;
    if (n === 0) return -1;
    let r = rng.int(n);
    for (let i = 0; i < arr.length; i++) {
      if (arr[i] === a || arr[i] === b) continue;
      if (r-- === 0) return i;
    }
    return -1;
  }
  sampleInto(off: number, k: number, exclude: P, out: P[], scratch: P[], rng: Rng): void {
    const src = this.lists[off];
    let n = 0;
    for (let i = 0; i < src.length; i++) if (src[i] !== exclude) scratch[n++] = src[i];
    shuffleOut(scratch, n, k, out, rng);
  }
}

/** Move `min(k, n)` random entries of `w[0, n)` to the front (a partial Fisher–Yates) and
 *  append them to `out`, in the order drawn. */
function shuffleOut<P>(w: P[], n: number, k: number, out: P[], rng: Rng): void {
  const m = k < n ? k : n;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = w[i];
    w[i] = w[j];
    w[j] = t;
    out.push(w[i]);
  }
}

/** The largest node count `RowViews` takes: 50·10^6, the simulator's own limit. */
const MAX_ROWS = 50_000_000;

/**
 * Every node's views in one `Int32Array`, a row of `2 + activeSize + passiveSize` numbers per
 * node id (148 B with the default sizes, 5 and 30): the count of the active view, its ids, the
 * count of the passive view, its ids. Allocated for every id at once (148 MB at 10^6 nodes;
 * the arrays it replaces were ~580 B per started node, docs/results.md "Objects per simulated
 * node"). Peers are node ids in [0, 2^31).
 */
export class RowViews implements ViewStore<number> {
  /** @internal The rows (the simulator's event loop reads a coming input's row ahead). */
  readonly a: Int32Array;
  /** Numbers per row. */
  readonly stride: number;
  private readonly activeSize: number;
  private readonly passiveSize: number;

  constructor(nodes: number, activeSize: number, passiveSize: number) {
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > MAX_ROWS) {
      throw new Error(`RowViews: expected a node count in [1, ${MAX_ROWS}], got ${String(nodes)}`);
    }
    if (!Number.isInteger(activeSize) || activeSize < 1 || !Number.isInteger(passiveSize) || passiveSize < 0) {
      throw new Error(`RowViews: expected view sizes activeSize ≥ 1 and passiveSize ≥ 0, got ${String(activeSize)} and ${String(passiveSize)}`);
    }
    this.activeSize = activeSize;
    this.passiveSize = passiveSize;
    this.stride = 2 + activeSize + passiveSize;
    if (nodes * this.stride > 2 ** 31 - 1) {
      throw new Error(`RowViews: ${nodes} rows of ${this.stride} numbers do not fit one typed array`);
    }
    this.a = new Int32Array(nodes * this.stride);
  }

  /** Whether these rows fit machines of the given view sizes. */
  fits(activeSize: number, passiveSize: number): boolean {
    return activeSize === this.activeSize && passiveSize === this.passiveSize;
  }

  activeOffset(row: number): number {
    return row * this.stride;
  }
  passiveOffset(row: number): number {
    return row * this.stride + 1 + this.activeSize;
  }
  reset(row: number): void {
    this.a[row * this.stride] = 0;
    this.a[row * this.stride + 1 + this.activeSize] = 0;
  }
  len(off: number): number {
    return this.a[off];
  }
  at(off: number, i: number): number {
    return this.a[off + 1 + i];
  }
  indexOf(off: number, p: number): number {
    const A = this.a;
    const n = A[off];
    for (let i = 0; i < n; i++) if (A[off + 1 + i] === p) return i;
    return -1;
  }
  push(off: number, p: number): void {
    const A = this.a;
    const n = A[off];
    const cap = off % this.stride === 0 ? this.activeSize : this.passiveSize;
    if (n >= cap) throw new Error(`RowViews: a view of ${cap} entries is full (a machine must evict first)`);
    A[off + 1 + n] = p;
    A[off] = n + 1;
  }
  removeAt(off: number, i: number): void {
    const A = this.a;
    const last = A[off] - 1;
    A[off + 1 + i] = A[off + 1 + last];
    A[off] = last;
  }
  clear(off: number): void {
    this.a[off] = 0;
  }
  list(off: number): readonly number[] {
    const A = this.a;
    const n = A[off];
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = A[off + 1 + i];
    return out;
  }
  pickNotIn(off: number, skip: readonly number[], rng: Rng): number {
    const A = this.a;
    const len = A[off];
    const b = off + 1;
    if (skip.length === 0) return len === 0 ? -1 : rng.int(len);
    let n = 0;
    for (let i = 0; i < len; i++) if (skip.indexOf(A[b + i]) < 0) n++;
    if (n === 0) return -1;
    let r = rng.int(n);
    for (let i = 0; i < len; i++) {
      if (skip.indexOf(A[b + i]) >= 0) continue;
      if (r-- === 0) return i;
    }
    return -1;
  }
  pickExcept(off: number, a: number, b: number, rng: Rng): number {
    const A = this.a;
    const len = A[off];
    const s = off + 1;
    let n = 0;
    for (let i = 0; i < len; i++) {
      const x = A[s + i];
      if (x !== a && x !== b) n++;
    }
    if (n === 0) return -1;
    let r = rng.int(n);
    for (let i = 0; i < len; i++) {
      const x = A[s + i];
      if (x === a || x === b) continue;
      if (r-- === 0) return i;
    }
    return -1;
  }
  sampleInto(off: number, k: number, exclude: number, out: number[], scratch: number[], rng: Rng): void {
    const A = this.a;
    const len = A[off];
    const s = off + 1;
    let n = 0;
    for (let i = 0; i < len; i++) {
      const x = A[s + i];
      if (x !== exclude) scratch[n++] = x;
    }
    shuffleOut(scratch, n, k, out, rng);
  }
}

/** Remove `v` from view `off` of `s` if present; true if it was. */
export function removeValue<P>(s: ViewStore<P>, off: number, v: P): boolean {
  const i = s.indexOf(off, v);
  if (i < 0) return false;
  s.removeAt(off, i);
  return true;
}

/** Index of a random entry of view `off` that is not in `skip`, or -1 (one `rng.int` call
 *  when there is a candidate). */
export function pickNotIn<P>(s: ViewStore<P>, off: number, skip: readonly P[], rng: Rng): number {
  return s.pickNotIn(off, skip, rng);
}

/** Index of a random entry of view `off` other than `a` and `b`, or -1. */
export function pickExcept<P>(s: ViewStore<P>, off: number, a: P, b: P, rng: Rng): number {
  return s.pickExcept(off, a, b, rng);
}

/** Append up to `k` distinct random entries of view `off` other than `exclude` to `out`
 *  (`scratch`: an array to work in, overwritten from index 0 and never shortened: emptying
 *  it each call was a runtime call, `length = 0`, on every shuffle). */
export function sampleInto<P>(s: ViewStore<P>, off: number, k: number, exclude: P, out: P[], scratch: P[], rng: Rng): void {
  s.sampleInto(off, k, exclude, out, scratch, rng);
}
