/**
 * Disjoint sets over the ids `0..n-1` (linking roots, path halving): the one union–find the
 * simulator's overlay metrics, its experiments and the visual simulator count components with.
 * The parent array may be handed in to be reused across calls (`reset`), so a measurement taken
 * every few hundred milliseconds of virtual time allocates nothing.
 */
export class UnionFind {
  readonly parent: Int32Array;

  constructor(n: number, parent: Int32Array = new Int32Array(n)) {
    this.parent = parent;
    this.reset(n);
  }

  /** Every id its own set again (ids `0..n-1`). */
  reset(n: number): void {
    const p = this.parent;
    for (let i = 0; i < n; i++) p[i] = i;
  }

  /** The representative of `x`'s set. */
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }

  /** Join the sets of `a` and `b`; true if they were apart. */
  union(a: number, b: number): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return false;
    this.parent[ra] = rb;
    return true;
  }
}
