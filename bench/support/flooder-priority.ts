/**
 * The flood benches' flooder process at the priority `--flooder-priority` asks for
 * (bench/flood.ts, bench/flood-procs.ts; issue 13 §2). On a real network the attacker's CPU is
 * another machine's; on the bench's shared cores the flooder should use only the CPU the nodes
 * leave idle.
 * - `idle` (default since h37f): SCHED_IDLE on every thread of the flooder (`chrt -i -a -p 0
 *   <pid>`, applied when it is forked and again once it is ready, so the threads V8 and libuv
 *   start meanwhile are covered too; threads started later inherit the policy). A SCHED_IDLE
 *   thread runs only when no normal thread wants the core: the faithful model of a remote
 *   attacker, whose frames arrive whatever the nodes do.
 * - `low` (default h26f–h36f): `os.setPriority(pid, 19)`. On Linux that renices the process's
 *   main thread only (setpriority(PRIO_PROCESS) acts on one task): its V8 and libuv threads stay
 *   at nice 0, and even the niced thread takes CFS slices from the nodes (docs/results.md, h37f).
 * - `normal`: nice 0, the design before h26f.
 * `idle` needs Linux and util-linux's `chrt`: without them the bench says so in one line and
 * exits 2 (`low` then runs anywhere).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export type FlooderPriority = 'idle' | 'low' | 'normal';
export const PRIORITIES: readonly FlooderPriority[] = ['idle', 'low', 'normal'];

/** `--flooder-priority` from argv (default `idle`); a clear error and exit 2 on a bad value. */
export function flooderPriority(argv: readonly string[], who: string): FlooderPriority {
  const i = argv.indexOf('--flooder-priority');
  const v = i >= 0 ? String(argv[i + 1]) : 'idle';
  if (!(PRIORITIES as readonly string[]).includes(v)) {
    console.error(`${who}: --flooder-priority expects ${PRIORITIES.join(', ')}, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return v as FlooderPriority;
}

/** Put process `pid` (every thread it has now) at `p`. For `idle`, an error says why it could
 *  not (no `chrt`, the policy refused) and the caller exits. */
export function applyPriority(pid: number, p: FlooderPriority): { ok: true } | { ok: false; error: string } {
  if (p === 'normal') return { ok: true };
  if (p === 'low') {
    os.setPriority(pid, 19);
    return { ok: true };
  }
  try {
    execFileSync('chrt', ['-i', '-a', '-p', '0', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { ok: true };
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    const why = err.code === 'ENOENT' ? '`chrt` (util-linux) not found' : (err.stderr?.toString().trim() || String(e)).split('\n')[0];
    return { ok: false, error: `--flooder-priority idle needs SCHED_IDLE via \`chrt -i -a -p 0 <pid>\`: ${why} (use --flooder-priority low)` };
  }
}

/** SCHED_IDLE's policy number in /proc/<pid>/task/<tid>/stat (field 41). */
const SCHED_IDLE = 5;

/** The flooder's threads, and how many of them run at SCHED_IDLE (Linux /proc; null elsewhere
 *  or when it has exited): printed, so a run says what it measured. */
export function idleThreads(pid: number): [idle: number, all: number] | null {
  try {
    let idle = 0;
    const tids = readdirSync(`/proc/${pid}/task`);
    for (const t of tids) {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state is field 3, policy 41.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[41 - 3]) === SCHED_IDLE) idle++;
    }
    return [idle, tids.length];
  } catch {
    return null;
  }
}

/** The forked flooder `child` at `p` (`applyPriority`), or the reason it could not be, in one
 *  line on stderr after `who`, the child killed and exit 2. Called at the fork and again once
 *  the flooder is ready (the threads it started meanwhile); returns its threads at SCHED_IDLE. */
export function setFlooderPriority(child: ChildProcess, p: FlooderPriority, who: string): [idle: number, all: number] | null {
  const r = applyPriority(child.pid!, p);
  if (!r.ok) {
    console.error(`${who}: ${r.error}`);
    child.kill();
    process.exit(2);
  }
  return idleThreads(child.pid!);
}
