/**
 * `bootstrap` experiment (issue 18): a fleet that starts at once must form one overlay.
 *
 * Every node starts at a random instant of the first second (staggered: of the first two) and
 * joins through the contacts its seeding pattern gives it, most of which are not up yet:
 * - `ring`: node i through node i+1 (the last through node 0);
 * - `star`: every node through node 0 (node 0 has no contact);
 * - `random`: each node through one random other node (drawn so that the seeding graph connects
 *   the fleet: a random earlier node in a random order of the nodes);
 * - `all-to-all`: each node is given every address (a DNS name resolving to the whole fleet);
 * - `staggered`: as `random`, but the starts are spread over 0–2 s;
 * - `down-seeds`: each node's first two contacts are nodes that never start (a tenth of the
 *   ids, never started), its third a random other node as in `random`.
 *
 * The active-view graph (undirected) is sampled every `SAMPLE_MS` of virtual time once every
 * node has started: `one_component_s` is the first sample at which it is one component,
 * `full_views_s` the first at which every active view holds at least `FULL_VIEW` peers (null:
 * not within `END_MS`); `components_end` and `min_active_end` are taken at `END_MS`.
 */
import { deriveSeed } from './seeds.js';
import { Simulation } from './simulation.js';
import { UnionFind } from './union-find.js';

/** Options of the experiment (the CLI's `--nodes`, `--seed`). */
export interface BootstrapOptions {
  nodes?: number;
  seed: number;
  onProgress?(f: number): void;
}

/** The seeding patterns, in display order. */
export const SEEDINGS = ['ring', 'star', 'random', 'all-to-all', 'staggered', 'down-seeds'] as const;
export type Seeding = (typeof SEEDINGS)[number];

/** Sizes run when `--nodes` is not given. */
const SIZES = [20, 1000, 10_000];
/** Starts are drawn uniformly in [0, START_MS) (staggered: [0, STAGGER_MS)). */
const START_MS = 1000;
const STAGGER_MS = 2000;
/** Sampling period of the overlay figures, and the end of a run (virtual ms). */
const SAMPLE_MS = 50;
const END_MS = 30_000;
/** An active view of at least this many peers counts as full (issue 18: ≥ 4 of 5). */
const FULL_VIEW = 4;

/** One row of the experiment. */
export interface BootstrapRow {
  seeding: Seeding;
  nodes: number;
  one_component_s: number | null;
  full_views_s: number | null;
  components_end: number;
  min_active_end: number;
}

/** Components of the undirected active-view graph of the started nodes `0..n-1`, and the
 *  smallest active view among them. */
export function overlayShape(sim: Simulation, n: number, parent: Int32Array): { components: number; minActive: number } {
  const uf = new UnionFind(n, parent);
  let components = n;
  let minActive = Infinity;
  for (let i = 0; i < n; i++) {
    const view = sim.node(i).activeView();
    if (view.length < minActive) minActive = view.length;
    for (let j = 0; j < view.length; j++) {
      const v = view[j];
      if (v >= n || !sim.isAlive(v)) continue;
      if (uf.union(i, v)) components--;
    }
  }
  return { components, minActive: n === 0 ? 0 : minActive };
}

/** The contacts of node `i` under `seeding` (`all`: the shared list of every id; `order`: a
 *  random order of the ids, `rank[i]` node i's place in it). */
function contactsOf(seeding: Seeding, i: number, n: number, sim: Simulation, all: number[], order: number[], rank: number[]): number[] {
  // A random other node, drawn among those before i in a random order: a seeding graph that
  // connects the fleet (one random contact each, drawn among all nodes, leaves about
  // ln(n)/2 groups that never hear of each other, which no protocol can join).
  const other = (): number => (rank[i] === 0 ? order[1] : order[sim.rng.int(rank[i])]);
  switch (seeding) {
    case 'ring':
      return [(i + 1) % n];
    case 'star':
      return i === 0 ? [] : [0];
    case 'random':
    case 'staggered':
      return [other()];
    case 'all-to-all':
      return all;
    case 'down-seeds': {
      const down = n + sim.rng.int(sim.n - n);
      const down2 = n + sim.rng.int(sim.n - n);
      return [down, down2, other()];
    }
  }
}

/** Run one pattern at one size; `seed` seeds the simulation (and so the start instants). */
export function bootstrapRun(seeding: Seeding, n: number, seed: number): BootstrapRow {
  const slots = seeding === 'down-seeds' ? n + Math.max(2, Math.ceil(n / 10)) : n;
  const sim = new Simulation({ nodes: slots, seed });
  const all: number[] = [];
  if (seeding === 'all-to-all') for (let i = 0; i < n; i++) all.push(i);
  const order: number[] = [];
  for (let i = 0; i < n; i++) order.push(i);
  for (let i = n - 1; i > 0; i--) {
    const j = sim.rng.int(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const rank: number[] = new Array<number>(n);
  for (let k = 0; k < n; k++) rank[order[k]] = k;
  const span = seeding === 'staggered' ? STAGGER_MS : START_MS;
  let lastStart = 0;
  for (let i = 0; i < n; i++) {
    const at = sim.rng.next() * span;
    const contacts = contactsOf(seeding, i, n, sim, all, order, rank);
    if (at > lastStart) lastStart = at;
    sim.at(at, () => sim.join(i, contacts));
  }
  const parent = new Int32Array(n);
  let oneComponent: number | null = null;
  let fullViews: number | null = null;
  let t = Math.ceil(lastStart / SAMPLE_MS) * SAMPLE_MS;
  for (; t <= END_MS && (oneComponent === null || fullViews === null); t += SAMPLE_MS) {
    sim.runUntil(t);
    const s = overlayShape(sim, n, parent);
    if (oneComponent === null && s.components === 1) oneComponent = t / 1000;
    if (fullViews === null && s.minActive >= FULL_VIEW) fullViews = t / 1000;
  }
  sim.runUntil(END_MS);
  const end = overlayShape(sim, n, parent);
  return { seeding, nodes: n, one_component_s: oneComponent, full_views_s: fullViews, components_end: end.components, min_active_end: end.minActive };
}

/** `rumor sim bootstrap`: every pattern at 20, 1,000 and 10,000 nodes (or only `nodes`). */
export function bootstrapExperiment(o: BootstrapOptions): { experiment: 'bootstrap'; seed: number; nodes: number; rows: BootstrapRow[]; [param: string]: unknown } {
  if (o.nodes !== undefined && (!Number.isInteger(o.nodes) || o.nodes < 2)) {
    throw new Error(`nodes: expected an integer >= 2, got ${String(o.nodes)}`);
  }
  const sizes = o.nodes !== undefined ? [o.nodes] : SIZES;
  const rows: BootstrapRow[] = [];
  let done = 0;
  for (const n of sizes) {
    for (let k = 0; k < SEEDINGS.length; k++) {
      rows.push(bootstrapRun(SEEDINGS[k], n, deriveSeed(o.seed, k)));
      o.onProgress?.(++done / (sizes.length * SEEDINGS.length));
    }
  }
  return {
    experiment: 'bootstrap',
    seed: o.seed,
    nodes: sizes[sizes.length - 1],
    rows,
    seeds: `deriveSeed(seed, k), k = index of the pattern in ${SEEDINGS.join(', ')}`,
    startMs: START_MS,
    staggeredStartMs: STAGGER_MS,
    downSeeds: 'a tenth of the ids (at least 2) never start; each node is given two of them, then one random node',
    sampleMs: SAMPLE_MS,
    endMs: END_MS,
    fullView: FULL_VIEW,
    network: 'defaults (uniform 5-25 ms, no loss; a connect to a node not started yet is refused after one round trip)',
  };
}
