/** The flood's tree set before any traffic (`eagerFeeders`, src/proto/members/flood-tree.ts):
 *  which links are pruned when they come up, what a pruned link carries, and which neighbours
 *  a lost feeder's replacement grafts and reconciles. Exact inputs and outputs, no simulator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addr, machine } from './harness.js';
import { FAILED, pack, resolveMembersConfig } from '../../../src/proto/members/types.js';

const A = Array.from({ length: 24 }, (_, i) => addr(i + 1));
const prunes = (out: { to: string; msg: { type: string } }[]) => out.filter((s) => s.msg.type === 'm-prune').map((s) => [s.to, s.msg]);

/** A machine at A[0] with `eagerFeeders` 2 and four overlay neighbours, brought up in order. */
function setup() {
  const { m, io } = machine(A[0], A, { rings: 4, eagerFeeders: 2 });
  const [n1, n2, n3, n4] = [A[1], A[2], A[3], A[4]];
  m.start(0);
  for (const p of [n1, n2, n3, n4]) m.neighborUp(p, 0);
  return { m, io, n1, n2, n3, n4 };
}

test('eagerFeeders: the first two links feed us (each told so: a graft); every later link is pruned as it comes up', () => {
  const { io, n1, n2, n3, n4 } = setup();
  assert.deepEqual(prunes(io.take()), [
    [n1, { type: 'm-prune', graft: true }],
    [n2, { type: 'm-prune', graft: true }],
    [n3, { type: 'm-prune', graft: false }],
    [n4, { type: 'm-prune', graft: false }],
  ]);
});

test('eagerFeeders 0 (the default): no link is pruned', () => {
  const { m, io } = machine(A[0], A, { rings: 4 });
  m.start(0);
  for (const p of A.slice(1, 5)) m.neighborUp(p, 0);
  assert.deepEqual(prunes(io.take()), []);
});

test('eagerFeeders: a neighbour that pruned us gets no relayed change; the others get the whole batch', () => {
  const { m, io, n1, n2, n3, n4 } = setup();
  m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  io.take();
  io.timers = [];
  m.handleMessage(n3, { type: 'm-prune', graft: false }, 5);
  const news = [A[10], A[11]];
  m.handleMessage(n1, { type: 'm-changes', ids: news, states: news.map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  m.handleTimer(io.takeTimers('m-flush')[0].t, 200);
  const out = io.take().filter((s) => s.msg.type === 'm-changes');
  const to = (p: string): string[] => out.filter((s) => s.to === p).flatMap((s) => (s.msg.type === 'm-changes' ? s.msg.ids : []));
  assert.deepEqual(to(n2), news, 'a neighbour that did not prune us gets everything (n2)');
  assert.deepEqual(to(n4), news, 'a neighbour we pruned still gets everything from us unless it pruned us (n4)');
  assert.deepEqual(to(n1), [], 'nothing back to the sender');
  if (!m.detector.subjectsByRing().includes(n3)) assert.deepEqual(to(n3), [], 'n3 pruned us: no relayed change');
});

test('eagerFeeders: a feeder lost is replaced by grafting one pruned neighbour (no sync while another feeder is left)', () => {
  const { m, io, n1 } = setup();
  io.take();
  m.neighborDown(n1, 'disconnected', 300);
  const out = io.take();
  const grafts = prunes(out);
  assert.equal(grafts.length, 1, 'one graft');
  assert.deepEqual(grafts[0][1], { type: 'm-prune', graft: true });
  assert.ok([A[3], A[4]].includes(grafts[0][0] as string), 'a pruned neighbour is grafted');
  assert.deepEqual(out.filter((s) => s.msg.type === 'm-sync'), [], 'n2 still feeds us: nothing to reconcile');
});

test('eagerFeeders: both feeders marked failed in our table, one after the other: each is replaced at once, before its link times out', () => {
  const { m, io, n1, n2, n3, n4 } = setup();
  io.take();
  // n3 (pruned, so not a feeder) tells us both feeders failed: the first loss grafts one
  // pruned neighbour (n2 still fed us then), the second the other.
  m.handleMessage(n3, { type: 'm-changes', ids: [n1, n2], states: [pack(0, FAILED), pack(0, FAILED)], metas: null, sync: false }, 30);
  const out = io.take();
  const grafts = prunes(out);
  assert.deepEqual(grafts.map((g) => g[1]), [{ type: 'm-prune', graft: true }, { type: 'm-prune', graft: true }]);
  assert.deepEqual(grafts.map((g) => g[0]).sort(), [n3, n4].sort(), 'n3 and n4 grafted');
  assert.deepEqual(out.filter((s) => s.msg.type === 'm-sync'), [], 'a feeder was left at each loss');
  // Nothing left to graft: a verdict about a grafted feeder grafts nothing.
  m.handleMessage(n3, { type: 'm-changes', ids: [n4], states: [pack(0, FAILED)], metas: null, sync: false }, 40);
  assert.deepEqual(prunes(io.take()), []);
  // A new link while fewer than two feeders are up in our table: it feeds us, not pruned.
  m.neighborUp(A[5], 50);
  assert.deepEqual(prunes(io.take()), [[A[5], { type: 'm-prune', graft: true }]]);
});

test('eagerFeeders 1: the only feeder lost leaves a hole: the neighbour grafted is also reconciled (m-sync)', () => {
  const { m, io } = machine(A[0], A, { rings: 4, eagerFeeders: 1 });
  m.start(0);
  for (const p of A.slice(1, 4)) m.neighborUp(p, 0);
  assert.deepEqual(prunes(io.take()).map((g) => [g[0], (g[1] as unknown as { graft: boolean }).graft]), [[A[1], true], [A[2], false], [A[3], false]], 'the first link feeds us');
  m.neighborDown(A[1], 'link-failed', 300);
  const out = io.take();
  const grafts = prunes(out);
  assert.equal(grafts.length, 1);
  assert.deepEqual(out.filter((s) => s.msg.type === 'm-sync').map((s) => s.to), [grafts[0][0]]);
});

test('eagerFeeders: a feeder that sent nothing for a probe period while batches brought news is grafted again and replaced', () => {
  const { m, io, n1, n2 } = setup();
  io.take();
  const verdict = (i: number) => ({ type: 'm-changes' as const, ids: [A[10 + i]], states: [pack(0, FAILED)], metas: null, sync: false });
  // News from n1 every 300 ms; n2 (a feeder) sends nothing.
  for (const [i, t] of [10, 300, 600, 900].entries()) m.handleMessage(n1, verdict(i), t);
  assert.deepEqual(prunes(io.take()), [], 'news for less than a probe period: no check yet');
  m.handleMessage(n1, verdict(4), 1100);
  const grafts = prunes(io.take());
  assert.deepEqual(grafts[0], [n2, { type: 'm-prune', graft: true }], 'n2 is sent the graft again (it may have been lost)');
  assert.equal(grafts.length, 2, 'and one pruned neighbour is grafted in its place');
  assert.ok([A[3], A[4]].includes(grafts[1][0] as string));
  assert.deepEqual(grafts[1][1], { type: 'm-prune', graft: true });
  // n1 spoke within the period: not taken as silent; nothing more within a flush period.
  m.handleMessage(n1, verdict(5), 1150);
  assert.deepEqual(prunes(io.take()), []);
});

test('eagerFeeders: a value out of [0, 16] is refused with a clear error', () => {
  const r = resolveMembersConfig({ eagerFeeders: 17 });
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /^eagerFeeders: expected an integer in \[0, 16\], got 17$/);
});
