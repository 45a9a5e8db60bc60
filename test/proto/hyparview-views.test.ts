// The two places a HyParView machine keeps its views (src/proto/hyparview-views.ts): its own
// arrays, or a row of the simulator's shared Int32Array. Same operations, same order of
// entries, so the same machine behaves the same with either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArrayViews, RowViews, type ViewStore } from '../../src/proto/hyparview-views.js';
import { DEFAULT_HYPARVIEW_CONFIG } from '../../src/proto/hyparview.js';
import { Sfc32 } from '../../src/proto/rng.js';
import { MiniNet } from './hyparview-mininet.js';

test('RowViews: rows of [count, ids…] per view; removal moves the last entry into the slot; list() is a copy', () => {
  const r = new RowViews(3, 2, 3);
  assert.equal(r.stride, 7);
  assert.equal(r.activeOffset(1), 7);
  assert.equal(r.passiveOffset(1), 10);
  const a = r.activeOffset(1);
  const p = r.passiveOffset(1);
  r.push(p, 40);
  r.push(p, 41);
  r.push(p, 42);
  r.push(a, 5);
  assert.deepEqual([...r.a.subarray(7, 14)], [1, 5, 0, 3, 40, 41, 42]);
  assert.equal(r.indexOf(p, 41), 1);
  assert.equal(r.indexOf(p, 5), -1);
  r.removeAt(p, 0);
  assert.deepEqual(r.list(p), [42, 41]);
  const copy = r.list(p) as number[];
  copy[0] = 99;
  assert.equal(r.at(p, 0), 42, 'list() must not hand out the row');
  // Other rows are untouched.
  assert.deepEqual([...r.a.subarray(0, 7)], [0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...r.a.subarray(14, 21)], [0, 0, 0, 0, 0, 0, 0]);
  r.reset(1);
  assert.equal(r.len(a), 0);
  assert.equal(r.len(p), 0);
});

test('RowViews: a push into a full view and bad sizes are errors that say so', () => {
  const r = new RowViews(2, 1, 2);
  r.push(r.activeOffset(0), 1);
  assert.throws(() => r.push(r.activeOffset(0), 2), /RowViews: a view of 1 entries is full/);
  r.push(r.passiveOffset(1), 3);
  r.push(r.passiveOffset(1), 4);
  assert.throws(() => r.push(r.passiveOffset(1), 5), /RowViews: a view of 2 entries is full/);
  assert.throws(() => new RowViews(0, 5, 30), /RowViews: expected a node count in \[1, 50000000\], got 0/);
  assert.throws(() => new RowViews(10, 0, 30), /RowViews: expected view sizes activeSize ≥ 1 and passiveSize ≥ 0, got 0 and 30/);
  assert.throws(() => new RowViews(50_000_000, 5, 60), /do not fit one typed array/);
});

test('ArrayViews and RowViews apply the same operations in the same order', () => {
  const rng = new Sfc32(5);
  const arr = new ArrayViews<number>();
  const rows = new RowViews(4, 5, 30);
  const pairs: [ViewStore<number>, number, number][] = [
    [arr, arr.activeOffset(), 5],
    [rows, rows.activeOffset(2), 5],
    [arr, arr.passiveOffset(), 30],
    [rows, rows.passiveOffset(2), 30],
  ];
  for (let step = 0; step < 2000; step++) {
    for (const v of [0, 2]) {
      const [s1, o1, cap] = pairs[v];
      const [s2, o2] = pairs[v + 1];
      const n = s1.len(o1);
      const x = rng.int(100);
      if (n < cap && rng.next() < 0.55) {
        if (s1.indexOf(o1, x) < 0) {
          s1.push(o1, x);
          s2.push(o2, x);
        }
      } else if (n > 0) {
        const i = rng.int(n);
        s1.removeAt(o1, i);
        s2.removeAt(o2, i);
      }
      assert.deepEqual(s2.list(o2), s1.list(o1), `step ${step}`);
    }
  }
});

test('the same HyParView fleet with its views in arrays and in rows: the same views at every checkpoint', () => {
  const n = 60;
  const runs = [new MiniNet(n, 11), new MiniNet(n, 11, DEFAULT_HYPARVIEW_CONFIG, new RowViews(n, 5, 30))];
  const snap = (net: MiniNet): string => JSON.stringify(net.nodes.map((h) => [h.activeView(), h.passiveView()]));
  const snaps: string[][] = [[], []];
  runs.forEach((net, k) => {
    const pick = new Sfc32(99);
    net.nodes[0].join([], 0);
    for (let i = 1; i < n; i++) {
      net.nodes[i].join([pick.int(i)], net.now);
      net.drain();
    }
    net.runUntil(60_000);
    snaps[k].push(snap(net));
    for (let x = 0; x < n; x += 3) net.kill(x);
    net.drain();
    snaps[k].push(snap(net));
    net.runUntil(150_000);
    snaps[k].push(snap(net));
    assert.ok(net.check(5) >= 4, 'the survivors refilled their views');
    net.nodes[1].leave(150_000);
    net.runUntil(200_000);
    snaps[k].push(snap(net));
  });
  // Not a vacuous comparison: full passive views were reached (evictions taken).
  const full = runs[1].nodes.filter((h) => h.passiveView().length === 30).length;
  assert.ok(full > 0, 'some passive view reached its 30 entries');
  for (let c = 0; c < snaps[0].length; c++) assert.equal(snaps[1][c], snaps[0][c], `checkpoint ${c}`);
});
