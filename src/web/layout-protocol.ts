/** Messages between the page and the layout worker (`layout-worker.ts`). */

export type LayoutRequest =
  | {
      type: 'graph';
      /** Generation: replies of an older graph are ignored. */
      gen: number;
      n: number;
      /** Undirected links as index pairs. */
      links: Int32Array;
      /** Start positions (unit square, x/y interleaved, NaN = unknown), e.g. the last layout. */
      init?: Float32Array;
      /** Small restart (alpha 0.4) instead of a full one: an update of a laid-out graph. */
      warm: boolean;
    }
  | { type: 'stop' };

export type LayoutReply = { type: 'positions'; gen: number; xy: Float32Array; settled: boolean };

/** Ticks a layout runs before it settles: fewer for big graphs, whose ticks cost more
 *  (Barnes–Hut is O(n log n) per tick; at 10,000 nodes one tick takes tens of ms). */
export function layoutTicks(n: number): number {
  return n <= 1000 ? 300 : n <= 3000 ? 150 : 60;
}

/** Where the layout pulls each node: the centre of its connected component's slot. */
export interface ComponentTargets {
  /** Component of each node (0 = the largest). */
  comp: Int32Array;
  components: number;
  tx: Float64Array;
  ty: Float64Array;
}

/**
 * Give every connected component of the graph its own place, so that an overlay split in
 * two is drawn as two clouds rather than as one cloud whose halves interpenetrate (a single
 * pull to the centre would draw them on top of each other). Components of two or more nodes
 * get square slots of side ~ √size packed in rows, biggest first; isolated nodes (crashed,
 * or not reached) go on a ring around them. `spacing` is the layout's link length.
 */
export function componentTargets(n: number, links: Int32Array, spacing: number): ComponentTargets {
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]];
    return x;
  };
  for (let k = 0; k + 1 < links.length; k += 2) parent[find(links[k])] = find(links[k + 1]);
  const size = new Map<number, number>();
  for (let i = 0; i < n; i++) size.set(find(i), (size.get(find(i)) ?? 0) + 1);
  const roots = [...size.keys()].sort((a, b) => size.get(b)! - size.get(a)! || a - b);
  const compOf = new Map<number, number>();
  roots.forEach((r, c) => compOf.set(r, c));
  const comp = Int32Array.from({ length: n }, (_, i) => compOf.get(find(i))!);
  const groups = roots.filter((r) => size.get(r)! > 1);
  // Shelf packing of square slots, rows about as wide as the whole is tall.
  const side = (r: number): number => 1.2 * spacing * Math.sqrt(size.get(r)!) + spacing;
  const rowWidth = Math.sqrt(groups.reduce((s, r) => s + side(r) ** 2, 0)) * 1.3;
  const cx = new Float64Array(roots.length);
  const cy = new Float64Array(roots.length);
  let x = 0;
  let y = 0;
  let rowH = 0;
  let maxX = 0;
  groups.forEach((r, c) => {
    const s = side(r);
    if (x > 0 && x + s > rowWidth) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    cx[c] = x + s / 2;
    cy[c] = y + s / 2;
    x += s;
    maxX = Math.max(maxX, x);
    rowH = Math.max(rowH, s);
  });
  const midX = maxX / 2;
  const midY = (y + rowH) / 2;
  let reach = spacing;
  for (let c = 0; c < groups.length; c++) {
    cx[c] -= midX;
    cy[c] -= midY;
    reach = Math.max(reach, Math.hypot(cx[c], cy[c]) + side(groups[c]) / 2);
  }
  const singles = roots.length - groups.length;
  if (groups.length === 0) {
    // No links at all (fanout gossip over full membership): a sunflower disc.
    for (let j = 0; j < singles; j++) {
      const r = 0.8 * spacing * Math.sqrt(j + 0.5);
      cx[j] = r * Math.cos(j * Math.PI * (3 - Math.sqrt(5)));
      cy[j] = r * Math.sin(j * Math.PI * (3 - Math.sqrt(5)));
    }
  } else {
    // Isolated nodes on concentric rings just outside the components, 0.6 spacing apart.
    const gap = 0.6 * spacing;
    let r = reach + 2 * spacing;
    for (let j = 0; j < singles; ) {
      const cap = Math.max(1, Math.floor((2 * Math.PI * r) / gap));
      const here = Math.min(cap, singles - j);
      for (let q = 0; q < here; q++, j++) {
        const a = (2 * Math.PI * q) / here - Math.PI / 2;
        cx[groups.length + j] = r * Math.cos(a);
        cy[groups.length + j] = r * Math.sin(a);
      }
      r += gap;
    }
  }
  const tx = new Float64Array(n);
  const ty = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    tx[i] = cx[comp[i]];
    ty[i] = cy[comp[i]];
  }
  return { comp, components: roots.length, tx, ty };
}
