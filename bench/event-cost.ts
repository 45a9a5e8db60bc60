/**
 * What one agent spends per user event and per query, split by path: N agents on loopback
 * (started as bench/cluster.ts starts them: a bash `user:bench` handler, a `/bin/sh`
 * `query:bench` handler, a data dir each), then rounds, alternating
 *   - `bench` events: every agent receives, decodes, delivers and runs its handler;
 *   - `other` events: the same network path, no handler matches;
 *   - `bench` queries (`POST /v1/query`, no acks, as bench/cluster.ts asks them): every agent
 *     receives the query, runs its query handler and sends the response to the asker;
 *   - an idle window as long as a round;
 * and the CPU each agent used over each round (schedstat, every thread), divided by events (or
 * queries) and agents; an agent's CPU includes its handler launcher's (src/agent/spawn-helper.ts,
 * the child that starts the handlers, `rumor-launcher` or `perl`). The difference between `bench` and `other` is the
 * handler's cost in the agent (the launcher's fork, or the agent's own; stdio, exit handling); the handler children's own CPU
 * (bash) comes from the agents' and launchers' `cutime+cstime` (/proc/<pid>/stat, 10 ms ticks summed over all
 * agents and events). CPU is what this measures because it does not depend on the machine's
 * load the way wall-clock latency does: on 2 cores, N agents' CPU per event bounds the event's
 * latency from below. The wall-clock figures printed beside it (event to every handler, query
 * to every response) are indicative only.
 *
 *   npm run bench:event-cost -- [--nodes 10] [--events 20] [--bin OTHER/bin/rumor.js] [--node-flags '--flag ...']
 *                               [--cpu-prof DIR]
 *
 * Besides the CPU (agent + launcher, and the launcher alone), the main-thread wake-ups of the
 * agents per event, query and idle window (schedstat's third field: times the thread was
 * scheduled in) and of their launchers per query, and the asker's own CPU and main-thread
 * wake-ups per query (its agent process from the ask to the summary: the responses are
 * processed there one after another, on the query's critical path), and the whole fleet's CPU
 * within each query's window, from the ask to the summary (agents, launchers, handler children:
 * the work the query waits for on 2 cores; the lazy push that follows a query is outside it).
 * `--cpu-prof DIR`: agents n1..n3 run under `node --cpu-prof` (profiles in DIR
 * when they stop; they never write the CLI's code cache); the JSON's `windows_monotonic_us`
 * gives each round's window on the profiles' clock, to cut them to a round.
 *
 * `--bin`: run another build's CLI (an older commit unpacked with `git archive` and `npm ci`)
 * for an A/B comparison on the same machine; that build's V8 code cache is made first by its
 * own scripts/code-cache.mjs, as this tree's is (`ensureCodeCache`, bench/startup.ts). `--node-flags`: Node/V8 flags for the agents
 * (e.g. tier-up flags); use a separate build for them (`--bin`), since a V8 code cache made
 * under other flags is refused and rewritten (bin/rumor.js). Prints a table and writes
 * bench/results/event-cost.json. Also the agents' RSS: a fork copies the page tables of what
 * the agent has mapped, so a lighter agent forks faster.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentClient } from '../src/agent/client.js';
import { agentArgs, stopAll, waitUntil } from '../src/cli/cluster.js';
import { PortPlan, startFleet } from './support/ports.js';
import { cpuMsOf, ensureCodeCache, rssMbOf } from './startup.js';
import { launcherOf } from './support/host-stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Times the main thread of `pid` was scheduled in (schedstat field 3): its wake-ups, and the
 *  rare preemptions. */
function mainWakeups(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[2]);
  } catch {
    return NaN;
  }
}

/** CPU ms and times scheduled in of the main thread of `pid` (schedstat fields 1 and 3). */
function mainThread(pid: number): [number, number] {
  try {
    const f = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ');
    return [Number(f[0]) / 1e6, Number(f[2])];
  } catch {
    return [NaN, NaN];
  }
}

function childrenCpuMs(pid: number | undefined): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[13]) + Number(rest[14])) * 1000) / HZ;
}


interface Args {
  nodes: number;
  events: number;
  bin: string;
  /** Node/V8 flags for the agents (before the CLI's path), for A/B runs of tier-up flags. */
  nodeFlags: string[];
  /** Run agents n1..n3 with `--cpu-prof` into this directory; the rounds' windows are written
   *  (`windows_monotonic_us`) so that the profiles can be cut to them. */
  cpuProf: string | null;
}

function args(): Args {
  const o: Args = { nodes: 10, events: 20, bin: join(ROOT, 'bin', 'rumor.js'), nodeFlags: [], cpuProf: null };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    const v = Number(a[i + 1]);
    if ((a[i] === '--nodes' || a[i] === '--events') && Number.isInteger(v) && v >= 2) o[a[i] === '--nodes' ? 'nodes' : 'events'] = v;
    else if (a[i] === '--bin' && a[i + 1] !== undefined) o.bin = a[i + 1];
    else if (a[i] === '--cpu-prof' && a[i + 1] !== undefined) o.cpuProf = a[i + 1];
    else if (a[i] === '--node-flags' && a[i + 1] !== undefined && a[i + 1].split(' ').every((f) => f.startsWith('--'))) o.nodeFlags = a[i + 1].split(' ');
    else {
      process.stderr.write(`bench/event-cost: bad argument ${JSON.stringify(a[i])} (expected --nodes N, --events N, --bin PATH, --node-flags '--flag ...', --cpu-prof DIR)\n`);
      process.exit(2);
    }
  }
  return o;
}

/** Handler scripts: the cluster bench's (bash, appends "<time> <payload>" to log-<name>) and
 *  its query handler (sh, prints the node's name). */
function writeScripts(dir: string): { user: string; query: string } {
  const user = join(dir, 'handler.sh');
  writeFileSync(user, `#!/bin/bash\nread -r p\nprintf '%s %s\\n' "$EPOCHREALTIME" "$p" >> ${dir}/log-$RUMOR_SELF_NAME\n`);
  const query = join(dir, 'query-handler.sh');
  writeFileSync(query, '#!/bin/sh\necho "answer from $RUMOR_SELF_NAME"\n');
  chmodSync(user, 0o755);
  chmodSync(query, 0o755);
  return { user, query };
}

/** Latest handler time (ms since the epoch) of payload `id` over every node, or undefined
 *  while some node has not run it. */
function lastHandlerAt(dir: string, nodes: number, id: string): number | undefined {
  let last = 0;
  for (let i = 0; i < nodes; i++) {
    let text: string;
    try {
      text = readFileSync(join(dir, `log-n${i}`), 'utf8');
    } catch {
      return undefined;
    }
    const line = text.split('\n').find((l) => l.endsWith(` ${id}`));
    if (line === undefined) return undefined;
    last = Math.max(last, Number(line.split(' ')[0]) * 1000);
  }
  return last;
}

/** How many agents `--cpu-prof` profiles. */
const PROFILED_AGENTS = 3;

const mean = (xs: number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

async function main(): Promise<void> {
  const { nodes, events, bin, nodeFlags: flags, cpuProf } = args();
  const nodeFlags = flags;
  // The V8 code cache of the build that runs, made by its own scripts/code-cache.mjs (which
  // compiles the event and query paths), so `--bin` and this tree start alike (h32p: without
  // it, or with one an agent wrote itself, event 0 cost ~60 ms more at N = 50).
  ensureCodeCache(join(dirname(bin), '..'));
  /** Profiled agents (n1..n3 with `--cpu-prof`): a few, so that the profiler's own CPU does not
   *  load the fleet (every agent profiled at N = 50 multiplied the CPU per query ~100×). */
  const profiled = (i: number): boolean => cpuProf !== null && i >= 1 && i <= PROFILED_AGENTS;
  const profFlags = cpuProf === null ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProf, '--cpu-prof-interval', '250'];
  /** CLOCK_MONOTONIC in µs (V8's profile clock) at each round's start and end. */
  const windows: { round: string; us: [number, number] }[] = [];
  const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);
  const dir = mkdtempSync(join(tmpdir(), 'bench-evcost-'));
  const scripts = writeScripts(dir);
  // The plan's arrays are updated in place when an agent loses a port race (support/ports.ts).
  const plan = await PortPlan.create(nodes);
  const clientOf = (i: number): AgentClient => new AgentClient(`http://127.0.0.1:${plan.api[i]}`);
  const clients = Array.from({ length: nodes }, (_, i) => clientOf(i));
  const logFile = (i: number): string => join(dir, `agent-${i}.log`);
  const load0 = loadavg()[0];
  const start = (i: number): ChildProcess => {
    const fd = openSync(logFile(i), 'a');
    const a = agentArgs({
      ...plan.agent(i),
      handlers: [`user:bench=${scripts.user}`, `query:bench=${scripts.query}`],
      extraArgs: ['--log-level', 'warn', '--data-dir', join(dir, `data-${i}`)],
    });
    // A profiled agent never writes the CLI's code cache (bin/rumor.js), made under other flags.
    const env = profiled(i) ? { ...process.env, RUMOR_CODE_CACHE_AFTER_MS: String(2 ** 31 - 1) } : process.env;
    const c = spawn(process.execPath, [...nodeFlags, ...(profiled(i) ? profFlags : []), bin, ...a], { stdio: ['ignore', fd, fd], detached: true, env });
    closeSync(fd);
    return c;
  };
  const children: ChildProcess[] = [];
  try {
    const up = async (i: number): Promise<void> => {
      if ((await clients[i].info()) === undefined) throw new Error(`agent n${i} does not answer yet`);
    };
    await startFleet(plan, nodes, children, { what: 'agent', spawn: start, up, logFile, reassigned: (i) => (clients[i] = clientOf(i)), timeoutMs: 60_000, everyMs: 50 });
    await waitUntil(`all ${nodes} agents to list ${nodes} alive`, 120_000, async () =>
      (await Promise.all(clients.map(async (c) => (await c.members()).filter((m) => m.status === 'alive').length))).every((n) => n === nodes),
    );
    await sleep(3000); // handler warm-up (1.5 s after start) done
    const pids = children.map((c) => c.pid!);
    // The handler launcher (src/agent/spawn-helper.ts) is a child of each agent: its own CPU is
    // the agent's spawn cost, its children's (reaped by it) the handlers'.
    const launchers = pids.map(launcherOf);
    /** One sample of the fleet: CPU of the agents (every thread) and of their launchers, of the
     *  handler children (reaped), and the agents' and launchers' main-thread wake-ups. */
    type Sample = { agent: number; launcher: number; kids: number; wakes: number; lwakes: number };
    const sample = (): Sample => {
      const s: Sample = { agent: 0, launcher: 0, kids: 0, wakes: 0, lwakes: 0 };
      pids.forEach((p, i) => {
        const l = launchers[i];
        s.agent += cpuMsOf(p);
        s.kids += childrenCpuMs(p);
        s.wakes += mainWakeups(p);
        if (l === undefined) return;
        s.launcher += cpuMsOf(l);
        s.kids += childrenCpuMs(l);
        s.lwakes += mainWakeups(l);
      });
      return s;
    };
    /** A lighter sample for a query's window: main threads only (one file per process; every
     *  thread's schedstat is ~10 files per agent, and reading them took long enough to add the
     *  agents' background work to the window). The main thread is most of an agent's CPU per
     *  query (h29q: 2.9–3.4 of ~3.3 ms). */
    const windowSample = (): Sample => {
      const s: Sample = { agent: 0, launcher: 0, kids: 0, wakes: 0, lwakes: 0 };
      pids.forEach((p, i) => {
        const [cpu, w] = mainThread(p);
        s.agent += cpu;
        s.wakes += w;
        s.kids += childrenCpuMs(p);
        const l = launchers[i];
        if (l === undefined) return;
        s.launcher += mainThread(l)[0];
        s.kids += childrenCpuMs(l);
      });
      return s;
    };
    type Window = Sample & { ms: number };
    type Per = Sample & { wall: number[]; asker: number[]; askerWakes: number[]; inWindow: Window[] };
    const per = (a: Sample, b: Sample, wall: number[] = [], asker: number[] = [], askerWakes: number[] = [], inWindow: Window[] = []): Per => {
      const d = (k: keyof Sample): number => (b[k] - a[k]) / events / nodes;
      return { agent: d('agent'), launcher: d('launcher'), kids: d('kids'), wakes: d('wakes'), lwakes: d('lwakes'), wall, asker, askerWakes, inWindow };
    };
    const minus = (a: Sample, b: Sample): Sample => ({ agent: b.agent - a.agent, launcher: b.launcher - a.launcher, kids: b.kids - a.kids, wakes: b.wakes - a.wakes, lwakes: b.lwakes - a.lwakes });
    const eventRound = async (name: string): Promise<Per> => {
      const w0 = monoUs();
      const c0 = sample();
      const ids: { id: string; t0: number }[] = [];
      for (let k = 0; k < events; k++) {
        const id = `${name}-${k}-${Date.now()}`;
        ids.push({ id, t0: Date.now() });
        await clients[k % nodes].event(name, id);
        await sleep(150);
      }
      await sleep(500);
      const c1 = sample();
      windows.push({ round: name === 'bench' ? 'event' : 'event-no-handler', us: [w0, monoUs()] });
      const wall = name === 'bench' ? ids.map(({ id, t0 }) => (lastHandlerAt(dir, nodes, id) ?? NaN) - t0) : [];
      return per(c0, c1, wall);
    };
    const queryRound = async (): Promise<Per> => {
      const w0 = monoUs();
      const c0 = sample();
      const wall: number[] = [];
      // The asker's own CPU (agent process, every thread) from the ask to the summary: its share
      // is on the query's critical path (every response is processed there, one after another).
      const asker: number[] = [];
      const askerWakes: number[] = [];
      // The fleet's CPU within each query's window (from the ask to the summary): what the query
      // waits for, on 2 cores. Work a query causes after its end (Plumtree's lazy push, ~100 ms
      // after each copy) is in the round's figures but not in these. Sampled before the ask and
      // after the summary, so the sampling's own CPU (the bench's) is outside the window.
      const inWindow: Window[] = [];
      for (let k = 0; k < events; k++) {
        const f0 = windowSample();
        const a0 = cpuMsOf(pids[k % nodes]);
        const aw0 = mainWakeups(pids[k % nodes]);
        const q0 = monoUs();
        const t0 = performance.now();
        let got = 0;
        let allAt = NaN;
        const done = await clients[k % nodes].query({ name: 'bench', ack: false, timeoutMs: 15_000 }, (l) => {
          if (l.type === 'response' && ++got === nodes) allAt = performance.now();
        });
        if (done.reason !== 'complete') process.stderr.write(`query ${k}: ${done.reason}, ${got} of ${nodes} responses\n`);
        const ms = performance.now() - t0;
        inWindow.push({ ...minus(f0, windowSample()), ms });
        wall.push(allAt - t0);
        asker.push(cpuMsOf(pids[k % nodes]) - a0);
        askerWakes.push(mainWakeups(pids[k % nodes]) - aw0);
        // Each query's own window, named after its asker (to cut a profiled asker's samples).
        windows.push({ round: `query ${k} at n${k % nodes}`, us: [q0, monoUs()] });
        await sleep(150);
      }
      await sleep(500);
      const c1 = sample();
      windows.push({ round: 'query', us: [w0, monoUs()] });
      return per(c0, c1, wall, asker, askerWakes, inWindow);
    };
    const idle = async (): Promise<Per> => {
      const w0 = monoUs();
      const c0 = sample();
      await sleep(events * 150 + 500);
      const c1 = sample();
      windows.push({ round: 'idle', us: [w0, monoUs()] });
      return per(c0, c1);
    };
    const rows: { h: Per; o: Per; q: Per; i: Per }[] = [];
    for (let r = 0; r < 2; r++) {
      const h = await eventRound('bench');
      const o = await eventRound('other');
      const q = await queryRound();
      const i = await idle();
      rows.push({ h, o, q, i });
    }
    const rss = pids.map(rssMbOf);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    const result = {
      nodes,
      events_per_round: events,
      bin,
      node_flags: nodeFlags,
      windows_monotonic_us: windows,
      profiled_pids: cpuProf === null ? {} : Object.fromEntries(pids.flatMap((p, i) => (profiled(i) ? [[`n${i}`, p]] : []))),
      load_avg_1m: [r2(load0), r2(loadavg()[0])],
      rss_mb_per_agent: r2(rss.reduce((a, b) => a + b, 0) / rss.length),
      rounds: rows.map(({ h, o, q, i }) => ({
        // Agent + launcher, as before the split below.
        agent_cpu_ms_per_event_with_handler: r2(h.agent + h.launcher),
        agent_cpu_ms_per_event_no_handler: r2(o.agent + o.launcher),
        agent_cpu_ms_per_query: r2(q.agent + q.launcher),
        agent_cpu_ms_idle_same_window: r2(i.agent + i.launcher),
        launcher_cpu_ms_per_event_with_handler: r2(h.launcher),
        launcher_cpu_ms_per_query: r2(q.launcher),
        handler_children_cpu_ms_per_event: r2(h.kids),
        handler_children_cpu_ms_per_query: r2(q.kids),
        agent_wakeups_per_event_with_handler: r2(h.wakes),
        agent_wakeups_per_event_no_handler: r2(o.wakes),
        agent_wakeups_per_query: r2(q.wakes),
        agent_wakeups_idle_same_window: r2(i.wakes),
        launcher_wakeups_per_query: r2(q.lwakes),
        event_to_all_ms_p50: r2(median(h.wall)),
        query_to_all_ms_p50: r2(median(q.wall)),
        asker_cpu_ms_per_query_p50: r2(median(q.asker)),
        asker_wakeups_per_query_p50: r2(median(q.askerWakes)),
        // Whole fleet (not per agent), mean over the round's queries: CPU ms from the ask to the
        // summary, of the agents (main threads, the asker's included), their launchers, and the
        // handler children (10 ms ticks: read the mean, not one query); the window's wall time.
        window_fleet_cpu_ms_per_query: {
          agents: r2(mean(q.inWindow.map((x) => x.agent))),
          launchers: r2(mean(q.inWindow.map((x) => x.launcher))),
          handler_children: r2(mean(q.inWindow.map((x) => x.kids))),
          agent_wakeups: r2(mean(q.inWindow.map((x) => x.wakes))),
          wall_ms: r2(mean(q.inWindow.map((x) => x.ms))),
        },
      })),
      date: new Date().toISOString(),
    };
    process.stdout.write(
      `N = ${nodes}, ${events} events (and queries) per round, load ${result.load_avg_1m.join(' -> ')}, RSS per agent ${result.rss_mb_per_agent} MB, ${bin}${nodeFlags.length > 0 ? ' ' + nodeFlags.join(' ') : ''}\n` +
        'per agent and event or query, ms of CPU (agent + launcher; launcher alone in brackets), then main-thread wake-ups of the agent (and of the launcher per query)\n' +
        '         event+handler      event, no handler  query                     idle (same window)  handler child (event / query)  | wall p50 (ms): event, query\n' +
        result.rounds
          .map((x, i) => {
            const c = (ms: number, launcher: number | null, w: number): string => `${ms}${launcher === null ? '' : ` (${launcher})`} ${w}w`.padEnd(19);
            return `round ${i + 1}: ${c(x.agent_cpu_ms_per_event_with_handler, x.launcher_cpu_ms_per_event_with_handler, x.agent_wakeups_per_event_with_handler)}${c(x.agent_cpu_ms_per_event_no_handler, null, x.agent_wakeups_per_event_no_handler)}${`${c(x.agent_cpu_ms_per_query, x.launcher_cpu_ms_per_query, x.agent_wakeups_per_query).trimEnd()} ${x.launcher_wakeups_per_query}lw `.padEnd(26)}${c(x.agent_cpu_ms_idle_same_window, null, x.agent_wakeups_idle_same_window)}${x.handler_children_cpu_ms_per_event} / ${x.handler_children_cpu_ms_per_query}  | ${x.event_to_all_ms_p50}, ${x.query_to_all_ms_p50}`;
          })
          .join('\n') +
        '\n' +
        `the asker's own CPU from the ask to the summary (ms, median of each round's queries): ${result.rounds.map((x) => x.asker_cpu_ms_per_query_p50).join(', ')}; its main-thread wake-ups: ${result.rounds.map((x) => x.asker_wakeups_per_query_p50).join(', ')}\n` +
        `the whole fleet within a query's window (ask to summary; ms of CPU, mean per query; agents' main threads): ${result.rounds
          .map((x) => { const w = x.window_fleet_cpu_ms_per_query; return `agents ${w.agents} + launchers ${w.launchers} + handler children ${w.handler_children} in ${w.wall_ms} ms of wall (${w.agent_wakeups} agent wake-ups)`; })
          .join('; ')}\n`,
    );
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'event-cost.json'), JSON.stringify(result, null, 2) + '\n');
  } finally {
    // Profiled agents write their profile as they exit: give them time.
    await stopAll(children.filter((c) => c !== undefined), cpuProf === null ? 5000 : 60_000);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/event-cost: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
