/**
 * bench/cluster.ts's detection of the join's end, and what its own polling costs (module
 * comment there, (a)): `joinEnd` with `--poll log` asks only the agents that do not yet list
 * all N alive, then all once more (support/wait.ts `untilEachHolds`); with `--poll legacy` all
 * N every 20 ms, as before. `measurePollCost` (`--poll-cost`) measures one members query's CPU,
 * to an agent and to this process.
 */
import type { ChildProcess } from 'node:child_process';
import { cpuMsOf } from '../startup.js';
import type { Driver } from './cluster-drivers.js';
import { sleep, until, untilEachHolds } from './wait.js';

/** This process's CPU so far (ms, user + system). */
export const benchCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const listsAllAlive = (m: Map<string, string>, n: number): boolean => [...m.values()].filter((s) => s === 'alive').length === n;

/** The join's end: when every agent lists all N alive (`at`, on `clock`), and the members
 *  queries asked of each agent; undefined after 120 s. */
export async function joinEnd(d: Driver, n: number, poll: 'log' | 'legacy', clock: () => number): Promise<{ at: number; requests: number[] } | undefined> {
  const all = Array.from({ length: n }, (_, i) => i);
  if (poll === 'log') return untilEachHolds(all, (i) => d.members(i), (m) => listsAllAlive(m, n), { timeoutMs: 120_000, everyMs: 20, clock });
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
export async function measurePollCost(d: Driver, children: readonly ChildProcess[], n: number): Promise<{ agent: number | null; bench: number | null }> {
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
