/**
 * The round and epoch skeleton shared by the push-based aggregates (push-sum.ts, extreme.ts).
 *
 * Rounds: every node runs its own timer of period `periodMs`, started at a random phase (the
 * simulator and real nodes are asynchronous); a *round* is one gossip period. After each round
 * the node emits an `estimate` event.
 *
 * Epochs (Jelasity, Montresor, Babaoglu, TOCS 2005, §4 "restarting"): a push-based
 * computation cannot forget — mass lost with a message or a crashed node stays lost, a
 * departed node's minimum stays the minimum. So the computation restarts every `epochRounds`
 * rounds. There is no coordinator: a node whose epoch ends starts the next one itself, as an
 * *instance* `(epoch, tag)` with a fresh random 32-bit tag, and every message carries its
 * instance. A node that hears a larger instance (epoch first, then tag) adopts it — restarts
 * its state from its own input — and drops messages of smaller ones. Nodes that started the
 * same epoch independently thus converge on one instance within a few rounds (the largest tag
 * spreads epidemically), and that instance's *origin* is unique: the one node that created
 * it. Push-sum's sum and count use that uniqueness (only the origin holds weight 1).
 *
 * The reported value during an epoch's first half is the previous epoch's final estimate
 * (when there was one): a fresh epoch has not converged yet.
 */
import type { App, AppIo } from '../app.js';
import type { DownReason, Rng } from '../types.js';
import { PeerCache } from './peers.js';
import { relDiff, type AggEvent, type AggMsg, type AggregateConfig, type AggregateKind, type AggTimer } from './types.js';

type PushMsg<P> = Extract<AggMsg<P>, { epoch: number }>;

export abstract class EpochMachine<P> implements App<P, AggMsg<P>, AggTimer> {
  epoch = 0;
  tag = 0;
  /** This node created the current instance. */
  origin = false;
  /** Rounds run in the current instance, and in all. */
  roundsInEpoch = 0;
  rounds = 0;
  /** The node's input (null: not set). */
  input: number | null = null;
  /** Final estimate of the previous epoch (null: none yet). */
  lastFinal: number | null = null;
  /** Messages dropped: other kind, or a stale instance. */
  dropped = 0;
  protected readonly peers: PeerCache<P>;
  private nextDue = -1;
  private stopped = false;
  private rmin = Infinity;
  private rmax = -Infinity;

  constructor(
    readonly self: P,
    readonly kind: AggregateKind,
    readonly config: AggregateConfig,
    protected readonly rng: Rng,
    protected readonly io: AppIo<P, AggMsg<P>, AggTimer, AggEvent>,
  ) {
    this.peers = new PeerCache<P>(self, config.cacheSize, rng);
  }

  /** Restart the local state for the current instance from the node's own input. */
  protected abstract reset(): void;
  /** The node's input changed from `old` to `this.input`. */
  protected abstract inputChanged(old: number | null): void;
  /** Fold a message of the current instance in. */
  protected abstract absorb(msg: PushMsg<P>): void;
  /** The estimate a message carries (null: none). */
  protected abstract carried(msg: PushMsg<P>): number | null;
  /** Send this round's messages to `targets`. */
  protected abstract gossip(targets: P[]): void;
  /** The current instance's estimate (null: none yet). */
  abstract current(): number | null;
  /** Send a message that carries nothing (no mass, no value) to `to`: a probe (peers.ts). */
  protected abstract sendProbe(to: P): void;

  /** The value to report: the previous epoch's while this one is young. */
  estimate(): number | null {
    if (this.lastFinal !== null && this.roundsInEpoch < this.config.epochRounds / 2) return this.lastFinal;
    return this.current();
  }

  /** The member list (the host keeps it current and shares it; the machine never mutates
   *  it); `allRun`: every member runs this aggregate (peers.ts). */
  setMembers(members: readonly P[], allRun = false): void {
    this.peers.setMembers(members, allRun);
  }

  /** Set this node's input (validated by the caller: finite). */
  set(value: number, _now: number): void {
    const old = this.input;
    this.input = value;
    this.inputChanged(old);
  }

  start(now: number): void {
    this.newInstance(0, this.freshTag(), true);
    this.arm(now, this.rng.next() * this.config.periodMs);
  }

  neighborUp(peer: P): void {
    this.peers.neighborUp(peer);
  }

  neighborDown(peer: P, _reason: DownReason): void {
    this.peers.neighborDown(peer);
  }

  handleUnreachable(peer: P): void {
    this.peers.drop(peer);
  }

  handleMessage(from: P, msg: AggMsg<P>): void {
    if (this.stopped) return;
    if (msg.type === 'flow' || msg.kind !== this.kind) {
      this.dropped++;
      return;
    }
    this.peers.learn(from);
    this.peers.learn(msg.hint);
    if (msg.epoch > this.epoch || (msg.epoch === this.epoch && msg.tag > this.tag)) {
      if (msg.epoch > this.epoch) this.lastFinal = this.current();
      this.newInstance(msg.epoch, msg.tag, false);
    } else if (msg.epoch < this.epoch || msg.tag < this.tag) {
      this.dropped++;
      return;
    }
    const c = this.carried(msg);
    if (c !== null) {
      this.rmin = Math.min(this.rmin, c);
      this.rmax = Math.max(this.rmax, c);
    }
    this.absorb(msg);
  }

  handleBroadcast(): void {}

  handleTimer(t: AggTimer, now: number): void {
    if (this.stopped || t.type !== 'round' || t.due !== this.nextDue) return;
    this.rounds++;
    this.roundsInEpoch++;
    if (this.roundsInEpoch >= this.config.epochRounds) {
      this.lastFinal = this.current();
      this.newInstance(this.epoch + 1, this.freshTag(), true);
    }
    this.gossip(this.peers.pick(this.config.fanout));
    const probe = this.peers.probe();
    if (probe !== undefined) this.sendProbe(probe);
    const value = this.estimate();
    const own = this.current();
    const spread = own === null || this.rmin === Infinity ? null : Math.max(relDiff(own, this.rmin), relDiff(own, this.rmax));
    this.rmin = Infinity;
    this.rmax = -Infinity;
    this.io.event({ type: 'estimate', value, rounds: this.roundsInEpoch, spread, epoch: this.epoch });
    this.arm(now, this.config.periodMs);
  }

  stop(): void {
    this.stopped = true;
  }

  /** A hint for a message to `to`. */
  protected hintFor(to: P): P | null {
    return this.peers.hint(to);
  }

  private newInstance(epoch: number, tag: number, origin: boolean): void {
    this.epoch = epoch;
    this.tag = tag;
    this.origin = origin;
    this.roundsInEpoch = 0;
    this.reset();
  }

  /** Only sum and count need a unique origin (a random tag, the race above); average and
   *  extremes use tag 0, so nodes that start an epoch independently share one instance and no
   *  mass or value is discarded by the race. */
  private freshTag(): number {
    return this.kind === 'sum' || this.kind === 'count' ? this.rng.int(0x100000000) : 0;
  }

  private arm(now: number, delay: number): void {
    this.nextDue = now + delay;
    this.io.timer(delay, { type: 'round', due: this.nextDue });
  }
}
