/**
 * Ports for the agents of a benchmark, and starting an agent on them when another process
 * may take one first.
 *
 * `freePorts` (src/cli/cluster.ts) binds port 0, reads the port and releases it: between
 * that release and the agent's own bind, any process on the machine can take the port (the
 * kernel hands out ephemeral ports to outgoing connections too, and up to 8 benchmarks and
 * test suites share this machine), and the agent then exits with EADDRINUSE. `PortPlan`
 * keeps the ports of every agent in arrays that the drivers read at each spawn, and
 * `startOnFreePorts` spawns an agent, and when it exits before answering because one of its
 * ports was taken, gives it new ports and spawns it again (at most `attempts` times). The
 * start-up time a benchmark records is that of the attempt that came up: a lost port race
 * changes which ports an agent uses, not what is measured.
 *
 * How a start is detected: by default `up` is tried every `everyMs` from the spawn until it
 * answers (every try a connection attempt, refused until the agent listens). With `readyLine`,
 * nothing is asked until the agent's own log, from where it stood at the spawn, holds a line
 * matching it (both systems print such a line once their API or RPC socket listens: rumor's
 * `rumor agent NAME running: ...`, Serf's `==> Serf agent running!`); the log is watched with
 * inotify (`fs.watch`, and a read every 250 ms in case an event is missed), and then `up` is
 * asked once, and must answer (it is tried again every `everyMs` only if it does not, and the
 * result says how many tries it took). With `watch`, a `ReadyWatcher` (support/ready-watch.ts)
 * does the same in a process of its own, so that the spawns of this process (each blocks it
 * until the child has exec'd) do not delay it, nor it them (bench:cluster). At 50 agents starting at once the first way makes ~5,000
 * refused connections a second from the benchmark's own process on the cores the agents start
 * on (docs/results.md, issue 19, sixteenth session).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { lineInLog } from './log-line.js';
import { freePorts, type AgentProcess } from '../../src/cli/cluster.js';

/** Two ports per agent (gossip, and the API or RPC port), all distinct. */
export class PortPlan {
  private constructor(
    /** Gossip port of agent i (mutated in place by `reassign`: pass the array, not copies). */
    readonly gossip: number[],
    /** API (rumor) or RPC (Serf) port of agent i. */
    readonly api: number[],
  ) {}

  static async create(n: number): Promise<PortPlan> {
    const ports = await freePorts(2 * n);
    return new PortPlan(ports.slice(0, n), ports.slice(n));
  }

  /** Give agent `i` two new free ports, distinct from every port of the plan. */
  async reassign(i: number): Promise<void> {
    const used = new Set([...this.gossip, ...this.api]);
    for (let tries = 0; tries < 20; tries++) {
      const [g, a] = await freePorts(2);
      if (used.has(g) || used.has(a)) continue;
      this.gossip[i] = g;
      this.api[i] = a;
      return;
    }
    throw new Error(`no two new free ports for agent ${i} in 20 tries`);
  }

  /** Agent `i` as the benches name and place it now: `n<i>` on its current ports, joining agent
   *  0 (none for agent 0). Read at each spawn: a lost port race changes the ports. */
  agent(i: number): { name: string; gossipPort: number; apiPort: number; join: string[] } {
    return { name: `n${i}`, gossipPort: this.gossip[i], apiPort: this.api[i], join: i === 0 ? [] : [`127.0.0.1:${this.gossip[0]}`] };
  }
}

/** A log line saying that a port was taken (rumor: `EADDRINUSE`; Serf: Go's "address already in use"). */
const PORT_TAKEN = /EADDRINUSE|address already in use/i;

/** The last non-empty line of a log file ('' when there is none). */
export function lastLogLine(file: string): string {
  if (!existsSync(file)) return '';
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.length === 0 ? '' : lines[lines.length - 1].slice(0, 300);
}

export interface StartSpec<P extends AgentProcess = ChildProcess> {
  /** Who is started (for messages). */
  what: string;
  /** Spawn the agent on its current ports (or have it spawned: bench/support/spawner.ts). */
  spawn(): P | Promise<P>;
  /** When the child was spawned (epoch ms), when another process spawned it later than this
   *  process asked (bench/support/spawner.ts); default: just before `spawn` was called. */
  spawnedAt?(child: P): number;
  /** Resolves when the agent answers; throws (or rejects) while it does not yet. */
  up(): Promise<void>;
  /** Give the agent new ports (`PortPlan.reassign`, and drop clients bound to the old ones). */
  reassign(): Promise<void>;
  /** The agent's log (stdout and stderr), read when it exits before answering. */
  logFile: string;
  timeoutMs: number;
  /** Spawns at most (default 4). */
  attempts?: number;
  /** Poll period of `up` (ms); with `readyLine`, the period of its retries after the line. */
  everyMs?: number;
  /** Wait for a line of the agent's log matching this before asking `up` (see above). */
  readyLine?: RegExp;
  /** Called with the child as soon as its ready line is seen, before `up` is asked. */
  onLine?(child: P): void;
  /** Instead of watching the line and asking `up` here: hand the spawned child (and the log's
   *  size before the spawn) to a `ReadyWatcher` (support/ready-watch.ts), which does both in a
   *  process of its own. `up` is then not called. */
  watch?(child: P, from: number): Promise<WatchResult>;
}

/** What the ready watcher reports for one spawn (support/ready-watch.ts). */
export type WatchResult =
  | { type: 'up'; lineAt: number; lineWrittenAt: number; cpuAtLineMs: number; answeredAt: number; cpuMs: number; tries: number }
  | { type: 'gone' }
  | { type: 'timeout'; reason: string };

/** Client of support/ready-watch.ts (one child process; `close` ends it). */
export class ReadyWatcher {
  private readonly child: ChildProcess;
  private seq = 0;
  private readonly pending = new Map<number, (r: WatchResult) => void>();
  /** Resolves once the watcher runs. */
  readonly ready: Promise<void>;

  constructor() {
    const file = join(dirname(fileURLToPath(import.meta.url)), 'ready-watch.ts');
    this.child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['pipe', 'pipe', 'inherit'] });
    let started: () => void = () => undefined;
    this.ready = new Promise<void>((r) => (started = r));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let m: { type: string; i?: number };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        return;
      }
      if (m.type === 'ready') return started();
      if (m.i === undefined) return;
      this.pending.get(m.i)?.(m as WatchResult);
      this.pending.delete(m.i);
    });
  }

  watch(w: { pid: number; log: string; from: number; line: RegExp; sys: 'rumor' | 'serf'; port: number; timeoutMs: number; everyMs: number }): Promise<WatchResult> {
    const i = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(i, resolve);
      this.child.stdin!.write(JSON.stringify({ ...w, i, line: w.line.source }) + '\n');
    });
  }

  /** The watcher's process id (for its CPU). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
  }
}

/** `requests`: calls of `up` over every attempt (connection attempts, for the benchmarks' own
 *  load; with `watch`, the watcher's tries); `watched`: the watcher's report (with `watch`); `lineAt`: when the ready line was seen (with `readyLine`), and `lineWrittenAt` the
 *  log's modification time then (when the line was written, if nothing was written after it,
 *  to the kernel's clock tick); `reason` of a timeout:
 *  what did not happen in time. */
export type Started<P extends AgentProcess = ChildProcess> =
  | { type: 'up'; child: P; t0: number; attempts: number; notes: string[]; requests: number; lineAt?: number; lineWrittenAt?: number; watched?: WatchResult & { type: 'up' } }
  | { type: 'timeout'; child: P; t0: number; attempts: number; notes: string[]; requests: number; reason: string };

const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Spawn `spec`'s agent and wait until it answers. An agent that exits first because a port
 * was taken (its log says so) is given new ports and spawned again; any other early exit, or
 * a port race lost `attempts` times, throws with the log's last line. `t0` is when the
 * attempt that came up was spawned. A still-running agent that does not answer within
 * `timeoutMs` is returned as `timeout` (the caller notes it, as before).
 */
export async function startOnFreePorts<P extends AgentProcess = ChildProcess>(spec: StartSpec<P>): Promise<Started<P>> {
  const attempts = spec.attempts ?? 4;
  const notes: string[] = [];
  const count = { requests: 0 };
  const counted: StartSpec<P> = {
    ...spec,
    up: () => {
      count.requests++;
      return spec.up();
    },
  };
  for (let k = 1; ; k++) {
    const from = spec.readyLine === undefined && spec.watch === undefined ? 0 : sizeOf(spec.logFile);
    const asked = nowMs();
    const child = await spec.spawn();
    const t0 = spec.spawnedAt?.(child) ?? asked;
    if (spec.watch !== undefined) {
      const w = await watchOrExit(child, spec.watch(child, from));
      if (typeof w !== 'string' && w.type === 'up') {
        count.requests += w.tries;
        return { type: 'up', child, t0, attempts: k, notes, requests: count.requests, lineAt: w.lineAt, lineWrittenAt: w.lineWrittenAt, watched: w };
      }
      if (typeof w !== 'string' && w.type === 'timeout') return { type: 'timeout', child, t0, attempts: k, notes, requests: count.requests, reason: w.reason };
      const line = lastLogLine(spec.logFile);
      const why = typeof w === 'string' ? w : `exit ${child.exitCode ?? child.signalCode ?? '?'}`;
      if (!PORT_TAKEN.test(line)) throw new Error(`${spec.what} exited (${why}) before answering: ${line || '(empty log)'}`);
      if (k >= attempts) throw new Error(`${spec.what}: a port was taken before it could bind it, ${k} times in a row: ${line}`);
      notes.push(`${spec.what}: a port was taken before it bound it (${line}); started again on new ports`);
      await spec.reassign();
      continue;
    }
    const r = spec.readyLine === undefined ? await upOrExit(child, counted) : await lineThenUp(child, counted, spec.readyLine, from, notes);
    if (r === 'up') return { type: 'up', child, t0, attempts: k, notes, requests: count.requests };
    if (typeof r === 'object' && r.type === 'up') return { type: 'up', child, t0, attempts: k, notes, requests: count.requests, lineAt: r.lineAt, lineWrittenAt: r.lineWrittenAt };
    if (r === 'timeout') return { type: 'timeout', child, t0, attempts: k, notes, requests: count.requests, reason: `did not answer within ${spec.timeoutMs / 1000} s` };
    if (typeof r === 'object') return { type: 'timeout', child, t0, attempts: k, notes, requests: count.requests, reason: r.reason };
    const line = lastLogLine(spec.logFile);
    if (!PORT_TAKEN.test(line)) throw new Error(`${spec.what} exited (${r}) before answering: ${line || '(empty log)'}`);
    if (k >= attempts) throw new Error(`${spec.what}: a port was taken before it could bind it, ${k} times in a row: ${line}`);
    notes.push(`${spec.what}: a port was taken before it bound it (${line}); started again on new ports`);
    await spec.reassign();
  }
}

/** 'up', 'timeout', or the exit code / signal of a child that exited before answering. */
async function upOrExit<P extends AgentProcess>(child: P, spec: StartSpec<P>): Promise<'up' | 'timeout' | string> {
  let exit: string | undefined;
  const onExit = (code: number | null, sig: NodeJS.Signals | null): void => {
    exit = `exit ${code ?? sig ?? '?'}`;
  };
  child.once('exit', onExit);
  try {
    const deadline = Date.now() + spec.timeoutMs;
    while (Date.now() < deadline) {
      if (exit !== undefined || child.exitCode !== null || child.signalCode !== null) return exit ?? `exit ${child.exitCode ?? child.signalCode}`;
      try {
        await spec.up();
        return 'up';
      } catch {
        // not yet
      }
      await new Promise((r) => setTimeout(r, spec.everyMs ?? 10));
    }
    return 'timeout';
  } finally {
    child.off('exit', onExit);
  }
}

/** The watcher's report, or the exit of a child that ended first (`exit CODE`). */
async function watchOrExit(child: AgentProcess, report: Promise<WatchResult>): Promise<WatchResult | string> {
  let onExit: () => void = () => undefined;
  const exited = new Promise<string>((r) => {
    onExit = () => r(`exit ${child.exitCode ?? child.signalCode ?? '?'}`);
    if (child.exitCode !== null || child.signalCode !== null) onExit();
    else child.once('exit', onExit);
  });
  try {
    return await Promise.race([report, exited]);
  } finally {
    child.off('exit', onExit);
  }
}

const sizeOf = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** `lineInLog`'s end-of-writer watch for a child process: its exit (at once when it has exited). */
const childExit = (child: AgentProcess) => (notify: () => void): (() => void) => {
  if (child.exitCode !== null || child.signalCode !== null) {
    notify();
    return () => {};
  }
  child.once('exit', notify);
  return () => child.off('exit', notify);
};

/** With `readyLine`: wait for the line (from byte `from` of the log), then ask `up`, again
 *  every `everyMs` until it answers (a note says how many tries that took when more than one). */
async function lineThenUp<P extends AgentProcess>(child: P, spec: StartSpec<P>, re: RegExp, from: number, notes: string[]): Promise<{ type: 'up'; lineAt: number; lineWrittenAt: number } | { type: 'timeout'; reason: string } | string> {
  const deadline = Date.now() + spec.timeoutMs;
  const r = await lineInLog(spec.logFile, from, re, deadline, childExit(child));
  const exit = (): string => `exit ${child.exitCode ?? child.signalCode ?? '?'}`;
  if (r === 'gone') return exit();
  if (r === 'timeout') return { type: 'timeout', reason: `did not print a line matching ${String(re)} within ${spec.timeoutMs / 1000} s (log ${spec.logFile}, last line: ${lastLogLine(spec.logFile) || '(empty)'})` };
  const lineAt = nowMs();
  const lineWrittenAt = statSync(spec.logFile).mtimeMs;
  spec.onLine?.(child);
  let exited: string | undefined;
  const onExit = (): void => {
    exited = exit();
  };
  child.once('exit', onExit);
  try {
    for (let tries = 1; Date.now() < deadline; tries++) {
      if (exited !== undefined) return exited;
      try {
        await spec.up();
        if (tries > 1) notes.push(`${spec.what}: answered on try ${tries} after its ready line`);
        return { type: 'up', lineAt, lineWrittenAt };
      } catch {
        // the line is printed once the socket listens: rare; try again
      }
      await new Promise((res) => setTimeout(res, spec.everyMs ?? 10));
    }
    return { type: 'timeout', reason: `printed its ready line but did not answer within ${spec.timeoutMs / 1000} s` };
  } finally {
    child.off('exit', onExit);
  }
}

export interface FleetSpec<P extends AgentProcess = ChildProcess> {
  /** Who is started (for messages): `${what} ${i}`. */
  what: string;
  /** Spawn agent `i` on the plan's current ports (read them in the call, not before), or have
   *  it spawned (bench/support/spawner.ts: then give `spawnedAt` too). */
  spawn(i: number): P | Promise<P>;
  /** As `StartSpec.spawnedAt`. When given, the spawns are another process's and never block
   *  this one: the agents after agent 0 are asked for at once, not one per turn. */
  spawnedAt?(child: P): number;
  /** Resolves when agent `i` answers; throws (or rejects) while it does not yet. */
  up(i: number): Promise<unknown>;
  /** Agent `i`'s log (stdout and stderr), where a lost port race shows. */
  logFile(i: number): string;
  /** Called after agent `i` was given new ports: drop clients bound to the old ones. */
  reassigned?(i: number): void;
  /** Per agent, from its (last) spawn. */
  timeoutMs: number;
  everyMs?: number;
  /** Readiness from each agent's log line (`StartSpec.readyLine`) instead of polling `up`;
   *  then the agents after agent 0 are also spawned one per turn of the event loop, so that
   *  the lines of those already spawned are seen between the spawns (each blocks this process
   *  until its child has exec'd: ~45 ms at N = 50 under the agents' load). */
  readyLine?: RegExp;
}

/**
 * Start agents 0..n-1 of `plan` the way the benchmarks do: agent 0 first, then the others at
 * once (they join agent 0 at its current gossip port), each through `startOnFreePorts`.
 * `children[i]` is set at every spawn, so the caller's clean-up stops the attempt running
 * now; an agent that does not answer within `timeoutMs` throws. Each lost port race is
 * written to stderr. Returns what `startOnFreePorts` returned for each agent (`t0` of the
 * attempt that came up).
 */
export async function startFleet<P extends AgentProcess = ChildProcess>(plan: PortPlan, n: number, children: P[], s: FleetSpec<P>): Promise<Started<P>[]> {
  const started: Started<P>[] = [];
  let turn = Promise.resolve();
  const nextTurn = (): Promise<void> => (turn = turn.then(() => new Promise<void>((r) => setImmediate(r))));
  const one = async (i: number): Promise<void> => {
    if (s.readyLine !== undefined && s.spawnedAt === undefined && i > 0) await nextTurn();
    const r = await startOnFreePorts<P>({
      what: `${s.what} ${i}`,
      spawn: async () => (children[i] = await s.spawn(i)),
      spawnedAt: s.spawnedAt,
      up: async () => {
        await s.up(i);
      },
      reassign: async () => {
        await plan.reassign(i);
        s.reassigned?.(i);
      },
      logFile: s.logFile(i),
      timeoutMs: s.timeoutMs,
      everyMs: s.everyMs,
      readyLine: s.readyLine,
    });
    for (const note of r.notes) process.stderr.write(`${note}\n`);
    if (r.type === 'timeout') throw new Error(`${s.what} ${i} ${r.reason} (log: ${s.logFile(i)})`);
    started[i] = r;
  };
  await one(0);
  await Promise.all(Array.from({ length: n - 1 }, (_, k) => one(k + 1)));
  return started;
}
