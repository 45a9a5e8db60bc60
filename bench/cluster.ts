/**
 * Cluster benchmark: the same work on N rumor agents and on N Serf agents (separate
 * processes on loopback, one system after the other in the same run), printed side by side
 * and written to `bench/results/cluster-<N>.json` as `{ "rumor": {...}, "serf": {...} }`.
 *
 *   npm run bench:cluster -- --nodes 20        (node --import tsx bench/cluster.ts --nodes 20)
 *   npm run bench:cluster -- --nodes 50 --phases event,tag,query   (join, then only those columns;
 *     the others print `-`; `--only rumor|serf` runs one system; `--poll legacy` the old
 *     start and join detection, `--poll watch` a watcher process, (a) below; `--spawn bench`
 *     the agents spawned by this process, (a) below; `--poll-cost` one members query's CPU)
 *
 * Measured, with the same method for both systems:
 * (a) join: from the moment the last agent answers a members query until every agent lists all N
 *     alive (`join_ms`); also from the first spawn (`join_from_first_spawn_ms`) and the
 *     median time from spawn to a first API answer (`agent_startup_ms`), with the agent's CPU
 *     when it had answered (`agent_startup_cpu_ms`). How both ends are detected (`--poll`,
 *     recorded as `detect`): `log` (default) waits for each agent's own line that its API/RPC
 *     socket listens (rumor's `rumor agent NAME running: ...`, Serf's `==> Serf agent running!`),
 *     watched with inotify, then asks it one members query, which must answer (it is asked
 *     again every 10 ms only if it does not: support/ports.ts `readyLine`), and reads its CPU
 *     then. Who spawns the agents (`--spawn`, recorded as `spawn`): by default (`spawner`, when
 *     dist/bench-spawner is built) a small C process, support/spawner.ts, that starts each with
 *     `posix_spawnp` and reports its pid, so this process never blocks in a spawn and reads each
 *     line when it is written; with `--spawn bench` this process spawns them itself, and each
 *     `spawn` blocks it until the child has exec'd (~2–3.5 s for rumor's 50 at N = 50, so an
 *     agent is asked late and its start-up CPU counts join work meanwhile: docs/results.md,
 *     h35b, h36b); both systems are spawned the same way. `watch` reads the lines and asks in
 *     a watcher process of its own (support/ready-watch.ts), whose work slows the spawns
 *     (Serf's most: docs/results.md, h35b); with `log` and `watch` the join's end is
 *     found by asking every 20 ms only the agents not yet listing all N alive, then all of them
 *     once more, and continuing with any that no longer do (support/wait.ts `untilEachHolds`;
 *     the end is when the last one was seen complete). `legacy` asks every starting agent every
 *     10 ms from its spawn (a refused connection each until it listens: 17–31 a second at
 *     N = 50, the spawns blocking this process) and all N every 20 ms until the join ends. Either way the run
 *     records this process's own CPU (and the watcher's and spawner's; the spawner's also
 *     alone, `spawner_cpu_start_ms`) over the start and over the join (`bench_cpu_start_ms`,
 *     `bench_cpu_join_ms`), the wall time spent in the spawn calls, this process's or the
 *     spawner's (`bench_spawn_ms`; `last_spawn_ms`: when the last one returned, from the
 *     first spawn) and the requests it made (`start_requests`,
 *     `join_requests`): CPU the agents could not use; `--poll-cost` also measures one members query's CPU, to an
 *     agent and to this process, after the join (`members_query_*_cpu_ms`);
 * (b) event latency: one user event published at one agent (round-robin) until all N ran
 *     their event handler; the handler is the same bash script for both, appending
 *     `$EPOCHREALTIME` (no fork) and the payload to a per-node file (`event_p50_ms`, `event_p100_ms`);
 * (c) crash detection: kill -9 of one agent until every other agent reports it failed/left
 *     or no longer lists it (`crash_detect_ms`);
 * (d) idle traffic: bytes per second per node over an idle window, counted by iptables
 *     accounting rules (INPUT chain: every loopback packet is counted once, at its receiver,
 *     IP headers included) on the agents' gossip ports (`idle_bytes_per_s_per_node`);
 * (b2) tag update: a tag set at one agent until every agent's member list shows it
 *     (`tag_update_ms`, median of 5; bench/tag-update.ts);
 * (b3) query: a query to every agent until every agent's response is back at the asker
 *     (`query_all_ms`, median of 5; bench/query-all.ts; Serf: the RPC `query`, `serf query`);
 * (e) RSS per agent after the idle window, from /proc/<pid>/status VmRSS of the agent and the
 *     processes it keeps (rumor's handler launcher) (`rss_mb_per_agent`, mean), and their PSS
 *     (`pss_mb_per_agent`, mean: file pages shared by the N agents counted once over them);
 * (f) stall: one agent stopped with SIGSTOP for 6 s, then resumed with SIGCONT; every live agent
 *     (the resumed one included, once it runs) is polled until every one lists every live
 *     member alive for 5 s running (at least 10 s after the resume, at most 60 s):
 *     `stall_false_positives` = healthy members (neither stopped nor crashed) that some agent
 *     listed with any status other than `alive` (suspect included: strict), and
 *     `stall_false_failed` = those listed failed, left or absent; `stall_recover_ms` = from the
 *     SIGCONT until every agent lists the stopped one alive again;
 * (g) silent failure: one agent frozen with SIGSTOP and kept frozen (its sockets stay open: no
 *     reset, no answers) until every other agent lists it failed, left or absent
 *     (`silent_detect_ms`; rumor's `suspect` does not count as detected, as Serf never shows
 *     its suspicion);
 * (h) restart without join: agent 0 (every agent runs with a snapshot: rumor `--data-dir`, Serf
 *     `-snapshot`) is stopped with SIGTERM (neither leaves on SIGTERM by default), and once every
 *     live agent lists it failed it is started again without `--join`/`-join`; from that spawn
 *     until every live agent lists it alive (`restart_rejoin_ms`).
 *
 * Polling: rumor through its HTTP API (node:http, kept-alive connections), Serf through its RPC
 * protocol over one persistent connection per agent (bench/serf.ts): neither spawns a process
 * per poll, and both clients cost this process little CPU (the agents share its 2 cores).
 * Both systems run their default (`lan`) profile unless `--profile` says otherwise.
 * rumor's agents, and `node -e 0` for the floor, run without the machine's NODE_EXTRA_CA_CERTS
 * (every Node process parses that CA file at start, ~35 ms of CPU here; an agent opens no TLS
 * connection and a fleet host does not set it: bench/startup.ts `START_COST_ENV`); `--keep-env`
 * keeps it. The run prints and records (`env_removed`) what was left out.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, statSync, readdirSync, chmodSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopAll } from '../src/cli/cluster.js';
import { ensureSerf } from './serf.js';
import { measureQueries } from './query-all.js';
import { measureTagUpdates } from './tag-update.js';
import { rumorDriver, serfDriver, type Driver } from './support/cluster-drivers.js';
import { PortPlan } from './support/ports.js';
import { ensureCodeCache, envNote, nodeFloorCpuMs, removedEnv } from './startup.js';
import { ensureIptables, handlerAt, PortAccounting, treePssMb, treeRssMb } from './support/host-stats.js';
import { sleep, until } from './support/wait.js';
import { benchCpuMs, joinEnd, measurePollCost, startAll, type Poll, type Running } from './support/cluster-detect.js';
import { Spawner, spawnerPath } from './support/spawner.js';

/** Idle-traffic accounting (an iptables chain per run). */
const accountingChain = new PortAccounting('RUMORBENCH');
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  nodes: number;
  events: number;
  idleS: number;
  profile: 'lan' | 'local';
  only?: 'rumor' | 'serf';
  /** Start rumor's agents with this process's whole environment (bench/startup.ts `START_COST_ENV`). */
  keepEnv?: boolean;
  /** Phases to run after the join (default: all, in this order). */
  phases: Phase[];
  /** How starts and the join's end are detected (see the module comment): `log` (default) or
   *  `legacy` (every agent asked every 10 ms from its spawn, and all N every 20 ms until joined). */
  poll: Poll;
  /** After the join, measure what one members query costs an agent and this process. */
  pollCost?: boolean;
  /** Who spawns the agents at the start: `spawner` (default when dist/bench-spawner is built:
   *  support/spawner.ts) or `bench` (this process's own `spawn` calls, which block it). */
  spawn: 'spawner' | 'bench';
}

/** The phases after the join; `--phases event,tag,query` runs only those (faster iteration on
 *  one column; the full run stays the default). */
const PHASES = ['event', 'tag', 'query', 'idle', 'crash', 'stall', 'silent', 'restart'] as const;
type Phase = (typeof PHASES)[number];

/** The figures of one system. `null`: the phase timed out (see `notes`). */
interface Result {
  version: string;
  nodes: number;
  join_ms: number | null;
  join_from_first_spawn_ms: number | null;
  agent_startup_ms: number;
  /** Median CPU (ms, every thread) an agent had used when it first answered (bench/startup.ts). */
  agent_startup_cpu_ms: number | null;
  /** `--poll log`: median CPU (ms) an agent had used when this process saw its ready line, and
   *  median time (ms) from seeing the line to its answer (this process's wake-up, the request,
   *  and the agent's answer among the join's work). */
  agent_cpu_at_ready_line_ms?: number | null;
  ready_line_to_answer_ms?: number | null;
  /** `--poll log`: median ms from the line's write (the log's mtime) to this process seeing it. */
  ready_line_seen_after_ms?: number | null;
  /** Wall time (ms) spent in the agents' spawn calls during the start: this process's
   *  (synchronous) `spawn` calls with `--spawn bench`, the spawner's `posix_spawnp` calls
   *  otherwise (nothing waits on those); and from the first spawn until the last one returned. */
  bench_spawn_ms: number;
  last_spawn_ms: number | null;
  /** CPU (ms) of `node -e 0` on this machine in this run: the floor of any Node process (rumor only). */
  node_floor_cpu_ms?: number;
  /** Variables of this machine's environment the agents and the floor ran without (rumor only; bench/startup.ts `START_COST_ENV`). */
  env_removed?: string[];
  event_p50_ms: number | null;
  event_p100_ms: number | null;
  crash_detect_ms: number | null;
  idle_bytes_per_s_per_node: number | null;
  /** Packets per second per node in the same window (headers dominate small packets). */
  idle_packets_per_s_per_node: number | null;
  rss_mb_per_agent: number;
  /** The same processes' PSS (support/host-stats.ts `treePssMb`), mean: an agent's share of the
   *  host's memory, the file pages N agents share (node's binary, ~34 MB of `node -e 0`'s 40 MB
   *  RSS) counted once over them. */
  pss_mb_per_agent: number | null;
  silent_detect_ms: number | null;
  stall_false_positives: number | null;
  stall_false_failed: number | null;
  stall_recover_ms: number | null;
  /** Healthy members listed not alive during the stall phase: `name:status@observer+ms since
   *  the resume` (negative: during the stop), first sighting each. */
  stall_false_listed: string[];
  /** Every event's latency (ms), in publication order. */
  event_latencies_ms: number[];
  /** Median of the tag updates (bench/tag-update.ts), and each one. */
  tag_update_ms: number | null;
  tag_update_latencies_ms: number[];
  /** Restart of agent 0 without join until every live agent lists it alive (phase h). */
  restart_rejoin_ms: number | null;
  /** Median of the queries to every agent (bench/query-all.ts), and each one. */
  query_all_ms: number | null;
  query_all_latencies_ms: number[];
  /** How starts and the join's end were detected (`--poll`), and who spawned the agents (`--spawn`). */
  detect: Poll;
  spawn: 'spawner' | 'bench';
  /** With `--spawn spawner`: the spawner's CPU (ms) over the start (also in `bench_cpu_start_ms`). */
  spawner_cpu_start_ms?: number | null;
  /** This process's own CPU (ms, user + system) from the first spawn until the last agent
   *  answered, and from then until the join's end: what the benchmark took from the agents' cores. */
  bench_cpu_start_ms: number;
  bench_cpu_join_ms: number | null;
  /** Requests the start-up detection made (each a connection attempt until the agent listens),
   *  in all and per second from the first spawn to the last answer. */
  start_requests: number;
  start_requests_per_s: number;
  /** Members queries the join's detection made, in all, and the most any one agent answered. */
  join_requests: number;
  join_requests_max_per_agent: number;
  /** With `--poll-cost`: CPU (ms) one members query cost an agent (its CPU over 200 queries in a
   *  row, less its idle rate just before; median of 3 agents) and this process. */
  members_query_agent_cpu_ms?: number | null;
  members_query_bench_cpu_ms?: number | null;
  notes: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { nodes: 5, events: 10, idleS: 20, profile: 'lan', phases: [...PHASES], poll: 'log', spawn: spawnerPath() === undefined ? 'bench' : 'spawner' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const int = (min: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) fail(`${a}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
      i++;
      return n;
    };
    if (a === '--nodes') o.nodes = int(4);
    else if (a === '--events') o.events = int(1);
    else if (a === '--idle-s') o.idleS = int(1);
    else if (a === '--profile' && (v === 'lan' || v === 'local')) {
      o.profile = v;
      i++;
    } else if (a === '--only' && (v === 'rumor' || v === 'serf')) {
      o.only = v;
      i++;
    } else if (a === '--poll' && (v === 'log' || v === 'watch' || v === 'legacy')) {
      o.poll = v;
      i++;
    } else if (a === '--spawn' && (v === 'spawner' || v === 'bench')) {
      if (v === 'spawner' && spawnerPath() === undefined) fail('--spawn spawner: dist/bench-spawner is not built (npm run prepare, with a C compiler)');
      o.spawn = v;
      i++;
    } else if (a === '--poll-cost') o.pollCost = true;
    else if (a === '--keep-env') o.keepEnv = true;
    else if (a === '--phases' && v !== undefined) {
      const list = v.split(',');
      const bad = list.filter((x) => !(PHASES as readonly string[]).includes(x));
      if (bad.length > 0 || list.length === 0) fail(`--phases: unknown phase ${JSON.stringify(bad[0] ?? v)} (expected a comma list of ${PHASES.join(', ')})`);
      o.phases = PHASES.filter((x) => list.includes(x));
      i++;
    } else fail(`unknown or bad argument ${JSON.stringify(a)} (expected --nodes N, --events N, --idle-s S, --profile lan|local, --only rumor|serf, --poll log|watch|legacy, --spawn spawner|bench, --poll-cost, --keep-env, --phases ${PHASES.join(',')})`);
  }
  return o;
}

function fail(msg: string): never {
  process.stderr.write(`bench/cluster: ${msg}\n`);
  process.exit(2);
}

const nowMs = (): number => performance.timeOrigin + performance.now();

/** Build dist/ when it is missing or older than a source file (agents run the built CLI), then
 *  the bundle, then the code cache when it does not match the bundle (`ensureCodeCache`): a
 *  bundle rebuilt by the first agent, or a missing cache, would make this run's agents start
 *  cold and their start-up columns measure that instead. */
function ensureBuilt(): void {
  const out = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  if (!existsSync(out) || statSync(out).mtimeMs < newest(join(ROOT, 'src'))) {
    process.stderr.write('building dist/ (npx tsc -p tsconfig.build.json, node scripts/bundle.mjs)\n');
    const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) {
      if (!existsSync(out)) fail('build failed');
      process.stderr.write('warning: the build reported errors; running the emitted dist/ anyway\n');
    }
  }
  const bundle = join(ROOT, 'dist', 'rumor.cjs');
  if (!existsSync(bundle) || statSync(bundle).mtimeMs < statSync(out).mtimeMs) {
    if (spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs')], { stdio: 'inherit' }).status !== 0) fail('scripts/bundle.mjs failed');
  }
  ensureCodeCache();
}

/** Per-node handler scripts: bash, `$EPOCHREALTIME` (no fork), append "<time> <payload>" to log-<i>. */
function writeHandlers(dir: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const p = join(dir, `handler-${i}.sh`);
    writeFileSync(p, `#!/bin/bash\nread -r p\nprintf '%s %s\\n' "$EPOCHREALTIME" "$p" >> ${join(dir, `log-${i}`)}\n`);
    chmodSync(p, 0o755);
    return p;
  });
}

/** Handler timestamps (ms) of event `id` per node; undefined when some node has not run it yet. */
function handlerTimes(dir: string, n: number, id: string): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = handlerAt(dir, i, id);
    if (t === undefined) return undefined;
    out.push(t);
  }
  return out;
}

// ---- phases ----

async function measureEvents(d: Driver, dir: string, n: number, count: number, notes: string[]): Promise<number[]> {
  const lat: number[] = [];
  for (let k = 0; k < count; k++) {
    const id = `ev${k}x${Date.now()}`;
    const t0 = nowMs();
    await d.publish(k % n, 'bench', id);
    // The handlers write their own timestamps, so how often we look changes nothing measured;
    // looking rarely keeps the benchmark's own CPU (reading N files) off the 2 cores the
    // agents need in the first ~100 ms after the publish.
    const times = await until(15_000, async () => handlerTimes(dir, n, id), 100);
    if (!times) {
      notes.push(`event ${k} did not reach every handler within 15 s`);
      continue;
    }
    lat.push(Math.max(...times) - t0);
    await sleep(200);
  }
  return lat;
}

async function measureCrash(d: Driver, run: Running, n: number): Promise<number | undefined> {
  const victim = n - 1;
  const victimName = `n${victim}`;
  const others = Array.from({ length: n - 1 }, (_, i) => i);
  const t0 = nowMs();
  run.children[victim].kill('SIGKILL');
  const pending = new Set(others);
  const ok = await until(120_000, async () => {
    await Promise.all(
      [...pending].map(async (i) => {
        const s = (await d.members(i)).get(victimName);
        if (s === undefined || s === 'failed' || s === 'left') pending.delete(i);
      }),
    );
    return pending.size === 0 ? true : undefined;
  }, 20);
  return ok ? nowMs() - t0 : undefined;
}

const isDead = (s: string | undefined): boolean => s === undefined || s === 'failed' || s === 'left';

/** SIGSTOP agent `victim` for 6 s, SIGCONT it, then watch every live agent (see (f) above). */
async function measureStall(d: Driver, run: Running, live: number[], victim: number): Promise<{ fp: number; failed: number; recoverMs: number | null; listed: string[] }> {
  const healthy = new Set(live.filter((i) => i !== victim).map((i) => `n${i}`));
  const names = live.map((i) => `n${i}`);
  const falseAny = new Map<string, string>();
  const falseDead = new Set<string>();
  let stopped = true;
  let resumedAt = Infinity;
  let recoveredAt: number | null = null;
  let quietSince = Infinity;
  const t0 = nowMs();
  run.children[victim].kill('SIGSTOP');
  const resume = setTimeout(() => {
    run.children[victim].kill('SIGCONT');
    stopped = false;
    resumedAt = nowMs();
  }, 6000);
  try {
    while (nowMs() - t0 < 6000 + 60_000) {
      const observers = stopped ? live.filter((i) => i !== victim) : live;
      const lists = await Promise.all(observers.map((i) => d.members(i).catch(() => null)));
      let allAlive = !stopped;
      for (let k = 0; k < lists.length; k++) {
        const m = lists[k];
        if (m === null) {
          allAlive = false;
          continue;
        }
        for (const name of names) {
          const st = m.get(name);
          if (st !== 'alive') allAlive = false;
          if (healthy.has(name) && st !== 'alive') {
            if (!falseAny.has(name)) falseAny.set(name, `${name}:${st ?? 'absent'}@n${observers[k]}+${Math.round(nowMs() - resumedAt)}ms`);
            if (isDead(st)) falseDead.add(name);
          }
        }
      }
      const t = nowMs();
      if (!stopped && recoveredAt === null && lists.every((m) => m !== null && m.get(`n${victim}`) === 'alive')) recoveredAt = t;
      if (!allAlive) quietSince = Infinity;
      else if (quietSince === Infinity) quietSince = t;
      if (t - resumedAt >= 10_000 && t - quietSince >= 5000) break;
      await sleep(250);
    }
  } finally {
    clearTimeout(resume);
    if (stopped) run.children[victim].kill('SIGCONT');
  }
  return { fp: falseAny.size, failed: falseDead.size, recoverMs: recoveredAt === null ? null : recoveredAt - resumedAt, listed: [...falseAny.values()] };
}

/** Freeze agent `victim` with SIGSTOP (kept frozen) until every other live agent lists it
 *  failed, left or absent; then kill it. */
async function measureSilent(d: Driver, run: Running, live: number[], victim: number): Promise<number | undefined> {
  const pending = new Set(live.filter((i) => i !== victim));
  const t0 = nowMs();
  run.children[victim].kill('SIGSTOP');
  try {
    const ok = await until(120_000, async () => {
      await Promise.all([...pending].map(async (i) => {
        if (isDead((await d.members(i)).get(`n${victim}`))) pending.delete(i);
      }));
      return pending.size === 0 ? true : undefined;
    }, 50);
    return ok ? nowMs() - t0 : undefined;
  } finally {
    run.children[victim].kill('SIGKILL');
  }
}

/** Phase h: SIGTERM agent `victim`, wait until every other live agent lists it not alive,
 *  start it again without join, and time until every live agent lists it alive. */
async function measureRestart(d: Driver, run: Running, live: number[], victim: number, notes: string[]): Promise<number | undefined> {
  const name = `n${victim}`;
  const others = live.filter((i) => i !== victim);
  const child = run.children[victim];
  const exited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
  child.kill('SIGTERM');
  if ((await until(20_000, async () => (await Promise.race([exited.then(() => true), sleep(100).then(() => undefined)])))) === undefined) {
    child.kill('SIGKILL');
    notes.push(`restart: agent ${victim} did not exit within 20 s of SIGTERM (killed)`);
  }
  const down = await until(120_000, async () => ((await Promise.all(others.map(async (i) => (await d.members(i)).get(name) !== 'alive'))).every(Boolean) ? true : undefined), 50);
  if (!down) {
    notes.push(`restart: agent ${victim} was still listed alive 120 s after it stopped`);
    return undefined;
  }
  const t0 = nowMs();
  run.children[victim] = d.restart(victim);
  const pending = new Set(live);
  const ok = await until(120_000, async () => {
    await Promise.all([...pending].map(async (i) => {
      if ((await d.members(i)).get(name) === 'alive') pending.delete(i);
    }));
    return pending.size === 0 ? true : undefined;
  }, 20);
  return ok ? nowMs() - t0 : undefined;
}

const quantile = (xs: number[], q: number): number | null => (xs.length === 0 ? null : xs[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]);
const median = (xs: number[]): number | null => quantile(xs.filter(Number.isFinite).sort((a, b) => a - b), 0.5);
const round = (x: number | null | undefined, digits = 1): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** digits) / 10 ** digits;

async function runSystem(d: Driver, dir: string, opts: Options, ports: PortPlan, accounting: boolean): Promise<Result> {
  const n = opts.nodes;
  const notes: string[] = [];
  process.stderr.write(`[${d.name}] starting ${n} agents\n`);
  const spawnerBin = spawnerPath();
  const spawner = opts.spawn === 'spawner' && spawnerBin !== undefined ? new Spawner(spawnerBin) : undefined;
  let run: Running;
  try {
    run = await startAll(d, ports, n, opts.poll, notes, spawner);
  } catch (e) {
    spawner?.close();
    throw e;
  }
  const gossipPorts = ports.gossip;
  const all = Array.from({ length: n }, (_, i) => i);
  try {
    const joined = await joinEnd(d, n, opts.poll, nowMs);
    const benchCpuAtJoin = benchCpuMs();
    if (!joined) notes.push('join did not converge within 120 s');
    const joinAt = joined?.at ?? NaN;
    const cost = opts.pollCost === true ? await measurePollCost(d, run.children, n) : undefined;
    const on = (p: Phase): boolean => opts.phases.includes(p);
    process.stderr.write(`[${d.name}] joined; phases ${opts.phases.join(', ')}\n`);
    const lat = on('event') ? await measureEvents(d, dir, n, opts.events, notes) : [];
    if (on('tag')) process.stderr.write(`[${d.name}] tag updates\n`);
    const tagLat = on('tag') ? await measureTagUpdates(d.tagOps, n, notes) : [];
    if (on('query')) process.stderr.write(`[${d.name}] queries\n`);
    const queryLat = on('query') ? await measureQueries(d.queryOps, n, notes) : [];
    let idle: number | null = null;
    let idlePackets: number | null = null;
    if (on('idle')) {
      process.stderr.write(`[${d.name}] idle ${opts.idleS} s\n`);
      await sleep(2000);
      if (accounting && accountingChain.start(gossipPorts)) {
        const c0 = accountingChain.read();
        await sleep(opts.idleS * 1000);
        const c1 = accountingChain.read();
        idle = (c1.bytes - c0.bytes) / opts.idleS / n;
        idlePackets = (c1.packets - c0.packets) / opts.idleS / n;
        accountingChain.stop();
      } else notes.push('iptables accounting unavailable: idle traffic not measured');
    }
    const rss = all.map((i) => treeRssMb(run.children[i].pid));
    const pss = all.map((i) => treePssMb(run.children[i].pid));
    let crash: number | undefined;
    if (on('crash')) {
      process.stderr.write(`[${d.name}] crash detection\n`);
      crash = await measureCrash(d, run, n);
      if (crash === undefined) notes.push('crash not detected by every agent within 120 s');
    }
    const live = on('crash') ? all.slice(0, n - 1) : all;
    let stall: Awaited<ReturnType<typeof measureStall>> = { fp: 0, failed: 0, recoverMs: null, listed: [] };
    if (on('stall')) {
      process.stderr.write(`[${d.name}] stall (SIGSTOP 6 s, SIGCONT)\n`);
      stall = await measureStall(d, run, live, n - 2);
      if (stall.recoverMs === null) notes.push('the stalled agent was not alive everywhere within 60 s of its resume');
    }
    let silent: number | undefined;
    if (on('silent')) {
      process.stderr.write(`[${d.name}] silent failure (SIGSTOP kept)\n`);
      silent = await measureSilent(d, run, live, n - 3);
      if (silent === undefined) notes.push('silent failure not detected by every agent within 120 s');
    }
    let restart: number | undefined;
    if (on('restart')) {
      process.stderr.write(`[${d.name}] restart without join\n`);
      restart = await measureRestart(d, run, on('silent') ? live.filter((i) => i !== n - 3) : live, 0, notes);
      if (restart === undefined) notes.push('the restarted agent was not alive everywhere within 120 s');
    }
    const sortedStartup = [...run.startupMs].sort((a, b) => a - b);
    const sortedLat = [...lat].sort((a, b) => a - b);
    return {
      version: d.version,
      nodes: n,
      join_ms: joined ? round(joinAt - run.lastUp) : null,
      join_from_first_spawn_ms: joined ? round(joinAt - run.firstSpawn) : null,
      agent_startup_ms: round(quantile(sortedStartup, 0.5))!,
      agent_startup_cpu_ms: round(median(run.startupCpuMs)),
      ...(opts.poll !== 'legacy' ? { agent_cpu_at_ready_line_ms: round(median(run.cpuAtLine)), ready_line_to_answer_ms: round(median(run.lineToAnswerMs)), ready_line_seen_after_ms: round(median(run.lineSeenAfterMs)) } : {}),
      bench_spawn_ms: round(run.spawnMs)!,
      last_spawn_ms: round(run.lastSpawnAt - run.firstSpawn),
      event_p50_ms: round(quantile(sortedLat, 0.5)),
      event_p100_ms: round(quantile(sortedLat, 1)),
      crash_detect_ms: round(crash),
      idle_bytes_per_s_per_node: round(idle, 0),
      idle_packets_per_s_per_node: round(idlePackets),
      rss_mb_per_agent: round(rss.reduce((a, b) => a + b, 0) / rss.length)!,
      pss_mb_per_agent: round(pss.reduce((a, b) => a + b, 0) / pss.length),
      silent_detect_ms: round(silent),
      stall_false_positives: on('stall') ? stall.fp : null,
      stall_false_failed: on('stall') ? stall.failed : null,
      stall_recover_ms: round(stall.recoverMs),
      stall_false_listed: stall.listed,
      event_latencies_ms: lat.map((x) => round(x)!),
      tag_update_ms: round(quantile([...tagLat].sort((a, b) => a - b), 0.5)),
      tag_update_latencies_ms: tagLat.map((x) => round(x)!),
      restart_rejoin_ms: round(restart),
      query_all_ms: round(quantile([...queryLat].sort((a, b) => a - b), 0.5)),
      query_all_latencies_ms: queryLat.map((x) => round(x)!),
      detect: opts.poll,
      spawn: opts.spawn,
      ...(run.spawnerCpuMs === undefined ? {} : { spawner_cpu_start_ms: round(run.spawnerCpuMs) }),
      bench_cpu_start_ms: round(run.benchCpuAtUp - run.benchCpuAtSpawn + run.watcherCpuMs + (run.spawnerCpuMs ?? 0))!,
      bench_cpu_join_ms: joined ? round(benchCpuAtJoin - run.benchCpuAtUp) : null,
      start_requests: run.startRequests.reduce((a, b) => a + b, 0),
      start_requests_per_s: round(run.startRequests.reduce((a, b) => a + b, 0) / ((run.lastUp - run.firstSpawn) / 1000), 0)!,
      join_requests: joined?.requests.reduce((a, b) => a + b, 0) ?? 0,
      join_requests_max_per_agent: Math.max(0, ...(joined?.requests ?? [])),
      ...(cost === undefined ? {} : { members_query_agent_cpu_ms: round(cost.agent, 3), members_query_bench_cpu_ms: round(cost.bench, 3) }),
      notes,
    };
  } finally {
    d.close();
    await stopAll(run.children);
    spawner?.close();
  }
}

function printTable(results: Record<string, Result>): void {
  const keys: (keyof Result)[] = [
    'join_ms', 'join_from_first_spawn_ms', 'agent_startup_ms', 'agent_startup_cpu_ms', 'agent_cpu_at_ready_line_ms', 'ready_line_to_answer_ms', 'ready_line_seen_after_ms', 'node_floor_cpu_ms', 'event_p50_ms', 'event_p100_ms', 'tag_update_ms', 'query_all_ms',
    'crash_detect_ms', 'idle_bytes_per_s_per_node', 'idle_packets_per_s_per_node', 'rss_mb_per_agent', 'pss_mb_per_agent',
    'silent_detect_ms', 'stall_false_positives', 'stall_false_failed', 'stall_recover_ms', 'restart_rejoin_ms',
    'bench_spawn_ms', 'last_spawn_ms', 'spawner_cpu_start_ms', 'bench_cpu_start_ms', 'bench_cpu_join_ms', 'start_requests', 'start_requests_per_s', 'join_requests', 'join_requests_max_per_agent',
    'members_query_agent_cpu_ms', 'members_query_bench_cpu_ms',
  ];
  const r = results.rumor;
  const s = results.serf;
  const cell = (x: unknown): string => (x === null || x === undefined ? '-' : String(x));
  const rows = keys.map((k) => {
    const a = r?.[k] as number | null | undefined;
    const b = s?.[k] as number | null | undefined;
    const ratio = typeof a === 'number' && typeof b === 'number' && a > 0 ? `${(b / a).toFixed(1)}x` : '-';
    return [k, cell(a), cell(b), ratio];
  });
  const head = ['metric', r?.version ?? 'rumor', s?.version ?? 'serf', 'serf/rumor'];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]): string => cells.map((x, c) => (c === 0 ? x.padEnd(w[c]) : x.padStart(w[c]))).join('  ');
  process.stdout.write(`\n${line(head)}\n${w.map((x) => '-'.repeat(x)).join('  ')}\n${rows.map(line).join('\n')}\n`);
  process.stdout.write(`start and join detection: ${Object.entries(results).map(([name, res]) => `${name} ${res.detect}, spawned by ${res.spawn}`).join('; ')}\n`);
  for (const [name, res] of Object.entries(results)) for (const note of res.notes) process.stdout.write(`${name}: ${note}\n`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const load = [loadavg()[0]];
  const accounting = ensureIptables();
  const results: Record<string, Result> = {};
  process.on('exit', () => accountingChain.stop());
  if (opts.only !== 'serf') {
    ensureBuilt();
    const ports = await PortPlan.create(opts.nodes);
    const dir = mkdtempSync(join(tmpdir(), 'bench-rumor-'));
    results.rumor = await runSystem(rumorDriver(dir, opts, ports, writeHandlers(dir, opts.nodes)), dir, opts, ports, accounting);
    results.rumor.node_floor_cpu_ms = round(nodeFloorCpuMs(20, opts.keepEnv === true))!;
    results.rumor.env_removed = removedEnv(opts.keepEnv === true);
  }
  if (opts.only !== 'rumor') {
    ensureSerf();
    const ports = await PortPlan.create(opts.nodes);
    const dir = mkdtempSync(join(tmpdir(), 'bench-serf-'));
    results.serf = await runSystem(serfDriver(dir, ports, writeHandlers(dir, opts.nodes), opts.profile), dir, opts, ports, accounting);
  }
  printTable(results);
  process.stdout.write(envNote(opts.keepEnv === true));
  load.push(loadavg()[0]);
  process.stdout.write(`load average (1 min) at start and end: ${load.map((x) => x.toFixed(1)).join(' -> ')}\n`);
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  // A run of some phases only does not overwrite the full run's file.
  const parts = [opts.only, opts.phases.length < PHASES.length ? opts.phases.join('-') : undefined].filter((x) => x !== undefined);
  const partial = parts.map((x) => `-${x}`).join('');
  const file = join(outDir, `cluster-${opts.nodes}${partial}.json`);
  writeFileSync(file, JSON.stringify({ ...results, options: opts, load_avg_1m: load.map((x) => round(x)), date: new Date().toISOString() }, null, 2) + '\n');
  process.stdout.write(`\nwrote ${file}\n`);
}

main().catch((e: unknown) => {
  accountingChain.stop();
  process.stderr.write(`bench/cluster: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
