/**
 * Metrics of the simulator, measured at the boundary of the protocol machines.
 *
 * Per broadcast (Plumtree paper, SRDS 2007, §4 — definitions in protocols.md §2.3):
 * - reliability: live nodes that delivered / live nodes;
 * - latency until 50 %, 99 % and 100 % of the deliveries;
 * - hops of each delivery (`round + 1`; the origin is hop 0) and LDH, the last delivery hop;
 * - RMR = payload messages / (delivering nodes − 1) − 1; control messages (IHAVE entries and
 *   GRAFTs naming the message) are counted apart and not part of RMR.
 *
 * Overlay health (HyParView paper, DSN 2007, §5) from the active views of live nodes:
 * in-degree histogram, clustering coefficient, average shortest path from a sample of BFS
 * sources, connected components (undirected), symmetry (fraction of directed edges u→v
 * whose reverse v→u exists) and accuracy (fraction of view entries naming a live node).
 */
import type { Message, Rng } from '../proto/types.js';
import { UnionFind } from './union-find.js';

/** Per-broadcast figures. Every value is JSON-able (`null` where undefined). */
export interface BroadcastStats {
  id: string;
  origin: number;
  startMs: number;
  /** Live nodes when the stats were taken. */
  liveNodes: number;
  /** Nodes that delivered (including nodes that crashed since). */
  delivered: number;
  /** Live nodes that delivered. */
  deliveredLive: number;
  /** deliveredLive / liveNodes. */
  reliability: number;
  /** Time from the broadcast until 50 %, 99 %, 100 % of the deliveries (ms). */
  latencyMs: { p50: number; p99: number; p100: number } | null;
  /** Last delivery hop: the largest hop count of any delivery. */
  ldh: number;
  meanHops: number;
  /** Payload (gossip) messages sent for this broadcast. */
  payloadMessages: number;
  /** IHAVE entries and GRAFT requests naming this broadcast. */
  controlMessages: number;
  /** Relative message redundancy; null when fewer than two nodes delivered. */
  rmr: number | null;
}

/** What the simulator records while a broadcast spreads. */
export class BroadcastRecord {
  readonly delivered: Uint8Array;
  count = 0;
  /** Latency of each delivery in delivery order (non-decreasing); the first `count` slots
   *  are used. Typed arrays sized to the node count: 12 bytes per node per broadcast, off
   *  the JS heap (not traced by the garbage collector). */
  readonly latencies: Float64Array;
  readonly hops: Int32Array;
  payloadMessages = 0;
  controlMessages = 0;

  constructor(
    readonly id: string,
    readonly origin: number,
    readonly startMs: number,
    nodes: number,
  ) {
    this.delivered = new Uint8Array(nodes);
    this.latencies = new Float64Array(nodes);
    this.hops = new Int32Array(nodes);
  }

  /** Record a delivery at `node`; duplicates (a restarted node) are ignored. */
  deliver(node: number, now: number, hops: number): void {
    if (this.delivered[node] !== 0) return;
    this.delivered[node] = 1;
    this.latencies[this.count] = now - this.startMs;
    this.hops[this.count] = hops;
    this.count++;
  }

  stats(isAlive: (n: number) => boolean, liveCount: number): BroadcastStats {
    let deliveredLive = 0;
    const d = this.delivered;
    for (let i = 0; i < d.length; i++) if (d[i] !== 0 && isAlive(i)) deliveredLive++;
    const L = this.latencies;
    const n = this.count;
    const q = (p: number): number => L[Math.max(0, Math.ceil(p * n) - 1)];
    let ldh = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const h = this.hops[i];
      if (h > ldh) ldh = h;
      sum += h;
    }
    return {
      id: this.id,
      origin: this.origin,
      startMs: this.startMs,
      liveNodes: liveCount,
      delivered: this.count,
      deliveredLive,
      reliability: liveCount === 0 ? 0 : deliveredLive / liveCount,
      latencyMs: n === 0 ? null : { p50: q(0.5), p99: q(0.99), p100: L[n - 1] },
      ldh,
      meanHops: n === 0 ? 0 : sum / n,
      payloadMessages: this.payloadMessages,
      controlMessages: this.controlMessages,
      rmr: this.count < 2 ? null : this.payloadMessages / (this.count - 1) - 1,
    };
  }
}

/**
 * The records of every broadcast of a run, by id, and the charging of broadcast traffic to
 * them at the send boundary: a GOSSIP to its broadcast's payload count, each IHAVE entry and
 * GRAFT naming it to its control count. The id looked up last is cached: consecutive sends
 * and deliveries mostly concern the same broadcast.
 */
export class BroadcastLog {
  private readonly records = new Map<string, BroadcastRecord>();
  private lastId = '';
  private lastRec: BroadcastRecord | undefined;

  /** Number of broadcasts started. */
  get size(): number {
    return this.records.size;
  }

  start(r: BroadcastRecord): void {
    this.records.set(r.id, r);
  }

  get(id: string): BroadcastRecord | undefined {
    return this.records.get(id);
  }

  /** Ids of every broadcast, in order. */
  ids(): string[] {
    return [...this.records.keys()];
  }

  /** The record of `id` (undefined: not a simulator broadcast, e.g. an application's). */
  rec(id: string): BroadcastRecord | undefined {
    if (id === this.lastId) return this.lastRec;
    const r = this.records.get(id);
    this.lastId = id;
    this.lastRec = r;
    return r;
  }

  /** Charge a sent GOSSIP, IHAVE or GRAFT to the broadcasts it names. */
  countSend(msg: Message<number>): void {
    if (msg.type === 'gossip') {
      const r = this.rec(msg.id);
      if (r !== undefined) r.payloadMessages++;
    } else if (msg.type === 'ihave') {
      const entries = msg.entries;
      for (let i = 0; i < entries.length; i++) {
        const r = this.rec(entries[i].id);
        if (r !== undefined) r.controlMessages++;
      }
    } else if (msg.type === 'graft' && msg.id !== null) {
      const r = this.rec(msg.id);
      if (r !== undefined) r.controlMessages++;
    }
  }
}

/** Overlay health figures from the active views of the live nodes. */
export interface OverlayStats {
  liveNodes: number;
  /** Directed edges u→v between live nodes (v in u's active view). */
  edges: number;
  /** View entries naming a crashed node. */
  deadEntries: number;
  /** Fraction of view entries naming a live node. */
  accuracy: number;
  meanOutDegree: number;
  /** `inDegree[d]` = live nodes with in-degree d. */
  inDegree: number[];
  /** Mean local clustering coefficient (undirected neighbourhoods), over sampled nodes. */
  clustering: number;
  /** Mean BFS distance (directed) from `pathSources` sampled sources to the nodes they reach. */
  avgPathLength: number;
  pathSources: number;
  /** Weakly connected components among live nodes, and the size of the largest. */
  components: number;
  largestComponent: number;
  /** Fraction of directed edges whose reverse edge exists. */
  symmetry: number;
}

/** Compressed adjacency (out-edges between live nodes). */
interface Csr {
  off: Int32Array;
  adj: Int32Array;
}

function buildCsr(n: number, live: Uint8Array, view: (i: number) => readonly number[]): Csr & { dead: number } {
  const off = new Int32Array(n + 1);
  let dead = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    off[i] = m;
    if (live[i] === 0) continue;
    for (const p of view(i)) {
      if (p >= 0 && p < n && live[p] !== 0 && p !== i) m++;
      else dead++;
    }
  }
  off[n] = m;
  const adj = new Int32Array(m);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (live[i] === 0) continue;
    for (const p of view(i)) if (p >= 0 && p < n && live[p] !== 0 && p !== i) adj[k++] = p;
  }
  return { off, adj, dead };
}

function hasEdge(g: Csr, u: number, v: number): boolean {
  for (let j = g.off[u]; j < g.off[u + 1]; j++) if (g.adj[j] === v) return true;
  return false;
}

function components(n: number, live: Uint8Array, g: Csr): { count: number; largest: number } {
  const uf = new UnionFind(n);
  for (let u = 0; u < n; u++) {
    for (let j = g.off[u]; j < g.off[u + 1]; j++) uf.union(u, g.adj[j]);
  }
  const find = (x: number): number => uf.find(x);
  const size = new Int32Array(n);
  let count = 0;
  let largest = 0;
  for (let i = 0; i < n; i++) {
    if (live[i] === 0) continue;
    const r = find(i);
    if (size[r]++ === 0) count++;
    if (size[r] > largest) largest = size[r];
  }
  return { count, largest };
}

/** Local clustering of `u`: links among its undirected neighbours / possible links. */
function localClustering(g: Csr, u: number, nb: number[]): number {
  nb.length = 0;
  for (let j = g.off[u]; j < g.off[u + 1]; j++) nb.push(g.adj[j]);
  const k = nb.length;
  if (k < 2) return -1;
  let links = 0;
  for (let a = 0; a < k; a++) {
    for (let b = a + 1; b < k; b++) if (hasEdge(g, nb[a], nb[b]) || hasEdge(g, nb[b], nb[a])) links++;
  }
  return (2 * links) / (k * (k - 1));
}

function bfsMean(n: number, g: Csr, src: number, dist: Int32Array, queue: Int32Array): { sum: number; reached: number } {
  dist.fill(-1);
  dist[src] = 0;
  let head = 0;
  let tail = 0;
  queue[tail++] = src;
  let sum = 0;
  while (head < tail) {
    const u = queue[head++];
    const du = dist[u] + 1;
    for (let j = g.off[u]; j < g.off[u + 1]; j++) {
      const v = g.adj[j];
      if (dist[v] < 0) {
        dist[v] = du;
        sum += du;
        queue[tail++] = v;
      }
    }
  }
  void n;
  return { sum, reached: tail - 1 };
}

/**
 * Overlay statistics. `view(i)` is node i's active view (only called for live nodes).
 * Clustering is computed over at most `clusterSample` nodes and path length from
 * `sampleSources` BFS sources, both drawn with `rng`.
 */
export function overlayStats(
  n: number,
  live: Uint8Array,
  view: (i: number) => readonly number[],
  rng: Rng,
  sampleSources = 10,
  clusterSample = 20_000,
): OverlayStats {
  const g = buildCsr(n, live, view);
  const liveIds: number[] = [];
  for (let i = 0; i < n; i++) if (live[i] !== 0) liveIds.push(i);
  const L = liveIds.length;
  const m = g.adj.length;
  const indeg = new Int32Array(n);
  let sym = 0;
  for (let u = 0; u < n; u++) {
    for (let j = g.off[u]; j < g.off[u + 1]; j++) {
      const v = g.adj[j];
      indeg[v]++;
      if (hasEdge(g, v, u)) sym++;
    }
  }
  const hist: number[] = [];
  for (const i of liveIds) {
    const d = indeg[i];
    while (hist.length <= d) hist.push(0);
    hist[d]++;
  }
  const pickNodes = (k: number): number[] => {
    if (k >= L) return liveIds;
    const out: number[] = [];
    const pool = liveIds.slice();
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(L - i);
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
      out.push(pool[i]);
    }
    return out;
  };
  const nb: number[] = [];
  let cSum = 0;
  let cCount = 0;
  for (const u of pickNodes(clusterSample)) {
    const c = localClustering(g, u, nb);
    if (c >= 0) {
      cSum += c;
      cCount++;
    }
  }
  const dist = new Int32Array(n);
  const q = new Int32Array(n);
  let pSum = 0;
  let pReached = 0;
  const sources = pickNodes(Math.min(sampleSources, L));
  for (const s of sources) {
    const r = bfsMean(n, g, s, dist, q);
    pSum += r.sum;
    pReached += r.reached;
  }
  const comp = components(n, live, g);
  const entries = m + g.dead;
  return {
    liveNodes: L,
    edges: m,
    deadEntries: g.dead,
    accuracy: entries === 0 ? 1 : m / entries,
    meanOutDegree: L === 0 ? 0 : m / L,
    inDegree: hist,
    clustering: cCount === 0 ? 0 : cSum / cCount,
    avgPathLength: pReached === 0 ? 0 : pSum / pReached,
    pathSources: sources.length,
    components: comp.count,
    largestComponent: comp.largest,
    symmetry: m === 0 ? 1 : sym / m,
  };
}
