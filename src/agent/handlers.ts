/**
 * Event handler scripts, like Serf's: for every event matching a handler's filters, run
 * its script, the event described in the environment (`RUMOR_EVENT`,
 * `RUMOR_USER_EVENT`, `RUMOR_SELF_NAME`, `RUMOR_SELF_ADDR`, `RUMOR_TAG_<KEY>`) and its data
 * on stdin (a user event's payload; for member events one line per member
 * `name\taddr\tstatus\ttags` with tags as `k=v,k=v`).
 *
 * A script that is a plain path (it holds a `/` and nothing the shell would interpret:
 * only letters, digits and `_ . / + - @ % , :`) is executed directly, without a shell: one
 * process fewer per event, which is most of a handler's dispatch latency. Anything else
 * (arguments, variables, pipes, `~`, ...) runs with `/bin/sh -c`, as Serf does. A directly
 * executed file without a `#!` line still runs with `/bin/sh` (execvp's ENOEXEC fallback).
 *
 * Bounded: each run is killed (its whole process group, SIGKILL) after `timeoutMs`; at most
 * `concurrency` runs at once, at most `queueSize` waiting; beyond that runs are dropped and
 * counted. Failures (non-zero exit, signal, timeout, spawn error) are logged and counted,
 * never thrown.
 *
 * Cheap per run, because with every node of a cluster running a handler for the same event the
 * agents' CPU is the event's latency: runs are started by a long-lived launcher process
 * (`spawn-helper.ts`: the agent does not fork its ~60 MB per run; with the same semantics, and
 * the agent's own `spawn` as the fallback, `launcher: 'direct'`); the environment is an object whose prototype is the
 * agent's environment, read once (no copy of it per run); stdin holds the data (through the
 * launcher a pipe filled before the fork; with the agent's own spawn an unnamed scratch file,
 * see `scratch.ts`, read to its end like a pipe, with a pipe as the fallback when no scratch
 * file can be made); stdout is only captured when asked
 * (`captureStdout`). Stderr stays a pipe, read as it comes and kept to its first 4 KiB: as a
 * file it would save a little more, but a runaway script could then fill the temporary
 * directory (often memory-backed) before its timeout.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { tmpdir } from 'node:os';
import type { Member } from './members.js';
import type { EventHandlerSpec } from './config.js';
import type { AgentLogger } from './log.js';
import { closeQuietly, ScratchFiles } from './scratch.js';
import { HelperChild, SpawnHelper, type HelperAnswer, type LauncherProgram } from './spawn-helper.js';

/** An event as seen by handlers and the monitor stream. */
export type AgentEvent =
  | { type: 'user'; id: string; name: string; payload: Uint8Array; origin: string; ltime: number }
  /** A query for this node (src/agent/query.ts): its handler's stdout is the response. */
  | { type: 'query'; name: string; payload: Uint8Array; origin: string }
  | { type: 'member-join' | 'member-leave' | 'member-failed' | 'member-update' | 'member-reap'; members: Member[] };

/** Does the filter (`*`, `user`, `user:NAME`, `query`, `query:NAME`, or an event type) match
 *  the event? `*` never matches a query: a catch-all handler (a logger) must not become every
 *  query's answer. */
export function matchesFilter(filter: string, type: string, userName?: string): boolean {
  if (type === 'query') return filter === 'query' || filter === `query:${userName}`;
  if (filter === '*' || filter === type) return true;
  return type === 'user' && filter.startsWith('user:') && filter.slice(5) === userName;
}

/** Outcome of one run, reported to `onResult` (for tests and metrics). */
export interface HandlerResult {
  script: string;
  event: string;
  /** `ok`, or the failure reason. */
  outcome: 'ok' | 'exit' | 'signal' | 'timeout' | 'spawn';
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of a `HandlerRunner`. */
export interface HandlerOptions {
  handlers: EventHandlerSpec[];
  self: () => { name: string; addr: string; tags: Record<string, string> };
  timeoutMs: number;
  concurrency: number;
  queueSize: number;
  logger: AgentLogger;
  onResult?: (r: HandlerResult) => void;
  onDropped?: () => void;
  onStart?: () => void;
  /** Collect each run's stdout (for `HandlerResult.stdout` and the debug log). Default true;
   *  false sends it to /dev/null: one pipe fewer per run (measured: ~0.2 ms of the agent's CPU
   *  per spawn, node 20), which counts when every node of a cluster runs a handler at once. */
  captureStdout?: boolean;
  /** Directory of the stdin and stderr scratch files (default: the OS temporary directory). */
  scratchDir?: string;
  /** How runs are started: `helper` (default) through the long-lived launcher of
   *  spawn-helper.ts, falling back to `direct` when it cannot run (no perl); `direct`: the
   *  agent's own `spawn` (a fork of the agent) for every run. */
  launcher?: 'helper' | 'direct';
  /** Which launcher `helper` runs (spawn-helper.ts `LauncherProgram`): default `auto`, the
   *  native one when it was built, else perl. */
  launcherProgram?: LauncherProgram;
  /** The native launcher's path (default: dist/rumor-launcher, found by spawn-helper.ts). */
  nativeLauncherPath?: string;
}

interface Job {
  script: string;
  env: Record<string, string>;
  stdin: Uint8Array;
  event: string;
  /** A start-up warm-up run: not counted, not reported. */
  warm?: boolean;
  /** A query's run: its stdout (bounded) is handed to `done`. */
  query?: { limit: number; done: (r: QueryRunResult) => void; answer?: () => HelperAnswer | undefined };
}

/** Outcome of a query handler's run (`runQuery`): `dropped` when the queue was full, `none`
 *  when no handler matches. `stdout` holds at most the limit's bytes; `truncated` says the
 *  script printed more. */
export interface QueryRunResult {
  outcome: HandlerResult['outcome'] | 'dropped' | 'none';
  code: number | null;
  stdout: Uint8Array;
  truncated: boolean;
  stderr: string;
  script: string;
  /** The launcher sent the response itself (`runQuery`'s `answer`): nothing left to send. */
  sent: boolean;
}

/** Warm-up runs at start-up (see `HandlerRunner.warmUp`). Measured (node 20, 80 MB heap):
 *  CPU of spawn + exit handling in the parent, run by run: 5-11, 2.5-3, 3.7-4, 1.7-2.6,
 *  1.4-2.3, then 1.2-1.4 ms: about six runs reach the steady state. */
export const WARM_UP_RUNS = 6;
/** Warm-up runs through the launcher (the default): the first starts the launcher itself
 *  (5.5-5.7 ms of the agent's CPU), the second already costs the steady 0.4-0.5 ms (measured
 *  run by run, node 20, load 8: 5.68, 0.48, 0.36, 0.39, 0.43 ms); more runs only add forks of
 *  /bin/sh to the fleet's CPU right when the first events of a fresh cluster arrive. */
export const WARM_UP_RUNS_LAUNCHER = 2;
/** Data of a warm-up run: not empty, so that the warm-up also takes the path that writes
 *  stdin's scratch file (an empty one is never written). */
const WARM_UP_STDIN = new TextEncoder().encode('warm-up\n');

const OUTPUT_LIMIT = 4096;

/** A path the shell would pass through unchanged (see the module comment). */
const PLAIN_PATH = /^[A-Za-z0-9_./+@%,:-]+$/;

/** How `script` is run: `[file, args]` — the path itself when it is a plain path, else `/bin/sh -c script`. */
export function commandOf(script: string): [string, string[]] {
  return PLAIN_PATH.test(script) && script.includes('/') ? [script, []] : ['/bin/sh', ['-c', script]];
}

/** Runs handler scripts for events, bounded in time, concurrency and queue. */
export class HandlerRunner {
  private running = 0;
  private readonly queue: Job[] = [];
  private readonly live = new Set<number>();
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  /** `process.env` read once (it goes through the C++ env interceptor), the prototype of
   *  every run's environment: `spawn` reads inherited keys too, so nothing is copied per run. */
  private readonly baseEnv: Readonly<Record<string, string | undefined>> = Object.freeze({ ...process.env });
  private readonly scratch: ScratchFiles;
  private helper: SpawnHelper | null = null;
  /** The perl launcher replaced a native one that could not run (see `launcher`). */
  private perlTried = false;

  constructor(private readonly opts: HandlerOptions) {
    this.scratch = new ScratchFiles(opts.scratchDir ?? tmpdir());
  }

  /** Replace the handlers (SIGHUP reload): runs already started or queued keep their script. */
  setHandlers(handlers: EventHandlerSpec[]): void {
    this.opts.handlers = handlers;
  }

  /** The handlers in use. */
  get handlers(): readonly EventHandlerSpec[] {
    return this.opts.handlers;
  }

  /** Run the first handler matching query `e` (`query:NAME`, else `query`); its stdout, at most
   *  `limit` bytes, is the answer. Resolves with outcome `none` when no handler matches. With
   *  `answer` (the response datagram, src/net/query.ts), a run through the native launcher that
   *  exits 0 within the limit is answered by the launcher (`sent` true in the result). */
  runQuery(e: Extract<AgentEvent, { type: 'query' }>, limit: number, answer?: () => HelperAnswer | undefined): Promise<QueryRunResult> {
    const none: QueryRunResult = { outcome: 'none', code: null, stdout: new Uint8Array(0), truncated: false, stderr: '', script: '', sent: false };
    if (this.closed) return Promise.resolve({ ...none, outcome: 'dropped' });
    const h = this.opts.handlers.find((x) => x.filters.includes(`query:${e.name}`)) ?? this.opts.handlers.find((x) => x.filters.includes('query'));
    if (h === undefined) return Promise.resolve(none);
    return new Promise((resolve) => {
      const job: Job = { script: h.script, env: this.env(e), stdin: e.payload, event: `query:${e.name}`, query: { limit, done: resolve, answer } };
      if (!this.enqueue(job)) resolve({ ...none, outcome: 'dropped', script: h.script });
    });
  }

  /**
   * Warm the run path at start-up, when any handler is configured: `WARM_UP_RUNS` no-op runs
   * (`WARM_UP_RUNS_LAUNCHER` through the launcher)
   * (`/bin/sh -c :`) one after the other, neither counted in the runs metric nor reported.
   * The first spawns of a Node process run cold code (child_process, libuv's SIGCHLD set-up,
   * stream and exit handling: see `WARM_UP_RUNS`); without warming, the first event paid it
   * on every node at once: it was the slowest event of the cluster bench (+100 ms at N = 50).
   * Resolves with the number of warm-up runs started, once they are done.
   */
  async warmUp(): Promise<number> {
    let started = 0;
    if (this.opts.handlers.length === 0) return started;
    const runs = this.opts.launcher === 'direct' ? WARM_UP_RUNS : WARM_UP_RUNS_LAUNCHER;
    for (; started < runs && !this.closed; started++) {
      this.enqueue({ script: ':', env: Object.create(this.baseEnv) as Record<string, string>, stdin: WARM_UP_STDIN, event: 'warm-up', warm: true });
      await this.idle();
    }
    return started;
  }

  /** Queue a run of every handler matching `e`. */
  dispatch(e: AgentEvent): void {
    if (this.closed) return;
    const userName = e.type === 'user' ? e.name : undefined;
    for (const h of this.opts.handlers) {
      if (!h.filters.some((f) => matchesFilter(f, e.type, userName))) continue;
      this.enqueue({ script: h.script, env: this.env(e), stdin: stdinOf(e), event: e.type });
    }
  }

  /** Resolves when nothing is running or queued. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Drop the queue and kill running scripts. */
  close(): void {
    this.closed = true;
    this.helper?.close();
    for (const j of this.queue) j.query?.done({ outcome: 'dropped', code: null, stdout: new Uint8Array(0), truncated: false, stderr: 'agent stopping', script: j.script, sent: false });
    this.queue.length = 0;
    for (const pid of this.live) killGroup(pid);
  }

  /** The run's own variables, as own properties of an object inheriting the agent's environment. */
  private env(e: AgentEvent): Record<string, string> {
    const self = this.opts.self();
    const env = Object.create(this.baseEnv) as Record<string, string>;
    env.RUMOR_EVENT = e.type;
    env.RUMOR_SELF_NAME = self.name;
    env.RUMOR_SELF_ADDR = self.addr;
    if (e.type === 'user') {
      env.RUMOR_USER_EVENT = e.name;
      env.RUMOR_USER_LTIME = String(e.ltime);
    } else if (e.type === 'query') {
      env.RUMOR_QUERY_NAME = e.name;
      env.RUMOR_QUERY_ORIGIN = e.origin;
    }
    for (const [k, v] of Object.entries(self.tags)) env[`RUMOR_TAG_${k.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}`] = v;
    return env;
  }

  private enqueue(job: Job): boolean {
    if (this.running < this.opts.concurrency) {
      this.run(job);
      return true;
    }
    if (this.queue.length >= this.opts.queueSize) {
      this.opts.onDropped?.();
      this.opts.logger.warn({ script: job.script, event: job.event, queue: this.queue.length }, 'event handler queue full: run dropped');
      return false;
    }
    this.queue.push(job);
    // Runs whose answers the launcher sent may hold their slots until their reports come
    // (spawn-helper.ts): ask for those now.
    if (this.helper?.alive === true) this.helper.flushAnswers();
    return true;
  }

  private run(job: Job): void {
    this.running++;
    if (job.warm !== true) this.opts.onStart?.();
    const launcher = this.launcher();
    const [file, args] = commandOf(job.script);
    // The run's own variables (own properties of `job.env`; the rest is inherited by the launcher).
    const env = job.env;
    // A NUL byte cannot reach a process's arguments or environment: `spawn` refuses it with a
    // clear error (a failed run), so such a run takes that path.
    if (launcher !== null && !hasNul(file, args, env)) {
      const stdoutLimit = job.query !== undefined ? job.query.limit : this.opts.captureStdout === false ? null : OUTPUT_LIMIT;
      // Only the native launcher sends answers (perl reports them unsent): no datagram made for perl.
      const answer = launcher.program === 'native' ? job.query?.answer?.() : undefined;
      const child = launcher.run({ file, args, env, stdin: job.stdin, stdoutLimit, answer }, (c) => this.spawnInto(job, c));
      this.watch(job, child);
      return;
    }
    const child = this.spawnDirect(job);
    if (child !== null) this.watch(job, child);
  }

  /** The spawn launcher (spawn-helper.ts), started at the first run; null: spawn directly. A
   *  native launcher picked by `auto` that never ran (it cannot run here) is replaced by perl once. */
  private launcher(): SpawnHelper | null {
    if (this.opts.launcher === 'direct' || this.closed) return null;
    const retryPerl = this.helper !== null && !this.helper.alive && this.perlNext(this.helper);
    if (this.helper === null || retryPerl) {
      this.perlTried = retryPerl;
      const onDead = (reason: string): void =>
        this.opts.logger.warn({ reason }, this.helper !== null && this.perlNext(this.helper) ? 'native handler launcher cannot run here: handlers start through the perl launcher' : 'handler launcher unavailable: handlers are spawned by the agent itself');
      this.helper = retryPerl ? new SpawnHelper(onDead, 'perl') : new SpawnHelper(onDead, this.opts.launcherProgram, this.opts.nativeLauncherPath);
    }
    return this.helper!.alive ? this.helper : null;
  }

  /** Is `h` a native launcher picked by `auto` that never ran, to be replaced by perl (once)? */
  private perlNext(h: SpawnHelper): boolean {
    return !h.started && h.program === 'native' && (this.opts.launcherProgram ?? 'auto') === 'auto' && !this.perlTried;
  }

  /** Spawn directly a run the launcher could not start, feeding `into` (already watched). */
  private spawnInto(job: Job, into: HelperChild): void {
    const c = this.spawnDirect(job, into);
    if (c === null) return;
    into.pid = c.pid;
    into.killer = () => c.pid !== undefined && killGroup(c.pid);
    into.emit('spawn');
    c.stdout?.on('data', (b: Buffer) => into.stdout?.emit('data', b));
    c.stderr?.on('data', (b: Buffer) => into.stderr.emit('data', b));
    c.on('error', (err) => into.emit('error', err));
    c.on('close', (code, signal) => into.emit('close', code, signal));
  }

  /** `spawn` the run's script; null when spawn refused it (reported through `into` when given,
   *  else as a failed run). */
  private spawnDirect(job: Job, into?: HelperChild): ChildProcess | null {
    const [file, args] = commandOf(job.script);
    const inFd = this.scratch.withContent(job.stdin);
    const stdio: StdioOptions = [inFd ?? 'pipe', this.opts.captureStdout === false && job.query === undefined ? 'ignore' : 'pipe', 'pipe'];
    let child: ChildProcess;
    try {
      child = spawn(file, args, { env: job.env, stdio, detached: true });
    } catch (err) {
      // Arguments spawn refuses (a NUL byte in a variable, e.g. from an event name): a failed
      // run, never a crash.
      if (into !== undefined) {
        into.emit('error', err);
        return null;
      }
      job.query?.done({ outcome: 'spawn', code: null, stdout: new Uint8Array(0), truncated: false, stderr: String((err as Error).message), script: job.script, sent: false });
      this.finish(job, { script: job.script, event: job.event, outcome: 'spawn', code: null, stdout: '', stderr: String((err as Error).message) });
      return null;
    } finally {
      // The child has its own copy (or none: the spawn failed).
      if (inFd !== undefined) closeQuietly(inFd);
    }
    if (child.stdin !== null) {
      child.stdin.on('error', () => {});
      child.stdin.end(job.stdin);
    }
    return child;
  }

  /** Feed stdin, collect output, enforce the timeout and report the outcome of a started run. */
  private watch(job: Job, child: ChildProcess | HelperChild): void {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let finished = false;
    let pid = child.pid;
    if (pid !== undefined) this.live.add(pid);
    else {
      // Started directly after the launcher failed: the pid comes later; a timeout before it
      // kills at once then.
      child.once('spawn', () => {
        pid = child.pid;
        if (pid === undefined || finished) return;
        this.live.add(pid);
        if (timedOut || this.closed) killGroup(pid);
      });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      // A launcher's run: the launcher kills it (its pid is the launcher's business).
      if (child instanceof HelperChild) child.killRun();
      else if (pid !== undefined) killGroup(pid);
    }, this.opts.timeoutMs);
    const out = job.query === undefined ? null : { chunks: [] as Buffer[], kept: 0, total: 0, limit: job.query.limit };
    child.stdout?.on('data', (b: Buffer) => {
      if (out === null) {
        stdout = (stdout + b.toString()).slice(0, OUTPUT_LIMIT);
        return;
      }
      out.total += b.length;
      if (out.kept < out.limit) {
        const part = b.subarray(0, out.limit - out.kept);
        out.chunks.push(part);
        out.kept += part.length;
      }
    });
    child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(0, OUTPUT_LIMIT)));
    const done = (outcome: HandlerResult['outcome'], code: number | null, error?: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (pid !== undefined) this.live.delete(pid);
      const r: HandlerResult = { script: job.script, event: job.event, outcome, code, stdout, stderr: error ?? stderr };
      if (out !== null) {
        // The launcher hands the output over in one chunk: no copy of it here.
        const bytes = out.chunks.length === 1 ? out.chunks[0] : Buffer.concat(out.chunks);
        r.stdout = bytes.toString('utf8');
        job.query!.done({ outcome, code, stdout: bytes, truncated: out.total > out.limit, stderr: r.stderr, script: job.script, sent: child instanceof HelperChild && child.answered });
      }
      this.finish(job, r);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      done('spawn', null, err.code === 'EACCES' ? `cannot run ${job.script}: permission denied (not executable?)` : String(err.message));
    });
    child.on('close', (code, signal) => {
      // A run whose answer the launcher sent exited 0 by itself (a killed run is never
      // answered), even when its report came after the timeout (the launcher held it back).
      if (timedOut && !(child instanceof HelperChild && child.answered)) done('timeout', code);
      else if (signal !== null) done('signal', null);
      else done(code === 0 ? 'ok' : 'exit', code);
    });
  }

  private finish(job: Job, r: HandlerResult): void {
    if (job.warm !== true) this.report(r);
    this.running--;
    this.next();
  }

  private report(r: HandlerResult): void {
    const log = this.opts.logger;
    if (r.outcome === 'ok') log.debug({ script: r.script, event: r.event, stdout: r.stdout }, 'event handler ran');
    else if (r.outcome === 'timeout') log.warn({ script: r.script, event: r.event, timeoutMs: this.opts.timeoutMs }, 'event handler timed out: killed');
    else log.warn({ script: r.script, event: r.event, outcome: r.outcome, code: r.code, stderr: r.stderr.trim() }, 'event handler failed');
    this.opts.onResult?.(r);
  }

  private next(): void {
    const job = this.closed ? undefined : this.queue.shift();
    if (job !== undefined) {
      this.run(job);
      return;
    }
    if (this.running === 0 && this.queue.length === 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }
}

/** Does the command or an own variable of `env` hold a NUL byte? */
function hasNul(file: string, args: string[], env: Record<string, string>): boolean {
  if (file.includes('\0') || args.some((a) => a.includes('\0'))) return true;
  for (const k of Object.keys(env)) if (k.includes('\0') || env[k].includes('\0')) return true;
  return false;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** One line per member: `name\taddr\tstatus\tk=v,k=v`. */
export function memberLines(members: Member[]): string {
  return members
    .map((m) => `${m.name}\t${m.addr}\t${m.status}\t${Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(',')}\n`)
    .join('');
}

function stdinOf(e: AgentEvent): Uint8Array {
  return e.type === 'user' || e.type === 'query' ? e.payload : new TextEncoder().encode(memberLines(e.members));
}
