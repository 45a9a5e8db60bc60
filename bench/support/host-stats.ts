/**
 * What the agent benchmarks read from the host: traffic counted by iptables (every loopback
 * packet counted once, at its receiver, IP headers included) and the RSS of a process with the
 * processes it keeps running, the agent's handler launcher, and the handler log the event
 * benchmarks' bash handlers append to. Used by bench/cluster.ts, bench/idle.ts,
 * bench/event-cost.ts and bench/event-timeline.ts.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ipt = (args: string[]): boolean => spawnSync('iptables', ['-w', ...args], { stdio: 'ignore' }).status === 0;

/** iptables present and usable (installed with apt-get when missing). */
export function ensureIptables(): boolean {
  if (spawnSync('sh', ['-c', 'command -v iptables'], { stdio: 'ignore' }).status !== 0) {
    spawnSync('sh', ['-c', 'apt-get install -y iptables'], { stdio: 'inherit' });
  }
  return ipt(['-L', 'INPUT', '-n']);
}

/** A chain of INPUT counting TCP and UDP packets from or to some ports. */
export class PortAccounting {
  private readonly chain: string;

  /** `prefix` names the chain (with this process's pid, so parallel benches do not collide). */
  constructor(prefix: string) {
    this.chain = `${prefix}${process.pid}`;
  }

  /** Start counting; false when the chain cannot be made. RETURN after a match counts each
   *  packet once. */
  start(ports: number[]): boolean {
    if (!ipt(['-N', this.chain])) return false;
    ipt(['-I', 'INPUT', '-j', this.chain]);
    for (let k = 0; k < ports.length; k += 15) {
      const list = ports.slice(k, k + 15).join(',');
      for (const proto of ['tcp', 'udp']) ipt(['-A', this.chain, '-p', proto, '-m', 'multiport', '--ports', list, '-j', 'RETURN']);
    }
    return true;
  }

  /** Packets and bytes counted so far. */
  read(): { packets: number; bytes: number } {
    const r = spawnSync('iptables', ['-w', '-L', this.chain, '-v', '-x', '-n'], { encoding: 'utf8' });
    const sum = { packets: 0, bytes: 0 };
    for (const line of (r.stdout ?? '').split('\n').slice(2)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 2 && /^\d+$/.test(f[0]) && /^\d+$/.test(f[1])) {
        sum.packets += Number(f[0]);
        sum.bytes += Number(f[1]);
      }
    }
    return sum;
  }

  stop(): void {
    ipt(['-D', 'INPUT', '-j', this.chain]);
    ipt(['-F', this.chain]);
    ipt(['-X', this.chain]);
  }
}

/** RSS of a process and every process it keeps running (rumor's handler launcher, ~4–5 MB), in
 *  MB: what an agent costs its host. NaN when the process is gone. */
export function treeRssMb(pid: number | undefined): number {
  return treeMb(pid, (p) => procKb(`/proc/${p}/status`, /VmRSS:\s+(\d+) kB/));
}

/** PSS (`/proc/PID/smaps_rollup` `Pss`) of a process and every process it keeps running, in MB:
 *  its share of the host's memory, the file pages it shares with other processes (node's binary
 *  and libraries, mapped by every agent of a host) divided among them. NaN when it is gone. */
export function treePssMb(pid: number | undefined): number {
  return treeMb(pid, (p) => procKb(`/proc/${p}/smaps_rollup`, /^Pss:\s+(\d+) kB/m));
}

/** `own(pid)` (kB) of a process plus that of every process below it, in MB; NaN when it is gone. */
function treeMb(pid: number | undefined, own: (pid: number) => number): number {
  if (pid === undefined) return NaN;
  const kb = own(pid);
  return Number.isNaN(kb) ? NaN : kb / 1024 + childPids(pid).reduce((sum, c) => sum + (treeMb(c, own) || 0), 0);
}

/** The number `re` captures in the /proc file `path` (kB), NaN when absent or unreadable. */
function procKb(path: string, re: RegExp): number {
  try {
    const m = re.exec(readFileSync(path, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter((x) => x.trim() !== '').map(Number);
  } catch {
    return [];
  }
}

/** Process names of the handler launcher (src/agent/spawn-helper.ts): the native one, or perl. */
export const LAUNCHER_COMMS = new Set(['rumor-launcher', 'perl']);

/** The agent's long-lived child running the handler launcher, if any. */
export function launcherOf(pid: number): number | undefined {
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        if (LAUNCHER_COMMS.has(readFileSync(`/proc/${c}/comm`, 'utf8').trim())) return Number(c);
      }
    }
  } catch {
    // the agent or its child ended
  }
  return undefined;
}

/** Handler start (ms since the epoch) of payload `id` at node `i`, from `<dir>/log-<i>` (lines
 *  "<seconds> <payload>"), if it ran. */
export function handlerAt(dir: string, i: number, id: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, `log-${i}`), 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.endsWith(` ${id}`));
  return line === undefined ? undefined : Number(line.split(' ')[0]) * 1000;
}
