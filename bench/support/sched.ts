/** The flood bench's per-thread scheduler figures (Linux /proc; bench/flood.ts). */
import { readdirSync, readFileSync } from 'node:fs';

/** This thread's CPU time and run-queue wait so far, ms (Linux /proc/thread-self/schedstat:
 *  on-CPU time, then time spent ready to run while another thread or process had the CPU;
 *  null elsewhere). The kernel updates the CPU figure at context switches and ticks, so it
 *  lags by up to a tick: on this machine (HZ 250) a running thread's figure advances in 4 ms
 *  steps (measured, h37f), so a flight's CPU is ± 4 ms; the wait is exact (kept at each switch). */
export function threadSched(): [cpu: number, wait: number] | null {
  try {
    const [c, w] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return [c / 1e6, w / 1e6];
  } catch {
    return null;
  }
}

/** CPU ms so far of this process's threads other than the main one (V8's compiler and GC
 *  helpers, libuv's pool; Linux /proc/self/task; null elsewhere). */
export function otherThreadsCpuMs(): number | null {
  try {
    let sum = 0;
    for (const t of readdirSync('/proc/self/task')) if (Number(t) !== process.pid) sum += Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    return sum;
  } catch {
    return null;
  }
}

/** This thread's voluntary context switches so far (Linux /proc/thread-self/status; null
 *  elsewhere): each a time it blocked — in epoll with nothing to do, or on a lock (a V8 GC
 *  helper's, a sweeper's page) or I/O. */
export function threadBlocks(): number | null {
  try {
    const m = /^voluntary_ctxt_switches:\s*(\d+)/m.exec(readFileSync('/proc/thread-self/status', 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}
