import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HYPARVIEW_CONFIG, HyParView, type HyParViewConfig } from '../../src/proto/hyparview.js';
import { walkLength } from '../../src/proto/hyparview-views.js';
import type { HyParViewMessage } from '../../src/proto/types.js';
import { Rec, TapRng, withActive, withPassive } from './membership-rec.js';
import { MiniNet } from './hyparview-mininet.js';

// Walk length scaled to the overlay's size (hyparview.ts, "Walk length scaled to the overlay's size").

function mk(over: Partial<HyParViewConfig> = {}) {
  const io = new Rec();
  const hv = new HyParView<number>(0, { ...DEFAULT_HYPARVIEW_CONFIG, ...over }, new TapRng(1), io);
  return { hv, io };
}

const fwd = (peer: number, ttl: number): HyParViewMessage<number> => ({ type: 'forward-join', peer, ttl });

test('walkLength: ⌈log_c n⌉ + 1 (c = activeViewSize), at least 2, at most ARWL; ARWL with no size', () => {
  const c = DEFAULT_HYPARVIEW_CONFIG;
  const got = [1, 2, 5, 6, 20, 25, 26, 50, 125, 126, 625, 3125, 3126, 10_000, 1_000_000].map((n) => walkLength(n, c));
  assert.deepEqual(got, [2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 6, 6]);
  for (const n of [0, -3, Number.NaN, Number.POSITIVE_INFINITY]) assert.equal(walkLength(n, c), 6, `n = ${n}`);
  assert.equal(walkLength(50, { arwl: 2, activeViewSize: 5 }), 2, 'never above the configured ARWL');
  assert.equal(walkLength(50, { arwl: 6, activeViewSize: 8 }), 3, 'the base is the active view size');
  assert.equal(walkLength(50, { arwl: 6, activeViewSize: 1 }), 6, 'no base below 2: the configured ARWL');
});

test('no size hint: the contact starts walks of the configured ARWL (the simulator gives none)', () => {
  const { hv, io } = mk();
  withActive(hv, io, [1, 2]);
  hv.handleMessage(9, { type: 'join' }, 0);
  const walks = io.take().filter((o) => o[0] === 'send' && (o[2] as { type: string }).type === 'forward-join');
  assert.deepEqual(walks, [['send', 1, fwd(9, 6)], ['send', 2, fwd(9, 6)]]);
});

test('size hint 50: the contact walks 4 hops and a walk puts the joiner in the passive view at ttl 2', () => {
  const { hv, io } = mk();
  withActive(hv, io, [1, 2, 3]);
  hv.sizeHint(50);
  hv.handleMessage(9, { type: 'join' }, 0);
  const walks = io.take().filter((o) => o[0] === 'send' && (o[2] as { type: string }).type === 'forward-join');
  assert.deepEqual(walks, [['send', 1, fwd(9, 4)], ['send', 2, fwd(9, 4)], ['send', 3, fwd(9, 4)]]);
  // Passing through: ttl 4, 3 and 1 only forward; ttl 2 = the scaled PRWL (⌊4 · 3 / 6⌋) adds to passive.
  hv.handleMessage(1, fwd(20, 4), 1);
  hv.handleMessage(1, fwd(21, 3), 1);
  hv.handleMessage(1, fwd(23, 1), 1);
  assert.deepEqual(hv.passiveView(), []);
  hv.handleMessage(1, fwd(22, 2), 1);
  assert.deepEqual(hv.passiveView(), [22]);
  const out = io.take();
  assert.equal(out.length, 4);
  assert.deepEqual(out.map((o) => (o[2] as { ttl: number }).ttl), [3, 2, 0, 1]);
  // A walk that arrives longer than ours (another node's estimate) is still capped at ARWL only.
  hv.handleMessage(1, fwd(24, 5), 1);
  assert.deepEqual(io.take().map((o) => (o[2] as { ttl: number }).ttl), [4]);
});

test('size hint: the walks a node starts for itself (the bootstrap retry, walkForNeighbors) are scaled too', () => {
  // A node under half full with one neighbour: the retry alternates a JOIN and walks of its own.
  const { hv, io } = mk();
  hv.sizeHint(20);
  hv.join([5], 0);
  hv.handleMessage(5, { type: 'neighbor-reply', accepted: true }, 1);
  io.take();
  let walks: unknown[] = [];
  for (let seq = 1; seq <= 4 && walks.length === 0; seq++) {
    hv.handleTimer({ type: 'hv-join-retry', seq }, 2000 * seq);
    walks = io.take().filter((o) => o[0] === 'send' && (o[2] as { type: string }).type === 'forward-join');
  }
  assert.ok(walks.length > 0, 'the retry started walks of its own');
  for (const w of walks) assert.deepEqual((w as unknown[])[2], fwd(0, 3));
});

test('size hint below what the views hold (a member table lagging a burst of JOINs): the views count', () => {
  const { hv, io } = mk();
  withActive(hv, io, [1, 2, 3, 4]);
  hv.sizeHint(3);
  const ttlsOf = (joiner: number): number[] => {
    hv.handleMessage(joiner, { type: 'join' }, 0);
    return io.take().filter((o) => o[0] === 'send' && (o[2] as { type: string }).type === 'forward-join').map((o) => (o[2] as { ttl: number }).ttl);
  };
  // 4 active + the joiner + self = 6 known nodes: 3 hops (the table's 3 alone would give 2).
  assert.deepEqual(ttlsOf(9), [3, 3, 3, 3]);
  // 26 in the passive view besides: 5 active + 26 passive + self = 32 nodes: 4 hops.
  withPassive(hv, io, 100, Array.from({ length: 25 }, (_, i) => 101 + i));
  assert.equal(hv.passiveView().length, 26);
  const ttls = ttlsOf(10);
  assert.ok(ttls.length === 4 && ttls.every((t) => t === 4), `walks of 4 hops: ${JSON.stringify(ttls)}`);
  // And a passing walk's joiner enters the passive view at ttl 2 (⌊4 · 3 / 6⌋), not at 3.
  hv.handleMessage(1, fwd(200, 3), 1);
  assert.ok(!hv.passiveView().includes(200));
  hv.handleMessage(1, fwd(201, 2), 1);
  assert.ok(hv.passiveView().includes(201));
});

test('size hint back to unknown (0): the configured ARWL and PRWL again', () => {
  const { hv, io } = mk();
  withActive(hv, io, [1, 2]);
  hv.sizeHint(20);
  hv.sizeHint(0);
  hv.handleMessage(1, fwd(30, 3), 0);
  assert.deepEqual(hv.passiveView(), [30], 'PRWL 3 again');
  io.take();
  hv.handleMessage(9, { type: 'join' }, 0);
  const ttls = io.take().filter((o) => o[0] === 'send' && (o[2] as { type: string }).type === 'forward-join').map((o) => (o[2] as { ttl: number }).ttl);
  assert.deepEqual(ttls, [6, 6]);
});

/** Connected components of the live nodes' active views. */
function components(net: MiniNet): number {
  const n = net.nodes.length;
  const parent = Array.from({ length: n }, (_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i])));
  for (let i = 0; i < n; i++) {
    if (!net.alive[i]) continue;
    for (const p of net.nodes[i].activeView()) parent[root(i)] = root(p);
  }
  const roots = new Set<number>();
  for (let i = 0; i < n; i++) if (net.alive[i]) roots.add(root(i));
  return roots.size;
}

for (const seed of [1, 2, 3]) {
  test(`a fleet of 200 started at once against one seed with scaled walks (5 hops): one overlay, passive views filled, survives half killed (seed ${seed})`, () => {
    // The agent's case (bench:join-cost): every node joins node 0 at once, `cut-off` as the
    // `lan` profile, and knows the fleet's size (its member table).
    const cfg: HyParViewConfig = { ...DEFAULT_HYPARVIEW_CONFIG, bootstrapRejoin: 'cut-off' };
    const net = new MiniNet(200, seed, cfg);
    for (const node of net.nodes) node.sizeHint(200);
    net.nodes[0].join([], 0);
    for (let i = 1; i < 200; i++) net.nodes[i].join([0], 0);
    net.runUntil(30_000);
    assert.ok(net.check(5) >= 4, 'mean active view >= 4 after 30 s');
    assert.equal(components(net), 1, 'one overlay');
    const emptyPassive = net.nodes.filter((x) => x.passiveView().length === 0).length;
    assert.equal(emptyPassive, 0, 'every passive view holds someone');
    for (let x = 1; x < 200; x += 2) net.kill(x);
    net.runUntil(90_000);
    assert.ok(net.check(5) >= 4, 'the survivors refilled their views');
    assert.equal(components(net), 1, 'still one overlay');
  });
}
