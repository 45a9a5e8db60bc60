/**
 * Concurrent bootstrap benchmark (issue 18): 20 library nodes in one process, `lan` profile,
 * each on its own loopback address (127.0.0.1–20) and one common port, so that every address
 * is known before any node listens. All nodes start at the same moment and each calls `join`
 * right after its own `start`, through the seeds its pattern gives it — most of which are not
 * listening yet:
 * - `ring`: node i through node i+1; `star`: every node through node 0; `random`: node i through
 *   a random node among those before it in a random order (a seeding graph that connects the
 *   fleet); `all-to-all`: every node through one DNS name that resolves to all 20 addresses
 *   (a resolver passed with the `resolver` option: the library's resolution code runs, the
 *   name does not need to exist); `staggered`: as `random`, each node started after a random
 *   delay of 0–2 s; `down-seeds`: two seeds that never listen (127.0.0.21–22), then a random
 *   node as in `random`.
 *
 * Measures, from the moment the first node starts: the time until the active-view graph is one
 * component (`one_component_s`, polled every 10 ms), until every active view holds at least 4
 * (`full_views_s`, null if not within the 15 s bound), then a broadcast from a random node sent
 * at once: how many of the 20 delivered it and the time until the last did (`broadcast_ms`).
 *
 * Run: npm run bench:bootstrap [-- --runs K]   Prints a table, writes bench/results/bootstrap-20.json.
 * With several runs per pattern the worst one is reported (and every run is in the JSON).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { createServer } from 'node:net';
import { createNode } from '../src/index.js';
import { overlayComponents as components } from './support/overlay.js';

const N = 20;
const BOUND_MS = 15_000;
const PATTERNS = ['ring', 'star', 'random', 'all-to-all', 'staggered', 'down-seeds'] as const;
type Pattern = (typeof PATTERNS)[number];
const QUIET = { debug() {}, info() {}, warn() {}, error(o: unknown, m?: string) { console.error(m, o); } };

interface Row {
  seeding: Pattern;
  nodes: number;
  one_component_s: number | null;
  full_views_s: number | null;
  broadcast_delivered: number;
  broadcast_ms: number | null;
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(process.argv[i + 1]);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  if (a === null || typeof a === 'string') throw new Error('no free port');
  return a.port;
}

/** The seeds of node i (addresses are `ip:port`, known before anybody listens). */
function seedsOf(p: Pattern, i: number, addr: (k: number) => string, order: number[], rank: number[], port: number): string[] {
  const other = (): string => addr(rank[i] === 0 ? order[1] : order[Math.floor(Math.random() * rank[i])]);
  switch (p) {
    case 'ring':
      return [addr((i + 1) % N)];
    case 'star':
      return i === 0 ? [] : [addr(0)];
    case 'random':
    case 'staggered':
      return [other()];
    case 'all-to-all':
      return [`fleet.rumor.test:${port}`];
    case 'down-seeds':
      return [`127.0.0.${N + 1}:${port}`, `127.0.0.${N + 2}:${port}`, other()];
  }
}

async function runOnce(p: Pattern): Promise<Row> {
  const port = await freePort();
  const ips = Array.from({ length: N }, (_, i) => `127.0.0.${i + 1}`);
  const addr = (k: number): string => `${ips[k]}:${port}`;
  const resolver = async (host: string): Promise<string[]> => {
    if (host === 'fleet.rumor.test') return ips.slice();
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  };
  const order = Array.from({ length: N }, (_, i) => i).sort(() => Math.random() - 0.5);
  const rank: number[] = [];
  order.forEach((v, k) => (rank[v] = k));
  const nodes = ips.map((ip, i) => createNode({ host: ip, port, name: `b${i}`, resolver, logger: QUIET }));
  const t0 = performance.now();
  const started = nodes.map(async (n, i) => {
    if (p === 'staggered') await new Promise((r) => setTimeout(r, Math.random() * 2000));
    await n.start();
    n.join(seedsOf(p, i, addr, order, rank, port), { timeoutMs: BOUND_MS }).catch(() => {});
  });
  let oneComponent: number | null = null;
  let fullViews: number | null = null;
  const deadline = t0 + BOUND_MS;
  let allUp = false;
  void Promise.all(started).then(() => (allUp = true));
  while (performance.now() < deadline && (oneComponent === null || fullViews === null)) {
    await new Promise((r) => setTimeout(r, 10));
    if (!allUp) continue;
    const t = (performance.now() - t0) / 1000;
    if (oneComponent === null && components(nodes) === 1) oneComponent = t;
    if (fullViews === null && nodes.every((n) => n.neighbors().length >= 4)) fullViews = t;
    if (oneComponent !== null && fullViews === null && performance.now() - t0 > 1000 * oneComponent + 50) break;
  }
  // A broadcast right after the overlay is one component (or at the bound).
  const got = new Set<number>();
  const origin = Math.floor(Math.random() * N);
  let last = 0;
  const tb = performance.now();
  nodes.forEach((n, i) => n.on('message', () => { got.add(i); last = performance.now(); }));
  if (allUp) nodes[origin].broadcast('bootstrap');
  const until = performance.now() + 5000;
  while (got.size < N && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
  // Keep watching the views until the bound when they are not full yet.
  while (fullViews === null && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    if (nodes.every((n) => n.neighbors().length >= 4)) fullViews = (performance.now() - t0) / 1000;
  }
  await Promise.all(nodes.map((n) => n.close().catch(() => {})));
  const r3 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1000) / 1000);
  return {
    seeding: p,
    nodes: N,
    one_component_s: r3(oneComponent),
    full_views_s: r3(fullViews),
    broadcast_delivered: got.size,
    broadcast_ms: got.size === N ? Math.round(last - tb) : null,
  };
}

function worst(rows: Row[]): Row {
  const key = (r: Row): number => (r.one_component_s ?? 1e9) + (r.broadcast_delivered < N ? 1e9 : 0);
  return rows.reduce((a, b) => (key(b) > key(a) ? b : a));
}

function table(rows: Row[]): string {
  const cols = Object.keys(rows[0]) as (keyof Row)[];
  const cells = rows.map((r) => cols.map((c) => (r[c] === null ? '-' : String(r[c]))));
  const w = cols.map((c, i) => Math.max(c.length, ...cells.map((x) => x[i].length)));
  const line = (xs: string[]): string => xs.map((x, i) => x.padEnd(w[i])).join('  ').trimEnd();
  return [line(cols), line(w.map((x) => '-'.repeat(x))), ...cells.map(line)].join('\n');
}

async function main(): Promise<void> {
  const runs = arg('runs', 3);
  const all: Row[] = [];
  const rows: Row[] = [];
  for (const p of PATTERNS) {
    const mine: Row[] = [];
    for (let k = 0; k < runs; k++) mine.push(await runOnce(p));
    all.push(...mine);
    rows.push(worst(mine));
  }
  const load = os.loadavg().map((x) => Math.round(x * 100) / 100);
  console.log(`bootstrap: ${N} nodes in one process, lan profile, worst of ${runs} runs per pattern (load average ${load.join(', ')})`);
  console.log(table(rows));
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const out = new URL(`./results/bootstrap-${N}.json`, import.meta.url);
  writeFileSync(out, JSON.stringify({ nodes: N, runsPerPattern: runs, rows, runs: all, loadAverage: load, date: new Date().toISOString() }, null, 2) + '\n');
  console.log(`wrote ${out.pathname}`);
}

void main();
