/**
 * What starting an agent costs, measured from outside the process:
 *
 * - `cpuMsOf(pid)`: CPU time (ms) a live process has used so far, every thread included, from
 *   `/proc/<pid>/task/<tid>/schedstat` (nanoseconds, unlike the 10 ms ticks of `/proc/<pid>/stat`);
 * - `nodeFloorCpuMs(runs)`: the CPU of `node -e 0` from spawn to exit, the floor every Node
 *   process pays (mean of `runs`, read as the children's CPU of one shell that ran them all:
 *   `cutime + cstime` of `/proc/$$/stat`, summed exactly by the kernel, 10 ms ticks over the sum);
 * - `agentStartup(opts)`: spawn one `rumor agent` at a time, poll its `/v1/info` every 2 ms, and
 *   read its CPU at the first answer (`cpu_to_api_ms`); then let it join a peer and read its
 *   RSS and CPU once joined and settled, 2.5 s after the join, which includes the handler
 *   warm-up the agent runs 1.5 s after its start (`rss_joined_mb`, `cpu_joined_ms`).
 *
 * bench/cluster.ts reads `cpuMsOf` of every agent when it first answers (`agent_startup_cpu_ms`,
 * median) and `nodeFloorCpuMs` once per run (`node_floor_cpu_ms`).
 *
 *   npm run bench:startup                      (node --import tsx bench/startup.ts [--runs 10])
 *   npm run bench:startup -- --cluster 12      (12 agents at once: CPU and RSS of each 12 s on)
 *   npm run bench:startup -- --node-arg --max-semi-space-size=1   (A/B of a node flag, repeatable; agents then
 *                                               start as `node FLAGS bin/rumor.js`, without bin/rumor's flags)
 *   npm run bench:startup -- --keep-env        (agents keep NODE_EXTRA_CA_CERTS: see START_COST_ENV)
 *   npm run bench:startup -- --compare DIR     (A/B: starts alternate between this tree and DIR, another
 *                                               built checkout, e.g. `git archive main | tar -x -C DIR`)
 *
 * prints the floor and the agent's figures (median, min, max over the runs; with `--compare`, for
 * each tree), whether V8 accepted each tree's code cache, and writes `bench/results/startup.json`. Figures move with the machine's load: the 1-min load average
 * at the start and the end is printed with them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeRssMb } from './support/host-stats.js';
import type { PortPlan as Ports } from './support/ports.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** CPU time (ms) process `pid` has used so far, all its threads; NaN when it is gone. */
export function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    return NaN;
  }
  return ns / 1e6;
}

/** RSS (MB) of `pid` from /proc/<pid>/status; NaN when it is gone. */
export function rssMbOf(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Variables of this machine's environment that make every Node process pay at start for
 * something an agent never uses, left out of the environment the benchmarks start agents and
 * `node -e 0` with (unless `keepEnv`):
 * - `NODE_EXTRA_CA_CERTS` (set on the project's machines for their HTTPS proxy): Node reads and
 *   parses the named CA file, and its own ~140 root certificates with it, before any
 *   JavaScript runs, whether or not the process opens a TLS connection. Measured with the
 *   machine's file (/etc/ssl/certs/ca-certificates.crt): `node -e 0` 55-59 ms of CPU with it,
 *   20.5-21 ms without, and 1.8 MB more RSS (`sh -c` loops of 10 runs, load 13-19). The agent
 *   opens no TLS connection (only the client verbs' `--api https://...` does), and a fleet
 *   host, a container or a systemd unit does not set it (deploy/).
 */
export const START_COST_ENV = ['NODE_EXTRA_CA_CERTS'] as const;

/** The environment agents (and the floor) are started with: this one without `START_COST_ENV`.
 *  Those keys are present with the value `undefined` (which `spawn` leaves out) rather than
 *  absent, so that the result also overrides them when merged over `process.env`, as
 *  src/cli/cluster.ts `spawnAgent` merges its `env`. */
export function agentEnv(keepEnv: boolean): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (!keepEnv) for (const k of START_COST_ENV) env[k] = undefined;
  return env;
}

/** The `START_COST_ENV` variables set here and left out of the agents' environment. */
export function removedEnv(keepEnv: boolean): string[] {
  return keepEnv ? [] : START_COST_ENV.filter((k) => process.env[k] !== undefined);
}

/**
 * Make the V8 code cache (`dist/rumor.cjs.cache`, scripts/code-cache.mjs) unless the one there
 * was made by that script for this bundle, Node and V8 and not rewritten since (its stamp,
 * `dist/rumor.cjs.cache.json`), before a benchmark starts agents: without it every agent of a
 * fleet started at once compiles the whole bundle, and with a cache an agent wrote itself
 * (bin/rumor.js, 2 s into its run) they compile the event, query and tag paths at their first
 * use (~60 ms of event 0 at N = 50: docs/results.md, h32p). For another build (`--bin`,
 * `--compare`) whose script predates the stamp, the stamp is written here after its script ran,
 * so both builds start from a script-made cache, made once. Exits the benchmark when it cannot
 * be made.
 */
export function ensureCodeCache(root = ROOT): void {
  if (codeCacheStamped(root)) return;
  process.stderr.write(`making the code cache (node ${join(root, 'scripts', 'code-cache.mjs')})\n`);
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'code-cache.mjs')], { stdio: 'inherit', env: agentEnv(false) });
  if (r.status !== 0) throw new Error('scripts/code-cache.mjs failed: agents would start without the code cache');
  if (!codeCacheStamped(root)) writeFileSync(join(root, 'dist', 'rumor.cjs.cache.json'), `${JSON.stringify({ ...codeCacheWanted(root), cacheSha256: sha256File(join(root, 'dist', 'rumor.cjs.cache')) })}\n`);
}

/** What scripts/code-cache.mjs stamps a cache with: the bundle's build id, Node, V8, arch. */
function codeCacheWanted(root: string): Record<string, string> {
  const source = readFileSync(join(root, 'dist', 'rumor.cjs'), 'latin1');
  return { build: source.slice(source.lastIndexOf('//# rumorBuild=')).trim(), node: process.version, v8: process.versions.v8, arch: process.arch };
}

const sha256File = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** `root`'s code cache carries a stamp (scripts/code-cache.mjs) that matches its bundle, this
 *  Node and the cache file itself. */
export function codeCacheStamped(root = ROOT): boolean {
  try {
    const stamp = JSON.parse(readFileSync(join(root, 'dist', 'rumor.cjs.cache.json'), 'utf8')) as Record<string, unknown>;
    const want = codeCacheWanted(root);
    if (Object.keys(want).some((k) => stamp[k] !== want[k])) return false;
    return stamp.cacheSha256 === sha256File(join(root, 'dist', 'rumor.cjs.cache'));
  } catch {
    return false;
  }
}

/** Mean CPU (ms) of `node -e 0` over `runs` runs, spawn to exit, with this process's `node`,
 *  in the environment agents are started with (`agentEnv`). */
export function nodeFloorCpuMs(runs = 20, keepEnv = false): number {
  const script = `i=0; while [ $i -lt ${runs} ]; do "$0" -e 0; i=$((i+1)); done; cat /proc/$$/stat`;
  const r = spawnSync('sh', ['-c', script, process.execPath], { encoding: 'utf8', env: agentEnv(keepEnv) });
  // /proc/<pid>/stat: "pid (comm) state ..."; after the ")" field 3 is state, so cutime and
  // cstime (fields 16 and 17 of the whole line) are at 13 and 14 of the rest.
  const rest = r.stdout.slice(r.stdout.lastIndexOf(')') + 2).trim().split(' ');
  const ticks = Number(rest[13]) + Number(rest[14]);
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return (ticks * 1000) / hz / runs;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One GET, answered 200 or not; never throws. */
function get(port: number, path: string): Promise<{ ok: boolean; body: string }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ ok: res.statusCode === 200, body }));
      res.on('error', () => resolve({ ok: false, body: '' }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ ok: false, body: '' }));
    req.end();
  });
}

/** Poll `port`'s `path` every `everyMs` until `ok(body)`; false after `timeoutMs`. */
async function pollUntil(port: number, path: string, ok: (body: string) => boolean, timeoutMs: number, everyMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await get(port, path);
    if (r.ok && ok(r.body)) return true;
    await sleep(everyMs);
  }
  return false;
}

/** One agent start: CPU at the first API answer, and CPU and RSS once it lists `peers + 1` alive
 *  (`rss_tree_joined_mb`: the agent and the processes it keeps, its handler launcher). */
export interface StartupSample {
  cpu_to_api_ms: number;
  cpu_joined_ms: number;
  rss_joined_mb: number;
  rss_tree_joined_mb: number;
}

/** What `root`'s agent command says of its code cache (`RUMOR_CODE_CACHE_REPORT`): accepted,
 *  rejected or none, and its size; '?' when that tree's bin/rumor.js does not report it. */
export function codeCacheStatus(root = ROOT): string {
  // `agent --help`: loads the bundle as an agent does, under the agent's node flags.
  const [cmd, argv] = agentCommand(root, ['agent', '--help']);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { RUMOR_NODE: process.execPath, ...agentEnv(keepEnv), RUMOR_CODE_CACHE_REPORT: '1' } });
  return /^code cache: (.*)$/m.exec(r.stderr)?.[1] ?? '?';
}

/** `port`'s `path` answered 200; throws while it does not (the `up` of support/ports.ts). */
async function answers(port: number, path: string): Promise<void> {
  if (!(await get(port, path)).ok) throw new Error(`no answer on ${path}`);
}

/** The agents' logs (stdout and stderr): a lost port race shows in them (support/ports.ts). */
let logDir: string | undefined;
const logPath = (name: string): string => join((logDir ??= mkdtempSync(join(tmpdir(), 'bench-startup-'))), `${name}.log`);

/** Node flags put before bin/rumor.js in every agent started here (`--node-arg`, for A/B runs of V8 and Node options). */
const nodeArgs: string[] = [];
/** `--keep-env`: start agents with this process's whole environment (`START_COST_ENV` included). */
let keepEnv = false;

/** How `root`'s agent is started: as src/cli/cluster.ts `spawnAgent` does, through its `bin/rumor`
 *  launcher script (its node flags, `exec`ed: the pid is the agent's) when it has one and no
 *  `--node-arg` is given; else `node [--node-arg ...] bin/rumor.js` (an older build, or an A/B of
 *  node flags: those replace the script's). */
export function agentCommand(root: string, args: string[]): [string, string[]] {
  const script = join(root, 'bin', 'rumor');
  if (nodeArgs.length === 0 && existsSync(script)) return ['/bin/sh', [script, ...args]];
  return [process.execPath, [...nodeArgs, join(root, 'bin', 'rumor.js'), ...args]];
}

function spawnRumor(gossip: number, api: number, joinTo: string[], handler: string | undefined, logFile: string, root = ROOT): ChildProcess {
  const args = ['agent', '--name', `s${gossip}`, '--bind', `127.0.0.1:${gossip}`, '--api-addr', `127.0.0.1:${api}`, '--log-level', 'warn'];
  for (const j of joinTo) args.push('--join', j);
  if (handler) args.push('--event-handler', `user=${handler}`);
  const fd = openSync(logFile, 'a');
  const [cmd, argv] = agentCommand(root, args);
  const child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], env: { RUMOR_NODE: process.execPath, ...agentEnv(keepEnv) } });
  closeSync(fd);
  return child;
}

const aliveCount = (body: string): number => (JSON.parse(body) as { members: { status: string }[] }).members.filter((m) => m.status === 'alive').length;

/** Start `runs` agents one after the other, each joining a running seed, and measure each; the
 *  k-th start runs the `bin/rumor.js` of `roots[k % roots.length]` (A/B runs alternate). */
export async function agentStartup(runs: number, handler?: string, roots: string[] = [ROOT]): Promise<StartupSample[]> {
  const { PortPlan, startOnFreePorts } = await import('./support/ports.js');
  // Each agent is started again on new ports if one was taken before it bound it
  // (support/ports.ts): its figures are those of the attempt that came up.
  const start = async (what: string, plan: Ports, joinTo: () => string[], h: string | undefined, everyMs: number, set: (c: ChildProcess) => void, root = ROOT): Promise<ChildProcess> => {
    const logFile = logPath(what.replace(/ /g, '-'));
    const r = await startOnFreePorts({
      what,
      spawn: () => {
        const c = spawnRumor(plan.gossip[0], plan.api[0], joinTo(), h, logFile, root);
        set(c);
        return c;
      },
      up: () => answers(plan.api[0], '/v1/info'),
      reassign: () => plan.reassign(0),
      logFile,
      timeoutMs: 30_000,
      everyMs,
    });
    for (const note of r.notes) process.stderr.write(`${note}\n`);
    if (r.type === 'timeout') throw new Error(`${what} did not answer within 30 s`);
    return r.child;
  };
  const seedPorts = await PortPlan.create(1);
  let seed: ChildProcess | undefined;
  const out: StartupSample[] = [];
  try {
    await start('the seed agent', seedPorts, () => [], undefined, 10, (c) => (seed = c));
    for (let k = 0; k < runs; k++) {
      const plan = await PortPlan.create(1);
      let child: ChildProcess | undefined;
      try {
        const c = await start(`agent ${k}`, plan, () => [`127.0.0.1:${seedPorts.gossip[0]}`], handler, 2, (x) => (child = x), roots[k % roots.length]);
        const cpuApi = cpuMsOf(c.pid);
        if (!(await pollUntil(plan.api[0], '/v1/members', (b) => aliveCount(b) >= 2, 30_000, 20))) throw new Error(`agent ${k} did not join within 30 s`);
        await sleep(2500);
        out.push({ cpu_to_api_ms: cpuApi, cpu_joined_ms: cpuMsOf(c.pid), rss_joined_mb: rssMbOf(c.pid), rss_tree_joined_mb: treeRssMb(c.pid) });
      } finally {
        const c = child;
        if (c !== undefined) {
          c.kill('SIGKILL');
          await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));
        }
      }
    }
  } finally {
    seed?.kill('SIGKILL');
  }
  return out;
}

/** `n` agents started as bench/cluster.ts starts them (a seed, then the others at once, joining
 *  it, each with an event handler); `settleMs` after the last spawn, each one's CPU and RSS. */
export async function clusterSettled(n: number, settleMs: number): Promise<{ cpu_ms: number[]; rss_mb: number[] }> {
  const { PortPlan, startFleet } = await import('./support/ports.js');
  const plan = await PortPlan.create(n);
  const kids: ChildProcess[] = [];
  const logFile = (i: number): string => logPath(`cluster-${i}`);
  try {
    // Each agent is polled until it answers (refused connections before it listens cost it
    // nothing; one /v1/info request after), so that one whose port was taken before it bound
    // it is started again on new ports (support/ports.ts); the settle counts from the last spawn.
    const started = await startFleet(plan, n, kids, {
      what: 'agent',
      spawn: (i) => spawnRumor(plan.gossip[i], plan.api[i], i === 0 ? [] : [`127.0.0.1:${plan.gossip[0]}`], '/bin/true', logFile(i)),
      up: (i) => answers(plan.api[i], '/v1/info'),
      logFile,
      timeoutMs: 30_000,
      everyMs: 10,
    });
    const lastSpawn = Math.max(...started.map((s) => s.t0));
    await sleep(Math.max(0, lastSpawn + settleMs - (performance.timeOrigin + performance.now())));
    return { cpu_ms: kids.map((k) => cpuMsOf(k.pid)), rss_mb: kids.map((k) => rssMbOf(k.pid)) };
  } finally {
    for (const k of kids) k?.kill('SIGKILL');
  }
}

/** One line saying which variables the agents and the floor ran without ('' when none). */
export function envNote(keepEnv: boolean): string {
  const gone = removedEnv(keepEnv);
  return gone.length === 0 ? '' : `agents and node -e 0 run without ${gone.join(', ')} (costs every Node process its start-up work; --keep-env keeps it)\n`;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** Median, min and max of one column of `samples`. */
function column(samples: StartupSample[], k: keyof StartupSample): { median: number; min: number; max: number } {
  const xs = samples.map((s) => s[k]);
  return { median: r1(median(xs)), min: r1(Math.min(...xs)), max: r1(Math.max(...xs)) };
}

/** The figures of one tree's starts (JSON and printed table). */
function summary(root: string, samples: StartupSample[]): Record<string, unknown> {
  return {
    root,
    starts: samples.length,
    code_cache: codeCacheStatus(root),
    agent_cpu_to_api_ms: column(samples, 'cpu_to_api_ms'),
    agent_cpu_joined_ms: column(samples, 'cpu_joined_ms'),
    agent_rss_joined_mb: column(samples, 'rss_joined_mb'),
    agent_and_launcher_rss_joined_mb: column(samples, 'rss_tree_joined_mb'),
  };
}

function table(name: string, t: Record<string, unknown>): string {
  type Col = { median: number; min: number; max: number };
  const row = (label: string, v: Col): string => `${label.padEnd(40)} ${String(v.median).padStart(7)} ${String(v.min).padStart(7)} ${String(v.max).padStart(7)}\n`;
  return (
    `${`${name} (${String(t.starts)} starts)`.padEnd(40)} ${'median'.padStart(7)} ${'min'.padStart(7)} ${'max'.padStart(7)}\n` +
    row('CPU to first /v1/info answer (ms)', t.agent_cpu_to_api_ms as Col) +
    row('CPU once joined, +2.5 s (ms)', t.agent_cpu_joined_ms as Col) +
    row('RSS once joined, +2.5 s (MB)', t.agent_rss_joined_mb as Col) +
    row('RSS with its handler launcher (MB)', t.agent_and_launcher_rss_joined_mb as Col) +
    `code cache: ${String(t.code_cache)}\n`
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let runs = 10;
  let cluster = 0;
  let compare: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--runs' && Number.isInteger(v) && v >= 1) runs = Number(argv[++i]);
    else if (argv[i] === '--cluster' && Number.isInteger(v) && v >= 2) cluster = Number(argv[++i]);
    else if (argv[i] === '--node-arg' && argv[i + 1]?.startsWith('--')) nodeArgs.push(argv[++i]);
    else if (argv[i] === '--keep-env') keepEnv = true;
    else if (argv[i] === '--compare' && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) compare = resolve(argv[++i]);
    else {
      process.stderr.write(`bench/startup: unknown or bad argument ${JSON.stringify(argv[i])} (expected --runs N, --cluster N, --node-arg --FLAG, --keep-env, --compare DIR)\n`);
      process.exit(2);
    }
  }
  if (compare !== undefined && !existsSync(join(compare, 'bin', 'rumor.js'))) {
    process.stderr.write(`bench/startup: --compare ${compare}: no bin/rumor.js there (a built checkout of rumor is expected)\n`);
    process.exit(2);
  }
  if (cluster > 0) {
    // `--cluster N`: N agents at once, each one's CPU and RSS 12 s after the last spawn.
    ensureCodeCache();
    const load = loadavg()[0];
    const r = await clusterSettled(cluster, 12_000);
    process.stdout.write(
      `load average (1 min): ${r1(load)} -> ${r1(loadavg()[0])}\n${envNote(keepEnv)}${cluster} agents, 12 s after the last spawn:\n` +
        `CPU per agent (ms): ${r.cpu_ms.map((x) => Math.round(x)).join(', ')}\n` +
        `RSS per agent (MB): mean ${r1(r.rss_mb.reduce((a, b) => a + b, 0) / cluster)}, min ${r1(Math.min(...r.rss_mb))}, max ${r1(Math.max(...r.rss_mb))}\n`,
    );
    return;
  }
  const roots = compare === undefined ? [ROOT] : [ROOT, compare];
  for (const root of roots) ensureCodeCache(root);
  const load0 = loadavg()[0];
  const floor = nodeFloorCpuMs(20, keepEnv);
  // With an event handler, as bench/cluster.ts starts its agents (the handler runner's warm-up runs at start).
  const samples = await agentStartup(runs * roots.length, '/bin/true', roots);
  const load1 = loadavg()[0];
  const trees = roots.map((root, t) => summary(root, samples.filter((_, k) => k % roots.length === t)));
  const result = {
    node: process.version,
    runs,
    node_args: nodeArgs,
    env_removed: removedEnv(keepEnv),
    load_avg_1m: [r1(load0), r1(load1)],
    node_floor_cpu_ms: r1(floor),
    ...trees[0],
    ...(trees[1] === undefined ? {} : { compare: trees[1] }),
    date: new Date().toISOString(),
  };
  process.stdout.write(
    `load average (1 min): ${result.load_avg_1m.join(' -> ')}\n` +
      envNote(keepEnv) +
      `node -e 0 CPU (mean of 20): ${result.node_floor_cpu_ms} ms\n\n` +
      table(compare === undefined ? 'agent' : 'this tree', trees[0]) +
      (trees[1] === undefined ? '' : `\n${table(compare ?? '', trees[1])}`),
  );
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  const file = join(ROOT, 'bench', 'results', 'startup.json');
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`\nwrote ${file}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`bench/startup: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
