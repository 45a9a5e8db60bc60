// `Members.forceLeave` (Serf's force-leave on one node's table): a down member becomes `left`
// at its incarnation and the change spreads; `prune` also reaps it at once and refuses stale
// rumours; an up member, ourselves and an unknown member are refused; the member can come back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MiniNet, addr, machine } from './harness.js';
import { ALIVE, FAILED, LEFT, SUSPECT, pack } from '../../../src/proto/members/types.js';

const A = Array.from({ length: 5 }, (_, i) => addr(i + 1));

test('forceLeave: refused for an alive or suspect member, for ourselves and for an unknown member', () => {
  const { m, store } = machine(A[0], A);
  m.start(0);
  assert.deepEqual(m.forceLeave(A[1], false, 10), { ok: false, reason: 'up' });
  store.set(A[2], pack(3, SUSPECT), 0);
  assert.deepEqual(m.forceLeave(A[2], true, 10), { ok: false, reason: 'up' });
  assert.deepEqual(m.forceLeave(A[0], false, 10), { ok: false, reason: 'self' });
  assert.deepEqual(m.forceLeave(addr(99), false, 10), { ok: false, reason: 'unknown' });
  assert.equal(store.get(A[1]), pack(0, ALIVE));
  assert.equal(store.get(A[2]), pack(3, SUSPECT));
});

test('forceLeave: a failed member becomes left at its incarnation, with member-leave, queued for the neighbours', () => {
  const { m, io, store } = machine(A[0], A, { flushIntervalMs: 10 });
  m.start(0);
  m.neighborUp(A[1], 0);
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[3]], states: [pack(7, FAILED)], metas: null, sync: false }, 5);
  io.events = [];
  io.take();
  assert.deepEqual(m.forceLeave(A[3], false, 20), { ok: true, status: 'left' });
  assert.equal(store.get(A[3]), pack(7, LEFT));
  assert.deepEqual(io.events, [{ type: 'member-leave', member: A[3], incarnation: 7 }]);
  m.handleTimer({ type: 'm-flush', due: 30 }, 30);
  const changes = io.take().filter((s) => s.to === A[1] && s.msg.type === 'm-changes');
  assert.ok(
    changes.some((s) => s.msg.type === 'm-changes' && s.msg.ids.some((id, i) => id === A[3] && (s.msg as { states: number[] }).states[i] === pack(7, LEFT))),
    `the left entry is sent to the neighbour (sent: ${JSON.stringify(changes)})`,
  );
  // Again: already left, nothing changes, still ok.
  io.events = [];
  assert.deepEqual(m.forceLeave(A[3], false, 40), { ok: true, status: 'left' });
  assert.deepEqual(io.events, []);
});

test('forceLeave --prune: reaped at once (member-reap); a stale rumour cannot bring it back, the member itself can', () => {
  const { m, io, store } = machine(A[0], A);
  m.start(0);
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[3]], states: [pack(2, FAILED)], metas: null, sync: false }, 5);
  io.events = [];
  assert.deepEqual(m.forceLeave(A[3], true, 20), { ok: true, status: 'pruned' });
  assert.equal(store.get(A[3]), -1);
  assert.deepEqual(io.events, [
    { type: 'member-leave', member: A[3], incarnation: 2 },
    { type: 'member-reap', member: A[3], status: 'left' },
  ]);
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[3]], states: [pack(2, FAILED)], metas: null, sync: true }, 30);
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[3]], states: [pack(2, LEFT)], metas: null, sync: false }, 31);
  assert.equal(store.get(A[3]), -1, 'stale failed/left rumours are refused');
  m.handleMessage(A[3], { type: 'm-changes', ids: [A[3]], states: [pack(3, ALIVE)], metas: null, sync: false }, 40);
  assert.equal(store.get(A[3]), pack(3, ALIVE), 'the member itself returns with a higher incarnation');
});

test('forceLeave on one node: every other table moves the failed member to left', () => {
  const net = new MiniNet();
  for (const n of A) net.add(n, A, { flushIntervalMs: 10, syncIntervalMs: 100_000, reconnectIntervalMs: 100_000 });
  for (const [, x] of net.nodes) x.m.start(0);
  // Overlay links: a line A0 - A1 - A2 - A3 (A4 is the crashed member).
  for (let i = 0; i < 3; i++) {
    net.nodes.get(A[i])!.m.neighborUp(A[i + 1], 0);
    net.nodes.get(A[i + 1])!.m.neighborUp(A[i], 0);
  }
  net.down.add(A[4]);
  for (const n of A.slice(0, 4)) net.nodes.get(n)!.store.set(A[4], pack(0, FAILED), 0);
  assert.deepEqual(net.nodes.get(A[0])!.m.forceLeave(A[4], false, 10), { ok: true, status: 'left' });
  net.runUntil(500);
  for (const n of A.slice(0, 4)) assert.equal(net.nodes.get(n)!.store.get(A[4]), pack(0, LEFT), `${n} holds ${A[4]} left`);
});
