/**
 * What one agent spends per user event, split by path: N agents on loopback (the same spawn
 * as bench/cluster.ts, with the same bash handler matching `user:bench`), then rounds of
 * events published one at a time, alternating
 *   - `bench` events: every agent receives, decodes, delivers and runs its handler;
 *   - `other` events: the same network path, no handler matches;
 * and the CPU each agent used over each round (schedstat, every thread), divided by events and
 * agents. The difference is the handler's cost in the agent (fork of the agent process, pipes,
 * exit handling); the handler children's own CPU (bash) comes from the agents' `cutime+cstime`
 * (/proc/<pid>/stat, 10 ms ticks summed over all agents and events).
 *
 *   npm run bench:event-cost -- [--nodes 10] [--events 20]
 *
 * Prints a table and writes bench/results/event-cost.json. Also the agents' RSS: a fork copies
 * the page tables of what the agent has mapped, so a lighter agent forks faster.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentClient } from '../src/agent/client.js';
import { freePorts, spawnAgent, stopAll, waitUntil } from '../src/cli/cluster.js';
import { cpuMsOf, rssMbOf } from './startup.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function childrenCpuMs(pid: number | undefined): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(rest[13]) + Number(rest[14])) * 1000) / HZ;
}

function args(): { nodes: number; events: number } {
  const o = { nodes: 10, events: 20 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i += 2) {
    const v = Number(a[i + 1]);
    if ((a[i] === '--nodes' || a[i] === '--events') && Number.isInteger(v) && v >= 2) o[a[i] === '--nodes' ? 'nodes' : 'events'] = v;
    else {
      process.stderr.write(`bench/event-cost: bad argument ${JSON.stringify(a[i])} (expected --nodes N, --events N)\n`);
      process.exit(2);
    }
  }
  return o;
}

async function main(): Promise<void> {
  const { nodes, events } = args();
  const dir = mkdtempSync(join(tmpdir(), 'bench-evcost-'));
  const handler = join(dir, 'handler.sh');
  writeFileSync(handler, `#!/bin/bash\nread -r p\nprintf '%s %s\\n' "$EPOCHREALTIME" "$p" >> ${dir}/log-$RUMOR_SELF_NAME\n`);
  chmodSync(handler, 0o755);
  const ports = await freePorts(2 * nodes);
  const clients = Array.from({ length: nodes }, (_, i) => new AgentClient(`http://127.0.0.1:${ports[nodes + i]}`));
  const load0 = loadavg()[0];
  const children = [spawnAgent({ name: 'n0', gossipPort: ports[0], apiPort: ports[nodes], handlers: [`user:bench=${handler}`], extraArgs: ['--log-level', 'warn'] })];
  try {
    await waitUntil('agent n0 to answer', 30_000, async () => (await clients[0].info()) !== undefined);
    for (let i = 1; i < nodes; i++) {
      children.push(spawnAgent({ name: `n${i}`, gossipPort: ports[i], apiPort: ports[nodes + i], join: [`127.0.0.1:${ports[0]}`], handlers: [`user:bench=${handler}`], extraArgs: ['--log-level', 'warn'] }));
    }
    await waitUntil(`all ${nodes} agents to list ${nodes} alive`, 60_000, async () =>
      (await Promise.all(clients.map(async (c) => (await c.members()).filter((m) => m.status === 'alive').length))).every((n) => n === nodes),
    );
    await new Promise((r) => setTimeout(r, 3000)); // handler warm-up (1.5 s after start) done
    const pids = children.map((c) => c.pid!);
    const round = async (name: string): Promise<{ agent: number; kids: number }> => {
      const a0 = pids.reduce((s, p) => s + cpuMsOf(p), 0);
      const k0 = pids.reduce((s, p) => s + childrenCpuMs(p), 0);
      for (let k = 0; k < events; k++) {
        await clients[k % nodes].event(name, `${name}-${k}-${Date.now()}`);
        await new Promise((r) => setTimeout(r, 150));
      }
      await new Promise((r) => setTimeout(r, 500));
      const a1 = pids.reduce((s, p) => s + cpuMsOf(p), 0);
      const k1 = pids.reduce((s, p) => s + childrenCpuMs(p), 0);
      return { agent: (a1 - a0) / events / nodes, kids: (k1 - k0) / events / nodes };
    };
    const idle = async (): Promise<number> => {
      const a0 = pids.reduce((s, p) => s + cpuMsOf(p), 0);
      await new Promise((r) => setTimeout(r, events * 150 + 500));
      return (pids.reduce((s, p) => s + cpuMsOf(p), 0) - a0) / events / nodes;
    };
    const rows: { with_handler: number; no_handler: number; idle: number; children: number }[] = [];
    for (let r = 0; r < 2; r++) {
      const h = await round('bench');
      const o = await round('other');
      const i = await idle();
      rows.push({ with_handler: h.agent, no_handler: o.agent, idle: i, children: h.kids });
    }
    const rss = pids.map(rssMbOf);
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    const result = {
      nodes,
      events_per_round: events,
      load_avg_1m: [r2(load0), r2(loadavg()[0])],
      rss_mb_per_agent: r2(rss.reduce((a, b) => a + b, 0) / rss.length),
      rounds: rows.map((x) => ({
        agent_cpu_ms_per_event_with_handler: r2(x.with_handler),
        agent_cpu_ms_per_event_no_handler: r2(x.no_handler),
        agent_cpu_ms_idle_same_window: r2(x.idle),
        handler_children_cpu_ms_per_event: r2(x.children),
      })),
      date: new Date().toISOString(),
    };
    process.stdout.write(
      `N = ${nodes}, ${events} events per round, load ${result.load_avg_1m.join(' -> ')}, RSS per agent ${result.rss_mb_per_agent} MB\n` +
        'per agent and event (ms of CPU):  with handler  no handler  idle (same window)  handler child (bash)\n' +
        result.rounds.map((x, i) => `round ${i + 1}: ${String(x.agent_cpu_ms_per_event_with_handler).padStart(28)} ${String(x.agent_cpu_ms_per_event_no_handler).padStart(11)} ${String(x.agent_cpu_ms_idle_same_window).padStart(19)} ${String(x.handler_children_cpu_ms_per_event).padStart(21)}`).join('\n') +
        '\n',
    );
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'event-cost.json'), JSON.stringify(result, null, 2) + '\n');
  } finally {
    await stopAll(children);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/event-cost: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
