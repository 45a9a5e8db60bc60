/**
 * Client of the member-list poller (bench/support/relay.ts) that runs inside a lab's hub
 * namespace, the one place that reaches every namespaced host's API. Used by bench/faults.ts
 * and the namespace tests. Every request is bounded (3 s): no answer is `null`.
 */
import type { ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NetLab } from './netns.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Status of each member (`name` → `status`) as one agent lists them. */
export type MemberMap = Record<string, string>;

/** The poller process and its request table. */
export class Poller {
  private readonly child: ChildProcess;
  private seq = 0;
  private readonly pending = new Map<number, (v: MemberMap | null) => void>();

  /** Start the relay in namespace `hub` (node with tsx, from the project root). */
  constructor(hub: string) {
    this.child = NetLab.spawnIn(hub, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'support', 'relay.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let r: { id: number; members?: MemberMap };
      try {
        r = JSON.parse(line) as { id: number; members?: MemberMap };
      } catch {
        return;
      }
      this.pending.get(r.id)?.(r.members ?? null);
      this.pending.delete(r.id);
    });
  }

  /** The member list of the agent whose API (rumor HTTP, or Serf RPC) is `host:port`, or null
   *  when it did not answer within 3 s. */
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
      this.child.stdin!.write(JSON.stringify({ id, sys, host, port }) + '\n');
    });
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
  }
}
