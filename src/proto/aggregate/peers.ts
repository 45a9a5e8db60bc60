/**
 * Whom the push-based aggregates (push-sum, extremes) push to. Kempe et al. assume each node
 * picks a *uniform* target among all nodes, every one of which runs the computation. Two
 * sources, in order:
 * - the member list, when the host knows that every member runs this aggregate
 *   (`setMembers(list, true)`: the simulator's experiment): uniform over it, as in the paper;
 * - otherwise the *runners*: peers known to run this aggregate because a message of it came
 *   from them, or because a runner named them (`hint`, one id piggybacked on every push).
 *   Mass goes to runners only: a push to a node that does not run the aggregate would be
 *   dropped by it, and with it the mass. To find runners, each round the node also sends one
 *   zero-mass push (a *probe*; nothing is lost if it is dropped) to a random candidate that
 *   is not known to run it: a member (the agent's member list, `setMembers(list, false)`) or
 *   an overlay neighbour. A runner that receives it learns the prober.
 * Runners are kept in a bounded set (`size`, a random one replaced when full), dropped when
 * unreachable or no longer members.
 *
 * Measured in the simulator at 1,000 nodes: with runners learned from messages alone (no
 * member list), a 26-node neighbourhood of the HyParView overlay joined to the rest by one or
 * two links kept its own average (max relative error stuck at 1.3e-1 for 25 rounds): copied
 * ids stay local. The member list is what makes the targets uniform.
 *
 * Limits: ids of crashed runners stay until replaced, reported unreachable, or removed from
 * the member list (a push to one is lost mass for push-sum: the epoch restart repairs it).
 */
import type { Rng } from '../types.js';

export class PeerCache<P> {
  private readonly neighbors: P[] = [];
  private readonly runners: P[] = [];
  private members: readonly P[] | null = null;
  private memberSet: Set<P> | null = null;
  private allRun = false;

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

  /** The member list (shared, read only); `allRun`: every member runs this aggregate. */
  setMembers(members: readonly P[], allRun: boolean): void {
    this.members = members;
    this.allRun = allRun;
    this.memberSet = allRun ? null : new Set(members);
    if (this.memberSet !== null) {
      for (let i = this.runners.length - 1; i >= 0; i--) if (!this.memberSet.has(this.runners[i])) this.runners.splice(i, 1);
    }
  }

  /** Forget `p` (unreachable). */
  drop(p: P): void {
    this.neighborDown(p);
    const i = this.runners.indexOf(p);
    if (i >= 0) this.runners.splice(i, 1);
  }

  /** `p` runs this aggregate (a sender, or a hint). */
  learn(p: P | null): void {
    if (p === null || p === this.self || this.runners.includes(p)) return;
    if (this.memberSet !== null && !this.memberSet.has(p)) return;
    if (this.runners.length < this.size) this.runners.push(p);
    else this.runners[this.rng.int(this.runners.length)] = p;
  }

  /** A random peer known to run this aggregate, or undefined. */
  private any(): P | undefined {
    const m = this.members;
    if (this.allRun && m !== null && m.length > 0) {
      for (let t = 0; t < 4; t++) {
        const p = m[this.rng.int(m.length)];
        if (p !== this.self) return p;
      }
      return undefined;
    }
    return this.runners.length === 0 ? undefined : this.runners[this.rng.int(this.runners.length)];
  }

  /** Up to `k` distinct random targets for mass. */
  pick(k: number): P[] {
    const out: P[] = [];
    for (let tries = 0; out.length < k && tries < 4 * k + 4; tries++) {
      const p = this.any();
      if (p === undefined) break;
      if (!out.includes(p)) out.push(p);
    }
    return out;
  }

  /** A candidate for this round's probe (a member or neighbour not known to run this
   *  aggregate), or undefined (none, or every member runs it). */
  probe(): P | undefined {
    if (this.allRun) return undefined;
    const m = this.members ?? this.neighbors;
    if (m.length === 0) return undefined;
    const p = m[this.rng.int(m.length)];
    return p === this.self || this.runners.includes(p) ? undefined : p;
  }

  /** A random runner other than `not` (the hint to piggyback), or null. */
  hint(not: P): P | null {
    const p = this.any();
    return p === undefined || p === not ? null : p;
  }
}
