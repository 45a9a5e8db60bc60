/** The layout's component slots (layout-protocol.ts), in Node: separate components get
 *  separate, non-overlapping places; isolated nodes go around them; no links at all is a disc. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { componentTargets } from '../../src/web/layout-protocol.js';

/** A ring of `m` nodes starting at `first`, as index pairs. */
function ring(first: number, m: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < m; i++) out.push(first + i, first + ((i + 1) % m));
  return out;
}

test('a graph split in two gets two slots further apart than their sizes; isolated nodes ring them', () => {
  const n = 403;
  const links = Int32Array.from([...ring(0, 250), ...ring(250, 150)]); // nodes 400..402 isolated
  const t = componentTargets(n, links, 30);
  assert.equal(t.components, 5);
  assert.equal(t.comp[0], 0, 'the largest component is 0');
  assert.equal(t.comp[300], 1);
  const d = Math.hypot(t.tx[0] - t.tx[300], t.ty[0] - t.ty[300]);
  const halfSides = (1.2 * 30 * Math.sqrt(250) + 30) / 2 + (1.2 * 30 * Math.sqrt(150) + 30) / 2;
  assert.ok(d >= halfSides * 0.99, `slots ${d.toFixed(0)} apart, sizes need ${halfSides.toFixed(0)}`);
  for (const i of [400, 401, 402]) {
    const r = Math.hypot(t.tx[i], t.ty[i]);
    assert.ok(r > Math.hypot(t.tx[0], t.ty[0]) + 30 && r > Math.hypot(t.tx[300], t.ty[300]) + 30, `isolated node ${i} at ${r.toFixed(0)}`);
  }
  // One component: everything pulled to the centre.
  const one = componentTargets(10, Int32Array.from(ring(0, 10)), 30);
  assert.deepEqual([one.components, one.tx[3], one.ty[3]], [1, 0, 0]);
});

test('no links at all: a sunflower disc, every node its own place', () => {
  const t = componentTargets(100, new Int32Array(0), 30);
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(`${t.tx[i].toFixed(3)},${t.ty[i].toFixed(3)}`);
  assert.equal(seen.size, 100);
  assert.ok(Math.max(...t.tx) < 0.8 * 30 * Math.sqrt(100) + 1);
});

test('force layout: an overlay that splits in two is drawn as two clouds apart (warm restart from one cloud)', async () => {
  const { createLayout } = await import('../../src/web/layout-sim.js');
  const { Sfc32 } = await import('../../src/proto/rng.js');
  const rng = new Sfc32(Number(process.env.SEED ?? 7));
  const n = 400;
  const half = n / 2;
  // Random 5-neighbour overlays inside each half (what the two sides of a partition report).
  const pairs: number[] = [];
  for (let i = 0; i < n; i++) {
    const base = i < half ? 0 : half;
    for (let k = 0; k < 3; k++) pairs.push(i, base + rng.int(half));
  }
  const links = Int32Array.from(pairs);
  // Start where the healthy overlay was drawn: both halves mixed in one disc.
  const nodes = Array.from({ length: n }, (_, i) => {
    const r = 300 * Math.sqrt(rng.next());
    const a = 2 * Math.PI * rng.next();
    return { i, x: r * Math.cos(a), y: r * Math.sin(a) };
  });
  const { sim, components } = createLayout(nodes, links, true, 1);
  assert.ok(components >= 2);
  for (let t = 0; t < 2000 && sim.alpha() > sim.alphaMin(); t++) sim.tick();
  const stats = (lo: number, hi: number): { x: number; y: number; r: number } => {
    let x = 0;
    let y = 0;
    for (let i = lo; i < hi; i++) {
      x += nodes[i].x;
      y += nodes[i].y;
    }
    x /= hi - lo;
    y /= hi - lo;
    let r = 0;
    for (let i = lo; i < hi; i++) r += (nodes[i].x - x) ** 2 + (nodes[i].y - y) ** 2;
    return { x, y, r: Math.sqrt(r / (hi - lo)) };
  };
  const a = stats(0, half);
  const b = stats(half, n);
  const d = Math.hypot(a.x - b.x, a.y - b.y);
  // Two clouds with a clear gap: centres at least twice the sum of their RMS radii apart
  // (a single pull to the centre, the layout before component slots, gave 1.5 times).
  assert.ok(d > 2 * (a.r + b.r), `centres ${d.toFixed(0)} apart, RMS radii ${a.r.toFixed(0)} + ${b.r.toFixed(0)}`);
});
