/**
 * TCP runtime benchmark: N nodes (default 20) over real TCP on loopback, spread over 2 worker
 * processes (one per core, bench/net-worker.ts), `lan` profile.
 *
 * Measures: broadcast latency until *all* nodes delivered (p50/p99 over 200 messages at low
 * load); sustained throughput of 1 KB messages published at one node (rate ramp; the best rate
 * where every node receives every message with all-node p99 < 200 ms, as the rate the
 * publisher kept: the least-squares slope of message index over send time, see
 * bench/net-worker.ts `publish`; the JSON also gives the rate over the span of the sends and
 * how far the publisher fell behind its schedule); CPU and RSS per node;
 * idle bytes/s per node (≥ 10 s, from the nodes' own `stats()` byte counters, in + out / 2);
 * memory per extra node in one process (1 vs 21 nodes, after GC, `--expose-gc`).
 *
 * Clocks: each worker stamps times with `performance.timeOrigin + performance.now()` — its
 * monotonic clock on an epoch base. Before measuring, the parent measures each worker's offset
 * against its own clock of the same kind, NTP-style: it sends a probe at t0, the worker answers
 * its clock w, the reply lands at t1; offset = w − (t0 + t1)/2, kept from the probe with the
 * smallest round trip (error ≤ RTT/2, tens of µs on IPC). A latency is then
 * (receive − offset[receiver]) − (send − offset[publisher]), both on the parent's clock.
 *
 * Run: node --import tsx bench/net.ts --nodes 20      Writes bench/results/net-<N>.json.
 * `--encrypt`: every node gets the same cluster key (keyring mode `enforce`: every frame and
 * heartbeat datagram sealed with AES-256-GCM, docs/protocol.md §10); writes
 * bench/results/net-<N>-encrypt.json with the same fields, and each ramp step also reports the
 * records sealed per message per node and their mean size (frames per record).
 * `--compare [--pairs K]`: K pairs (default 3) of a plaintext and an encrypted run, back to
 * back, the order alternating between pairs, on a finer ladder near the top
 * (bench/net-compare.ts); prints per pair the throughput ratio and the CPU-per-message ratio
 * and their medians, writes both JSON files (the last run of each mode) and
 * bench/results/net-<N>-compare.json.
 * `--defences '<json>'`: the nodes' `defences` option (e.g. `{"fairQueue":false}`), passed to
 * the workers in BENCH_NET_DEFENCES; each ramp step prints the fair queues' drops and queued
 * frames (h30f).
 * Quicker runs while tuning: --low-runs K (low-load runs, default 2; the worst is reported),
 * --rates 2000,3000 (ramp rates), --skip-idle, --skip-mem. --compiled runs the workers on the
 * library compiled by tsc instead of the sources through tsx (see `workerScript`).
 * Profiling: BENCH_NET_WORKER_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" adds flags to the workers.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Published } from './net-worker.js';
import { generateKey } from '../src/wire/crypto.js';
import { COMPARE_RATES, comparePair, formatPairs, summarize, type NetRun, type PairResult } from './net-compare.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Where `--compiled` puts the workers' JavaScript (inside node_modules so that the compiled
 *  files resolve the project's dependencies; ignored by git; one directory per run). */
const BUILD = fileURLToPath(new URL(`../node_modules/.cache/rumor-bench-net-${process.pid}/`, import.meta.url));

/**
 * The worker script and its Node flags. By default the workers run the TypeScript sources
 * through tsx. `--compiled` runs the library compiled by `tsc` instead (as users run it, from
 * `dist`): under tsx every module is transpiled on load and a call across modules goes
 * through tsx's export getters (measured, /tmp micro-benchmark: encoding a 1 KB gossip frame
 * 0.93 µs under tsx, 0.72 µs compiled; in bench/net.ts the difference was within the noise of
 * the shared machine).
 */
function workerScript(): { script: string; execArgv: string[] } {
  if (!flag('compiled')) return { script: fileURLToPath(new URL('./net-worker.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  // Type checking is `npx tsc --noEmit`'s job; here only the emit is needed (--noCheck).
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD, '--noCheck', '--declaration', 'false'], { cwd: ROOT, stdio: 'inherit' });
  process.on('exit', () => rmSync(BUILD, { recursive: true, force: true }));
  return { script: `${BUILD}bench/net-worker.js`, execArgv: [] };
}
let WORKER: { script: string; execArgv: string[] } | null = null;
const clock = (): number => performance.timeOrigin + performance.now();

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`bench/net: --${name} expects an integer ≥ 0, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return v;
}

/** `--rates 2000,3000`: the ramp's rates (msgs/s), ascending integers > 0. */
function rates(def: number[]): number[] {
  const i = process.argv.indexOf('--rates');
  if (i < 0) return def;
  const v = String(process.argv[i + 1]).split(',').map(Number);
  if (v.length === 0 || v.some((x, k) => !Number.isInteger(x) || x <= 0 || (k > 0 && x <= v[k - 1]))) {
    console.error(`bench/net: --rates expects ascending integers > 0 separated by commas, got ${JSON.stringify(process.argv[i + 1])}`);
    process.exit(2);
  }
  return v;
}

const flag = (name: string): boolean => process.argv.includes(`--${name}`);
{
  const i = process.argv.indexOf('--defences');
  if (i >= 0) {
    try {
      process.env.BENCH_NET_DEFENCES = JSON.stringify(JSON.parse(String(process.argv[i + 1])));
    } catch {
      console.error(`bench/net: --defences expects JSON, got ${JSON.stringify(process.argv[i + 1])}`);
      process.exit(2);
    }
  }
}

class Worker {
  readonly child: ChildProcess;
  offset = 0;
  private next = 1;
  private readonly pending = new Map<number, (m: { ok: boolean; result?: unknown; error?: string }) => void>();

  constructor(execArgv: string[] = []) {
    const extra = (process.env.BENCH_NET_WORKER_ARGS ?? '').split(' ').filter((a) => a.length > 0);
    WORKER ??= workerScript();
    this.child = fork(WORKER.script, [], { execArgv: [...WORKER.execArgv, ...extra, ...execArgv], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m) => {
      const r = m as { req: number; ok: boolean; result?: unknown; error?: string };
      this.pending.get(r.req)?.(r);
      this.pending.delete(r.req);
    });
  }

  call<T>(cmd: Record<string, unknown>): Promise<T> {
    const req = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(req, (r) => (r.ok ? resolve(r.result as T) : reject(new Error(r.error))));
      this.child.send({ req, cmd });
    });
  }

  /** Offset of the worker's clock against ours (see module comment). */
  async measureOffset(): Promise<void> {
    let best = Infinity;
    for (let i = 0; i < 30; i++) {
      const t0 = clock();
      const w = await this.call<number>({ type: 'clock' });
      const t1 = clock();
      if (t1 - t0 < best) {
        best = t1 - t0;
        this.offset = w - (t0 + t1) / 2;
      }
    }
  }

  stop(): void {
    this.child.disconnect();
  }
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until the active views of all nodes are symmetric and connected; ms taken, or -1 on timeout. */
async function waitSettled(ws: Worker[], timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const states = (await Promise.all(ws.map((w) => w.call<Array<{ address: string; neighbors: string[] }>>({ type: 'state' })))).flat();
    const by = new Map(states.map((x) => [x.address, x.neighbors]));
    const symmetric = states.every((x) => x.neighbors.length > 0 && x.neighbors.every((p) => by.get(p)?.includes(x.address) ?? false));
    const seen = new Set([states[0].address]);
    const stack = [states[0].address];
    while (stack.length > 0) {
      for (const p of by.get(stack.pop()!) ?? []) {
        if (!seen.has(p)) {
          seen.add(p);
          stack.push(p);
        }
      }
    }
    if (symmetric && seen.size === states.length) return Date.now() - t0;
    await sleep(200);
  }
  return -1;
}

/** Per message of `phase`: all-node latency (ms), or null if some node missed it. */
async function collect(ws: Worker[], perWorker: number[], phase: number, count: number): Promise<{ lat: number[]; idx: number[]; complete: number }> {
  const reports = await Promise.all(ws.map((w) => w.call<Array<[number, number, number, number]>>({ type: 'report', phase })));
  const pub = ws[0].offset;
  const lat: number[] = [];
  const idxs: number[] = [];
  let complete = 0;
  const byIdx = reports.map((r) => new Map(r.map((x) => [x[0], x])));
  for (let idx = 0; idx < count; idx++) {
    let worst = -Infinity;
    let ok = true;
    byIdx.forEach((r, wi) => {
      const e = r.get(idx);
      if (e === undefined || e[1] < perWorker[wi]) ok = false;
      else worst = Math.max(worst, e[3] - ws[wi].offset - (e[2] - pub));
    });
    if (ok) {
      complete++;
      lat.push(worst);
      idxs.push(idx);
    }
  }
  return { lat, idx: idxs, complete };
}

interface Step {
  rate: number;
  /** The rate the publisher kept: least-squares slope of message index over send time. */
  achieved: number;
  /** The same over the span of the sends (first to last), which also counts the lateness of
   *  the step's last timer tick (see bench/net-worker.ts `publish`). */
  achievedSpan: number;
  /** Largest lateness of a send behind its schedule (ms). */
  maxBehindMs: number;
  complete: number;
  count: number;
  p50: number;
  p99: number;
  cpuPct: number;
  rssMb: number;
  /** CPU time of both workers per published message per node (µs): the cost of one delivery,
   *  much less sensitive than the throughput to other load on the machine. */
  cpuUsPerMsg: number;
  /** Encrypted runs: records sealed per published message per node, and their mean plaintext
   *  bytes (frames per record ≈ bytes / ~1,060 for 1 KB gossip); 0 in plaintext runs. */
  recordsPerMsgPerNode: number;
  bytesPerRecord: number;
}
type Usage = { cpuMicros: number; sysMicros: number; rss: number; at: number };

/** Idle traffic per node over 12 s from the nodes' own byte counters. */
async function idleBytesPerNode(ws: Worker[], n: number): Promise<number> {
  const total = async (): Promise<number> => (await Promise.all(ws.map((w) => w.call<number>({ type: 'bytes' })))).reduce((a, b) => a + b, 0);
  const b0 = await total();
  const t0 = clock();
  await sleep(12_000);
  const b1 = await total();
  // in + out over all nodes counts every byte twice; halve it for "bytes on the wire per node".
  return (b1 - b0) / 2 / ((clock() - t0) / 1000) / n;
}

/** One ramp step: `rate` msgs/s of 1 KB for ~2 s at node 0; waits ≤ 5 s for stragglers. */
async function rampStep(ws: Worker[], perWorker: number[], phase: number, rate: number, n: number): Promise<Step> {
  const count = Math.max(1000, rate * 2);
  const usage = (): Promise<Usage[]> => Promise.all(ws.map((w) => w.call<Usage>({ type: 'usage' })));
  const u0 = await usage();
  const c0 = await counters(ws);
  const pub = await ws[0].call<Published>({ type: 'publish', phase, rate, count, size: 1024 });
  let r = await collect(ws, perWorker, phase, count);
  for (let t = 0; t < 20 && r.complete < count; t++) {
    await sleep(250);
    r = await collect(ws, perWorker, phase, count);
  }
  const u1 = await usage();
  const c1 = await counters(ws);
  const cpuPct = u1.reduce((s, u, i) => s + (u.cpuMicros - u0[i].cpuMicros) / 10 / (u.at - u0[i].at), 0) / n;
  const rssMb = u1.reduce((s, u) => s + u.rss, 0) / 1024 / 1024 / n;
  const cpuUsPerMsg = u1.reduce((s, u, i) => s + u.cpuMicros - u0[i].cpuMicros, 0) / count / n;
  const sysUsPerMsg = u1.reduce((s, u, i) => s + u.sysMicros - u0[i].sysMicros, 0) / count / n;
  const sealed = c1.recordsSealed - c0.recordsSealed;
  const recordsPerMsgPerNode = sealed / count / n;
  const bytesPerRecord = sealed > 0 ? (c1.recordBytesSealed - c0.recordBytesSealed) / sealed : 0;
  const step = { rate, achieved: pub.rate, achievedSpan: pub.spanRate, maxBehindMs: pub.maxBehindMs, complete: r.complete, count, p50: pct(r.lat, 50), p99: pct(r.lat, 99), cpuPct, rssMb, cpuUsPerMsg, recordsPerMsgPerNode, bytesPerRecord };
  const records = sealed > 0 ? `, ${recordsPerMsgPerNode.toFixed(2)} records sealed/msg/node of ${bytesPerRecord.toFixed(0)} B` : '';
  console.log(
    `rate ${rate}/s: published ${step.achieved.toFixed(0)}/s (over the span ${step.achievedSpan.toFixed(0)}/s, at most ${step.maxBehindMs.toFixed(1)} ms behind), complete ${r.complete}/${count}, p50 ${step.p50.toFixed(1)} ms, ` +
      `p99 ${step.p99.toFixed(1)} ms, cpu ${cpuPct.toFixed(1)} %/node (${cpuUsPerMsg.toFixed(1)} µs/msg/node, ${sysUsPerMsg.toFixed(1)} of it in the kernel), rss ${rssMb.toFixed(1)} MB/node, ` +
      `grafts ${c1.graft - c0.graft} (held ${c1.graftsHeld - c0.graftsHeld} times), duplicates ${c1.duplicates - c0.duplicates}, share-refused ${c1.shareDropped - c0.shareDropped}, ` +
      `fair-queue dropped ${c1.fqDropped - c0.fqDropped} (queued ${c1.fqQueued - c0.fqQueued}, past a bound ${c1.fqOver - c0.fqOver}), links closed slow-peer ${c1.slowPeerCloses - c0.slowPeerCloses}, ` +
      `ihave frames ${c1.ihave - c0.ihave}, view changes ${c1.viewChanges - c0.viewChanges}${records}`,
  );
  return step;
}

/** Memory per extra node: one process (--expose-gc), 1 vs 21 nodes, after GC. */
async function memPerExtraNode(): Promise<{ rssMb: number; heapMb: number }> {
  const m = new Worker(['--expose-gc']);
  const mem = await m.call<{ rss1: number; heap1: number; rssN: number; heapN: number }>({ type: 'mem', extra: 20 });
  m.stop();
  return { rssMb: (mem.rssN - mem.rss1) / 20 / 1024 / 1024, heapMb: (mem.heapN - mem.heap1) / 20 / 1024 / 1024 };
}

type Counters = {
  viewChanges: number;
  graft: number;
  ihave: number;
  prune: number;
  gossip: number;
  duplicates: number;
  graftsHeld: number;
  /** Encrypted records sealed / opened by all nodes, and the plaintext bytes sealed (--encrypt). */
  recordsSealed: number;
  recordBytesSealed: number;
  recordsOpened: number;
  /** Messages refused by the nodes' origin share (src/net/limits.ts; 0 for a lone publisher). */
  shareDropped: number;
  /** Gossip frames the nodes' fair queues held back (src/net/fair-queue.ts): dropped over a
   *  bound, and queued (served a turn or more after their read). */
  fqDropped: number;
  fqQueued: number;
  /** ... and queued past a bound (h31f: relays and an old link's own messages within rate). */
  fqOver: number;
  /** Links the nodes closed because the peer could not keep up (its send queue over the
   *  outbox's bound: `closes['slow-peer']` in stats). */
  slowPeerCloses: number;
};

async function counters(ws: Worker[]): Promise<Counters> {
  const all = await Promise.all(ws.map((w) => w.call<Counters>({ type: 'counters' })));
  const sum: Counters = { viewChanges: 0, graft: 0, ihave: 0, prune: 0, gossip: 0, duplicates: 0, graftsHeld: 0, recordsSealed: 0, recordBytesSealed: 0, recordsOpened: 0, shareDropped: 0, fqDropped: 0, fqQueued: 0, fqOver: 0, slowPeerCloses: 0 };
  for (const c of all) for (const k of Object.keys(sum) as (keyof Counters)[]) sum[k] += c[k];
  return sum;
}

/** Latency at low load: 200 messages of 1 KB at 50/s; prints the protocol traffic it caused. */
async function lowLoad(ws: Worker[], perWorker: number[], phase: number): Promise<{ lat: number[]; complete: number }> {
  const c0 = await counters(ws);
  await ws[0].call({ type: 'publish', phase, rate: 50, count: 200, size: 1024 });
  let low = await collect(ws, perWorker, phase, 200);
  for (let t = 0; t < 20 && low.complete < 200; t++) {
    await sleep(250);
    low = await collect(ws, perWorker, phase, 200);
  }
  const c1 = await counters(ws);
  const d = Object.fromEntries(Object.keys(c0).map((k) => [k, c1[k as keyof Counters] - c0[k as keyof Counters]]));
  const order = low.lat.map((_, i) => i).sort((x, y) => low.lat[y] - low.lat[x]);
  const worst = order.slice(0, 4).map((i) => `${low.lat[i].toFixed(1)} (#${low.idx[i]})`);
  console.log(
    `low load (run ${phase}): complete ${low.complete}/200, p50 ${pct(low.lat, 50).toFixed(2)} ms, p99 ${pct(low.lat, 99).toFixed(2)} ms, ` +
      `worst ${worst.join(', ')} ms; ${JSON.stringify(d)}`,
  );
  return low;
}

/** One full measurement (fresh workers and nodes) in plaintext or with every node keyed;
 *  prints the table, writes bench/results/net-<N>[-encrypt].json and returns the row. */
async function measure(N: number, encrypt: boolean, ladder: number[]): Promise<Record<string, unknown>> {
  // Options for quicker runs while tuning: --low-runs K (default 2), --rates a,b,c, --skip-idle, --skip-mem.
  const lowRuns = Math.max(1, arg('low-runs', 2));
  const ws = [new Worker(), new Worker()];
  const perWorker = [Math.ceil(N / 2), Math.floor(N / 2)];
  await Promise.all(ws.map((w) => w.measureOffset()));
  const keys = encrypt ? [generateKey()] : undefined;
  const addrs = await Promise.all(ws.map((w, i) => w.call<string[]>({ type: 'start', count: perWorker[i], profile: 'lan', seed: 1 + 1000 * i, keys })));
  await ws[0].call({ type: 'join', seeds: [addrs[0][0]] });
  await ws[1].call({ type: 'join', seeds: [addrs[0][0]] });
  const settledMs = await waitSettled(ws, 30_000);
  console.log(settledMs >= 0 ? `overlay connected and symmetric after ${settledMs} ms` : 'WARNING: overlay not connected+symmetric after 30 s; measuring anyway');
  const idleBps = flag('skip-idle') ? NaN : await idleBytesPerNode(ws, N);
  const lows: number[][] = [];
  let lowComplete = 0;
  for (let k = 1; k <= lowRuns; k++) {
    const low = await lowLoad(ws, perWorker, k);
    lows.push(low.lat);
    lowComplete += low.complete;
  }
  const p99s = lows.map((l) => pct(l, 99));
  const p50s = lows.map((l) => pct(l, 50));
  const steps: Step[] = [];
  for (const [i, rate] of ladder.entries()) {
    const step = await rampStep(ws, perWorker, 100 + i, rate, N);
    steps.push(step);
    if (step.complete < step.count || step.p99 >= 200) break;
  }
  const passing = steps.filter((s) => s.complete === s.count && s.p99 < 200);
  const best = passing.length > 0 ? passing[passing.length - 1] : null;
  ws.forEach((w) => w.stop());
  const mem = flag('skip-mem') ? { rssMb: NaN, heapMb: NaN } : await memPerExtraNode();
  const result = {
    nodes: N,
    workers: 2,
    // Cluster keyring on every node (--encrypt): AES-256-GCM records, mode enforce.
    encrypt,
    overlay_settled_ms: settledMs,
    cpus: os.cpus().length,
    loadavg_1m_at_end: round(os.loadavg()[0]),
    node: process.version,
    // How the workers ran the library: the sources through tsx (default) or compiled by tsc (--compiled).
    runner: flag('compiled') ? 'tsc' : 'tsx',
    // Worst run of the low-load part (each run: 200 messages at 50/s).
    latency_p50_ms: round(Math.max(...p50s)),
    latency_p99_ms: round(Math.max(...p99s)),
    latency_p99_runs_ms: p99s.map(round),
    latency_complete: `${lowComplete}/${200 * lowRuns}`,
    throughput_msgs_per_s: best === null ? 0 : round(best.achieved),
    throughput_p99_ms: best === null ? null : round(best.p99),
    cpu_us_per_msg_per_node: round((best ?? steps[0]).cpuUsPerMsg),
    idle_bytes_per_s_per_node: round(idleBps),
    rss_mb_per_node: round((best ?? steps[0]).rssMb),
    cpu_percent_per_node: round((best ?? steps[0]).cpuPct),
    mem_per_extra_node_mb: round(mem.rssMb),
    heap_per_extra_node_mb: round(mem.heapMb),
    ramp: steps.map((s) => ({ ...s, achieved: round(s.achieved), achievedSpan: round(s.achievedSpan), maxBehindMs: round(s.maxBehindMs), p50: round(s.p50), p99: round(s.p99), cpuPct: round(s.cpuPct), rssMb: round(s.rssMb), cpuUsPerMsg: round(s.cpuUsPerMsg), recordsPerMsgPerNode: round(s.recordsPerMsgPerNode), bytesPerRecord: round(s.bytesPerRecord) })),
  };
  printAndSave(result, encrypt ? `${N}-encrypt` : String(N));
  return result;
}

/** The default ramp (`--rates` replaces it). */
const RATES = [250, 500, 1000, 2000, 3000, 5000, 7500, 10_000, 11_000, 12_500, 15_000, 20_000];

async function main(): Promise<void> {
  const N = arg('nodes', 20);
  if (N < 2) {
    console.error('bench/net: --nodes expects an integer ≥ 2');
    process.exit(2);
  }
  if (!flag('compare')) {
    await measure(N, flag('encrypt'), rates(RATES));
    return;
  }
  if (flag('encrypt')) {
    console.error('bench/net: --compare runs both plaintext and encrypted; drop --encrypt');
    process.exit(2);
  }
  // Pairs alternate which mode runs first (P E, E P, P E, ...) so that a load trend on the
  // machine does not always favour the same mode.
  const pairs = Math.max(1, arg('pairs', 3));
  const ladder = rates(COMPARE_RATES);
  const out: PairResult[] = [];
  for (let k = 1; k <= pairs; k++) {
    const first = k % 2 === 1 ? 'plain' : 'encrypt';
    const order = first === 'plain' ? [false, true] : [true, false];
    const rows: Record<string, unknown>[] = [];
    for (const enc of order) {
      console.log(`--- pair ${k}/${pairs}: ${enc ? 'encrypted' : 'plaintext'} (1-min load average ${os.loadavg()[0].toFixed(2)})`);
      rows.push(await measure(N, enc, ladder));
    }
    const [plain, enc] = first === 'plain' ? rows : [rows[1], rows[0]];
    out.push(comparePair(k, first, plain as unknown as NetRun, enc as unknown as NetRun));
    for (const line of formatPairs(out)) console.log(line);
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/net-${N}-compare.json`, import.meta.url);
  writeFileSync(file, JSON.stringify({ nodes: N, rates: ladder, ...summarize(out) }, null, 2) + '\n');
  console.log(`wrote ${fileURLToPath(file)} (net-${N}.json and net-${N}-encrypt.json hold the last run of each mode)`);
}

function printAndSave(r: Record<string, unknown>, n: string): void {
  console.table({
    'latency p50 to all (ms)': { value: r.latency_p50_ms, target: '' },
    'latency p99 to all (ms)': { value: r.latency_p99_ms, target: '< 20' },
    'throughput (msgs/s, p99 < 200 ms)': { value: r.throughput_msgs_per_s, target: '≥ 10000' },
    'idle bytes/s per node': { value: r.idle_bytes_per_s_per_node, target: '< 300' },
    'RSS per node (MB, 2 procs)': { value: r.rss_mb_per_node, target: '' },
    'CPU per node (%)': { value: r.cpu_percent_per_node, target: '' },
    'CPU per message per node (µs)': { value: r.cpu_us_per_msg_per_node, target: '' },
    'memory per extra node (MB RSS)': { value: r.mem_per_extra_node_mb, target: '< 4' },
    'heap per extra node (MB)': { value: r.heap_per_extra_node_mb, target: '' },
  });
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = new URL(`./results/net-${n}.json`, import.meta.url);
  writeFileSync(out, JSON.stringify(r, null, 2) + '\n');
  console.log(`wrote ${fileURLToPath(out)} (1-min load average ${String(r.loadavg_1m_at_end)} on ${String(r.cpus)} CPUs)`);
}

/** Two decimals; NaN (nothing measured) becomes null in the JSON. */
function round(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : (null as unknown as number);
}

main().catch((err: unknown) => {
  console.error(`bench/net: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
