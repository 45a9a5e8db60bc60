/**
 * One request to a forked bench process over its IPC channel: send `msg` (none when null), then
 * the next message it sends that `matches` (a `type` field equal to the string, or a predicate),
 * or null when none arrives within `ms`. Used by bench/flood.ts and bench/flood-procs.ts.
 */
import type { ChildProcess } from 'node:child_process';

export function childRequest<T>(child: ChildProcess, msg: unknown, matches: string | ((m: unknown) => boolean), ms: number): Promise<T | null> {
  const ok = typeof matches === 'string' ? (m: unknown) => (m as { type?: string } | null)?.type === matches : matches;
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (!ok(m)) return;
      clearTimeout(t);
      child.off('message', on);
      resolve(m as T);
    };
    const t = setTimeout(() => {
      child.off('message', on);
      resolve(null);
    }, ms);
    child.on('message', on);
    if (msg !== null) child.send(msg as string);
  });
}
