/**
 * `npm run demo:train -- [--nodes 20] [--procs 4] [--seed 1] [--lr R] [--lr-decay D] [--epochs E] [--momentum M] [--push-only]`: gossip learning on real
 * library nodes. Starts `--nodes` `RumorNode`s on loopback, spread over `--procs` worker
 * processes (20 processes of their own would be too heavy on 2 cores: 4 processes of 5
 * nodes by default), each node running the same `GossipLearner` machine the simulator runs
 * (`src/proto/learn/gossip.ts`) through `RumorNode.runApp`, with an IID shard of Fashion-MNIST
 * (60,000 / nodes examples, inputs centred on the training mean as in the simulator). When
 * every node has trained and then merged for the settle periods, every node's model is
 * evaluated on the full test set and compared with the same model trained centrally on the
 * same inputs for the same number of epochs, at the central run's own tuned rate
 * (CENTRAL_LR: the learners' rate suits averaged models, not one model's SGD). The learners'
 * rate, decay, epochs, momentum and push-pull are the library's defaults unless given. Prints one line per node and writes
 * `bench/results/train-<N>.json` `{nodes, seconds, accuracy_min, accuracy_mean,
 * accuracy_central, bytes_per_node}` (`seconds`: from the start of training to the last
 * node's final model).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createNode, type RumorNode } from '../src/index.js';
import type { Logger } from '../src/net/util.js';
import { DEFAULT_LEARN_CONFIG, GossipLearner, trainCentral, type LearnConfig, type LearnEvent, type LearnMsg, type LearnTimer } from '../src/proto/learn/gossip.js';
import { accuracy } from '../src/proto/learn/model.js';
import { Sfc32 } from '../src/proto/rng.js';
import { CENTRAL_LR, CENTRAL_LR_DECAY, centredData, makeShards } from '../src/sim/exp-gossip-learning.js';
import { FASHION_CLASSES, FASHION_FEATURES, loadFashionMnist } from '../src/sim/fashion-mnist.js';
import { learnCodec } from '../src/wire/learn.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
/** Real-time configuration: 300 steps a period of 200 ms (a 3,000-example shard is one epoch
 *  in 10 periods); epochs, lr and decay are the library's defaults unless `--epochs`, `--lr`,
 *  `--lr-decay` say otherwise. */
function configOf(o: LearnOptions): LearnConfig {
  return { shape: { features: FASHION_FEATURES, classes: FASHION_CLASSES }, ...DEFAULT_LEARN_CONFIG, periodMs: 200, stepsPerPeriod: 300, ...o };
}

interface LearnOptions {
  lr: number;
  lrDecay: number;
  epochs: number;
  momentum: number;
  pushPull: boolean;
}
const SETTLE_PERIODS = 40;
const DEADLINE_MS = 15 * 60_000;

type ToWorker = { type: 'start'; first: number; count: number; nodes: number; seed: number; learn: LearnOptions } | { type: 'join'; seed: string } | { type: 'train' };
type FromWorker =
  | { type: 'started'; addresses: string[] }
  | { type: 'joined' }
  | { type: 'done'; results: { address: string; accuracy: number; bytes: number; merged: number }[]; at: number }
  | { type: 'error'; message: string };

/** The dataset with centred inputs (as the simulator's experiment trains on), loaded once. */
let data: ReturnType<typeof centredData> | undefined;
function loadData(): { data: ReturnType<typeof centredData> } {
  if (data === undefined) {
    const r = loadFashionMnist();
    if (!r.ok) throw new Error(r.reason);
    data = centredData(r.data);
  }
  return { data };
}

async function worker(): Promise<void> {
  const nodes: RumorNode[] = [];
  const learners: GossipLearner<string>[] = [];
  let spec: { first: number; count: number; nodes: number; seed: number; learn: LearnOptions } | undefined;
  const send = (m: FromWorker): void => void process.send!(m);
  process.on('message', (m: ToWorker) => {
    void (async () => {
      if (m.type === 'start') {
        spec = m;
        for (let i = 0; i < m.count; i++) {
          const n = createNode({ host: '127.0.0.1', port: 0, logger: quiet, cluster: 'train' });
          await n.start();
          nodes.push(n);
        }
        send({ type: 'started', addresses: nodes.map((n) => n.address) });
      } else if (m.type === 'join') {
        await Promise.all(nodes.filter((n) => n.address !== m.seed).map((n) => n.join([m.seed], { timeoutMs: 30_000 })));
        send({ type: 'joined' });
      } else if (m.type === 'train') {
        await train(nodes, learners, spec!, send);
      }
    })().catch((err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }));
  });
}

async function train(nodes: RumorNode[], learners: GossipLearner<string>[], s: { first: number; count: number; nodes: number; seed: number; learn: LearnOptions }, send: (m: FromWorker) => void): Promise<void> {
  const CONFIG = configOf(s.learn);
  const { train: data, test } = loadData().data;
  const shards = makeShards(data, s.nodes, 'iid', s.seed, FASHION_FEATURES);
  const merged = new Array<number>(nodes.length).fill(0);
  const handles = nodes.map((n, i) =>
    n.runApp<LearnMsg, LearnTimer, LearnEvent>({
      name: 'learn',
      codec: learnCodec,
      create: (self, io) => {
        const l = new GossipLearner<string>(self, shards[s.first + i], CONFIG, new Sfc32(s.seed * 1000 + s.first + i), io);
        learners[i] = l;
        return l;
      },
      onEvent: (e) => {
        if (e.type === 'merged') merged[i]++;
      },
    }),
  );
  const t0 = Date.now();
  while (!learners.every((l) => l.trained)) {
    if (Date.now() - t0 > DEADLINE_MS) throw new Error(`training did not finish within ${DEADLINE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, SETTLE_PERIODS * CONFIG.periodMs));
  for (const h of handles) h.stop();
  const at = Date.now();
  const results = learners.map((l, i) => ({ address: nodes[i].address, accuracy: accuracy(CONFIG.shape, l.params, test.xs, test.labels), bytes: handles[i].stats().sentBytes, merged: merged[i] }));
  send({ type: 'done', results, at });
  await Promise.all(nodes.map((n) => n.close()));
}

function request<T extends FromWorker['type']>(c: ChildProcess, m: ToWorker, want: T): Promise<Extract<FromWorker, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${c.pid}: no ${want} within ${DEADLINE_MS / 1000} s`)), DEADLINE_MS);
    const on = (r: FromWorker): void => {
      if (r.type !== want && r.type !== 'error') return;
      clearTimeout(timer);
      c.off('message', on);
      if (r.type === 'error') reject(new Error(`worker ${c.pid}: ${r.message}`));
      else resolve(r as Extract<FromWorker, { type: T }>);
    };
    c.on('message', on);
    c.send(m);
  });
}

function usage(msg: string): never {
  console.error(`demo:train: ${msg}\nusage: npm run demo:train -- [--nodes N (2-200, default 20)] [--procs P (default 4)] [--seed S] [--lr R] [--lr-decay D] [--epochs E] [--momentum M] [--push-only] (defaults: the library's, DEFAULT_LEARN_CONFIG)`);
  process.exit(2);
}

async function main(): Promise<void> {
  let v;
  try {
    v = parseArgs({
      options: {
        nodes: { type: 'string', default: '20' },
        procs: { type: 'string', default: '4' },
        seed: { type: 'string', default: '1' },
        lr: { type: 'string', default: String(DEFAULT_LEARN_CONFIG.lr) },
        'lr-decay': { type: 'string', default: String(DEFAULT_LEARN_CONFIG.lrDecay) },
        epochs: { type: 'string', default: String(DEFAULT_LEARN_CONFIG.epochs) },
        momentum: { type: 'string', default: String(DEFAULT_LEARN_CONFIG.momentum) },
        'push-only': { type: 'boolean', default: !DEFAULT_LEARN_CONFIG.pushPull },
      },
    }).values;
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  const N = Number(v.nodes);
  const P = Math.min(Number(v.procs), N);
  const seed = Number(v.seed);
  if (!Number.isInteger(N) || N < 2 || N > 200) usage(`--nodes must be an integer in [2, 200], got ${v.nodes}`);
  if (!Number.isInteger(P) || P < 1) usage(`--procs must be a positive integer, got ${v.procs}`);
  if (!Number.isInteger(seed) || seed < 0) usage(`--seed must be a non-negative integer, got ${v.seed}`);
  const learn: LearnOptions = { lr: Number(v.lr), lrDecay: Number(v['lr-decay']), epochs: Number(v.epochs), momentum: Number(v.momentum), pushPull: !v['push-only'] };
  if (!(learn.lr > 0 && learn.lr <= 1000)) usage(`--lr must be a number in (0, 1000], got ${v.lr}`);
  if (!(learn.lrDecay >= 0 && learn.lrDecay <= 1000)) usage(`--lr-decay must be a number in [0, 1000], got ${v['lr-decay']}`);
  if (!Number.isInteger(learn.epochs) || learn.epochs < 1 || learn.epochs > 1000) usage(`--epochs must be an integer in [1, 1000], got ${v.epochs}`);
  if (!(learn.momentum >= 0 && learn.momentum < 1)) usage(`--momentum must be a number in [0, 1), got ${v.momentum}`);
  const CONFIG = configOf(learn);
  loadData(); // fail early, with the reason, if the dataset is missing
  const script = fileURLToPath(import.meta.url);
  const kids = Array.from({ length: P }, () => fork(script, ['--worker'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  try {
    const per = Math.ceil(N / P);
    const started = await Promise.all(kids.map((c, k) => request(c, { type: 'start', first: k * per, count: Math.max(0, Math.min(per, N - k * per)), nodes: N, seed, learn }, 'started')));
    const first = started[0].addresses[0];
    await Promise.all(kids.map((c) => request(c, { type: 'join', seed: first }, 'joined')));
    console.log(`demo:train: ${N} nodes in ${P} processes joined through ${first}; training (${CONFIG.epochs} epochs, ${CONFIG.stepsPerPeriod} steps every ${CONFIG.periodMs} ms at lr ${CONFIG.lr} / (1 + ${CONFIG.lrDecay} × epochs), momentum ${CONFIG.momentum}, ${CONFIG.pushPull ? 'push-pull' : 'push'}, then ${SETTLE_PERIODS} merge-only periods)`);
    const t0 = Date.now();
    const done = await Promise.all(kids.map((c) => request(c, { type: 'train' }, 'done')));
    const seconds = (Math.max(...done.map((d) => d.at)) - t0) / 1000;
    const results = done.flatMap((d) => d.results);
    const { train: data, test } = loadData().data;
    const central = accuracy(CONFIG.shape, trainCentral(CONFIG.shape, data, CONFIG.epochs, CENTRAL_LR, CENTRAL_LR_DECAY, new Sfc32(seed)), test.xs, test.labels);
    for (const r of results) console.log(`${r.address.padEnd(22)} accuracy ${(r.accuracy * 100).toFixed(2)} %  (central ${(central * 100).toFixed(2)} %, gap ${((central - r.accuracy) * 100).toFixed(2)} pp)  models merged ${r.merged}  sent ${r.bytes} B`);
    const accs = results.map((r) => r.accuracy);
    const out = {
      nodes: N,
      procs: P,
      seconds,
      accuracy_min: Math.min(...accs),
      accuracy_mean: accs.reduce((a, b) => a + b, 0) / accs.length,
      accuracy_central: central,
      lr: CONFIG.lr,
      lr_decay: CONFIG.lrDecay,
      epochs: CONFIG.epochs,
      momentum: CONFIG.momentum,
      push_pull: CONFIG.pushPull,
      bytes_per_node: Math.round(results.reduce((a, r) => a + r.bytes, 0) / results.length),
    };
    console.log(JSON.stringify(out));
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(`bench/results/train-${N}.json`, JSON.stringify(out, null, 2) + '\n');
    console.log(`wrote bench/results/train-${N}.json`);
  } finally {
    for (const c of kids) c.kill();
  }
}

if (process.argv.includes('--worker')) void worker();
else
  main().catch((err: unknown) => {
    console.error(`demo:train: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
