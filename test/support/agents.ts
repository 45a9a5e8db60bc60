/**
 * Starting agents for a test the way the benchmarks do (bench/support/ports.ts): ports picked
 * by `freePorts` are released before the agent binds them, and another process on this shared
 * machine may take one in between; the agent then exits with EADDRINUSE, and the test would
 * fail for a reason that is not the code's. `startAgents` starts such an agent again on new
 * ports (at most 4 spawns, then it throws with the log's last line; any other early exit
 * throws at once), agent 0 first, then the others, each waited for until its API answers.
 * A try that lost its port race keeps its own log: before the next spawn its file is moved to
 * `<name>.try<k>.log` (`triesLog` reads them all), so the log a test reads is the running
 * agent's, and a line the failed try wrote cannot pass an assertion about the agent that came up.
 * `restartAgent` starts a stopped agent again, on its old ports first, with the same retry.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
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
  const tries = new Array<number>(n).fill(0);
  await startFleet(plan, n, children, {
    what: 'agent',
    spawn: (i) => {
      // startOnFreePorts has read the failed try's last line by now: move its log aside.
      const file = specs[i].logFile;
      if (tries[i]++ > 0 && file !== undefined && existsSync(file)) renameSync(file, tryLogFile(file, tries[i] - 1));
      return spawnAgent((specs[i] = make(i)));
    },
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

/** Where try `k` (1, 2, ...) of an agent that lost its port race left its log `file`:
 *  `dir/k6.log` → `dir/k6.try1.log`. */
export function tryLogFile(file: string, k: number): string {
  return file.endsWith('.log') ? `${file.slice(0, -4)}.try${k}.log` : `${file}.try${k}`;
}

/** The logs of every try of the agent logging to `file`, failed tries first, then the one that
 *  came up (for a line any try may have written, e.g. a keyring change the first try saved). */
export function triesLog(file: string): string {
  let out = '';
  for (let k = 1; existsSync(tryLogFile(file, k)); k++) out += readFileSync(tryLogFile(file, k), 'utf8');
  return out + (existsSync(file) ? readFileSync(file, 'utf8') : '');
}

/**
 * Start the stopped agent of `spec` again (a restart in a test) as `children[index]`: on its
 * old ports first (what a restart is to its peers), and, when one was taken since it stopped
 * (EADDRINUSE), on new ones, as `startAgents` does. `spec.join` is used as given (point it at a
 * running agent); give the restart its own `logFile` to keep its lines apart from the first
 * run's. Returns the spec it came up with (its ports may be new).
 */
export async function restartAgent(spec: AgentSpec, children: ChildProcess[], index: number, opts: Omit<StartOpts, 'plan'> = {}): Promise<AgentSpec> {
  const plan = await PortPlan.create(1);
  plan.gossip[0] = spec.gossipPort;
  plan.api[0] = spec.apiPort;
  const started: ChildProcess[] = [];
  try {
    const [s] = await startAgents(1, started, (_, p) => ({ ...spec, gossipPort: p.gossip, apiPort: p.api }), { ...opts, plan });
    return s;
  } finally {
    if (started[0] !== undefined) children[index] = started[0];
  }
}
