/**
 * Parent side of the multi-process tests: spawn `node-proc.ts` children (optionally inside a
 * network namespace), send them commands, and record their events (deliveries, neighbour
 * up/down) in one place so tests can wait for conditions with deadlines.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NodeOptions } from '../../../src/index.js';

const RUNNER = fileURLToPath(new URL('./node-proc.ts', import.meta.url));

/** A delivery reported by a child. `gen` is the incarnation of the reporting process. */
export interface MsgEvent {
  ev: 'msg';
  node: string;
  id: string;
  origin: string;
  seq: number;
  data: string;
  t: number;
}
export interface UpEvent {
  ev: 'up';
  node: string;
  peer: string;
  t: number;
}
export interface DownEvent {
  ev: 'down';
  node: string;
  peer: string;
  reason: string;
  t: number;
}
export type ProcEvent = MsgEvent | UpEvent | DownEvent;

/** View state of one node as reported by `state`. */
export interface NodeState {
  address: string;
  neighbors: string[];
  passive: string[];
}

/** Bounded polling (shared by every test; re-exported for the multi-process tests). */
export { waitUntil } from '../../support/wait.js';
import { exitWithin } from '../../support/wait.js';

/** One child process hosting a few nodes. */
export class NodeProc {
  readonly child: ChildProcessWithoutNullStreams;
  addresses: string[] = [];
  exited = false;
  private nextReq = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private stderrTail = '';

  /** Spawn a runner; `netns` runs it under `ip netns exec`. Events go to `sink`. */
  constructor(
    readonly label: string,
    private readonly sink: (e: ProcEvent, p: NodeProc) => void,
    netns?: string,
  ) {
    const args = ['--import', 'tsx', RUNNER];
    this.child =
      netns === undefined
        ? spawn(process.execPath, args, { stdio: 'pipe' })
        : spawn('ip', ['netns', 'exec', netns, process.execPath, ...args], { stdio: 'pipe' });
    createInterface({ input: this.child.stdout }).on('line', (l) => this.onLine(l));
    this.child.stderr.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString()).slice(-4000);
    });
    this.child.on('exit', () => {
      this.exited = true;
      for (const p of this.pending.values()) p.reject(new Error(`${this.label} exited; stderr: ${this.stderrTail}`));
      this.pending.clear();
    });
    this.child.stdin.on('error', () => {});
  }

  /** Send a command and wait for its reply (rejects with the child's error or after `timeoutMs`). */
  request<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.label}: process has exited`));
    const req = this.nextReq++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new Error(`${this.label}: no reply to ${cmd} within ${timeoutMs} ms; stderr: ${this.stderrTail}`));
      }, timeoutMs);
      this.pending.set(req, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin.write(JSON.stringify({ req, cmd, ...args }) + '\n');
    });
  }

  /** Start nodes `names` bound to `host` (ports given or 0) with common `options`. */
  async start(host: string, names: string[], options: NodeOptions, ports: number[] = [], seed = 1): Promise<string[]> {
    const nodes = names.map((name, i) => ({ name, host, port: ports[i] ?? 0, seed: seed + i }));
    this.addresses = await this.request<string[]>('start', { nodes, options }, 30_000);
    return this.addresses;
  }

  join(seeds: string[], timeoutMs = 10_000): Promise<void> {
    return this.request('join', { seeds, timeoutMs }, timeoutMs + 5000);
  }

  broadcast(node: number, data: string): Promise<string> {
    return this.request<string>('broadcast', { node, data });
  }

  state(): Promise<NodeState[]> {
    return this.request<NodeState[]>('state');
  }

  /** kill -9: no goodbye; the kernel closes its sockets. Resolves when the process is gone. */
  async kill9(): Promise<void> {
    if (this.exited) return;
    const gone = exitWithin(this.child, 10_000, `${this.label} to exit after SIGKILL`);
    this.child.kill('SIGKILL');
    await gone;
  }

  /** Close stdin (the runner closes its nodes and exits); SIGKILL after 3 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = exitWithin(this.child, 13_000, `${this.label} to exit after its stdin closed (SIGKILL after 3 s)`);
    this.child.stdin.end();
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    try {
      await gone;
    } finally {
      clearTimeout(t);
    }
  }

  private onLine(line: string): void {
    let m: { req?: number; ok?: boolean; result?: unknown; error?: string; ev?: string };
    try {
      m = JSON.parse(line) as typeof m;
    } catch {
      return;
    }
    if (m.ev !== undefined) {
      this.sink(m as ProcEvent, this);
      return;
    }
    const p = this.pending.get(m.req ?? -1);
    if (p === undefined) return;
    this.pending.delete(m.req!);
    if (m.ok === true) p.resolve(m.result);
    else p.reject(new Error(`${this.label}: ${m.error ?? 'unknown error'}`));
  }
}

/**
 * Deliveries seen across processes, keyed by node incarnation (`address#gen`, since a
 * restarted process reuses addresses), counting every delivery so duplicates show.
 */
export class DeliveryLog {
  /** incarnation → message id → count */
  readonly byNode = new Map<string, Map<string, number>>();
  /** message id → its delivery event at the origin (the publisher's own delivery). */
  readonly published = new Map<string, MsgEvent>();
  /** Current incarnation per address. */
  private readonly gen = new Map<string, number>();

  /** Mark `addresses` as a new incarnation (call before the restarted process starts). */
  bump(addresses: string[]): void {
    for (const a of addresses) this.gen.set(a, (this.gen.get(a) ?? 0) + 1);
  }

  key(address: string): string {
    return `${address}#${this.gen.get(address) ?? 0}`;
  }

  record(e: MsgEvent): void {
    const k = this.key(e.node);
    let m = this.byNode.get(k);
    if (m === undefined) this.byNode.set(k, (m = new Map()));
    m.set(e.id, (m.get(e.id) ?? 0) + 1);
    if (e.node === e.origin) this.published.set(e.id, e);
  }

  /** Times the current incarnation of `address` delivered `id`. */
  count(address: string, id: string): number {
    return this.byNode.get(this.key(address))?.get(id) ?? 0;
  }

  /** Nodes among `addresses` that have not yet delivered every id of `ids`. */
  missing(addresses: string[], ids: string[]): string[] {
    const out: string[] = [];
    for (const a of addresses) {
      const n = ids.filter((id) => this.count(a, id) === 0).length;
      if (n > 0) out.push(`${a} lacks ${n}/${ids.length}`);
    }
    return out;
  }

  /** Every (node, id) delivered more than once, over every incarnation. */
  duplicates(): string[] {
    const out: string[] = [];
    for (const [k, m] of this.byNode) for (const [id, c] of m) if (c > 1) out.push(`${k} got ${id.slice(0, 12)} ×${c}`);
    return out;
  }
}

/** True when the undirected active-view graph over `states` is one connected component and
 *  every node has at least one neighbour among `states`. */
export function overlayConnected(states: NodeState[]): boolean {
  if (states.length === 0) return true;
  const by = new Map(states.map((s) => [s.address, s]));
  const adj = adjacency(states);
  if ([...adj.values()].some((n) => n.size === 0)) return false;
  return components(states).length === 1 && by.size === states.length;
}

/** Undirected adjacency of the active views, restricted to `states`. */
function adjacency(states: NodeState[]): Map<string, Set<string>> {
  const adj = new Map<string, Set<string>>(states.map((s) => [s.address, new Set<string>()]));
  for (const s of states) {
    for (const p of s.neighbors) {
      if (!adj.has(p)) continue;
      adj.get(s.address)!.add(p);
      adj.get(p)!.add(s.address);
    }
  }
  return adj;
}

/** True when every node has a neighbour and every active-view link is mutual among `states`. */
export function viewsSymmetric(states: NodeState[]): boolean {
  const by = new Map(states.map((s) => [s.address, s]));
  return states.every((s) => s.neighbors.length > 0 && s.neighbors.every((p) => by.get(p)?.neighbors.includes(s.address) ?? false));
}

/** True when every active-view link with an end in `around` is mutual among `states` (a link
 *  being made or dropped elsewhere in the overlay does not matter), and each of `around` that
 *  is among `states` has a neighbour. */
export function symmetricAround(states: NodeState[], around: ReadonlySet<string>): boolean {
  const by = new Map(states.map((s) => [s.address, s]));
  for (const s of states) {
    if (around.has(s.address) && s.neighbors.length === 0) return false;
    for (const p of s.neighbors) {
      if (!around.has(s.address) && !around.has(p)) continue;
      if (!(by.get(p)?.neighbors.includes(s.address) ?? false)) return false;
    }
  }
  return true;
}

/** Components of the active-view graph (for failure messages). */
export function components(states: NodeState[]): string[][] {
  const adj = adjacency(states);
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const a of adj.keys()) {
    if (seen.has(a)) continue;
    const comp = [a];
    seen.add(a);
    for (let i = 0; i < comp.length; i++) {
      for (const p of adj.get(comp[i])!) {
        if (seen.has(p)) continue;
        seen.add(p);
        comp.push(p);
      }
    }
    out.push(comp.sort());
  }
  return out;
}

/** Collect the state of every live process. */
export async function allStates(procs: NodeProc[]): Promise<NodeState[]> {
  const live = procs.filter((p) => !p.exited);
  return (await Promise.all(live.map((p) => p.state()))).flat();
}
