/**
 * The two systems bench/cluster.ts drives, behind one interface: rumor's agents through their
 * HTTP API (node:http, kept-alive connections), Serf's through its RPC protocol over one
 * persistent connection per agent (bench/serf.ts). Ports come from a `PortPlan`
 * (support/ports.ts), read at every spawn, so that an agent that lost a port race can be
 * started again on new ones (`reassign`).
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentCommand, spawnAgent, type AgentCommand, type AgentSpec } from '../../src/cli/cluster.js';
import { SerfRpc, serfArgs, serfVersion, spawnSerf, type SerfAgentSpec } from '../serf.js';
import { httpLines, writeQueryHandler, type QueryOps } from '../query-all.js';
import type { TagOps } from '../tag-update.js';
import { agentEnv } from '../startup.js';
import type { PortPlan } from './ports.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The line a rumor agent prints once `Agent.start` has returned, after its API's bind
 *  (src/cli/agent.ts). */
export const RUMOR_READY_LINE = /^rumor agent \S+ running: /;
/** The line Serf's `agent` command prints once its RPC listener is bound (and before its
 *  start-up join: a `-join` to a closed port prints it, then the join's error). */
export const SERF_READY_LINE = /^==> Serf agent running!/;

/** What the benchmark needs from a system. */
export interface Driver {
  name: 'rumor' | 'serf';
  version: string;
  spawn(i: number, join: string[]): ChildProcess;
  /** What `spawn` runs, for another process to spawn it (bench/support/spawner.ts). */
  command(i: number, join: string[]): AgentCommand;
  /** Start agent i again, without join, on the same ports and snapshot (phase h). */
  restart(i: number): ChildProcess;
  /** Resolves when agent i answers a members query (the query the join phase polls with: an
   *  agent is "up" when it can answer it); throws otherwise. */
  ping(i: number): Promise<void>;
  /** Status of every member agent i lists. */
  members(i: number): Promise<Map<string, string>>;
  publish(i: number, name: string, payload: string): Promise<void>;
  tagOps: TagOps;
  queryOps: QueryOps;
  /** The log file of agent i (stdout and stderr). */
  logFile(i: number): string;
  /** The line an agent prints to its log once its API (rumor) or RPC (Serf) socket listens:
   *  readiness without polling (support/ports.ts `readyLine`). */
  readyLine: RegExp;
  /** Give agent i new ports after it lost a port race (before it ever answered). */
  reassign(i: number): Promise<void>;
  close(): void;
}


/** One HTTP request over a kept-alive connection (`keepAlive`), answered with JSON. Polling
 *  50 agents every 20 ms through `fetch` cost this process ~0.4–0.6 ms of CPU per request
 *  (node:http: ~0.15–0.24 ms), CPU taken from the agents being measured; Serf's driver uses
 *  one persistent RPC connection per agent, so this is the like-for-like client. */
export function httpJson(keepAlive: HttpAgent, port: number, path: string, body?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, agent: keepAlive, method: body === undefined ? 'GET' : 'POST', timeout: 2000, headers: body === undefined ? {} : { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode} ${text}`));
          try {
            resolve(JSON.parse(text));
          } catch (e) {
            reject(e as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/** rumor's agents: `profile`, and `keepEnv` (bench/startup.ts `START_COST_ENV`). */
export function rumorDriver(dir: string, opts: { profile: 'lan' | 'local'; keepEnv?: boolean }, ports: PortPlan, handlers: string[]): Driver {
  const { gossip, api } = ports;
  let keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 2 });
  const get = (i: number, path: string): Promise<unknown> => httpJson(keepAlive, api[i], path);
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
  const queryHandler = writeQueryHandler(dir);
  const spec = (i: number, joinTo: string[]): AgentSpec => ({
    name: `n${i}`,
    gossipPort: gossip[i],
    apiPort: api[i],
    join: joinTo,
    profile: opts.profile,
    handlers: [`user=${handlers[i]}`, `query:bench=${queryHandler}`],
    logFile: join(dir, `agent-${i}.log`),
    extraArgs: ['--log-level', 'warn', '--data-dir', join(dir, `data-${i}`)],
    env: agentEnv(opts.keepEnv === true),
  });
  const spawn = (i: number, joinTo: string[]): ChildProcess => spawnAgent(spec(i, joinTo));
  return {
    name: 'rumor',
    version: `rumor ${version}`,
    spawn,
    command: (i, joinTo) => agentCommand(spec(i, joinTo)),
    restart: (i) => spawn(i, []),
    ping: async (i) => void (await get(i, '/v1/members')),
    members: async (i) => {
      const r = (await get(i, '/v1/members')) as { members: { name: string; status: string }[] };
      return new Map(r.members.map((m) => [m.name, m.status]));
    },
    publish: async (i, name, payload) => {
      await httpJson(keepAlive, api[i], '/v1/event', JSON.stringify({ name, payload }));
    },
    tagOps: {
      set: async (i, key, value) => void (await httpJson(keepAlive, api[i], '/v1/tags', JSON.stringify({ set: { [key]: value } }))),
      tags: async (i) => new Map(((await get(i, '/v1/members')) as { members: { name: string; tags: Record<string, string> }[] }).members.map((m) => [m.name, m.tags])),
    },
    queryOps: { query: (i, name, timeoutMs, onResponse) => httpLines(keepAlive, api[i], '/v1/query', JSON.stringify({ name, timeoutMs, ack: false }), (l) => l.includes('"type":"response"') && onResponse()) },
    logFile: (i) => join(dir, `agent-${i}.log`),
    readyLine: RUMOR_READY_LINE,
    reassign: async (i) => {
      // Kept-alive connections may point at the old ports' new owner: start afresh.
      keepAlive.destroy();
      keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 2 });
      await ports.reassign(i);
    },
    close: () => keepAlive.destroy(),
  };
}

/** Serf's agents (bench/serf.ts), with `profile`; each agent's output goes to serf-<i>.log. */
export function serfDriver(dir: string, ports: PortPlan, handlers: string[], profile: string): Driver {
  const { gossip, api: rpcPorts } = ports;
  const queryHandler = writeQueryHandler(dir);
  const logFile = (i: number): string => join(dir, `serf-${i}.log`);
  const spec = (i: number, joinTo: string[]): SerfAgentSpec => ({ name: `n${i}`, bindPort: gossip[i], rpcPort: rpcPorts[i], join: joinTo, handler: handlers[i], queryHandler, profile, snapshot: join(dir, `snapshot-${i}`) });
  const spawnLogged = (i: number, joinTo: string[]): ChildProcess => {
    const fd = openSync(logFile(i), 'a');
    try {
      return spawnSerf(spec(i, joinTo), fd);
    } finally {
      closeSync(fd);
    }
  };
  const rpcs = new Map<number, SerfRpc>();
  const rpc = async (i: number): Promise<SerfRpc> => {
    let c = rpcs.get(i);
    if (!c) {
      c = await SerfRpc.open(rpcPorts[i]);
      rpcs.set(i, c);
    }
    return c;
  };
  const withRpc = async <T>(i: number, f: (c: SerfRpc) => Promise<T>): Promise<T> => {
    try {
      return await f(await rpc(i));
    } catch (e) {
      rpcs.get(i)?.close();
      rpcs.delete(i);
      throw e;
    }
  };
  return {
    name: 'serf',
    version: `serf ${serfVersion()}`,
    spawn: spawnLogged,
    command: (i, joinTo) => ({ file: 'serf', args: serfArgs(spec(i, joinTo)), env: process.env, logFile: logFile(i) }),
    restart: (i) => {
      rpcs.get(i)?.close();
      rpcs.delete(i);
      return spawnLogged(i, []);
    },
    ping: (i) => withRpc(i, async (c) => void (await c.members())),
    members: (i) => withRpc(i, async (c) => new Map((await c.members()).map((m) => [m.Name, m.Status]))),
    publish: (i, name, payload) => withRpc(i, (c) => c.event(name, payload)),
    tagOps: {
      set: (i, key, value) => withRpc(i, async (c) => void (await c.call('tags', { Tags: { [key]: value }, DeleteTags: [] }, false))),
      tags: (i) => withRpc(i, async (c) => new Map((((await c.call('members', undefined, true)) as { Members?: { Name: string; Tags?: Record<string, string> }[] }).Members ?? []).map((m) => [m.Name, m.Tags ?? {}]))),
    },
    // A connection of its own per query: its stream must not hold up the polls' answers.
    queryOps: {
      query: async (i, name, timeoutMs, onResponse) => {
        const c = await SerfRpc.open(rpcPorts[i]);
        try {
          await c.query(name, timeoutMs, (r) => r.Type === 'response' && onResponse());
        } finally {
          c.close();
        }
      },
    },
    logFile,
    readyLine: SERF_READY_LINE,
    reassign: async (i) => {
      rpcs.get(i)?.close();
      rpcs.delete(i);
      await ports.reassign(i);
    },
    close: () => {
      for (const c of rpcs.values()) c.close();
    },
  };
}

