/**
 * Bounded waits for the tests: every wait has a deadline and, when it passes, an error that
 * says what did not happen (and, for a polled condition, the last failure seen while polling).
 * Never sleep-and-hope: poll a condition, or bound a promise.
 *
 * - `waitUntil(cond, ms, what)`: poll `cond` (sync or async) until it is true. A `cond` that
 *   throws counts as "not yet"; if the deadline passes, the last thrown error is in the message.
 * - `waitFor(fn, ms, what)`: the same, resolving with the first value other than
 *   undefined/false/null that `fn` returns.
 * - `within(promise, ms, what)`: the promise's outcome, or a rejection naming `what` after `ms`.
 * - `exitWithin(child, ms, what)`: a child process's exit code (or signal name), bounded.
 * - `pidGone(pid, ms, what)`: resolve once no process has id `pid` (kill(pid, 0) fails).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** What to say when a wait times out: a string, or a function computing it at that time. */
export type What = string | (() => string | Promise<string>);

async function describeWhat(what: What): Promise<string> {
  if (typeof what === 'string') return what;
  try {
    return await what();
  } catch (e) {
    return `(describing the wait failed: ${errText(e)})`;
  }
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` every `everyMs` until it returns a value other than undefined/false/null. */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: What,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  // The last error `fn` threw (kept when later polls merely return "not yet").
  let failure: { error: unknown } | undefined;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      failure = { error: e };
    }
    if (Date.now() > deadline) {
      const tail = failure !== undefined ? `; last failure: ${errText(failure.error)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${await describeWhat(what)}${tail}`);
    }
    await sleep(everyMs);
  }
}

/** Poll `cond` every `everyMs` until it holds; throw naming `what` (and the last failure) after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: What, everyMs = 20): Promise<void> {
  await waitFor(async () => (await cond()) || undefined, timeoutMs, what, everyMs);
}

/** Settle with `p`, or reject with "timed out after ms waiting for: what". */
export function within<T>(p: Promise<T>, timeoutMs: number, what: What): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void describeWhat(what).then((w) => reject(new Error(`timed out after ${timeoutMs} ms waiting for: ${w}`)));
    }, timeoutMs);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** The exit code (or signal name) of `child`, once it has exited; rejects after `timeoutMs`. */
export function exitWithin(child: ChildProcess, timeoutMs: number, what: What): Promise<number | string> {
  const done =
    child.exitCode !== null
      ? Promise.resolve<number | string>(child.exitCode)
      : child.signalCode !== null
        ? Promise.resolve<number | string>(child.signalCode)
        : new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  return within(done, timeoutMs, async () => `${await describeWhat(what)} (pid ${child.pid} still running)`);
}

/** True while a process with id `pid` exists and is not a zombie (dead, waiting to be reaped:
 *  in a container whose init does not reap, an orphan killed by a signal stays one). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!existsSync('/proc/self/stat')) return true; // no /proc: kill(pid, 0) is all we know
  try {
    // /proc/<pid>/stat: "pid (comm) STATE ..."; comm may contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two probes
  }
}

/** Resolve once no process has id `pid`; reject naming `what` after `timeoutMs`. */
export async function pidGone(pid: number, timeoutMs: number, what: What): Promise<void> {
  await waitUntil(() => !pidAlive(pid), timeoutMs, async () => `${await describeWhat(what)} (pid ${pid} still exists)`);
}
