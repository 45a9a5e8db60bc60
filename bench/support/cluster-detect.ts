/**
 * bench/cluster.ts's detection of the join's end, and what its own polling costs (module
 * comment there, (a)): `startAll` starts the agents (agent 0, then the others at once) and
 * detects each one's start (support/ports.ts: `readyLine` under `--poll log`, a `ReadyWatcher`
 * under `--poll watch`); `joinEnd` with `--poll log` or `watch` asks only the agents that do not yet list
 * all N alive, then all once more (support/wait.ts `untilEachHolds`); with `--poll legacy` all
 * N every 20 ms, as before. `measurePollCost` (`--poll-cost`) measures one members query's CPU,
 * to an agent and to this process.
 */
import { stopAll, type AgentProcess } from '../../src/cli/cluster.js';
import { cpuMsOf } from '../startup.js';
import type { Driver } from './cluster-drivers.js';
import { type PortPlan, ReadyWatcher, startOnFreePorts } from './ports.js';
import type { SpawnedProcess, Spawner } from './spawner.js';
import { sleep, until, untilEachHolds } from './wait.js';

const nowMs = (): number => performance.timeOrigin + performance.now();

/** This process's CPU so far (ms, user + system). */
export const benchCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** How starts and the join's end are detected (bench/cluster.ts module comment, (a)). */
export type Poll = 'log' | 'watch' | 'legacy';

const listsAllAlive = (m: Map<string, string>, n: number): boolean => [...m.values()].filter((s) => s === 'alive').length === n;

/** The join's end: when every agent lists all N alive (`at`, on `clock`), and the members
 *  queries asked of each agent; undefined after 120 s. */
export async function joinEnd(d: Driver, n: number, poll: Poll, clock: () => number): Promise<{ at: number; requests: number[] } | undefined> {
  const all = Array.from({ length: n }, (_, i) => i);
  if (poll !== 'legacy') return untilEachHolds(all, (i) => d.members(i), (m) => listsAllAlive(m, n), { timeoutMs: 120_000, everyMs: 20, clock });
  const requests = all.map(() => 0);
  const ok = await until(120_000, async () => {
    const lists = await Promise.all(all.map((i) => (requests[i]++, d.members(i))));
    return lists.every((m) => listsAllAlive(m, n)) || undefined;
  }, 20);
  return ok ? { at: clock(), requests } : undefined;
}

/** CPU (ms) of one members query: to the agent (its CPU over `COUNT` queries in a row, less
 *  its idle rate over the second just before) and to this process; medians over agents 1,
 *  N/2 and N − 1, asked one after the other, 2 s after the join. */
export async function measurePollCost(d: Driver, children: readonly AgentProcess[], n: number): Promise<{ agent: number | null; bench: number | null }> {
  const COUNT = 200;
  const agent: number[] = [];
  const bench: number[] = [];
  await sleep(2000);
  for (const i of [1, Math.floor(n / 2), n - 1]) {
    const pid = children[i].pid;
    const a0 = cpuMsOf(pid);
    const t0 = performance.now();
    await sleep(1000);
    const idleRate = (cpuMsOf(pid) - a0) / (performance.now() - t0);
    const a1 = cpuMsOf(pid);
    const b1 = benchCpuMs();
    const t1 = performance.now();
    for (let k = 0; k < COUNT; k++) await d.members(i);
    const dt = performance.now() - t1;
    agent.push((cpuMsOf(pid) - a1 - idleRate * dt) / COUNT);
    bench.push((benchCpuMs() - b1) / COUNT);
  }
  const med = (xs: number[]): number | null => {
    const ok = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return ok.length === 0 ? null : ok[Math.floor((ok.length - 1) / 2)];
  };
  return { agent: med(agent), bench: med(bench) };
}

/** The agents of one system once every one has answered (bench/cluster.ts (a)). */
export interface Running {
  children: AgentProcess[];
  startupMs: number[];
  startupCpuMs: number[];
  firstSpawn: number;
  lastUp: number;
  /** This process's CPU (ms) at the first spawn and at the last agent's answer. */
  benchCpuAtSpawn: number;
  benchCpuAtUp: number;
  /** `--poll log`: the ready watcher's CPU over the start (support/ready-watch.ts). */
  watcherCpuMs: number;
  /** Requests the start-up detection made, per agent. */
  startRequests: number[];
  /** `--poll log`: each agent's CPU when its ready line was seen, and ms from the line to its answer. */
  cpuAtLine: number[];
  lineToAnswerMs: number[];
  lineSeenAfterMs: number[];
  /** Wall time (ms) spent in the spawns: this process's `spawn` calls, or with a spawner its
   *  `posix_spawnp` calls (each returns once the child has exec'd). */
  spawnMs: number;
  /** When the last spawn call returned (ms, same clock as `firstSpawn`). */
  lastSpawnAt: number;
  /** With a spawner: its CPU (ms) over the start. */
  spawnerCpuMs?: number;
}

/** Spawn agent 0, wait for it, then spawn the others joining it (through `spawner` when
 *  given); record start-up times. An
 *  agent whose port was taken before it bound it is started again on new ports
 *  (support/ports.ts): its start-up time is that of the attempt that came up. */
export async function startAll(d: Driver, ports: PortPlan, n: number, poll: Poll, notes: string[], spawner?: Spawner): Promise<Running> {
  const children: AgentProcess[] = [];
  const startupMs: number[] = [];
  const startupCpuMs: number[] = [];
  const startRequests: number[] = [];
  const cpuAtLine: number[] = [];
  const lineToAnswerMs: number[] = [];
  const lineSeenAfterMs: number[] = [];
  let spawnMs = 0;
  let lastSpawnAt = NaN;
  // Without a spawner a spawn blocks this process until the child has exec'd (libuv), ~45 ms
  // each at N = 50 while the agents started before it take the cores: 49 back to back keep it
  // from seeing any line or answer for ~2 s (`log` and `legacy` alike). With one
  // (support/spawner.ts) the spawner waits for the execs and this process reads the lines
  // meanwhile. `--poll watch` hands the lines and the one query to a process of its own
  // (support/ready-watch.ts), whose work during the spawns slows them (docs/results.md, h35b).
  let answeredLast = Number.NEGATIVE_INFINITY;
  const watcher = poll === 'watch' ? new ReadyWatcher() : undefined;
  await watcher?.ready;
  // The watcher's CPU counts as this process's (from here on, not its own start-up).
  const watcherCpu = (): number => (watcher === undefined ? 0 : cpuMsOf(watcher.pid));
  const watcherCpu0 = watcherCpu();
  const spawnerCpu0 = cpuMsOf(spawner?.pid);
  const benchCpuAtSpawn = benchCpuMs();
  const firstSpawn = nowMs();
  const bootOne = async (i: number): Promise<void> => {
    const joinTo = i === 0 ? [] : [`127.0.0.1:${ports.gossip[0]}`];
    const r = await startOnFreePorts<AgentProcess>({
      what: `${d.name} agent ${i}`,
      spawn:
        spawner === undefined
          ? () => {
              const t = nowMs();
              children[i] = d.spawn(i, joinTo);
              spawnMs += nowMs() - t;
              lastSpawnAt = nowMs();
              return children[i];
            }
          : async () => {
              const c = await spawner.spawn(d.command(i, joinTo));
              children[i] = c;
              spawnMs += c.spawnReturnedAt - c.spawnedAt;
              lastSpawnAt = Number.isNaN(lastSpawnAt) ? c.spawnReturnedAt : Math.max(lastSpawnAt, c.spawnReturnedAt);
              return c;
            },
      spawnedAt: spawner === undefined ? undefined : (c) => (c as SpawnedProcess).spawnedAt,
      up: () => d.ping(i),
      reassign: () => d.reassign(i),
      logFile: d.logFile(i),
      timeoutMs: 60_000,
      everyMs: 10,
      readyLine: poll === 'log' ? d.readyLine : undefined,
      onLine: (c) => (cpuAtLine[i] = cpuMsOf(c.pid)),
      watch:
        watcher === undefined
          ? undefined
          : (c, from) => watcher.watch({ pid: c.pid!, log: d.logFile(i), from, line: d.readyLine, sys: d.name, port: ports.api[i], timeoutMs: 60_000, everyMs: 10 }),
    });
    notes.push(...r.notes);
    startRequests[i] = r.requests;
    if (r.type === 'timeout') notes.push(`agent ${i} ${r.reason}`);
    const w = r.type === 'up' ? r.watched : undefined;
    if (w !== undefined) {
      // The watcher's own times and CPU reads: this process may have been in a spawn then.
      startupMs[i] = w.answeredAt - r.t0;
      startupCpuMs[i] = w.cpuMs;
      cpuAtLine[i] = w.cpuAtLineMs;
      lineToAnswerMs[i] = w.answeredAt - w.lineAt;
      lineSeenAfterMs[i] = w.lineAt - w.lineWrittenAt;
      answeredLast = Math.max(answeredLast, w.answeredAt);
    } else {
      startupMs[i] = nowMs() - r.t0;
      startupCpuMs[i] = cpuMsOf(r.child.pid);
      answeredLast = Math.max(answeredLast, nowMs());
      if (r.type === 'up' && r.lineAt !== undefined) lineToAnswerMs[i] = nowMs() - r.lineAt;
      if (r.type === 'up' && r.lineAt !== undefined && r.lineWrittenAt !== undefined) lineSeenAfterMs[i] = r.lineAt - r.lineWrittenAt;
    }
  };
  try {
    await bootOne(0);
    await Promise.all(Array.from({ length: n - 1 }, (_, k) => bootOne(k + 1)));
  } catch (e) {
    watcher?.close();
    await stopAll(children.filter((c) => c !== undefined));
    throw e;
  }
  const watcherCpuMs = watcherCpu() - watcherCpu0;
  const spawnerCpuMs = spawner === undefined ? undefined : cpuMsOf(spawner.pid) - spawnerCpu0;
  watcher?.close();
  const lastUp = answeredLast;
  return { children, startupMs, startupCpuMs, firstSpawn, lastUp, benchCpuAtSpawn, benchCpuAtUp: benchCpuMs(), watcherCpuMs, startRequests, cpuAtLine, lineToAnswerMs, lineSeenAfterMs, spawnMs, lastSpawnAt, spawnerCpuMs };
}
