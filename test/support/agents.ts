/**
 * Starting agents for a test the way the benchmarks do (bench/support/ports.ts): ports picked
 * by `freePorts` are released before the agent binds them, and another process on this shared
 * machine may take one in between; the agent then exits with EADDRINUSE, and the test would
 * fail for a reason that is not the code's. `startAgents` starts such an agent again on new
 * ports (at most 4 spawns, then it throws with the log's last line; any other early exit
 * throws at once), agent 0 first, then the others, each waited for until its API answers.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { spawnAgent, type AgentSpec } from '../../src/cli/cluster.js';
import { PortPlan, startFleet } from '../../bench/support/ports.js';

/** The ports of one spawn of agent `i`: its own, and agent 0's gossip port (to join). */
export interface AgentPorts {
  gossip: number;
  api: number;
  /** Gossip port of agent 0 as it is now (agent 0 is up before the others spawn). */
  seed: number;
}

export interface StartOpts {
  /** Per agent, from its (last) spawn (default 30 s). */
  timeoutMs?: number;
  /** Whether a response of GET /v1/info means "answers" (default: 200, or 401 when a token is set). */
  answers?(res: Response): boolean;
  /** The ports to start from (default: a new `PortPlan` of n agents; a test sets one to hold a port). */
  plan?: PortPlan;
}

/**
 * Start agents 0..n-1, `specFor(i, ports)` building agent i's spec at each spawn (it must set
 * `logFile`: a lost port race is read there). `children[i]` is the attempt running now, so the
 * caller's `stopAll(children)` stops it. Returns each agent's spec as it came up.
 */
export async function startAgents(
  n: number,
  children: ChildProcess[],
  specFor: (i: number, ports: AgentPorts) => AgentSpec,
  opts: StartOpts = {},
): Promise<AgentSpec[]> {
  const plan = opts.plan ?? (await PortPlan.create(n));
  const make = (i: number): AgentSpec => specFor(i, { gossip: plan.gossip[i], api: plan.api[i], seed: plan.gossip[0] });
  const specs = Array.from({ length: n }, (_, i) => make(i));
  const answers = opts.answers ?? ((res: Response) => res.ok || res.status === 401);
  await startFleet(plan, n, children, {
    what: 'agent',
    spawn: (i) => spawnAgent((specs[i] = make(i))),
    up: async (i) => {
      const res = await fetch(`http://127.0.0.1:${specs[i].apiPort}/v1/info`);
      await res.arrayBuffer();
      if (!answers(res)) throw new Error(`${specs[i].name}: GET /v1/info answered ${res.status}`);
    },
    logFile: (i) => {
      const file = specs[i].logFile;
      if (file === undefined) throw new Error(`startAgents: ${specs[i].name} has no logFile (a lost port race is read there)`);
      return file;
    },
    timeoutMs: opts.timeoutMs ?? 30_000,
    everyMs: 100,
  });
  return specs;
}

/** The spec most tests start from: agent `${prefix}${i + 1}` on this spawn's ports, the `local`
 *  profile, joining agent 0 (none for agent 0), logging to `dir/<name>.log`. Spread it and add
 *  the test's own fields. */
export function localSpec(prefix: string, dir: string, i: number, p: AgentPorts): AgentSpec {
  const name = `${prefix}${i + 1}`;
  return { name, gossipPort: p.gossip, apiPort: p.api, profile: 'local', join: i === 0 ? [] : [`127.0.0.1:${p.seed}`], logFile: join(dir, `${name}.log`) };
}
