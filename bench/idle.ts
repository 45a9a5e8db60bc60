/**
 * Idle traffic of N rumor agents on loopback, alone (the idle column of bench/cluster.ts
 * without its other phases), with where the bytes go:
 *
 *   npm run bench:idle -- --nodes 20 [--settle-s 10] [--idle-s 20] [--tags 5]
 *
 * Agent 0 starts, the others join it (as bench/cluster.ts does); once every agent lists N
 * alive, `--tags` tag updates are made (one agent each, 1 s apart, as the cluster bench's tag
 * phase leaves piggybacked changes in flight), then `--settle-s` of quiet, then the window.
 * Counted over the `--idle-s` window:
 * - `idle_bytes_per_s_per_node`, `idle_packets_per_s_per_node`: iptables accounting rules in
 *   INPUT on the agents' gossip ports (TCP and UDP; each loopback packet once, at its receiver,
 *   with its IP and TCP/UDP headers), the same rules and formula as bench/cluster.ts;
 * - `by_type`: per message type, bytes and messages received per second per node, from the
 *   agents' own counters (`/v1/info` `stats.bytesIn`/`messagesIn`: application-level bytes,
 *   no IP/UDP/TCP headers).
 * The CLI is rebuilt first when stale (scripts/ensure-built.mjs). Writes `bench/results/idle-<N>.json`. Wall-clock traffic: indicative under load (the
 * 1-min load average is printed and written).
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnAgent, stopAll } from '../src/cli/cluster.js';
import { PortPlan, startFleet } from './support/ports.js';
import { PortAccounting } from './support/host-stats.js';
import { sleep, until } from './support/wait.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  nodes: number;
  settleS: number;
  idleS: number;
  tags: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { nodes: 20, settleS: 10, idleS: 20, tags: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    const a = argv[i];
    const v = Number(argv[i + 1]);
    const ok = Number.isInteger(v) && v >= 0 && v <= 100_000;
    if (!ok) fail(`bad value for ${JSON.stringify(a)}: ${JSON.stringify(argv[i + 1])} (expected an integer 0..100000)`);
    if (a === '--nodes' && v >= 2) o.nodes = v;
    else if (a === '--settle-s') o.settleS = v;
    else if (a === '--idle-s' && v >= 1) o.idleS = v;
    else if (a === '--tags') o.tags = v;
    else fail(`unknown or bad argument ${JSON.stringify(a)} (expected --nodes N≥2, --settle-s S, --idle-s S≥1, --tags K)`);
  }
  return o;
}

function fail(msg: string): never {
  process.stderr.write(`bench/idle: ${msg}\n`);
  process.exit(2);
}

/** `until` that fails with what did not happen. */
async function untilOrThrow<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>, everyMs = 100): Promise<T> {
  const v = await until(timeoutMs, fn, everyMs);
  if (v === undefined) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  return v;
}

async function getJson(port: number, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!r.ok) throw new Error(`HTTP ${r.status} on ${path}`);
  return r.json();
}

const accountingChain = new PortAccounting('RUMORIDLE');

// ---- per-type counters ----

type Counts = Record<string, number>;
interface Sample {
  bytesIn: Counts;
  messagesIn: Counts;
}

async function sampleAll(api: number[]): Promise<Sample[]> {
  return Promise.all(api.map(async (p) => ((await getJson(p, '/v1/info')) as { stats: Sample }).stats));
}

function perType(a: Sample[], b: Sample[], seconds: number, n: number): Record<string, { bytes_per_s: number; msgs_per_s: number }> {
  const out: Record<string, { bytes_per_s: number; msgs_per_s: number }> = {};
  for (let i = 0; i < a.length; i++) {
    for (const [t, v] of Object.entries(b[i].bytesIn)) {
      const e = (out[t] ??= { bytes_per_s: 0, msgs_per_s: 0 });
      e.bytes_per_s += (v - (a[i].bytesIn[t] ?? 0)) / seconds / n;
      e.msgs_per_s += ((b[i].messagesIn[t] ?? 0) - (a[i].messagesIn[t] ?? 0)) / seconds / n;
    }
  }
  for (const e of Object.values(out)) {
    e.bytes_per_s = Math.round(e.bytes_per_s * 10) / 10;
    e.msgs_per_s = Math.round(e.msgs_per_s * 100) / 100;
  }
  return Object.fromEntries(Object.entries(out).filter(([, e]) => e.msgs_per_s > 0).sort((x, y) => y[1].bytes_per_s - x[1].bytes_per_s));
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  // The agents run the built CLI: rebuild it first when src/ is newer (scripts/ensure-built.mjs).
  if (spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-built.mjs')], { stdio: 'inherit' }).status !== 0) fail('build failed (npm run prepare)');
  const n = o.nodes;
  const load = [loadavg()[0]];
  // The plan's arrays are updated in place when an agent loses a port race (support/ports.ts).
  const plan = await PortPlan.create(n);
  const { gossip, api } = plan;
  const dir = mkdtempSync(join(tmpdir(), 'bench-idle-'));
  const children: ChildProcess[] = [];
  const logFile = (i: number): string => join(dir, `agent-${i}.log`);
  const spawn = (i: number): ChildProcess =>
    spawnAgent({
      name: `n${i}`,
      gossipPort: gossip[i],
      apiPort: api[i],
      join: i === 0 ? [] : [`127.0.0.1:${gossip[0]}`],
      logFile: logFile(i),
      extraArgs: ['--log-level', 'warn'],
    });
  process.on('exit', () => accountingChain.stop());
  try {
    await startFleet(plan, n, children, { what: 'agent', spawn, up: (i) => getJson(api[i], '/v1/members'), logFile, timeoutMs: 60_000, everyMs: 100 });
    await untilOrThrow(`every agent to list ${n} alive`, 120_000, async () => {
      const lists = await Promise.all(api.map((p) => getJson(p, '/v1/members') as Promise<{ members: { status: string }[] }>));
      return lists.every((l) => l.members.filter((m) => m.status === 'alive').length === n) || undefined;
    }, 250);
    process.stderr.write(`joined; ${o.tags} tag updates, ${o.settleS} s settle, ${o.idleS} s window\n`);
    for (let k = 0; k < o.tags; k++) {
      await getJson(api[k % n], '/v1/tags', { set: { idle: String(k) } });
      await sleep(1000);
    }
    await sleep(o.settleS * 1000);
    const accounting = accountingChain.start(gossip);
    const c0 = accounting ? accountingChain.read() : null;
    const s0 = await sampleAll(api);
    const t0 = performance.now();
    await sleep(o.idleS * 1000);
    const c1 = accounting ? accountingChain.read() : null;
    const s1 = await sampleAll(api);
    const secs = (performance.now() - t0) / 1000;
    accountingChain.stop();
    load.push(loadavg()[0]);
    const r = {
      nodes: n,
      idle_bytes_per_s_per_node: c0 && c1 ? Math.round((c1.bytes - c0.bytes) / secs / n) : null,
      idle_packets_per_s_per_node: c0 && c1 ? Math.round(((c1.packets - c0.packets) / secs / n) * 10) / 10 : null,
      by_type: perType(s0, s1, secs, n),
      options: o,
      load_avg_1m: load.map((x) => Math.round(x * 10) / 10),
      date: new Date().toISOString(),
    };
    process.stdout.write(`idle traffic per node (iptables, headers included): ${r.idle_bytes_per_s_per_node ?? '-'} B/s, ${r.idle_packets_per_s_per_node ?? '-'} packets/s\n`);
    process.stdout.write('received per node (agents\' counters, no headers):\n');
    for (const [t, e] of Object.entries(r.by_type)) process.stdout.write(`  ${t.padEnd(16)} ${String(e.bytes_per_s).padStart(8)} B/s ${String(e.msgs_per_s).padStart(7)} msgs/s\n`);
    process.stdout.write(`load average (1 min) at start and end: ${r.load_avg_1m.join(' -> ')}\n`);
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `idle-${n}.json`);
    writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await stopAll(children.filter((c) => c !== undefined));
  }
}

main().catch((e: unknown) => {
  accountingChain.stop();
  process.stderr.write(`bench/idle: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
