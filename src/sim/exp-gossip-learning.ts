/**
 * `rumor sim gossip-learning`: decentralised training of softmax regression on Fashion-MNIST
 * by gossip learning (`src/proto/learn/gossip.ts`) over HyParView in the simulator, against
 * the same model trained centrally on all the data for the same number of epochs.
 *
 * Each of the `nodes` nodes (1,000 by default) holds 60,000 / nodes training examples:
 * - `iid`: a uniformly random slice;
 * - `non-iid`: the training set sorted by label cut into 2 × nodes chunks; node i holds chunks
 *   i and i + nodes, so at 1,000 nodes every node holds 30 examples of class c and 30 of
 *   class c + 5 (two classes; at other sizes a chunk can straddle a class boundary).
 * Rows: both shardings with 0 % and 30 % of the nodes crashing (silently, at once) halfway
 * through training, at the learners' defaults (one SGD step per period, so one merge per
 * step), plus the non-IID sharding with 10× fewer merges per step (10 steps a period): the
 * contrast that shows what merging does to the non-IID gap. Every node trains for `epochs`
 * passes over its shard, then keeps merging for `SETTLE_PERIODS` periods. Inputs are centred
 * on the training mean (`centredData`) for learners and central reference alike; `--lr`,
 * `--lr-decay` and `--epochs` set the learners' rate and both sides' epochs. The central
 * reference is the same model on the same inputs, trained by SGD over all the data for the
 * same number of epochs at its own tuned rate (CENTRAL_LR): a fair comparison, not one at
 * the learners' rate (which would be far too large for one example's steps).
 *
 * Accuracy: at `CHECKPOINTS` evenly spaced checkpoints per run, on a fixed subsample of
 * `CHECKPOINT_TEST` test examples per live node (the full test set for 1,000 models at every
 * checkpoint is too slow on 2 cores: ~150 ms a model under load); at the end on the full
 * 10,000-example test set for every live node, which is what the rows report. Bytes per node:
 * the learning app's encoded bytes sent, averaged over all nodes (crashed ones included).
 */
import { GossipLearner, DEFAULT_LEARN_CONFIG, trainCentral, type LearnConfig, type LearnEvent, type LearnMsg, type LearnTimer, type Shard } from '../proto/learn/gossip.js';
import { accuracy, centre, featureMeans, type ModelShape } from '../proto/learn/model.js';
import { Sfc32 } from '../proto/rng.js';
import { learnMsgSize } from '../wire/learn.js';
import type { AppSpec } from './app-host.js';
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { FASHION_CLASSES, FASHION_FEATURES, loadFashionMnist, subset, type FashionMnist } from './fashion-mnist.js';
import { Simulation } from './simulation.js';

const JOIN_INTERVAL_MS = 5;
const SETTLE_PERIODS = 40;
/** Checkpoints per run (a fixed number: a run at one step a period lasts 640 periods). */
const CHECKPOINTS = 25;
const CHECKPOINT_TEST = 200;
const CRASH_PERCENT = 30;
/** Steps per period of the contrast row: 10× fewer merges per SGD step than the default 1. */
const FEWER_MERGES_STEPS = 10;
/** The central reference's optimiser: plain SGD, one example a step, rate
 *  `CENTRAL_LR / (1 + CENTRAL_LR_DECAY × epochs)`, tuned for it (10 epochs on centred inputs,
 *  measured: lr 0.05 → 0.8314, lr 0.02 → 0.8293, raw inputs lr 0.1 → 0.8134; docs/results.md).
 *  The learners have their own rate (`--lr`): see DEFAULT_LEARN_CONFIG. */
export const CENTRAL_LR = 0.05;
export const CENTRAL_LR_DECAY = 0.5;

/** Copies of train and test with inputs centred on the training set's per-feature mean
 *  (model.ts `centre`: what lets the averaged learners take a large rate). In a cluster the
 *  mean is one average per feature, which an `avg` aggregate computes; the simulator takes it
 *  directly. Copies: `loadFashionMnist` caches what it loaded. */
export function centredData(data: FashionMnist): FashionMnist {
  const mu = featureMeans(data.train.xs, data.train.count, FASHION_FEATURES);
  const train = { ...data.train, xs: Float32Array.from(data.train.xs) };
  const test = { ...data.test, xs: Float32Array.from(data.test.xs) };
  centre(train.xs, train.count, mu);
  centre(test.xs, test.count, mu);
  return { ...data, train, test };
}

/** Independent seed `k` derived from `seed` (a local helper: importing experiments.ts, which
 *  registers this experiment, would make an import cycle). */
function deriveSeed(seed: number, k: number): number {
  return Math.floor(new Sfc32((seed ^ Math.imul(k + 1, 0x9e3779b1)) >>> 0).next() * 2 ** 32);
}

export type Sharding = 'iid' | 'non-iid';

/** One run's parameters. */
export interface LearnRun {
  shards: Sharding;
  crashed: number;
  stepsPerPeriod: number;
}

/** Split the training set into `nodes` shards. */
export function makeShards(train: Shard, nodes: number, kind: Sharding, seed: number, features: number): Shard[] {
  const per = Math.floor(train.count / nodes);
  if (per < 2) throw new Error(`gossip-learning: ${train.count} training examples cannot be shared by ${nodes} nodes (2 each at least)`);
  const rng = new Sfc32(seed);
  const idx = Array.from({ length: train.count }, (_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  if (kind === 'iid') return Array.from({ length: nodes }, (_, n) => subset(train, idx.slice(n * per, (n + 1) * per), features));
  const sorted = idx.slice(0, per * nodes).sort((a, b) => train.labels[a] - train.labels[b] || a - b);
  const half = per >> 1;
  return Array.from({ length: nodes }, (_, n) => {
    const a = sorted.slice(n * half, (n + 1) * half);
    const b = sorted.slice((n + nodes) * half, (n + nodes + 1) * half);
    return subset(train, a.concat(b), features);
  });
}

interface RunOut {
  row: Record<string, unknown>;
  curve: { t_s: number; accuracy_min: number; accuracy_mean: number }[];
}

function learnSpec(shards: Shard[], config: LearnConfig, learners: (GossipLearner<number> | undefined)[]): AppSpec<LearnMsg, LearnTimer, LearnEvent> {
  const size = learnMsgSize(config.shape.classes * (config.shape.features + 1));
  return {
    name: 'learn',
    create(self, rng, io) {
      const l = new GossipLearner<number>(self, shards[self], config, rng, io);
      learners[self] = l;
      return l;
    },
    size: () => size,
  };
}

function evalLive(sim: Simulation, learners: (GossipLearner<number> | undefined)[], shape: ModelShape, test: Shard, idx?: ArrayLike<number>): { min: number; mean: number; n: number } {
  let min = 1;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < learners.length; i++) {
    const l = learners[i];
    if (!l || !sim.isAlive(i)) continue;
    const a = accuracy(shape, l.params, test.xs, test.labels, idx);
    min = Math.min(min, a);
    sum += a;
    n++;
  }
  return { min, mean: n ? sum / n : 0, n };
}

function runOne(nodes: number, seed: number, run: LearnRun, shardsOf: Shard[], test: Shard, checkIdx: Uint32Array | undefined, central: number, base: LearnConfig, onDone: () => void): RunOut {
  const config: LearnConfig = { ...base, stepsPerPeriod: run.stepsPerPeriod };
  const learners: (GossipLearner<number> | undefined)[] = new Array(nodes);
  const sim = new Simulation({ nodes, seed, apps: [learnSpec(shardsOf, config, learners)] });
  sim.joinAll(JOIN_INTERVAL_MS);
  const perShard = shardsOf[0].count;
  const trainPeriods = Math.ceil((perShard * config.epochs) / config.stepsPerPeriod);
  const total = trainPeriods + SETTLE_PERIODS;
  const crashAt = Math.floor(trainPeriods / 2);
  const every = Math.max(1, Math.round(total / CHECKPOINTS));
  const start = nodes * JOIN_INTERVAL_MS;
  sim.runUntil(start);
  const curve: RunOut['curve'] = [];
  for (let p = 1; p <= total; p++) {
    sim.runFor(config.periodMs);
    if (p === crashAt && run.crashed > 0) sim.failPercent(run.crashed);
    if (checkIdx && (p % every === 0 || p === total)) {
      const e = evalLive(sim, learners, config.shape, test, checkIdx);
      curve.push({ t_s: Math.round(sim.now / 100) / 10, accuracy_min: e.min, accuracy_mean: e.mean });
    }
  }
  const fin = evalLive(sim, learners, config.shape, test);
  let bytes = 0;
  for (let i = 0; i < nodes; i++) bytes += sim.apps!.bytesSentBy('learn', i);
  onDone();
  return {
    row: {
      shards: run.shards,
      crashed: run.crashed / 100,
      steps_per_period: run.stepsPerPeriod,
      periods: total,
      live_nodes: fin.n,
      accuracy_min: fin.min,
      accuracy_mean: fin.mean,
      accuracy_central: central,
      gap_min_pp: Math.round((central - fin.min) * 10000) / 100,
      bytes_per_node: Math.round(bytes / nodes),
    },
    curve,
  };
}

/** A bad input to the experiment (node count, missing dataset): the CLI prints it on one line. */
export class LearnInputError extends Error {
  constructor(message: string, readonly usage: boolean) {
    super(message);
    this.name = 'LearnInputError';
  }
}

/** The rows of the experiment, in order (see the module comment). */
function learnRuns(base: LearnConfig): LearnRun[] {
  return [
    { shards: 'iid', crashed: 0, stepsPerPeriod: base.stepsPerPeriod },
    { shards: 'iid', crashed: CRASH_PERCENT, stepsPerPeriod: base.stepsPerPeriod },
    { shards: 'non-iid', crashed: 0, stepsPerPeriod: base.stepsPerPeriod },
    { shards: 'non-iid', crashed: CRASH_PERCENT, stepsPerPeriod: base.stepsPerPeriod },
    { shards: 'non-iid', crashed: 0, stepsPerPeriod: FEWER_MERGES_STEPS },
  ];
}

/** Run the rows `only` (indices into the experiment's rows; all by default) exactly as the
 *  experiment does (same seeds, so the same figures), calling `onRow` as each ends; `curves`
 *  false skips the checkpoints (which only read the models: the rows do not change). What
 *  `bench/learn-rows.ts` uses to measure some rows of several seeds in less time. */
export function gossipLearningRows(o: ExperimentOptions, only?: readonly number[], curves = true, onRow?: (row: Record<string, unknown>) => void): { rows: object[]; curves: object[]; base: LearnConfig; trainCount: number } {
  const nodes = o.nodes ?? 1000;
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 30_000) throw new LearnInputError(`option --nodes: gossip-learning needs an integer in [2, 30000] (2 training examples per node at least), got ${String(nodes)}`, true);
  const loaded = loadFashionMnist();
  if (!loaded.ok) throw new LearnInputError(loaded.reason, false);
  const { train, test } = centredData(loaded.data);
  const shape: ModelShape = { features: FASHION_FEATURES, classes: FASHION_CLASSES };
  const base: LearnConfig = { shape, ...DEFAULT_LEARN_CONFIG, lr: o.lr ?? DEFAULT_LEARN_CONFIG.lr, lrDecay: o.lrDecay ?? DEFAULT_LEARN_CONFIG.lrDecay, epochs: o.epochs ?? DEFAULT_LEARN_CONFIG.epochs };
  const runs = learnRuns(base);
  const chosen = only ?? runs.map((_, k) => k);
  let done = 0;
  const tick = (): void => o.onProgress?.(++done / (chosen.length + 1));
  const central = accuracy(shape, trainCentral(shape, train, base.epochs, CENTRAL_LR, CENTRAL_LR_DECAY, new Sfc32(deriveSeed(o.seed, 99))), test.xs, test.labels);
  tick();
  const checkRng = new Sfc32(deriveSeed(o.seed, 98));
  const checkIdx = Uint32Array.from({ length: CHECKPOINT_TEST }, () => checkRng.int(test.count));
  const shardSets = new Map<Sharding, Shard[]>();
  const rows: object[] = [];
  const curveRows: object[] = [];
  for (const k of chosen) {
    const run = runs[k];
    let s = shardSets.get(run.shards);
    if (!s) shardSets.set(run.shards, (s = makeShards(train, nodes, run.shards, deriveSeed(o.seed, 50), shape.features)));
    const out = runOne(nodes, deriveSeed(o.seed, k), run, s, test, curves ? checkIdx : undefined, central, base, tick);
    rows.push(out.row);
    onRow?.(out.row);
    for (const c of out.curve) curveRows.push({ shards: run.shards, crashed: run.crashed / 100, steps_per_period: run.stepsPerPeriod, ...c });
  }
  return { rows, curves: curveRows, base, trainCount: train.count };
}

/** The experiment (see the module comment). */
export function gossipLearning(o: ExperimentOptions): ExperimentResult {
  const nodes = o.nodes ?? 1000;
  const { rows, curves, base, trainCount } = gossipLearningRows(o);
  const shape = base.shape;
  return {
    experiment: 'gossip-learning',
    seed: o.seed,
    nodes,
    rows,
    curves,
    model: `softmax regression, ${shape.features} features (14×14 pooled) × ${shape.classes} classes`,
    protocol: `${base.pushPull ? 'push-pull exchange' : 'push'} of the model with a random HyParView neighbour every period, age-weighted merge, local SGD with heavy-ball momentum ${base.momentum} (Ormándi et al. 2013, MU)`,
    period_ms: base.periodMs,
    epochs: base.epochs,
    lr: base.lr,
    lr_decay: base.lrDecay,
    momentum: base.momentum,
    push_pull: base.pushPull,
    central_lr: CENTRAL_LR,
    central_lr_decay: CENTRAL_LR_DECAY,
    inputs: 'centred on the training set\'s per-feature mean (learners and central alike)',
    settle_periods: SETTLE_PERIODS,
    crash: `${CRASH_PERCENT} % of the nodes at once, halfway through training`,
    checkpoint_accuracy: `${CHECKPOINT_TEST} fixed test examples per live node; rows: the full 10,000 at the end`,
    central: `same model, centred inputs and SGD on all ${trainCount} examples for the same ${base.epochs} epochs, at its own tuned rate ${CENTRAL_LR} / (1 + ${CENTRAL_LR_DECAY} × epochs)`,
  };
}
