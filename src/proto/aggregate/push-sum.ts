/**
 * Push-sum (Kempe, Dobra, Gehrke, "Gossip-based computation of aggregate information", FOCS
 * 2003, §3): average, sum and count.
 *
 * In the paper's terms: every node i holds a sum s_i and a weight w_i. Each round it keeps a
 * share of (s_i, w_i) and pushes the other shares to random targets; a node's estimate is
 * s_i / w_i. The invariant is *mass conservation*: Σ s and Σ w over all nodes and messages in
 * flight never change, so every ratio converges to Σ s / Σ w. Initialisation decides the
 * aggregate:
 * - average: s_i = x_i, w_i = 1 everywhere → Σx / n;
 * - sum: s_i = x_i, w_i = 1 at exactly one node, 0 elsewhere → Σx;
 * - count: s_i = 1, w_i = 1 at exactly one node → n.
 * The "exactly one node" needs no coordinator: it is the *origin* of the epoch's instance
 * (epoch.ts): the one node that created the instance that won; every other node joins it with
 * weight 0.
 *
 * Differs from the paper:
 * - Fanout 2 by default (keep a third, push a third to each of two targets) instead of one
 *   half to one target: fewer rounds to a given error for one more message per round
 *   (`rumor sim aggregation --fanout 1` against the default; figures in docs/results.md).
 * - Targets (peers.ts): uniform over the member list when every member runs the aggregate (as
 *   in the paper); otherwise over the peers known to run it, found by zero-mass probes.
 * - Asynchronous rounds: each node's timer has its own phase; shares arrive 5–25 ms after
 *   being sent, within the receiver's same round or the next.
 * - Continuous inputs: a node whose input changes by δ adds δ to its s (average: joining with
 *   a first input adds (x, 1)), which moves the instance's total mass by exactly the change —
 *   the estimate follows within the epoch. Departed nodes and lost messages are repaired by the
 *   epoch restart (epoch.ts), the approach of Jelasity et al. (TOCS 2005).
 *
 * Limits (said plainly):
 * - A lost message loses mass: with message loss the estimate drifts (for the average, the lost
 *   shares' ratio differs from the mean) until the next epoch. The loss-robust protocol is flow
 *   updating (flow.ts). The experiment shows the drift.
 * - A crashed node takes its mass with it, and pushes to it are lost until its id leaves the
 *   peer caches; sum and count lose their weight entirely if the origin crashes (no estimate
 *   until the next epoch).
 * - The first rounds of sum and count at a node report nothing (weight 0) until some of the
 *   origin's weight has reached it: about log2(n) rounds.
 */
import type { AppIo } from '../app.js';
import type { Rng } from '../types.js';
import { EpochMachine } from './epoch.js';
import type { AggEvent, AggMsg, AggregateConfig, AggregateKind, AggTimer } from './types.js';

export class PushSum<P> extends EpochMachine<P> {
  /** Mass held by this node in the current instance. */
  s = 0;
  w = 0;

  constructor(self: P, kind: 'avg' | 'sum' | 'count', config: AggregateConfig, rng: Rng, io: AppIo<P, AggMsg<P>, AggTimer, AggEvent>) {
    super(self, kind as AggregateKind, config, rng, io);
  }

  protected reset(): void {
    const x = this.input;
    if (this.kind === 'avg') {
      this.s = x ?? 0;
      this.w = x === null ? 0 : 1;
    } else {
      this.s = this.kind === 'count' ? 1 : x ?? 0;
      this.w = this.origin ? 1 : 0;
    }
  }

  protected inputChanged(old: number | null): void {
    const x = this.input ?? 0;
    if (this.kind === 'count') return;
    if (this.kind === 'avg' && old === null) this.w += 1;
    this.s += x - (old ?? 0);
  }

  protected absorb(msg: Extract<AggMsg<P>, { epoch: number }>): void {
    if (msg.type !== 'push') return;
    this.s += msg.s;
    this.w += msg.w;
  }

  protected carried(msg: Extract<AggMsg<P>, { epoch: number }>): number | null {
    return msg.type === 'push' && msg.w > 0 ? msg.s / msg.w : null;
  }

  protected gossip(targets: P[]): void {
    if (targets.length === 0) return;
    const parts = targets.length + 1;
    const s = this.s / parts;
    const w = this.w / parts;
    // Keep exactly what was not sent, so that Σ s and Σ w are conserved bit for bit as far as
    // floating point allows (s - k·(s/parts), not s/parts).
    this.s -= s * targets.length;
    this.w -= w * targets.length;
    for (const to of targets) {
      this.io.send(to, { type: 'push', kind: this.kind, epoch: this.epoch, tag: this.tag, s, w, hint: this.hintFor(to) });
    }
  }

  protected sendProbe(to: P): void {
    this.io.send(to, { type: 'push', kind: this.kind, epoch: this.epoch, tag: this.tag, s: 0, w: 0, hint: null });
  }

  current(): number | null {
    return this.w > 0 ? this.s / this.w : null;
  }
}
