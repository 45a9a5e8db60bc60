/**
 * Peer sampling for the push-based aggregates (push-sum, extremes). Kempe et al.'s analysis
 * assumes each node can pick a *uniform* target among all nodes; a rumor node knows only its
 * active view (about 5 peers). The cache below approximates uniform picks the way Cyclon and
 * Newscast do, but piggybacked on the aggregate's own messages: every push carries one id the
 * sender knows (`hint`), and every receiver remembers the sender and the hint. A cache of
 * `size` ids, with a random entry replaced when full, drifts towards a uniform sample after a
 * few rounds (measured: the experiment's convergence figures in docs/results.md are with this
 * cache, not with uniform targets).
 *
 * When the node knows the member list (the agent runs the members machine; the host wires it
 * in with `setMembers`), targets are uniform over it, as in the paper. Measured in the
 * simulator at 1,000 nodes: with the cache alone, a 26-node neighbourhood of the HyParView
 * overlay joined to the rest by one or two links kept its own average (max relative error
 * stuck at 1.3e-1 for 25 rounds) — copied ids stay local, and the cache cannot repair a sparse
 * cut of the overlay. The cache is the fallback for nodes without a member list.
 *
 * Limits: ids of crashed nodes stay in the cache until replaced or reported unreachable (a
 * push to one is lost mass for push-sum: the epoch restart is what repairs it).
 */
import type { Rng } from '../types.js';

export class PeerCache<P> {
  private readonly neighbors: P[] = [];
  private readonly learned: P[] = [];
  /** The member list, when the host wires one in (read only, shared: never copied). */
  members: readonly P[] | null = null;

  constructor(
    private readonly self: P,
    private readonly size: number,
    private readonly rng: Rng,
  ) {}

  neighborUp(p: P): void {
    if (p !== this.self && !this.neighbors.includes(p)) this.neighbors.push(p);
  }

  neighborDown(p: P): void {
    const i = this.neighbors.indexOf(p);
    if (i >= 0) this.neighbors.splice(i, 1);
  }

  /** Forget `p` entirely (unreachable). */
  drop(p: P): void {
    this.neighborDown(p);
    const i = this.learned.indexOf(p);
    if (i >= 0) this.learned.splice(i, 1);
  }

  /** Remember `p` (a sender, or a hint). */
  learn(p: P | null): void {
    if (p === null || p === this.self || this.learned.includes(p)) return;
    if (this.learned.length < this.size) this.learned.push(p);
    else this.learned[this.rng.int(this.learned.length)] = p;
  }

  /** Number of distinct candidates (neighbours and learned ids may overlap). */
  get count(): number {
    return this.neighbors.length + this.learned.length;
  }

  /** A random candidate: uniform over the member list when the host gave one, else from
   *  neighbours ∪ learned. */
  private any(): P | undefined {
    const m = this.members;
    if (m !== null && m.length > 1) {
      for (let t = 0; t < 4; t++) {
        const p = m[this.rng.int(m.length)];
        if (p !== this.self) return p;
      }
    }
    const total = this.count;
    if (total === 0) return undefined;
    const i = this.rng.int(total);
    return i < this.neighbors.length ? this.neighbors[i] : this.learned[i - this.neighbors.length];
  }

  /** Up to `k` distinct random targets. */
  pick(k: number): P[] {
    const out: P[] = [];
    for (let tries = 0; out.length < k && tries < 4 * k + 4; tries++) {
      const p = this.any();
      if (p === undefined) break;
      if (!out.includes(p)) out.push(p);
    }
    return out;
  }

  /** A random known id other than `not` (the hint to piggyback), or null. */
  hint(not: P): P | null {
    const p = this.any();
    return p === undefined || p === not ? null : p;
  }
}
