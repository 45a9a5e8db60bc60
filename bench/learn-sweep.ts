/**
 * `npx tsx bench/learn-sweep.ts NODES LR DECAY EPOCHS STEPS_PER_PERIOD [iid|non-iid] [CRASH_PERCENT] [MOMENTUM] [push|push-pull]`:
 * one gossip-learning run in the simulator with the given learner settings, for choosing
 * defaults (docs/results.md, gossip-learning section). Cheaper than `rumor sim gossip-learning`:
 * one run, IID by default, and at the end 25 evenly spaced live nodes evaluated on a fixed
 * 3,000-example test subsample (not every node on the full test set). Inputs centred as the
 * experiment does (`centredData`); shards seed 1234, simulator seed 5. With `CENTRAL=1` in the
 * environment it first prints the central reference (10,000 test examples) at CENTRAL_LR.
 */
import { GossipLearner, DEFAULT_LEARN_CONFIG, trainCentral, type LearnConfig, type LearnEvent, type LearnMsg, type LearnTimer } from '../src/proto/learn/gossip.js';
import { accuracy, type ModelShape } from '../src/proto/learn/model.js';
import { Sfc32 } from '../src/proto/rng.js';
import type { AppSpec } from '../src/sim/app-host.js';
import { CENTRAL_LR, CENTRAL_LR_DECAY, centredData, makeShards, type Sharding } from '../src/sim/exp-gossip-learning.js';
import { FASHION_CLASSES, FASHION_FEATURES, loadFashionMnist } from '../src/sim/fashion-mnist.js';
import { Simulation } from '../src/sim/simulation.js';

function usage(msg: string): never {
  console.error(`learn-sweep: ${msg}\nusage: npx tsx bench/learn-sweep.ts NODES LR DECAY EPOCHS STEPS_PER_PERIOD [iid|non-iid] [CRASH_PERCENT] [MOMENTUM] [push|push-pull]`);
  process.exit(2);
}

const [nodesRaw, lrRaw, decayRaw, epochsRaw, sppRaw, kindRaw = 'iid', crashRaw = '0', momRaw = String(DEFAULT_LEARN_CONFIG.momentum), modeRaw = DEFAULT_LEARN_CONFIG.pushPull ? 'push-pull' : 'push'] = process.argv.slice(2);
const nodes = Number(nodesRaw);
const lr = Number(lrRaw);
const lrDecay = Number(decayRaw);
const epochs = Number(epochsRaw);
const spp = Number(sppRaw);
const crash = Number(crashRaw);
const momentum = Number(momRaw);
if (!Number.isInteger(nodes) || nodes < 2 || nodes > 30_000) usage(`NODES: an integer in [2, 30000], got ${nodesRaw}`);
if (!(lr > 0) || !(lrDecay >= 0)) usage(`LR > 0 and DECAY >= 0, got ${lrRaw} ${decayRaw}`);
if (!Number.isInteger(epochs) || epochs < 1 || !Number.isInteger(spp) || spp < 1) usage(`EPOCHS and STEPS_PER_PERIOD: positive integers, got ${epochsRaw} ${sppRaw}`);
if (kindRaw !== 'iid' && kindRaw !== 'non-iid') usage(`sharding: iid or non-iid, got ${kindRaw}`);
if (!(crash >= 0 && crash < 100)) usage(`CRASH_PERCENT: in [0, 100), got ${crashRaw}`);
if (!(momentum >= 0 && momentum < 1)) usage(`MOMENTUM: in [0, 1), got ${momRaw}`);
if (modeRaw !== 'push' && modeRaw !== 'push-pull') usage(`mode: push or push-pull, got ${modeRaw}`);

const loaded = loadFashionMnist();
if (!loaded.ok) usage(loaded.reason);
const { train, test } = centredData(loaded.data);
const shape: ModelShape = { features: FASHION_FEATURES, classes: FASHION_CLASSES };
const t0 = Date.now();
if (process.env.CENTRAL) {
  const c = accuracy(shape, trainCentral(shape, train, epochs, CENTRAL_LR, CENTRAL_LR_DECAY, new Sfc32(7)), test.xs, test.labels);
  console.log(`central: ${epochs} epochs, lr ${CENTRAL_LR} decay ${CENTRAL_LR_DECAY}: ${c.toFixed(4)}`);
}
const config: LearnConfig = { ...DEFAULT_LEARN_CONFIG, shape, lr, lrDecay, epochs, stepsPerPeriod: spp, momentum, pushPull: modeRaw === 'push-pull' };
const shards = makeShards(train, nodes, kindRaw as Sharding, 1234, shape.features);
const learners: GossipLearner<number>[] = [];
const spec: AppSpec<LearnMsg, LearnTimer, LearnEvent> = {
  name: 'learn',
  create(self, rng, io) {
    const l = new GossipLearner<number>(self, shards[self], config, rng, io);
    learners[self] = l;
    return l;
  },
  size: () => 0,
};
const sim = new Simulation({ nodes, seed: 5, apps: [spec] });
sim.joinAll(5);
sim.runUntil(nodes * 5);
const trainPeriods = Math.ceil((shards[0].count * epochs) / spp);
for (let p = 1; p <= trainPeriods + 40; p++) {
  sim.runFor(config.periodMs);
  if (p === Math.floor(trainPeriods / 2) && crash > 0) sim.failPercent(crash);
}
const r = new Sfc32(3);
const idx = Uint32Array.from({ length: 3000 }, () => r.int(test.count));
let min = 1;
let sum = 0;
let k = 0;
for (let i = 0; i < nodes; i += Math.max(1, Math.floor(nodes / 25))) {
  if (!sim.isAlive(i)) continue;
  const a = accuracy(shape, learners[i].params, test.xs, test.labels, idx);
  min = Math.min(min, a);
  sum += a;
  k++;
}
console.log(`nodes ${nodes} lr ${lr} decay ${lrDecay} epochs ${epochs} steps/period ${spp} ${kindRaw} crash ${crash} % momentum ${momentum} ${modeRaw}: min ${min.toFixed(4)} mean ${(sum / k).toFixed(4)} over ${k} nodes (3,000 test examples), ${((Date.now() - t0) / 1000).toFixed(0)} s wall`);
