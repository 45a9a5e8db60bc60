/**
 * CPU an idle rumor agent costs (the floor under every N = 50 figure, where 50 agents share
 * the machine's cores):
 *
 *   npm run bench:idle-cpu -- [--nodes 20] [--settle-s 10] [--idle-s 20] [--profile lan|wan|local]
 *                             [--cpu-prof DIR]
 *
 * Agent 0 starts, the others join it (as bench/cluster.ts does); once every agent lists N
 * alive, `--settle-s` of quiet, then the `--idle-s` window. Nothing talks to the agents during
 * the window (no HTTP polling): each agent's CPU time is read from the kernel before and after,
 * the sum of `/proc/PID/task/<tid>/schedstat` field 1 (ns on CPU) over the process's threads
 * (main thread, libuv pool, V8 GC / compiler threads). Printed per agent and summarised as
 * `cpu_ms_per_s_per_agent` {p50, max, mean}; written to `bench/results/idle-cpu-<N>.json`.
 *
 * `--cpu-prof DIR` starts agent 1 under `node --cpu-prof` (profile written into DIR when it
 * stops; it covers its whole life, join included: look at the periodic frames).
 *
 * CPU time, not wall-clock: it depends little on the machine's load (a busy machine adds cache
 * and scheduling overhead, so the 1-min load average is printed and written next to it).
 */
import { spawn as spawnChild, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentArgs, rumorBin, spawnAgent, stopAll, type AgentSpec } from '../src/cli/cluster.js';
import { PortPlan, startFleet } from './support/ports.js';
import { sleep, until } from './support/wait.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  nodes: number;
  settleS: number;
  idleS: number;
  profile: 'lan' | 'wan' | 'local';
  cpuProf: string | null;
}

const USAGE = 'expected --nodes N≥2, --settle-s S, --idle-s S≥1, --profile lan|wan|local, --cpu-prof DIR';

function parseArgs(argv: string[]): Options {
  const o: Options = { nodes: 20, settleS: 10, idleS: 20, profile: 'lan', cpuProf: null };
  for (let i = 0; i < argv.length; i += 2) {
    const a = argv[i];
    const raw = argv[i + 1];
    if (raw === undefined) fail(`missing value for ${JSON.stringify(a)} (${USAGE})`);
    if (a === '--profile') {
      if (raw !== 'lan' && raw !== 'wan' && raw !== 'local') fail(`bad --profile ${JSON.stringify(raw)} (expected lan, wan or local)`);
      o.profile = raw;
      continue;
    }
    if (a === '--cpu-prof') {
      o.cpuProf = resolve(raw);
      continue;
    }
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 0 || v > 100_000) fail(`bad value for ${JSON.stringify(a)}: ${JSON.stringify(raw)} (expected an integer 0..100000)`);
    if (a === '--nodes' && v >= 2) o.nodes = v;
    else if (a === '--settle-s') o.settleS = v;
    else if (a === '--idle-s' && v >= 1) o.idleS = v;
    else fail(`unknown or bad argument ${JSON.stringify(a)} (${USAGE})`);
  }
  return o;
}

function fail(msg: string): never {
  process.stderr.write(`bench/idle-cpu: ${msg}\n`);
  process.exit(2);
}

async function getJson(port: number, path: string): Promise<unknown> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  if (!r.ok) throw new Error(`HTTP ${r.status} on ${path}`);
  return r.json();
}

/** Nanoseconds `pid` has spent on a CPU, summed over its live threads (schedstat field 1),
 *  and how many times its main thread was scheduled in (field 3: its wake-ups). */
export function cpuNs(pid: number): { ns: number; runs: number } {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read: its time is lost either way
    }
  }
  const runs = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ')[2]);
  return { ns, runs };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** `spawnAgent` under `node --cpu-prof` (not allowed in NODE_OPTIONS, hence the own spawn). */
function spawnProfiled(spec: AgentSpec, profDir: string): ChildProcess {
  const fd = openSync(spec.logFile as string, 'a');
  const child = spawnChild(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, rumorBin(), ...agentArgs(spec)], { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  return child;
}

async function startCluster(o: Options, dir: string, children: ChildProcess[]): Promise<void> {
  // The plan's arrays are updated in place when an agent loses a port race (support/ports.ts).
  const plan = await PortPlan.create(o.nodes);
  const { gossip, api } = plan;
  const logFile = (i: number): string => join(dir, `agent-${i}.log`);
  const spawn = (i: number): ChildProcess => {
    const spec: AgentSpec = {
      name: `n${i}`,
      gossipPort: gossip[i],
      apiPort: api[i],
      profile: o.profile,
      join: i === 0 ? [] : [`127.0.0.1:${gossip[0]}`],
      logFile: logFile(i),
      extraArgs: ['--log-level', 'warn'],
    };
    return i === 1 && o.cpuProf ? spawnProfiled(spec, o.cpuProf) : spawnAgent(spec);
  };
  await startFleet(plan, o.nodes, children, { what: 'agent', spawn, up: (i) => getJson(api[i], '/v1/members'), logFile, timeoutMs: 60_000, everyMs: 100 });
  const joined = await until(120_000, async () => {
    const lists = await Promise.all(api.map((p) => getJson(p, '/v1/members') as Promise<{ members: { status: string }[] }>));
    return lists.every((l) => l.members.filter((m) => m.status === 'alive').length === o.nodes) || undefined;
  }, 250);
  if (joined === undefined) throw new Error(`not every agent listed ${o.nodes} alive within 120 s`);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-built.mjs')], { stdio: 'inherit' }).status !== 0) fail('build failed (npm run prepare)');
  if (o.cpuProf) mkdirSync(o.cpuProf, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'bench-idle-cpu-'));
  const children: ChildProcess[] = [];
  const load = [loadavg()[0]];
  try {
    await startCluster(o, dir, children);
    process.stderr.write(`joined; ${o.settleS} s settle, ${o.idleS} s window\n`);
    await sleep(o.settleS * 1000);
    const pids = children.map((c) => c.pid as number);
    const c0 = pids.map(cpuNs);
    const t0 = performance.now();
    await sleep(o.idleS * 1000);
    const c1 = pids.map(cpuNs);
    const secs = (performance.now() - t0) / 1000;
    load.push(loadavg()[0]);
    // The profiled agent (--cpu-prof, agent 1) pays the profiler's sampling: left out of the summary.
    const counted = (i: number): boolean => !(o.cpuProf && i === 1);
    const per = c1.map((v, i) => (v.ns - c0[i].ns) / 1e6 / secs);
    const wake = c1.map((v, i) => (v.runs - c0[i].runs) / secs);
    const sorted = per.filter((_, i) => counted(i)).sort((a, b) => a - b);
    const wakeSorted = wake.filter((_, i) => counted(i)).sort((a, b) => a - b);
    const r = {
      nodes: o.nodes,
      profile: o.profile,
      cpu_ms_per_s_per_agent: {
        p50: round2(quantile(sorted, 0.5)),
        max: round2(sorted[sorted.length - 1]),
        mean: round2(sorted.reduce((a, b) => a + b, 0) / sorted.length),
      },
      main_thread_wakeups_per_s_per_agent: { p50: Math.round(quantile(wakeSorted, 0.5)), max: Math.round(wakeSorted[wakeSorted.length - 1]) },
      per_agent: per.map(round2),
      profiled_agent: o.cpuProf ? 1 : null,
      window_s: round2(secs),
      options: o,
      load: load.map((x) => Math.round(x * 10) / 10),
      date: new Date().toISOString(),
    };
    process.stdout.write(`idle CPU per agent, ms of CPU per s (${o.nodes} agents, profile ${o.profile}, ${r.window_s} s window):\n`);
    process.stdout.write('  agent   ms/s  wake-ups/s (main thread)\n');
    per.forEach((v, i) => process.stdout.write(`  n${String(i).padEnd(5)} ${v.toFixed(2).padStart(6)} ${wake[i].toFixed(0).padStart(6)}${counted(i) ? '' : '  (profiled: not counted)'}\n`));
    const s = r.cpu_ms_per_s_per_agent;
    const w = r.main_thread_wakeups_per_s_per_agent;
    process.stdout.write(`  p50 ${s.p50}  max ${s.max}  mean ${s.mean} ms/s (all ${o.nodes} agents: ${round2(s.mean * o.nodes / 10)} % of one core); wake-ups p50 ${w.p50}/s max ${w.max}/s\n`);
    process.stdout.write(`load average (1 min) at start and end: ${r.load.join(' -> ')}\n`);
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `idle-cpu-${o.nodes}.json`);
    writeFileSync(file, JSON.stringify(r, null, 2) + '\n');
    process.stdout.write(`wrote ${file}\n`);
  } finally {
    await stopAll(children.filter((c) => c !== undefined));
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/idle-cpu: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
