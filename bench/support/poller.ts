/**
 * Client of the member-list sampler (bench/support/relay.ts) that runs inside a lab's hub
 * namespace, the one place that reaches every namespaced host's API. Used by bench/faults.ts.
 * `watch` starts one polling loop per agent in the relay; every answer comes back as a
 * `Sample` stamped with when its request left and when its answer arrived (wall-clock ms, the
 * same base as `clock()` here). An agent that does not answer within 2 s gives a sample with
 * `members: null`.
 */
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NetLab } from './netns.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Status of each member (`name` → `status`) as one agent lists them. */
export type MemberMap = Record<string, string>;

/** One answer of one agent: its list held at some moment in [`sent`, `at`]. */
export interface Sample {
  /** Index of the agent in the watch's target list. */
  i: number;
  sent: number;
  at: number;
  members: MemberMap | null;
}

/** Wall-clock milliseconds with sub-millisecond precision, the relay's time base. */
export const clock = (): number => performance.timeOrigin + performance.now();

/** The relay process and the listeners of its samples. */
export class Poller {
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(s: Sample) => void>();
  private seq = 0;
  private readonly pending = new Map<number, (v: MemberMap | null) => void>();

  /** Start the relay in namespace `hub` (node with tsx, from the project root). */
  constructor(hub: string) {
    this.child = NetLab.spawnIn(hub, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'support', 'relay.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let r: { id?: number; i: number; sent: number; at: number; members?: MemberMap };
      try {
        r = JSON.parse(line) as typeof r;
      } catch {
        return;
      }
      if (r.id !== undefined) {
        this.pending.get(r.id)?.(r.members ?? null);
        this.pending.delete(r.id);
        return;
      }
      const s: Sample = { i: r.i, sent: r.sent, at: r.at, members: r.members ?? null };
      for (const f of this.listeners) f(s);
    });
  }

  /** The member list of one agent, asked once, or null when it did not answer within 3 s. */
  members(sys: 'rumor' | 'serf', host: string, port: number): Promise<MemberMap | null> {
    const id = ++this.seq;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, 3000);
      this.pending.set(id, (v) => {
        clearTimeout(t);
        resolve(v);
      });
      this.child.stdin!.write(JSON.stringify({ op: 'ask', id, sys, host, port }) + '\n');
    });
  }

  /** Poll every agent of `targets` (rumor HTTP API or Serf RPC at `host:port`) every
   *  `everyMs`, each in its own loop, until `stop` or the next `watch`. */
  watch(sys: 'rumor' | 'serf', targets: { host: string; port: number }[], everyMs: number): void {
    this.child.stdin!.write(JSON.stringify({ op: 'watch', sys, targets, everyMs }) + '\n');
  }

  stop(): void {
    this.child.stdin!.write(JSON.stringify({ op: 'stop' }) + '\n');
  }

  /** Call `f` with every sample; returns the function that removes it. */
  onSample(f: (s: Sample) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
  }
}
