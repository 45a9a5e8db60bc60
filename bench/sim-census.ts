/**
 * What one simulated node costs in memory (not a test; issue 17): the `bench:sim` scenario run
 * in this process, then
 * - always: `heapUsed` after two forced garbage collections at the end of the join phase
 *   (10 s), of the settle phase (40 s) and of the run, per node (load-independent, unlike RSS),
 *   and the IHAVE queues in plumtree-lazy.ts's pool then (as many as were ever in use at once);
 * - with `--snapshot`: a heap snapshot at the end, its objects grouped by the per-node owner
 *   they hang from: a walk (≤ 5 edges deep) from every instance of `HyParView`, `Plumtree`,
 *   `SeenCache`, `Sfc32` and `SimNode`, field by field; an object reached from two instances
 *   (a shared constant such as HyParView's `NONE`, a message held by two nodes) is charged to
 *   none; a `SimNode`'s live-view field (`links`; `views` and `passives` until HyParView's
 *   views became rows of a typed array, outside the JS heap) is walked last, so the array it
 *   shares with Plumtree is charged to Plumtree. An array's header (32 B)
 *   reached from two owners is not counted: its elements are. Then the largest classes of the
 *   whole heap, per node.
 *
 * Usage: `node --expose-gc --max-semi-space-size=256 --import tsx bench/sim-census.ts --nodes 10000 [--snapshot]`
 * (a snapshot of 10^4 nodes is ~100 MB of JSON and takes ~1 GB to read; use ≤ 3·10^4 nodes).
 */
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { pooledQueues } from '../src/proto/plumtree-lazy.js';
import { Simulation } from '../src/sim/simulation.js';
import { benchScenario, JOIN_WINDOW_MS, STABILISE_MS } from './sim.js';

const OWNERS = ['HyParView', 'Plumtree', 'SeenCache', 'Sfc32', 'SimNode'];
const DEPTH = 5;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function parseArgs(argv: string[]): { nodes: number; snapshot: boolean } {
  let nodes = 10_000;
  let snapshot = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nodes') {
      nodes = Number(argv[++i]);
      if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`--nodes: expected a positive integer, got ${argv[i]}`);
    } else if (argv[i] === '--snapshot') snapshot = true;
    else throw new Error(`unknown option ${argv[i]} (expected --nodes N, --snapshot)`);
  }
  return { nodes, snapshot };
}

/** Objects and bytes per node of the snapshot at `file`, by owner and field. */
function census(file: string, n: number): string[] {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const m = snap.snapshot.meta;
  const NF = m.node_fields.length;
  const EF = m.edge_fields.length;
  const [fType, fName, fSize, fEdges] = ['type', 'name', 'self_size', 'edge_count'].map((f) => m.node_fields.indexOf(f));
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => m.edge_fields.indexOf(f));
  const types = m.node_types[0];
  const edgeTypes = m.edge_types[0];
  const { nodes, edges, strings } = snap;
  const count = nodes.length / NF;
  const first = new Int32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    first[i] = e;
    e += nodes[i * NF + fEdges] * EF;
  }
  first[count] = edges.length;
  const type = (i: number): string => types[nodes[i * NF + fType]];
  const name = (i: number): string => strings[nodes[i * NF + fName]];
  const size = (i: number): number => nodes[i * NF + fSize];
  const skipType = new Set(['hidden', 'code', 'string', 'concatenated string', 'sliced string', 'closure', 'object shape']);
  const isOwner = (i: number): boolean => type(i) === 'object' && OWNERS.includes(name(i));
  const owner = new Int32Array(count).fill(-1); // -1 none, -2 shared, else the instance's node index
  const key: string[] = new Array<string>(count);
  const rows = new Map<string, { n: number; b: number }>();
  const late = new Set(['views', 'passives', 'links']);
  for (const pass of [0, 1]) {
    for (const cls of OWNERS) {
      for (let inst = 0; inst < count; inst++) {
        if (type(inst) !== 'object' || name(inst) !== cls) continue;
        if (pass === 0) {
          const r = rows.get(`${cls} (the object)`) ?? { n: 0, b: 0 };
          r.n++;
          r.b += size(inst);
          rows.set(`${cls} (the object)`, r);
        }
        const stack: [number, number, string][] = [];
        for (let e = first[inst]; e < first[inst + 1]; e += EF) {
          const et = edgeTypes[edges[e + eType]];
          if (et === 'weak' || et === 'shortcut') continue;
          const en = et === 'element' || et === 'hidden' ? `[${type(edges[e + eTo] / NF)}]` : strings[edges[e + eName]];
          // Pass 0: every field but a SimNode's live views; pass 1: only those.
          if (en === 'map' || en === '__proto__' || (cls === 'SimNode' && late.has(en)) !== (pass === 1)) continue;
          stack.push([edges[e + eTo] / NF, DEPTH, `${cls}.${en}`]);
        }
        while (stack.length > 0) {
          const [i, d, k] = stack.pop()!;
          if (skipType.has(type(i)) || isOwner(i) || owner[i] === inst) continue;
          if (owner[i] !== -1) {
            owner[i] = -2;
            continue;
          }
          owner[i] = inst;
          key[i] = k;
          if (d > 0) {
            for (let e = first[i]; e < first[i + 1]; e += EF) {
              const et = edgeTypes[edges[e + eType]];
              if (et !== 'weak' && et !== 'shortcut') stack.push([edges[e + eTo] / NF, d - 1, k]);
            }
          }
        }
      }
    }
  }
  let sharedN = 0;
  let sharedB = 0;
  for (let i = 0; i < count; i++) {
    if (owner[i] === -2) {
      sharedN++;
      sharedB += size(i);
    } else if (owner[i] >= 0) {
      const r = rows.get(key[i]) ?? { n: 0, b: 0 };
      r.n++;
      r.b += size(i);
      rows.set(key[i], r);
    }
  }
  const out = ['owner.field                               objects/node  bytes/node'];
  let on = 0;
  let ob = 0;
  for (const [k, r] of [...rows.entries()].sort((a, b) => b[1].b - a[1].b)) {
    if (r.b / n < 0.5) continue;
    on += r.n;
    ob += r.b;
    out.push(`${k.padEnd(42)} ${(r.n / n).toFixed(2).padStart(10)} ${(r.b / n).toFixed(0).padStart(11)}`);
  }
  out.push(`${'owned by the per-node objects'.padEnd(42)} ${(on / n).toFixed(2).padStart(10)} ${(ob / n).toFixed(0).padStart(11)}`);
  out.push(`(reached from two owners, not counted: ${sharedN} objects, ${(sharedB / 1048576).toFixed(1)} MB)`);
  const all = new Map<string, { n: number; b: number }>();
  let total = 0;
  for (let i = 0; i < count; i++) {
    const k = `${type(i)}: ${name(i).slice(0, 36).replace(/\s+/g, ' ')}`;
    const r = all.get(k) ?? { n: 0, b: 0 };
    r.n++;
    r.b += size(i);
    all.set(k, r);
    total += size(i);
  }
  out.push(`whole heap: ${(count / n).toFixed(1)} objects/node, ${(total / n).toFixed(0)} bytes/node; largest classes:`);
  for (const [k, r] of [...all.entries()].sort((a, b) => b[1].b - a[1].b).slice(0, 12)) {
    out.push(`  ${k.padEnd(48)} ${(r.n / n).toFixed(2).padStart(8)} ${(r.b / n).toFixed(0).padStart(8)}`);
  }
  return out;
}

function main(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const o = parseArgs(process.argv.slice(2));
  const s = benchScenario(o.nodes, 1);
  const sim = new Simulation({ nodes: s.nodes, seed: s.seed, protocol: s.protocol, network: s.network });
  for (const e of s.timeline) {
    if (e.type === 'join-all') sim.at(e.at, () => sim.joinAll(e.intervalMs));
    else if (e.type === 'broadcast') for (let i = 0; i < e.count; i++) sim.at(e.at + i * e.intervalMs, () => void sim.broadcast());
  }
  for (const [phase, t] of [['join', JOIN_WINDOW_MS], ['settle', JOIN_WINDOW_MS + STABILISE_MS], ['end', s.endMs!]] as const) {
    sim.runUntil(t);
    gc();
    gc();
    const mu = process.memoryUsage();
    console.log(`${phase.padEnd(6)} t=${t / 1000} s  events ${sim.eventsProcessed}  heapUsed ${(mu.heapUsed / 1048576).toFixed(1)} MB (${(mu.heapUsed / o.nodes).toFixed(0)} B/node)  arrayBuffers ${(mu.arrayBuffers / 1048576).toFixed(1)} MB  pending events ${sim.pendingEvents}  pooled IHAVE queues ${pooledQueues()}`);
  }
  if (!o.snapshot) return;
  const file = v8.writeHeapSnapshot(join(tmpdir(), `sim-census-${process.pid}.heapsnapshot`));
  try {
    for (const line of census(file, o.nodes)) console.log(line);
  } finally {
    rmSync(file, { force: true });
  }
}

main();
