/**
 * `bench/flood.ts --nodes-in processes` (issue 13 §2; h36f): the flood bench's five nodes each
 * in its own process (bench/flood-node.ts), as deployed nodes are, instead of all five in the
 * bench's one JS thread. In one thread a node's turn waits for the other four's (their seen
 * caches grow in the same turn, their collections are one heap's: docs/results.md, h35f); here
 * each has its own event loop, heap and collector, and the machine's scheduler shares the
 * cores among them. The rest is bench/flood.ts's design: the same conditions' keys (`none`, the
 * ratio's denominator, always runs; `on`, `sustained`), the same flooder process
 * (bench/flood-worker.ts, at `--flooder-priority`, default `idle`, frames pre-encoded), the same warm-up peer in every
 * condition (the defaults quarantine), the same quiet second, then `--messages` honest
 * broadcasts (default 100) at node 1 at 20/s, the flood starting before message 10. Latency:
 * from the publish at node 1 to the last of the five deliveries, each timed in its node's
 * process with `process.hrtime.bigint()` (CLOCK_MONOTONIC: one clock across processes) and
 * collected after the run. Ratio: honest p99 with the flood / without, as bench/flood.ts.
 * Prints one line per condition and writes bench/results/flood-procs.json.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEFAULT_LIMITS } from '../src/net/limits.js';
import type { Offered } from './flood-worker.js';
import { childRequest as request } from './support/child-request.js';
import { flooderPriority, setFlooderPriority } from './support/flooder-priority.js';
import { pct } from './support/stats.js';
import type { NodeReport } from './flood-node.js';

const arg = (k: string, d: number): number => {
  const i = process.argv.indexOf(`--${k}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const MESSAGES = arg('messages', 100);
const POOL = arg('flooder-pool', 200_000);
const SUSTAINED_RATE = arg('sustained-rate', Math.round(0.9 * DEFAULT_LIMITS.originPerSec));
const ONLY = ((): string[] => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? String(process.argv[i + 1]).split(',') : ['on', 'sustained'];
})();
if (!Number.isInteger(MESSAGES) || MESSAGES < 4 || !Number.isFinite(SUSTAINED_RATE) || SUSTAINED_RATE <= 0 || !Number.isInteger(POOL) || POOL < 0) {
  console.error('bench/flood --nodes-in processes: --messages expects an integer ≥ 4, --sustained-rate a positive number, --flooder-pool an integer ≥ 0');
  process.exit(2);
}
const WHO = 'bench/flood --nodes-in processes';
const PRIORITY = flooderPriority(process.argv, WHO);
const FLOOD_AT = Math.min(10, Math.floor(MESSAGES / 4));
/** The flooder's threads at SCHED_IDLE / all, when last started (null: not Linux). */
let flooderThreads: [number, number] | null = null;

const FLOODER = '127.0.0.1:9';
const WARM_FLOODER = '127.0.0.1:10';
type Flood = 'none' | 'burst' | 'sustained';
const CONDITIONS: Array<[key: string, label: string, flood: Flood]> = [
  ['none', 'no flood', 'none'],
  ['on', 'flood, defences on (defaults)', 'burst'],
  ['sustained', `sustained flood at ${SUSTAINED_RATE}/s, defences on`, 'sustained'],
];
const unknown = ONLY.find((k) => !CONDITIONS.some(([key]) => key === k));
if (unknown !== undefined) {
  console.error(`bench/flood --nodes-in processes: --only expects keys of ${CONDITIONS.map(([k]) => k).join(', ')}, got ${JSON.stringify(unknown)}`);
  process.exit(2);
}

async function must<T>(p: Promise<T | null>, what: string): Promise<T> {
  const r = await p;
  if (r === null) throw new Error(`bench/flood --nodes-in processes: no ${what} in time`);
  return r;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const tsx = { execArgv: ['--import', 'tsx'] };

async function run(label: string, flood: Flood): Promise<Record<string, unknown>> {
  const procs = Array.from({ length: 5 }, (_, i) => fork(fileURLToPath(new URL('./flood-node.ts', import.meta.url)), [String(i)], tsx));
  let quarantinedAt = -1;
  let warmQuarantined = false;
  procs[0].on('message', (m: { type?: string; peer?: string; t?: number }) => {
    if (m.type !== 'quarantined') return;
    if (m.peer === FLOODER && quarantinedAt < 0) quarantinedAt = m.t!;
    if (m.peer === WARM_FLOODER) warmQuarantined = true;
  });
  const addrs = await Promise.all(procs.map((p) => must(request<{ address: string }>(p, null, 'ready', 60_000), 'node start')));
  for (let i = 1; i < 5; i++) await must(request(procs[i], { cmd: 'join', to: addrs[0].address }, 'joined', 10_000), 'join');
  const t0 = Date.now();
  while (Date.now() - t0 < 10_000) {
    const ns = await Promise.all(procs.map((p) => must(request<{ n: number }>(p, { cmd: 'neighbors' }, 'neighbors', 5_000), 'neighbors')));
    if (ns.every((x) => x.n >= 2)) break;
    await sleep(50);
  }
  // The flooder, idle with its frames encoded, at `--flooder-priority` (bench/flood.ts's).
  const child = fork(fileURLToPath(new URL('./flood-worker.ts', import.meta.url)), [addrs[0].address, FLOODER, WARM_FLOODER, String(POOL)], tsx);
  setFlooderPriority(child, PRIORITY, WHO);
  await must(request(child, null, (m) => m === 'ready', 120_000), 'flooder start');
  flooderThreads = setFlooderPriority(child, PRIORITY, WHO); // the threads started meanwhile
  // The warm-up flood until node 0 quarantines it, then node 0's fair queue drains.
  if ((await request<Offered>(child, { cmd: 'warm' }, 'warmed', 10_000)) === null) child.send({ cmd: 'stop-warm' });
  const drain = Date.now() + 10_000;
  do await sleep(100);
  while ((await must(request<{ n: number }>(procs[0], { cmd: 'depth' }, 'depth', 5_000), 'depth')).n > 0 && Date.now() < drain);
  for (const p of procs) p.send({ cmd: 'mark' });
  await sleep(1000); // the same quiet second in every condition
  let floodAt = -1;
  for (let i = 0; i < MESSAGES; i++) {
    if (i === FLOOD_AT && flood !== 'none') {
      child.send({ cmd: 'start', rate: flood === 'sustained' ? SUSTAINED_RATE : 0, limit: 0 });
      floodAt = Number(process.hrtime.bigint());
    }
    procs[1].send({ cmd: 'publish', i });
    await sleep(50);
  }
  // Every node's deliveries (at most 15 s more), then the reports.
  const deadline = Date.now() + 15_000;
  let reports: NodeReport[];
  for (;;) {
    reports = await Promise.all(procs.map((p) => must(request<NodeReport>(p, { cmd: 'report' }, 'report', 10_000), 'report')));
    if (reports.every((r) => r.got.length >= MESSAGES) || Date.now() > deadline) break;
    await sleep(200);
  }
  const offered = flood !== 'none' ? await request<Offered>(child, { cmd: 'report' }, 'report', 5000) : null;
  child.kill();
  await Promise.all(procs.map((p) => new Promise((r) => (p.once('exit', r), p.send({ cmd: 'close' })))));
  const last = new Map<string, [n: number, t: number]>();
  for (const r of reports) for (const [id, t] of r.got) last.set(id, [(last.get(id)?.[0] ?? 0) + 1, Math.max(t, last.get(id)?.[1] ?? 0)]);
  const lat: number[] = [];
  const slow: { i: number; ms: number; at_node_ms: number[] }[] = [];
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  for (const [id, i, t] of reports[1].sent) {
    const l = last.get(id);
    if (l === undefined || l[0] < 5) continue;
    lat.push((l[1] - t) / 1e6);
    slow.push({ i, ms: r2((l[1] - t) / 1e6), at_node_ms: reports.map((r) => r2(((r.got.find(([g]) => g === id)?.[1] ?? t) - t) / 1e6)) });
  }
  const o = offered?.frames !== undefined ? (offered.first_ms > 0 ? [offered.first_frames, offered.first_ms] : [offered.frames, offered.ms]) : null;
  return {
    condition: label,
    delivered_all: lat.length,
    p50_ms: lat.length ? r2(pct(lat, 0.5)) : null,
    p99_ms: lat.length ? r2(pct(lat, 0.99)) : null,
    warmup_quarantined: warmQuarantined,
    quarantine_after_ms: floodAt >= 0 && quarantinedAt >= 0 ? Math.round((quarantinedAt - floodAt) / 1e6) : null,
    offered_fps: o === null || o[1] <= 0 ? null : Math.round((o[0] * 1000) / o[1]),
    flooder_late_steps: offered !== null && offered.steps > 0 ? offered.late_steps : null,
    flood_delivered: reports.reduce((k, r) => k + r.flood, 0),
    // Each node process's CPU from the quiet second's start to the report, ms (f0..f4).
    node_cpu_ms: reports.map((r) => r.cpuMs),
    honest_quarantined: reports.reduce((k, r) => k + r.honestQuarantined, 0),
    fq_queued_all: reports.reduce((k, r) => k + (r.fairQueue?.queued ?? 0), 0),
    fq_max_depth: Math.max(...reports.map((r) => r.fairQueue?.maxDepth ?? 0)),
    slowest: slow.sort((a, b) => b.ms - a.ms).slice(0, 3),
  };
}

const rows: Record<string, unknown>[] = [];
for (const [key, label, flood] of CONDITIONS) if (key === 'none' || ONLY.includes(key)) rows.push(await run(label, flood));
const base = rows[0].p99_ms as number;
for (const r of rows) r.p99_vs_no_flood = r.p99_ms === null ? null : Math.round(((r.p99_ms as number) / base) * 100) / 100;
console.log(`flooder priority ${PRIORITY}${flooderThreads === null ? '' : ` (${flooderThreads[0]} of its ${flooderThreads[1]} threads at SCHED_IDLE)`}`);
const out = { bench: 'flood', nodes_in: 'processes', flooder_priority: PRIORITY, flooder_threads_idle: flooderThreads, nodes: 5, messages: MESSAGES, rate_per_s: 20, sustained_rate: SUSTAINED_RATE, load_avg: os.loadavg().map((x) => Math.round(x * 100) / 100), cpus: os.cpus().length, rows };
for (const r of rows) {
  const s = (r.slowest as { i: number; ms: number; at_node_ms: number[] }[]).map((x) => `#${x.i} ${x.ms} ms (f0..f4 ${x.at_node_ms.join('/')})`).join(', ');
  console.log(
    `${String(r.condition)} (nodes in processes): honest p99 ${String(r.p99_ms)} ms vs ${base} ms without flood = ${String(r.p99_vs_no_flood)}×, p50 ${String(r.p50_ms)} ms; delivered ${String(r.delivered_all)}/${MESSAGES}; slowest ${s}; quarantined ${String(r.quarantine_after_ms)} ms after the flood's start; flooder offered ${String(r.offered_fps)} frames/s (late steps ${String(r.flooder_late_steps)}); flood delivered ${String(r.flood_delivered)} (5 nodes); node CPU f0..f4 ${(r.node_cpu_ms as number[]).join('/')} ms; fair queues ${String(r.fq_queued_all)} frames waited, largest depth ${String(r.fq_max_depth)}; honest quarantined ${String(r.honest_quarantined)}`,
  );
}
mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
writeFileSync(fileURLToPath(new URL('./results/flood-procs.json', import.meta.url)), JSON.stringify(out, null, 2) + '\n');
console.log(`wrote bench/results/flood-procs.json (load average ${out.load_avg.join(' ')})`);
process.exit(0);
