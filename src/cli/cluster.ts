/**
 * `rumor cluster` (what `npm start` runs): a local cluster of N agents (default 5) on
 * loopback, each a child process running the built CLI (`bin/rumor agent ...`) on
 * free ports. It joins them, sends a few events, prints what every agent received (through
 * each agent's HTTP API: `GET /v1/monitor`), prints commands to try, and runs until Ctrl-C;
 * then it sends SIGTERM to every agent, waits for them, and exits 0.
 *
 * The process helpers (free ports, spawning agents, stopping them) are exported for
 * `bench/cluster.ts` and the end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { AgentClient } from '../agent/client.js';
import { type CliContext, parseIntOption, RunError } from './context.js';

/** Absolute path of `bin/rumor.js` (found by walking up from this file). */
export function rumorBin(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const p = join(dir, 'bin', 'rumor.js');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new RunError('cannot find bin/rumor.js above ' + dirname(fileURLToPath(import.meta.url)));
}

/** One free TCP port on 127.0.0.1 (bound to port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `count` distinct free TCP ports on 127.0.0.1. */
export async function freePorts(count: number): Promise<number[]> {
  const out = new Set<number>();
  while (out.size < count) out.add(await freePort());
  return [...out];
}

/**
 * Resolve when `fn` returns a value other than undefined/false; reject after `timeoutMs`.
 * A throw from `fn` counts as "not yet" (an agent still starting refuses connections), but
 * the deadline's error reports the last one thrown, so a timeout says why, not only that.
 */
export async function waitUntil<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined | false>, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    let v: T | undefined | false;
    try {
      v = await fn();
    } catch (e) {
      v = undefined;
      lastError = e;
    }
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) {
      const why = lastError === undefined ? '' : `; last failure: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new RunError(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** How to start one agent child process. */
export interface AgentSpec {
  name: string;
  gossipPort: number;
  apiPort: number;
  join?: string[];
  profile?: 'lan' | 'wan' | 'local';
  /** Values of `--event-handler`. */
  handlers?: string[];
  tags?: string[];
  token?: string;
  /** File receiving the agent's stdout and stderr (default: discarded). */
  logFile?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

/** The command-line arguments of `rumor agent` for `spec`. */
export function agentArgs(spec: AgentSpec): string[] {
  const args = ['agent', '--name', spec.name, '--bind', `127.0.0.1:${spec.gossipPort}`, '--api-addr', `127.0.0.1:${spec.apiPort}`];
  if (spec.profile) args.push('--profile', spec.profile);
  for (const j of spec.join ?? []) args.push('--join', j);
  for (const h of spec.handlers ?? []) args.push('--event-handler', h);
  for (const t of spec.tags ?? []) args.push('--tag', t);
  if (spec.token) args.push('--api-token', spec.token);
  return [...args, ...(spec.extraArgs ?? [])];
}

/** Agents spawned by this process and still running: killed if this process exits first. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** How to start one agent's process: what `spawnAgent` spawns, and what a bench hands to a
 *  process that spawns for it (bench/support/spawner.ts). */
export interface AgentCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** File receiving the child's stdout and stderr (appended to; default: discarded). */
  logFile?: string;
}

/** What the helpers here (and the benches) use of an agent's process: a `ChildProcess`, or a
 *  child another process started (bench/support/spawner.ts `SpawnedProcess`). */
export interface AgentProcess {
  readonly pid?: number | undefined;
  readonly exitCode: number | null;
  readonly signalCode: NodeJS.Signals | null;
  kill(signal?: NodeJS.Signals | number): boolean;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  off(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
}

/** The command that starts `rumor agent ...` for `spec` as an installed agent starts: through
 *  the `rumor` launcher script next to bin/rumor.js (it puts the agent's node flags on node's
 *  command line and `exec`s node with this process's binary, `RUMOR_NODE`: the child's pid is
 *  the agent's); `node bin/rumor.js` for a build without that script. */
export function agentCommand(spec: AgentSpec): AgentCommand {
  const bin = rumorBin();
  const script = join(dirname(bin), 'rumor');
  const viaScript = existsSync(script);
  return {
    file: viaScript ? '/bin/sh' : process.execPath,
    args: [viaScript ? script : bin, ...agentArgs(spec)],
    env: { RUMOR_NODE: process.execPath, ...process.env, ...spec.env },
    logFile: spec.logFile,
  };
}

/** Spawn `rumor agent ...` for `spec` (`agentCommand`; killed when this process exits). */
export function spawnAgent(spec: AgentSpec): ChildProcess {
  const cmd = agentCommand(spec);
  const fd = cmd.logFile ? openSync(cmd.logFile, 'a') : undefined;
  const child = spawn(cmd.file, cmd.args, {
    stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
    env: cmd.env,
    // Own process group: Ctrl-C in the terminal reaches only the parent, which then stops
    // the agents itself (one SIGTERM each, not SIGINT and SIGTERM).
    detached: true,
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (fd !== undefined) closeSync(fd);
  return child;
}

/** Resolve with the exit code (or signal name) once `child` has exited. */
export function exited(child: AgentProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
}

/** SIGTERM every child still running, wait up to `graceMs`, then SIGKILL the rest. */
export async function stopAll(children: readonly AgentProcess[], graceMs = 5000): Promise<(number | string)[]> {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }, graceMs);
  const codes = await Promise.all(children.map(exited));
  clearTimeout(timer);
  return codes;
}

/** A running local cluster. */
export interface LocalCluster {
  specs: AgentSpec[];
  children: ChildProcess[];
  clients: AgentClient[];
  apiUrls: string[];
  logDir: string;
}

/** Start `nodes` agents (the first one alone, then the others joining it) and wait until each
 *  lists all of them alive. */
export async function startLocalCluster(nodes: number, timeoutMs = 30_000): Promise<LocalCluster> {
  const ports = await freePorts(2 * nodes);
  const logDir = mkdtempSync(join(tmpdir(), 'rumor-cluster-'));
  const specs: AgentSpec[] = Array.from({ length: nodes }, (_, i) => ({
    name: `n${i + 1}`,
    gossipPort: ports[2 * i],
    apiPort: ports[2 * i + 1],
    profile: 'local',
    join: i === 0 ? [] : [`127.0.0.1:${ports[0]}`],
    tags: [`role=${i === 0 ? 'seed' : 'worker'}`],
    logFile: join(logDir, `n${i + 1}.log`),
  }));
  const apiUrls = specs.map((s) => `http://127.0.0.1:${s.apiPort}`);
  const { AgentClient: Client } = await import('../agent/client.js');
  const clients = apiUrls.map((u) => new Client(u));
  const children: ChildProcess[] = [spawnAgent(specs[0])];
  const cluster = { specs, children, clients, apiUrls, logDir };
  try {
    await waitUntil('agent n1 to answer', timeoutMs, async () => (await clients[0].info()) !== undefined);
    for (const s of specs.slice(1)) children.push(spawnAgent(s));
    await waitUntil(`all ${nodes} agents to see ${nodes} alive members`, timeoutMs, async () => {
      const counts = await Promise.all(clients.map(async (c) => aliveCount(await c.members())));
      return counts.every((n) => n === nodes);
    });
  } catch (e) {
    await stopAll(children);
    throw e;
  }
  return cluster;
}

function aliveCount(members: readonly { status: string }[]): number {
  return members.filter((m) => m.status === 'alive').length;
}

/** The demo events `rumor cluster` sends: [origin agent index, name, payload]. */
function demoEvents(nodes: number): [number, string, string][] {
  return [
    [0, 'deploy', 'v1.2.3'],
    [Math.min(1, nodes - 1), 'config-reload', 'feature-x=on'],
    [nodes - 1, 'hello', `from n${nodes}`],
  ];
}

interface Received {
  name: string;
  payload: string;
}

/** Subscribe to user events on every agent, send the demo events, wait until all agents got them. */
async function runDemo(ctx: CliContext, c: LocalCluster): Promise<Received[][]> {
  const got: Received[][] = c.clients.map(() => []);
  const warm = c.clients.map(() => false);
  const streams = c.clients.map((client, i) =>
    client.monitor(
      (ev) => {
        if (ev.type === 'user' && ev.name === 'warmup') warm[i] = true;
        else if (ev.type === 'user') got[i].push({ name: ev.name, payload: ev.payload });
      },
      { type: 'user' },
    ),
  );
  for (const s of streams) s.done.catch(() => undefined); // a broken stream shows as a missing event
  try {
    // The streams open asynchronously: publish a warm-up event until every stream saw one.
    await waitUntil('every monitor stream to open', 15_000, async () => {
      await c.clients[0].event('warmup', '');
      return warm.every((w) => w);
    }, 300);
    const events = demoEvents(c.clients.length);
    for (const [from, name, payload] of events) {
      await c.clients[from].event(name, payload);
      ctx.stdout.write(`sent event ${name} ${JSON.stringify(payload)} through ${c.specs[from].name}\n`);
    }
    await waitUntil('every agent to receive the demo events', 15_000, async () => got.every((g) => g.length >= events.length));
  } finally {
    for (const s of streams) s.close();
  }
  return got;
}

function printCluster(ctx: CliContext, c: LocalCluster, got: Received[][]): void {
  ctx.stdout.write('\nwhat each agent received:\n');
  c.specs.forEach((s, i) => {
    const evs = got[i].map((e) => `${e.name}(${JSON.stringify(e.payload)})`).join(' ');
    ctx.stdout.write(`  ${s.name.padEnd(4)} ${c.apiUrls[i].padEnd(24)} ${evs}\n`);
  });
  const api = c.apiUrls[0];
  ctx.stdout.write(
    `\nlive dashboard: ${api}/ui/  (or: npx rumor ui --agent ${api.replace('http://', '')} --open)\n` +
      `\ntry, in another terminal:\n` +
      `  npx rumor members --api ${api}\n` +
      `  npx rumor monitor --api ${c.apiUrls[c.apiUrls.length - 1]}\n` +
      `  npx rumor event deploy v2 --api ${api}\n` +
      `  npx rumor info --api ${api}\n` +
      `  npx rumor leave --api ${c.apiUrls[c.apiUrls.length - 1]}\n` +
      `agent logs: ${c.logDir}\n`,
  );
}

/** Register the `cluster` verb. */
export function registerCluster(program: Command, ctx: CliContext): void {
  program
    .command('cluster')
    .description('start a local cluster of agents on loopback, send a few events, run until Ctrl-C')
    .option('--nodes <n>', 'number of agents', '5')
    .option('--exit-after-demo', 'stop the cluster and exit once the demo events were received')
    .action(async (opts: { nodes: string; exitAfterDemo?: boolean }) => {
      const nodes = parseIntOption('--nodes', opts.nodes, 1, 64);
      rumorBin();
      ctx.stdout.write(`starting ${nodes} agents on 127.0.0.1...\n`);
      const c = await startLocalCluster(nodes);
      let stopping: Promise<unknown> | undefined;
      const stop = (): Promise<unknown> => (stopping ??= stopAll(c.children));
      try {
        ctx.stdout.write(`all ${nodes} agents joined; every one lists ${nodes} alive members\n`);
        printCluster(ctx, c, await runDemo(ctx, c));
        if (!opts.exitAfterDemo) await untilSignal(ctx, c);
      } finally {
        await stop();
      }
      ctx.stdout.write('cluster stopped\n');
    });
}

/** Resolve on SIGINT/SIGTERM; report (on stderr) an agent that dies on its own meanwhile. */
function untilSignal(ctx: CliContext, c: LocalCluster): Promise<void> {
  ctx.stdout.write('\nrunning; press Ctrl-C to stop\n');
  let signalled = false;
  return new Promise((resolve) => {
    const done = (): void => {
      signalled = true;
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      ctx.stdout.write('\nstopping the agents...\n');
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
    c.children.forEach((child, i) =>
      child.once('exit', (code, sig) => {
        if (!signalled) ctx.stderr.write(`rumor: agent ${c.specs[i].name} exited (${code ?? sig}); see ${c.specs[i].logFile}\n`);
      }),
    );
  });
}
