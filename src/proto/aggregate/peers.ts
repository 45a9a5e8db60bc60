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
 * Limits: ids of crashed nodes stay in the cache until replaced or reported unreachable (a
 * push to one is lost mass for push-sum: the epoch restart is what repairs it).
 */
import type { Rng } from '../types.js';

export class PeerCache<P> {
  private readonly neighbors: P[] = [];
  private readonly learned: P[] = [];

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

  /** Up to `k` distinct random targets from neighbours ∪ learned. */
  pick(k: number): P[] {
    const out: P[] = [];
    const total = this.count;
    for (let tries = 0; out.length < k && tries < 4 * k + 4 && total > 0; tries++) {
      const i = this.rng.int(total);
      const p = i < this.neighbors.length ? this.neighbors[i] : this.learned[i - this.neighbors.length];
      if (!out.includes(p)) out.push(p);
    }
    return out;
  }

  /** A random known id other than `not` (the hint to piggyback), or null. */
  hint(not: P): P | null {
    const total = this.count;
    if (total === 0) return null;
    const i = this.rng.int(total);
    const p = i < this.neighbors.length ? this.neighbors[i] : this.learned[i - this.neighbors.length];
    return p === not ? null : p;
  }
}
