/**
 * Waiting for a line in a growing log file (the benches' `--poll log` and `--poll watch`
 * readiness, bench/support/ports.ts and bench/support/ready-watch.ts): inotify on the file, a
 * read every 250 ms as a backstop (and alone where inotify is unavailable), reading from a byte
 * offset so an older run's line in the same log does not count.
 */
import { closeSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';

export type LineWait = 'line' | 'gone' | 'timeout';

/** Resolves 'line' once `file` holds, after byte `from`, a whole line matching `re`; 'gone' when
 *  the writer ended first (`onGone` calls its argument then, and returns how to stop watching;
 *  the file is read once more before it counts); 'timeout' at `deadline` (Date.now() ms). */
export function lineInLog(file: string, from: number, re: RegExp, deadline: number, onGone: (notify: () => void) => () => void): Promise<LineWait> {
  return new Promise((resolve) => {
    let pos = from;
    let partial = '';
    let watcher: FSWatcher | undefined;
    let done = false;
    let stopGone = (): void => {};
    const finish = (r: LineWait): void => {
      if (done) return;
      done = true;
      watcher?.close();
      clearInterval(backstop);
      clearTimeout(timer);
      stopGone();
      resolve(r);
    };
    const look = (): void => {
      if (done) return;
      let fd: number;
      try {
        fd = openSync(file, 'r');
      } catch {
        return;
      }
      try {
        const buf = Buffer.alloc(16_384);
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, pos);
          if (n <= 0) break;
          pos += n;
          const lines = (partial + buf.toString('utf8', 0, n)).split('\n');
          partial = lines.pop() ?? '';
          if (lines.some((l) => re.test(l))) return finish('line');
        }
      } finally {
        closeSync(fd);
      }
    };
    const backstop = setInterval(look, 250);
    const timer = setTimeout(() => {
      look();
      finish('timeout');
    }, Math.max(0, deadline - Date.now()));
    stopGone = onGone(() => {
      look();
      finish('gone');
    });
    if (done) stopGone(); // gone already: `onGone` called back before it returned
    try {
      watcher = watch(file, look);
      watcher.on('error', () => watcher?.close());
    } catch {
      // no inotify here: the 250 ms reads alone
    }
    if (!done) look();
  });
}
