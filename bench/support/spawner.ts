/**
 * Client of the bench spawner (bench/support/spawner.c, built by `npm run prepare` as
 * dist/bench-spawner): a small process that starts a benchmark's agents, so that the
 * benchmark's own process never blocks in a spawn.
 *
 * Why: node's `spawn` (libuv) forks this process and returns only once the child has exec'd.
 * With the agents already started taking both cores, that wait is a scheduling delay per child:
 * rumor's 50 spawns kept bench:cluster blocked for 2.0–3.5 s (Serf's 0.2–0.8 s), during which it
 * read no agent's ready line, so an agent's start-up CPU counted the join work it did until the
 * bench got to it (docs/results.md, h35b). The spawner is a C program of a few pages: it receives
 * each request on a pipe, starts the child with `posix_spawnp` (a vfork: no copy of its page
 * tables) and reports the pid and the spawn's wall time; it, not the benchmark, waits for each
 * exec, and the benchmark's event loop keeps reading lines and answers meanwhile. Both systems'
 * agents go through it the same way (bench/cluster.ts `--spawn`), each in a session of its own.
 * That matters here: with the kernel's autogroup scheduling (`/proc/sys/kernel/sched_autogroup_enabled`
 * = 1 on this machine, cgroup v1 with every process in the root cpu group) a session is a
 * scheduling group, shared fairly with every other session. `spawnAgent` starts rumor's agents
 * detached (a session each), while `spawnSerf` left Serf's in the benchmark's session: 50 Serf
 * agents and the bench shared one group where 50 rumor agents had 50 (docs/results.md, h36b).
 * Tried and dropped: every agent in the benchmark's session (a process group of its own): the
 * whole benchmark then competes as one group with the other sessions of a shared machine.
 *
 * A `SpawnedProcess` stands for a child of the spawner: its pid, `kill` (by pid, until its exit
 * is reported), and `exit` events with node's `(code, signal)` arguments once the spawner reaped it
 * (src/cli/cluster.ts `AgentProcess`: what `stopAll` and the benches use of a child). The spawner
 * sends SIGKILL to every child still running when its stdin ends (this process exited).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AgentCommand, AgentProcess } from '../../src/cli/cluster.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The built spawner (scripts/build-launcher.mjs), or undefined when it was not built. */
export function spawnerPath(): string | undefined {
  const p = join(ROOT, 'dist', 'bench-spawner');
  return existsSync(p) ? p : undefined;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

/** A process the spawner started (see the module comment). */
export class SpawnedProcess extends EventEmitter implements AgentProcess {
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;

  constructor(
    readonly pid: number,
    /** When the spawner called `posix_spawnp` and when it returned (epoch ms). */
    readonly spawnedAt: number,
    readonly spawnReturnedAt: number,
  ) {
    super();
  }

  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    if (this.exitCode !== null || this.signalCode !== null) return false;
    try {
      process.kill(this.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** After the spawner ended: poll the pid every 50 ms, and report its end (code unknown: exit
   *  code null, signal SIGKILL) once it is gone. */
  watchOrphaned(): void {
    const t = setInterval(() => {
      if (this.exitCode !== null || this.signalCode !== null) return clearInterval(t);
      try {
        process.kill(this.pid, 0);
      } catch {
        clearInterval(t);
        this.exited(-1, constants.signals.SIGKILL);
      }
    }, 50);
    t.unref();
  }

  /** Called by the `Spawner` when the child was reaped. */
  exited(code: number, signal: number): void {
    if (signal === 0) this.exitCode = code;
    else this.signalCode = SIGNAL_NAMES.get(signal) ?? 'SIGKILL';
    this.emit('exit', this.exitCode, this.signalCode);
  }
}

/** One spawner process; `spawn` starts a child through it, `close` ends it (its children too,
 *  when any still runs). */
export class Spawner {
  private readonly child: ChildProcess;
  private seq = 0;
  private readonly pending = new Map<string, { resolve: (p: SpawnedProcess) => void; reject: (e: Error) => void; what: string }>();
  private readonly byPid = new Map<number, SpawnedProcess>();
  private failure: Error | undefined;

  constructor(bin: string) {
    this.child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.on('error', (e) => this.fail(new Error(`bench spawner: ${e.message}`)));
    this.child.on('exit', (code, sig) => this.fail(new Error(`bench spawner exited (${code ?? sig})`)));
    createInterface({ input: this.child.stdout! }).on('line', (line) => this.onLine(line));
  }

  /** The spawner's pid (for its CPU). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Start `cmd` (its stdout and stderr appended to `cmd.logFile`); resolves once the spawner has
   *  started it. Environment entries whose value is undefined are left out. */
  spawn(cmd: AgentCommand): Promise<SpawnedProcess> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = String(++this.seq);
    const env = Object.entries(cmd.env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
    const fields = [id, cmd.logFile ?? '', String(cmd.args.length + 1), cmd.file, ...cmd.args, String(env.length), ...env];
    const bad = fields.find((f) => f.includes('\0'));
    if (bad !== undefined) return Promise.reject(new Error(`bench spawner: a NUL byte in ${JSON.stringify(bad.slice(0, 60))}`));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, what: cmd.file });
      this.child.stdin!.write(fields.map((f) => `${f}\0`).join(''));
    });
  }

  close(): void {
    this.child.stdin?.end();
  }

  private onLine(line: string): void {
    const w = line.split(' ');
    if (w[0] === 'spawned' && w.length === 5) {
      const p = this.pending.get(w[1]);
      this.pending.delete(w[1]);
      const proc = new SpawnedProcess(Number(w[2]), Number(w[3]) / 1000, Number(w[4]) / 1000);
      this.byPid.set(proc.pid, proc);
      p?.resolve(proc);
    } else if (w[0] === 'failed' && w.length === 3) {
      const p = this.pending.get(w[1]);
      this.pending.delete(w[1]);
      const name = Object.entries(constants.errno).find(([, n]) => n === Number(w[2]))?.[0] ?? `errno ${w[2]}`;
      p?.reject(new Error(`bench spawner: cannot start ${p.what}: ${name}`));
    } else if (w[0] === 'exit' && w.length === 4) {
      const proc = this.byPid.get(Number(w[1]));
      this.byPid.delete(Number(w[1]));
      proc?.exited(Number(w[2]), Number(w[3]));
    } else this.fail(new Error(`bench spawner: unexpected line ${JSON.stringify(line.slice(0, 100))}`));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    // The spawner is gone and reports no more exits: watch its children by pid (reaped by
    // init once they end), so that `stopAll` and the phases' waits still see them end.
    for (const proc of this.byPid.values()) proc.watchOrphaned();
    this.byPid.clear();
  }
}
