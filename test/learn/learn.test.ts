import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accuracy, centre, featureMeans, mergeWeighted, momentumStep, predict, sgdStep, softmaxInPlace, learningRate, paramCount } from '../../src/proto/learn/model.js';
import { GossipLearner, DEFAULT_LEARN_CONFIG, type LearnConfig, type LearnEvent, type LearnMsg, type LearnTimer, type Shard } from '../../src/proto/learn/gossip.js';
import { decodeLearn, encodeLearn, learnMsgSize, MAX_LEARN_PARAMS } from '../../src/wire/learn.js';
import { FASHION_CLASSES, FASHION_FEATURES, loadFashionMnist, parseIdx, subset } from '../../src/sim/fashion-mnist.js';
import { centredData, makeShards } from '../../src/sim/exp-gossip-learning.js';
import { Simulation } from '../../src/sim/simulation.js';
import type { AppSpec } from '../../src/sim/app-host.js';
import { Sfc32 } from '../../src/proto/rng.js';

const SEED = Number(process.env.SEED ?? 1);

test('sgdStep on a 2×2 model: exact weights, biases and loss', () => {
  const shape = { features: 2, classes: 2 };
  const w = new Float32Array(paramCount(shape));
  const loss = sgdStep(shape, w, Float32Array.of(1, 2), 0, 0, 0.5, new Float64Array(2));
  assert.equal(loss, Math.log(2));
  // p = (1/2, 1/2); gradient of class 0 = (p0 - 1) x = -x/2, class 1 = x/2; step 0.5.
  assert.deepEqual([...w], [0.25, 0.5, -0.25, -0.5, 0.25, -0.25]);
  assert.equal(predict(shape, w, Float32Array.of(1, 2), 0, new Float64Array(2)), 0);
  assert.equal(accuracy(shape, w, Float32Array.of(1, 2, -1, -2), Uint8Array.of(0, 1)), 1);
  assert.equal(accuracy(shape, w, Float32Array.of(1, 2, -1, -2), Uint8Array.of(1, 1)), 0.5);
});

test('momentumStep on a 2×2 model: exact velocity and weights over two steps; mu 0 is sgdStep', () => {
  const shape = { features: 2, classes: 2 };
  const xs = Float32Array.of(1, 2);
  const w = new Float32Array(paramCount(shape));
  const v = new Float32Array(paramCount(shape));
  const sc = new Float64Array(2);
  assert.equal(momentumStep(shape, w, v, xs, 0, 0, 0.5, 0.5, sc), Math.log(2));
  // First step: v = g = (-x/2, x/2, biases -1/2, 1/2); w = -0.5 v.
  assert.deepEqual([...v], [-0.5, -1, 0.5, 1, -0.5, 0.5]);
  assert.deepEqual([...w], [0.25, 0.5, -0.25, -0.5, 0.25, -0.25]);
  // Second step on the same example: logits z0 = 0.25 + 0.5·2... computed by the model itself;
  // the invariant: v2 = 0.5 v1 + g2 and w2 = w1 − 0.5 v2.
  const v1 = Float32Array.from(v);
  const w1 = Float32Array.from(w);
  const g = Float32Array.from(w1);
  sgdStep(shape, g, xs, 0, 0, 1, sc); // g = w1 − g2
  momentumStep(shape, w, v, xs, 0, 0, 0.5, 0.5, sc);
  for (let k = 0; k < 6; k++) {
    const v2 = Math.fround(0.5 * v1[k] + (w1[k] - g[k]));
    assert.ok(Math.abs(v[k] - v2) < 1e-6, `v[${k}] ${v[k]} != ${v2}`);
    assert.ok(Math.abs(w[k] - (w1[k] - 0.5 * v2)) < 1e-6, `w[${k}]`);
  }
  const a = new Float32Array(6);
  const b = new Float32Array(6);
  momentumStep(shape, a, new Float32Array(6), xs, 0, 1, 0.3, 0, sc);
  sgdStep(shape, b, xs, 0, 1, 0.3, sc);
  assert.deepEqual([...a], [...b]);
  assert.throws(() => momentumStep(shape, a, new Float32Array(5), xs, 0, 1, 0.3, 0.9, sc), /velocity of 5/);
});

test('featureMeans and centre: exact per-feature means, subtracted in place', () => {
  const xs = Float32Array.of(1, 4, 3, 8, 5, 0);
  const mu = featureMeans(xs, 3, 2);
  assert.deepEqual([...mu], [3, 4]);
  centre(xs, 3, mu);
  assert.deepEqual([...xs], [-2, 0, 0, 4, 2, -4]);
  assert.deepEqual([...featureMeans(xs, 3, 2)], [0, 0]);
});

test('softmax is shift-invariant and never overflows; learning rate schedule', () => {
  const z = Float64Array.of(1000, 1000, 1000 + Math.log(2));
  softmaxInPlace(z, 3);
  assert.ok(Math.abs(z[0] - 0.25) < 1e-12 && Math.abs(z[2] - 0.5) < 1e-12, `softmax ${[...z]}`);
  assert.equal(learningRate(0.05, 0.5, 2), 0.025);
});

test('mergeWeighted: age-weighted average, age max, halves when both ages are 0', () => {
  const out = new Float32Array(2);
  assert.equal(mergeWeighted(Float32Array.of(1, 2), 3, Float32Array.of(5, 6), 1, out), 3);
  assert.deepEqual([...out], [2, 3]);
  assert.equal(mergeWeighted(Float32Array.of(1, 2), 0, Float32Array.of(5, 6), 0, out), 0);
  assert.deepEqual([...out], [3, 4]);
  const a = Float32Array.of(4, 8);
  mergeWeighted(a, 1, Float32Array.of(0, 0), 1, a); // in place
  assert.deepEqual([...a], [2, 4]);
  assert.throws(() => mergeWeighted(a, 1, Float32Array.of(0), 1, a), /length mismatch/);
});

function fakeIo(log: { sent: [number, LearnMsg][]; events: LearnEvent[]; timers: number[] }) {
  return {
    send: (to: number, m: LearnMsg) => void log.sent.push([to, m]),
    broadcast: () => assert.fail('learner must not broadcast'),
    timer: (d: number) => void log.timers.push(d),
    event: (e: LearnEvent) => void log.events.push(e),
  };
}

test('GossipLearner: trains its budget, pushes to a neighbour, merges by age, refuses a wrong-sized model', () => {
  const shape = { features: 2, classes: 2 };
  const shard: Shard = { xs: Float32Array.of(1, 0, 0, 1), labels: Uint8Array.of(0, 1), count: 2 };
  const config: LearnConfig = { shape, periodMs: 100, stepsPerPeriod: 3, epochs: 2, lr: 0.5, lrDecay: 0, momentum: 0, pushPull: false };
  const log = { sent: [] as [number, LearnMsg][], events: [] as LearnEvent[], timers: [] as number[] };
  const l = new GossipLearner<number>(0, shard, config, new Sfc32(SEED), fakeIo(log));
  l.start(0);
  assert.equal(log.timers.length, 1);
  l.handleTimer({ type: 'period' }, 50); // no neighbour: trains, sends nothing
  assert.equal(l.localSteps, 3);
  assert.equal(log.sent.length, 0);
  l.neighborUp(7);
  l.handleTimer({ type: 'period' }, 150); // 1 step left in the budget of 2 × 2
  assert.equal(l.localSteps, 4);
  assert.ok(l.trained);
  assert.equal(log.sent.length, 1);
  assert.equal(log.sent[0][0], 7);
  assert.equal(log.sent[0][1].age, 4);
  assert.deepEqual(log.events.filter((e) => e.type === 'trained'), [{ type: 'trained', steps: 4 }]);
  const before = Float32Array.from(l.params);
  l.handleMessage(7, { type: 'model', age: 12, params: new Float32Array(6) }, 200); // weight 4/16 for ours
  assert.deepEqual([...l.params], [...before].map((v) => Math.fround(0.25 * v)));
  assert.equal(l.age, 12);
  l.handleMessage(7, { type: 'model', age: 1, params: new Float32Array(5) }, 200);
  assert.equal(log.events.at(-1)!.type, 'rejected');
  l.handleTimer({ type: 'period' }, 250); // trained: no more steps, still pushes
  assert.equal(l.localSteps, 4);
  assert.equal(log.sent.length, 2);
});

test('GossipLearner push-pull: the receiver replies with its model as it was, both ends then hold the same average', () => {
  const shape = { features: 1, classes: 2 };
  const shard: Shard = { xs: Float32Array.of(1), labels: Uint8Array.of(0), count: 1 };
  const config: LearnConfig = { shape, periodMs: 100, stepsPerPeriod: 1, epochs: 1, lr: 0.5, lrDecay: 0, momentum: 0.9, pushPull: true };
  const logA = { sent: [] as [number, LearnMsg][], events: [] as LearnEvent[], timers: [] as number[] };
  const logB = { sent: [] as [number, LearnMsg][], events: [] as LearnEvent[], timers: [] as number[] };
  const a = new GossipLearner<number>(1, shard, config, new Sfc32(SEED), fakeIo(logA));
  const b = new GossipLearner<number>(2, shard, config, new Sfc32(SEED + 1), fakeIo(logB));
  b.params.set([4, 0, 2, 0]);
  b.age = 1;
  a.neighborUp(2, 0);
  a.handleTimer({ type: 'period' }, 0); // one step (age 1), pushes to B
  assert.equal(logA.sent.length, 1);
  const [to, push] = logA.sent[0];
  assert.equal(to, 2);
  assert.equal(push.type, 'model');
  b.handleMessage(1, push, 10);
  assert.equal(logB.sent.length, 1);
  const [back, reply] = logB.sent[0];
  assert.equal(back, 1);
  assert.equal(reply.type, 'reply');
  assert.deepEqual([...reply.params], [4, 0, 2, 0], 'the reply carries B\'s model before the merge');
  a.handleMessage(2, reply, 20);
  assert.equal(logA.sent.length, 1, 'a reply is not answered');
  assert.deepEqual([...a.params], [...b.params]);
  assert.equal(a.age, b.age);
  const push2: LearnMsg = { type: 'model', age: 1, params: new Float32Array(4) };
  const noPull = new GossipLearner<number>(3, shard, { ...config, pushPull: false }, new Sfc32(SEED), fakeIo(logB));
  noPull.handleMessage(1, push2, 30);
  assert.equal(logB.sent.length, 1, 'push only: no reply');
});

test('learn codec: round trip, checksum, bounds, non-finite refused', () => {
  const params = Float32Array.of(1.5, -2.25, 0, 3e-8);
  const e = encodeLearn({ type: 'model', age: 77, params });
  assert.ok(e.ok);
  assert.equal(e.value.length, learnMsgSize(4));
  const d = decodeLearn(e.value);
  assert.ok(d.ok);
  assert.equal(d.value.age, 77);
  assert.deepEqual([...d.value.params], [...params]);
  const r = encodeLearn({ type: 'reply', age: 3, params });
  assert.ok(r.ok);
  const dr = decodeLearn(r.value);
  assert.ok(dr.ok);
  assert.deepEqual([dr.value.type, dr.value.age, ...dr.value.params], ['reply', 3, ...params]);
  for (let i = 0; i < e.value.length; i++) {
    const bad: Uint8Array = Uint8Array.from(e.value);
    bad[i] ^= 0x10;
    assert.equal(decodeLearn(bad).ok, false, `flipped byte ${i} decoded`);
  }
  assert.match((decodeLearn(e.value.subarray(0, 9)) as { reason: string }).reason, /shorter/);
  assert.match((encodeLearn({ type: 'model', age: 1, params: Float32Array.of(NaN) }) as { reason: string }).reason, /not finite/);
  assert.match((encodeLearn({ type: 'model', age: -1, params }) as { reason: string }).reason, /age/);
  assert.match((encodeLearn({ type: 'model', age: 1, params: new Float32Array(MAX_LEARN_PARAMS + 1) }) as { reason: string }).reason, /limit/);
  const huge = Uint8Array.from(e.value);
  new DataView(huge.buffer).setUint32(6, MAX_LEARN_PARAMS + 1);
  assert.match((decodeLearn(huge) as { reason: string }).reason, /limit/);
});

test('idx parser rejects malformed files', () => {
  assert.throws(() => parseIdx(Uint8Array.of(0, 0, 8), 'x'), /too short/);
  assert.throws(() => parseIdx(Uint8Array.of(0, 0, 9, 1, 0, 0, 0, 1, 5), 'x'), /unsigned bytes/);
  assert.throws(() => parseIdx(Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 2, 5), 'x'), /need 2/);
  assert.deepEqual(parseIdx(Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 2, 5, 6), 'x').dims, [2]);
});

/** A seeded gossip-learning run of 20 nodes × 20 real Fashion-MNIST examples in the simulator. */
function smallRun(seed: number, train: Shard, test: Shard): { accs: number[]; params: Float32Array[] } {
  const shape = { features: FASHION_FEATURES, classes: FASHION_CLASSES };
  const nodes = 20;
  const rng = new Sfc32(seed);
  const idx = Array.from({ length: 400 }, () => rng.int(train.count));
  const shards = makeShards(subset(train, idx, FASHION_FEATURES), nodes, 'iid', seed, FASHION_FEATURES);
  // 10 steps a period: the 200 steps of 10 epochs fit in 20 periods (a short test).
  const config: LearnConfig = { shape, ...DEFAULT_LEARN_CONFIG, stepsPerPeriod: 10 };
  const learners: GossipLearner<number>[] = [];
  const spec: AppSpec<LearnMsg, LearnTimer, LearnEvent> = {
    name: 'learn',
    create: (self, r, io) => (learners[self] = new GossipLearner<number>(self, shards[self], config, r, io)),
    size: (m) => learnMsgSize(m.params.length),
  };
  const sim = new Simulation({ nodes, seed, apps: [spec] });
  sim.joinAll(5);
  sim.runFor(40 * config.periodMs);
  assert.ok(learners.every((l) => l.trained), 'every node trained its 10 epochs in 40 periods');
  assert.ok(sim.apps!.trafficOf('learn').messages >= nodes * 30, 'models were pushed');
  const testIdx = Array.from({ length: 1000 }, (_, i) => i);
  return { accs: learners.map((l) => accuracy(shape, l.params, test.xs, test.labels, testIdx)), params: learners.map((l) => l.params) };
}

test('a small seeded gossip-learning run on Fashion-MNIST beats chance (10 %) by far, deterministically', { timeout: 300_000 }, () => {
  const ensure = spawnSync(process.execPath, ['scripts/ensure-fashion-mnist.mjs'], { encoding: 'utf8' });
  assert.equal(ensure.status, 0, `scripts/ensure-fashion-mnist.mjs failed: ${ensure.stderr}`);
  const r = loadFashionMnist();
  assert.ok(r.ok, r.ok ? '' : r.reason);
  const data = centredData(r.data);
  assert.notEqual(data.train.xs, r.data.train.xs, 'centred copies: the loader\'s cached arrays stay as loaded');
  const a = smallRun(SEED, data.train, data.test);
  const min = Math.min(...a.accs);
  assert.ok(min > 0.5, `every node above 50 % on 1,000 test examples (chance is 10 %); got min ${min}, all ${a.accs.join(' ')}`);
  const b = smallRun(SEED, data.train, data.test);
  assert.deepEqual(b.params.map((p) => [...p]), a.params.map((p) => [...p]), 'same seed, same models');
});

test('the HTML report draws accuracy curves per run with the central reference', async () => {
  const { renderReport } = await import('../../src/sim/report.js');
  const curves = [1, 2].map((t) => ({ shards: 'iid', crashed: 0, steps_per_period: 10, t_s: t, accuracy_min: 0.5 + t / 10, accuracy_mean: 0.6 + t / 10 }));
  const html = renderReport({ experiment: 'gossip-learning', seed: 1, nodes: 2, rows: [{ shards: 'iid', crashed: 0, accuracy_central: 0.8 }], curves });
  assert.equal((html.match(/data-series="iid \/ 0 \/ 10"/g) ?? []).length, 2, 'one series per chart (mean, min)');
  assert.equal((html.match(/data-series="central reference"/g) ?? []).length, 2);
});
