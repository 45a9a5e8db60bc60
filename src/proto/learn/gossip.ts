/**
 * Gossip learning (Ormándi, Hegedűs, Jelasity, "Gossip learning with linear models on fully
 * distributed data", CCPE 2013; Hegedűs, Danner, Jelasity, JPDC 2021): every node holds its
 * own data shard and a model (softmax regression, `model.ts`); there is no parameter server
 * and no coordinator. In the paper's terms, each node runs the active thread every period Δ
 * — send the current model to a peer chosen by the peer sampling service — and the passive
 * thread on every model it receives — merge it with the local model, then update the result
 * on local data (the "merge-update", MU, variant).
 *
 * What we run (push-pull exchanges of models with an age-weighted merge, local SGD with
 * momentum):
 * - every `periodMs` the node takes `stepsPerPeriod` SGD steps over its shard (one example
 *   each, the shard reshuffled every pass, rate `lr / (1 + lrDecay × epochs)`, heavy-ball
 *   momentum `momentum` with the velocity kept on the node), then sends `{ params, age }` to
 *   one neighbour drawn uniformly from its overlay's active view;
 * - a received model is merged at once: `w ← (a_l w_l + a_r w_r) / (a_l + a_r)`, with age
 *   `max(a_l, a_r)`, where the age of a model is the number of SGD steps it has absorbed;
 *   with `pushPull` the receiver first replies with its own model as it was, and the sender
 *   merges that reply the same way, so both ends hold the same average and the sum of all
 *   models is kept (push only, the paper's, adds a random drift to it);
 * - after `epochs` passes over its own shard a node stops training but keeps exchanging and
 *   merging: the rounds that follow are pure averaging, which pulls every node's model to
 *   the consensus (what closes the spread between nodes).
 *
 * Where we differ from the paper: the peer is a random *neighbour* of the HyParView active
 * view, not a uniform sample of the whole network (the active view is a random graph of
 * degree ~5 that HyParView keeps connected, so averaging still mixes; the 2013 paper
 * uses NEWSCAST); the update happens on the period's timer, `stepsPerPeriod` steps (default
 * 1, the paper's one update per model received; more is cheaper to simulate but merges less
 * per step, which costs accuracy: docs/results.md); the learning rate decays by local epochs
 * (the paper uses Pegasos' 1/(λt)) and is that of averaged models, far above one model's;
 * the merge is push-pull (the paper pushes only) and the local update has momentum (the
 * paper's has none). Why: the average of all models moves like large-batch gradient descent,
 * which at 10 epochs stops short of the central model (600 steps a node at 1,000 nodes);
 * momentum accelerates it, and it works on the average only when merges keep the average
 * exact (measured in docs/results.md: momentum with push only gained half as much).
 *
 * Limits: a model message carries every parameter (`classes × (features + 1)` float32 — 7.9 kB
 * for 10 classes on 14×14 images) every period, to one peer, and push-pull answers each with
 * another (twice the bytes of push only); a reply that is lost leaves the sum of models off by
 * the exchange's difference (push-pull's invariant needs both halves); with non-IID shards the
 * local velocity accumulates the node's own classes' gradients, which widens the gap there
 * (docs/results.md); nodes that never hear from
 * anyone still train alone; the merge trusts peers (a hostile peer's model is averaged in:
 * gossip learning is not Byzantine-robust); a crashed node's contribution lives on only in
 * the models it already sent.
 */
import type { App, AppIo } from '../app.js';
import type { DownReason, Rng } from '../types.js';
import { learningRate, mergeWeighted, momentumStep, paramCount, sgdStep, type ModelShape } from './model.js';

/** A node's local data: `count` examples, `shape.features` float32 each, and their labels. */
export interface Shard {
  readonly xs: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** Configuration of a gossip-learning node (defaults: `DEFAULT_LEARN_CONFIG`). */
export interface LearnConfig {
  readonly shape: ModelShape;
  /** Δ of the paper: ms between two pushes. */
  readonly periodMs: number;
  /** SGD steps taken per period while training. */
  readonly stepsPerPeriod: number;
  /** Passes over the local shard before training stops (merging goes on). */
  readonly epochs: number;
  /** Initial learning rate and its decay per epoch. */
  readonly lr: number;
  readonly lrDecay: number;
  /** Heavy-ball momentum of the local steps (0: plain SGD); the velocity stays local. */
  readonly momentum: number;
  /** Push-pull: the receiver of a model replies with its own (as it was before the merge), and
   *  both ends merge, so both hold the same average; false: push only (the paper's). */
  readonly pushPull: boolean;
}

/** Defaults, measured on Fashion-MNIST (14×14, centred inputs) in `rumor sim gossip-learning`
 *  and `bench/learn-sweep.ts` (docs/results.md, gossip-learning section; sweep figures are 25
 *  nodes on 3,000 test examples, where the central reference scores 0.8267):
 *  - `stepsPerPeriod` 1: one SGD step per exchange, as in the paper (one update per model
 *    received). What limits the collective is how well models are averaged between steps: at
 *    1,000 nodes, 10 epochs, lr 3, push only, the consensus reached 0.794 with 10 steps a
 *    period, 0.804 with 2, 0.808 with 1.
 *  - `momentum` 0.95, `lr` 1, `lrDecay` 0.5 (rate `lr / (1 + 0.5 × epochs)`), `pushPull` true:
 *    averaged models progress like large-batch gradient descent, which takes a far larger rate
 *    than one example's SGD (the central reference's best is 0.05) and which momentum
 *    accelerates. At 1,000 nodes, 10 epochs, 1 step a period: push only, no momentum, lr 3 →
 *    0.8080 (push-pull: 0.8097); push only with momentum 0.9 / lr 1 → 0.8127, 0.95 / 1 →
 *    0.8163, 0.95 / 0.5 → 0.8167, 0.98 / 0.3 → 0.8183, 0.99 / 0.2 → 0.8210; push-pull with
 *    momentum 0.95 / lr 1 → 0.8243, 0.98 / 0.3 → 0.8260. At 20 nodes × 3,000 examples (300
 *    steps a period, as `demo:train` runs): push-pull 0.95 / 1 → 0.8237, 0.98 / 0.3 → 0.8190,
 *    no momentum lr 3 → 0.8270. 0.95 / 1 is within 0.3 pp of the central model at both sizes.
 *  - `epochs` 10, the central reference's; `periodMs` 1 s, the order of Serf's gossip interval
 *    (the paper leaves Δ free). */
export const DEFAULT_LEARN_CONFIG: Omit<LearnConfig, 'shape'> = {
  periodMs: 1000,
  stepsPerPeriod: 1,
  epochs: 10,
  lr: 1,
  lrDecay: 0.5,
  momentum: 0.95,
  pushPull: true,
};

/** Messages: a model pushed to a peer; in push-pull, the peer's model sent back in reply. */
export type LearnMsg = { type: 'model' | 'reply'; age: number; params: Float32Array };
/** Timers: the period. */
export type LearnTimer = { type: 'period' };
/** Events: a period ran (how many steps, whether a model was sent), a model merged, training finished. */
export type LearnEvent =
  | { type: 'period'; steps: number; sent: boolean }
  | { type: 'merged'; age: number }
  | { type: 'rejected'; reason: string }
  | { type: 'trained'; steps: number };

/** One gossip-learning node. */
export class GossipLearner<P> implements App<P, LearnMsg, LearnTimer> {
  /** The current model (read it; it is replaced in place by merges and steps). */
  readonly params: Float32Array;
  /** SGD steps absorbed (the model's age). */
  age = 0;
  /** SGD steps this node took on its own data. */
  localSteps = 0;
  private readonly neighbors: P[] = [];
  private readonly order: Uint32Array;
  private cursor = 0;
  private readonly scratch: Float64Array;
  /** Momentum's velocity (empty when `momentum` is 0). */
  private readonly velocity: Float32Array;
  private stopped = false;
  private readonly budget: number;

  constructor(
    readonly self: P,
    readonly shard: Shard,
    readonly config: LearnConfig,
    private readonly rng: Rng,
    private readonly io: AppIo<P, LearnMsg, LearnTimer, LearnEvent>,
  ) {
    const F = config.shape.features;
    if (shard.xs.length < shard.count * F || shard.labels.length < shard.count) throw new RangeError('learn: shard arrays shorter than count × features');
    this.params = new Float32Array(paramCount(config.shape));
    this.scratch = new Float64Array(config.shape.classes);
    this.velocity = new Float32Array(config.momentum > 0 ? this.params.length : 0);
    this.order = new Uint32Array(shard.count);
    for (let i = 0; i < shard.count; i++) this.order[i] = i;
    this.cursor = shard.count; // shuffle before the first step
    this.budget = shard.count * config.epochs;
  }

  /** Whether the local training budget is spent. */
  get trained(): boolean {
    return this.localSteps >= this.budget;
  }

  start(_now: number): void {
    // First period after a random fraction of Δ: nodes do not push in lockstep.
    this.io.timer(Math.floor(this.rng.next() * this.config.periodMs), { type: 'period' });
  }

  neighborUp(peer: P, _now?: number): void {
    if (!this.neighbors.includes(peer)) this.neighbors.push(peer);
  }

  neighborDown(peer: P, _reason: DownReason): void {
    const i = this.neighbors.indexOf(peer);
    if (i >= 0) this.neighbors.splice(i, 1);
  }

  handleMessage(from: P, msg: LearnMsg, _now: number): void {
    if (this.stopped || (msg.type !== 'model' && msg.type !== 'reply')) return;
    if (msg.params.length !== this.params.length || !(msg.age >= 0)) {
      this.io.event({ type: 'rejected', reason: `model of ${msg.params.length} parameters, age ${msg.age}; expected ${this.params.length}` });
      return;
    }
    if (msg.type === 'model' && this.config.pushPull) this.io.send(from, { type: 'reply', age: this.age, params: Float32Array.from(this.params) });
    this.age = mergeWeighted(this.params, this.age, msg.params, msg.age, this.params);
    this.io.event({ type: 'merged', age: msg.age });
  }

  handleBroadcast(): void {}

  handleTimer(t: LearnTimer, _now: number): void {
    if (this.stopped || t.type !== 'period') return;
    const steps = this.train();
    let sent = false;
    if (this.neighbors.length > 0) {
      const to = this.neighbors[this.rng.int(this.neighbors.length)];
      this.io.send(to, { type: 'model', age: this.age, params: Float32Array.from(this.params) });
      sent = true;
    }
    this.io.event({ type: 'period', steps, sent });
    this.io.timer(this.config.periodMs, { type: 'period' });
  }

  stop(): void {
    this.stopped = true;
  }

  /** Up to `stepsPerPeriod` SGD steps within the budget; returns how many were taken. */
  private train(): number {
    const { shard, config } = this;
    const n = Math.min(config.stepsPerPeriod, this.budget - this.localSteps);
    for (let k = 0; k < n; k++) {
      if (this.cursor >= shard.count) this.shuffle();
      const i = this.order[this.cursor++];
      const lr = learningRate(config.lr, config.lrDecay, this.localSteps / shard.count);
      if (config.momentum > 0) momentumStep(config.shape, this.params, this.velocity, shard.xs, i, shard.labels[i], lr, config.momentum, this.scratch);
      else sgdStep(config.shape, this.params, shard.xs, i, shard.labels[i], lr, this.scratch);
      this.localSteps++;
      this.age++;
    }
    if (n > 0 && this.trained) this.io.event({ type: 'trained', steps: this.localSteps });
    return Math.max(n, 0);
  }

  private shuffle(): void {
    const o = this.order;
    for (let i = o.length - 1; i > 0; i--) {
      const j = this.rng.int(i + 1);
      const t = o[i];
      o[i] = o[j];
      o[j] = t;
    }
    this.cursor = 0;
  }
}

/** Train `shape` centrally on all of `data` for `epochs` passes, with the nodes' optimiser
 *  (one example per step, reshuffled every pass, the same learning-rate schedule, heavy-ball
 *  `momentum`, 0 by default): the reference the gossip-trained models are compared with. */
export function trainCentral(shape: ModelShape, data: Shard, epochs: number, lr: number, lrDecay: number, rng: Rng, momentum = 0): Float32Array {
  const w = new Float32Array(paramCount(shape));
  const v = new Float32Array(momentum > 0 ? w.length : 0);
  const scratch = new Float64Array(shape.classes);
  const order = new Uint32Array(data.count);
  for (let i = 0; i < data.count; i++) order[i] = i;
  for (let e = 0; e < epochs; e++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    for (let k = 0; k < data.count; k++) {
      const i = order[k];
      const rate = learningRate(lr, lrDecay, e + k / data.count);
      if (momentum > 0) momentumStep(shape, w, v, data.xs, i, data.labels[i], rate, momentum, scratch);
      else sgdStep(shape, w, data.xs, i, data.labels[i], rate, scratch);
    }
  }
  return w;
}
