/**
 * Minimum and maximum by gossiped extremes: each round a node pushes the smallest (largest)
 * value it knows to `fanout` random peers, and keeps the smaller (larger) of its own and any it
 * receives. This is push rumour spreading of the extreme (Karp et al., FOCS 2000; Kempe et al.,
 * FOCS 2003 §2 note that min/max need no mass): every node knows it after O(log n) rounds with
 * high probability, and loss or duplication only slows it (the operation is idempotent).
 *
 * Continuous: an extreme cannot be un-learned when its node departs or its value rises, so the
 * computation restarts every epoch (epoch.ts; Jelasity et al., TOCS 2005 §4): each node
 * restarts from its own input, and the previous epoch's extreme is reported during the new
 * epoch's first half. A value that falls (for min) is taken at once.
 *
 * Differs from the papers: targets come from the piggybacked peer-sample cache (peers.ts);
 * rounds are asynchronous (each node's own timer).
 *
 * Limits: a departed node's extreme, or an old extreme after a value rose, is reported for up
 * to 1.5 epochs; a node with no input reports the extreme it hears (null until it hears one).
 */
import type { AppIo } from '../app.js';
import type { Rng } from '../types.js';
import { EpochMachine } from './epoch.js';
import type { AggEvent, AggMsg, AggregateConfig, AggTimer } from './types.js';

export class Extreme<P> extends EpochMachine<P> {
  /** The extreme known in the current instance (null: none yet). */
  best: number | null = null;

  constructor(self: P, kind: 'min' | 'max', config: AggregateConfig, rng: Rng, io: AppIo<P, AggMsg<P>, AggTimer, AggEvent>) {
    super(self, kind, config, rng, io);
  }

  private pickBest(a: number | null, b: number | null): number | null {
    if (a === null) return b;
    if (b === null) return a;
    return this.kind === 'min' ? Math.min(a, b) : Math.max(a, b);
  }

  protected reset(): void {
    this.best = this.input;
  }

  protected inputChanged(): void {
    this.best = this.pickBest(this.best, this.input);
  }

  protected absorb(msg: Extract<AggMsg<P>, { epoch: number }>): void {
    if (msg.type === 'extreme') this.best = this.pickBest(this.best, msg.value);
  }

  protected carried(msg: Extract<AggMsg<P>, { epoch: number }>): number | null {
    return msg.type === 'extreme' ? msg.value : null;
  }

  protected gossip(targets: P[]): void {
    if (this.best === null) return;
    for (const to of targets) {
      this.io.send(to, { type: 'extreme', kind: this.kind, epoch: this.epoch, tag: this.tag, value: this.best, hint: this.hintFor(to) });
    }
  }

  protected sendProbe(to: P): void {
    // An extreme message always carries a value; without one there is nothing to probe with.
    if (this.best !== null) this.io.send(to, { type: 'extreme', kind: this.kind, epoch: this.epoch, tag: this.tag, value: this.best, hint: null });
  }

  current(): number | null {
    return this.best;
  }
}
