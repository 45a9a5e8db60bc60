// Plumtree and flooding over a small simulated network (split from plumtree.test.ts): delivery
// exactly once everywhere and the payload counts each is known for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plumtree, DEFAULT_PLUMTREE_CONFIG, type PlumtreeConfig } from '../../src/proto/plumtree.js';
import { Flood } from '../../src/proto/flood.js';
import type { BroadcastIo, BroadcastMachine } from '../../src/proto/machine.js';
import type { BroadcastMessage, BroadcastTimer } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';

const PL = new Uint8Array([7]);

// ---------------------------------------------------------------------------------------
// A small synchronous network: ~100 nodes, fixed random symmetric graph of degree ≤ 5,
// per-link fixed delays 10–50 ms (so each link is FIFO), events in a binary heap.
// ---------------------------------------------------------------------------------------

interface Ev {
  t: number;
  seq: number;
  node: number;
  from: number; // -1 for timers
  msg: BroadcastMessage | null;
  timer: BroadcastTimer | null;
}

class Heap {
  private a: Ev[] = [];
  get size(): number {
    return this.a.length;
  }
  peekT(): number {
    return this.a.length > 0 ? this.a[0].t : Infinity;
  }
  private less(i: number, j: number): boolean {
    const x = this.a[i];
    const y = this.a[j];
    return x.t < y.t || (x.t === y.t && x.seq < y.seq);
  }
  push(e: Ev): void {
    const a = this.a;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): Ev {
    const a = this.a;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(l, m)) m = l;
        if (r < a.length && this.less(r, m)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

/** Random symmetric graph: a ring (connected), then random extra edges up to degree 5. */
function makeGraph(n: number, degree: number, rng: Sfc32): { adj: number[][]; delay: Map<number, number> } {
  const adj: number[][] = Array.from({ length: n }, () => []);
  const delay = new Map<number, number>();
  const link = (a: number, b: number) => {
    adj[a].push(b);
    adj[b].push(a);
    const d = 10 + rng.int(41);
    delay.set(a * n + b, d);
    delay.set(b * n + a, d);
  };
  for (let i = 0; i < n; i++) link(i, (i + 1) % n);
  for (let tries = 0; tries < n * 50; tries++) {
    const a = rng.int(n);
    const b = rng.int(n);
    if (a === b || adj[a].length >= degree || adj[b].length >= degree || adj[a].includes(b)) continue;
    link(a, b);
  }
  return { adj, delay };
}

interface NetResult {
  /** payload (gossip) messages sent, per broadcast index */
  payloads: number[];
  /** deliveries[node][broadcast] */
  deliveries: number[][];
  avgDegree: number;
}

function runNetwork(
  kind: 'plumtree' | 'flood',
  n: number,
  broadcasts: number,
  seed: number,
  cfg: PlumtreeConfig = DEFAULT_PLUMTREE_CONFIG,
): NetResult {
  const rng = new Sfc32(seed);
  const { adj, delay } = makeGraph(n, 5, rng);
  const heap = new Heap();
  let seq = 0;
  let now = 0;
  const payloads = new Array<number>(broadcasts).fill(0);
  const deliveries = Array.from({ length: n }, () => new Array<number>(broadcasts).fill(0));
  const machines: BroadcastMachine<number>[] = [];
  for (let i = 0; i < n; i++) {
    const io: BroadcastIo<number> = {
      send: (to, msg) => {
        if (msg.type === 'gossip') payloads[Number(msg.id)]++;
        heap.push({ t: now + delay.get(i * n + to)!, seq: seq++, node: to, from: i, msg, timer: null });
      },
      timer: (d, t) => heap.push({ t: now + d, seq: seq++, node: i, from: -1, msg: null, timer: t }),
      deliver: (id) => deliveries[i][Number(id)]++,
    };
    machines.push(kind === 'plumtree' ? new Plumtree(i, cfg, rng.fork(), io) : new Flood(i, cfg, io));
  }
  for (let i = 0; i < n; i++) for (const p of adj[i]) machines[i].neighborUp(p, 0);
  const origins = Array.from({ length: broadcasts }, () => rng.int(n));
  let next = 0;
  const spacing = 2000;
  for (let steps = 0; steps < 10_000_000; steps++) {
    const nextBroadcastAt = next < broadcasts ? (next + 1) * spacing : Infinity;
    if (heap.size === 0 && nextBroadcastAt === Infinity) break;
    if (nextBroadcastAt < heap.peekT()) {
      now = nextBroadcastAt;
      machines[origins[next]].broadcast(String(next), PL, now);
      next++;
      continue;
    }
    const e = heap.pop();
    now = e.t;
    if (e.msg !== null) machines[e.node].handleMessage(e.from, e.msg, now);
    else machines[e.node].handleTimer(e.timer!, now);
  }
  assert.equal(heap.size, 0, 'network did not quiesce');
  const avgDegree = adj.reduce((s, a) => s + a.length, 0) / n;
  return { payloads, deliveries, avgDegree };
}

test('network (100 nodes): Plumtree delivers exactly once everywhere, RMR ≤ 0.05 after warm-up', () => {
  const n = 100;
  const B = 40;
  const seed = Number(process.env.SEED ?? 7);
  const r = runNetwork('plumtree', n, B, seed);
  for (let i = 0; i < n; i++) assert.deepEqual(r.deliveries[i], new Array(B).fill(1), `node ${i}`);
  // The first broadcast floods (every link eager): RMR ≈ degree − 2.
  assert.ok(r.payloads[0] / (n - 1) - 1 > 2, `first RMR ${r.payloads[0] / (n - 1) - 1}`);
  const warm = 5;
  for (let b = warm; b < B; b++) {
    assert.ok(r.payloads[b] <= 1.05 * (n - 1), `broadcast ${b}: ${r.payloads[b]} payloads, RMR ${r.payloads[b] / (n - 1) - 1}`);
  }
});

test('network (100 nodes): flooding delivers exactly once, ≈ (degree − 1) payloads per node', () => {
  const n = 100;
  const B = 10;
  const seed = Number(process.env.SEED ?? 7);
  const r = runNetwork('flood', n, B, seed);
  for (let i = 0; i < n; i++) assert.deepEqual(r.deliveries[i], new Array(B).fill(1), `node ${i}`);
  const perNode = r.payloads.reduce((s, x) => s + x, 0) / B / (n - 1);
  const target = r.avgDegree - 1;
  assert.ok(Math.abs(perNode - target) <= 0.15 * target, `payloads per node ${perNode}, degree − 1 = ${target}`);
  const rmr = perNode - 1;
  assert.ok(Math.abs(rmr - (target - 1)) <= 0.15 * (target - 1), `RMR ${rmr}, degree − 2 = ${target - 1}`);
});
