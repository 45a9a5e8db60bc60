/**
 * Overlay session: a HyParView cluster whose active-view graph the page draws, with the
 * paper's health figures (DSN 2007 §5: in-degree distribution, clustering coefficient) and
 * failures injected on demand so one can watch the views repair.
 */
import { createEngine, type Engine } from './engine.js';
import { activeLinks, joinAndSettle, HYPARVIEW_ACTIVE } from './spread.js';
import type { OverlayParams, OverlayState } from './protocol.js';
import { UnionFind } from '../sim/union-find.js';

export function validateOverlayParams(p: OverlayParams): string | null {
  if (!Number.isInteger(p.nodes) || p.nodes < 10 || p.nodes > 10000) return 'nodes: must be an integer from 10 to 10,000';
  if (!Number.isInteger(p.seed) || p.seed < 0) return 'seed: must be a non-negative integer';
  return null;
}

export class OverlaySession {
  readonly n: number;
  private readonly sim: Engine;

  constructor(p: OverlayParams) {
    const bad = validateOverlayParams(p);
    if (bad) throw new RangeError(bad);
    this.n = p.nodes;
    this.sim = createEngine({ nodes: p.nodes, seed: p.seed, protocol: { membership: 'hyparview', broadcast: 'plumtree' }, network: { latency: { kind: 'constant', ms: 10 } } });
    joinAndSettle(this.sim, this.n);
  }

  failPercent(p: number): void {
    if (!(p >= 0 && p <= 100)) throw new RangeError('fail: percent must be from 0 to 100');
    this.sim.failPercent(p);
  }

  crash(nodes: number[]): void {
    for (const x of nodes) if (!Number.isInteger(x) || x < 0 || x >= this.n) throw new RangeError(`node: must be from 0 to ${this.n - 1}`);
    this.sim.crash(nodes.filter((x) => this.sim.isAlive(x)));
  }

  advance(ms: number): void {
    if (!(ms > 0 && ms <= 600000)) throw new RangeError('advance: ms must be from 1 to 600,000');
    this.sim.runFor(ms);
  }

  state(seq: number): OverlayState {
    const n = this.n;
    const alive = new Uint8Array(n);
    for (let i = 0; i < n; i++) alive[i] = this.sim.isAlive(i) ? 1 : 0;
    const views: (readonly number[])[] = [];
    const inDeg = new Int32Array(n);
    let notFull = 0;
    for (let i = 0; i < n; i++) {
      const v = alive[i] ? this.sim.node(i).activeView().filter((x) => alive[x]) : [];
      views.push(v);
      if (alive[i] && v.length < HYPARVIEW_ACTIVE) notFull++;
      for (const x of v) inDeg[x]++;
    }
    const hist: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!alive[i]) continue;
      while (hist.length <= inDeg[i]) hist.push(0);
      hist[inDeg[i]]++;
    }
    return {
      type: 'overlay-state',
      seq,
      n,
      alive,
      links: activeLinks(this.sim, n),
      inDegreeHist: hist,
      clustering: clusteringCoefficient(views, alive),
      notFull,
      components: components(views, alive),
      timeMs: this.sim.now,
    };
  }
}

/** Mean local clustering coefficient of the undirected graph of `views` (live nodes only). */
export function clusteringCoefficient(views: readonly (readonly number[])[], alive: Uint8Array): number {
  const n = views.length;
  const nb: Set<number>[] = Array.from({ length: n }, () => new Set<number>());
  for (let a = 0; a < n; a++) for (const b of views[a]) if (a !== b) { nb[a].add(b); nb[b].add(a); }
  let sum = 0;
  let count = 0;
  for (let a = 0; a < n; a++) {
    if (!alive[a]) continue;
    count++;
    const s = [...nb[a]];
    const k = s.length;
    if (k < 2) continue;
    let links = 0;
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) if (nb[s[i]].has(s[j])) links++;
    sum += (2 * links) / (k * (k - 1));
  }
  return count ? sum / count : 0;
}

/** Number of connected components among live nodes (links taken as undirected). */
export function components(views: readonly (readonly number[])[], alive: Uint8Array): number {
  const n = views.length;
  const uf = new UnionFind(n);
  for (let a = 0; a < n; a++) for (const b of views[a]) uf.union(a, b);
  let c = 0;
  for (let i = 0; i < n; i++) if (alive[i] && uf.find(i) === i) c++;
  return c;
}
