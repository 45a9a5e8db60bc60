/** `metaAskWaitMs` (src/proto/members/dissemination.ts `wantMeta`, `floodMeta`): a member first
 *  heard of without its meta is asked for it only after the wait, on a timer of its own; a meta
 *  the flood brings meanwhile makes the ask unneeded and is flooded on; changes queued during the
 *  wait still leave at the next flush period. Exact inputs and outputs, no simulator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addr, machine } from './harness.js';
import { ALIVE, pack, resolveMembersConfig } from '../../../src/proto/members/types.js';

const A = Array.from({ length: 6 }, (_, i) => addr(i + 1));
const X = addr(60);
const Y = addr(61);

/** A[0] with overlay neighbours A[1] and A[2], its own join flushed, output and timers cleared. */
function setup(metaAskWaitMs: number) {
  const h = machine(A[0], A.slice(0, 4), { rings: 1, metaAskWaitMs });
  h.m.start(0);
  h.m.neighborUp(A[1], 0);
  h.m.neighborUp(A[2], 0);
  h.m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  h.io.take();
  h.io.takeTimers();
  return h;
}

const metaReqs = (sent: { to: string; msg: { type: string } }[]) => sent.filter((s) => s.msg.type === 'm-meta-req');

test('metaAskWaitMs: a meta the flood brings during the wait is recorded and flooded on (not back to its sender), and nobody is asked', () => {
  const { m, io, store } = setup(300);
  // X heard of on a ping's piggyback at t = 100: no meta.
  m.handleMessage(A[3], { type: 'm-ping', seq: 1, ids: [X], states: [pack(2, ALIVE)] }, 100);
  assert.equal(store.meta(X), undefined);
  const timers = io.takeTimers('m-flush');
  assert.deepEqual(timers, [{ delay: 200, t: { type: 'm-flush', due: 0 } }], 'the flush period');
  assert.deepEqual(io.takeTimers('m-meta-ask'), [{ delay: 300, t: { type: 'm-meta-ask', due: 400 } }], 'the meta ask, 300 ms on');
  // The flush period: the join relayed (without the meta we lack), no ask yet.
  m.handleTimer(timers[0].t, 300);
  assert.deepEqual(metaReqs(io.take()), []);
  // The flood brings X with its meta at the state we hold.
  const meta = { name: 'x', tags: { dc: 'a' } };
  m.handleMessage(A[2], { type: 'm-changes', ids: [X], states: [pack(2, ALIVE)], metas: [meta], sync: false }, 350);
  assert.deepEqual(store.meta(X), meta);
  assert.deepEqual(io.events, [{ type: 'member-join', member: X, incarnation: 2 }], 'one join, released with the meta');
  const next = io.takeTimers('m-flush');
  assert.deepEqual(next.map((x) => x.t), [{ type: 'm-flush', due: 0 }], 'a flush period armed for the meta');
  m.handleTimer(next[0].t, 360);
  const out = io.take().filter((s) => s.msg.type === 'm-changes');
  const withMeta = (to: string): boolean => out.some((s) => s.to === to && s.msg.type === 'm-changes' && s.msg.ids.includes(X) && s.msg.metas !== null);
  assert.ok(withMeta(A[1]), 'A[1] (which had the entry from us without it) gets the meta');
  assert.ok(!out.some((s) => s.to === A[2]), 'not back to the sender');
  // The meta-ask timer finds nothing left to ask.
  m.handleTimer({ type: 'm-meta-ask', due: 400 }, 400);
  assert.deepEqual(metaReqs(io.take()), []);
  assert.deepEqual(io.takeTimers(), []);
});

test('metaAskWaitMs: with no meta by then the member is asked when the wait ends; a change queued meanwhile leaves at the next flush period, not then', () => {
  const { m, io } = setup(300);
  m.handleMessage(A[3], { type: 'm-ping', seq: 1, ids: [X], states: [pack(0, ALIVE)] }, 100);
  const [period] = io.takeTimers('m-flush');
  const [ask] = io.takeTimers('m-meta-ask');
  assert.deepEqual([ask.t.due, period.t.due], [400, 0]);
  m.handleTimer(period.t, 300);
  io.take();
  // Another member, heard of with its meta at t = 320: flushed a period later (200 ms).
  m.handleMessage(A[1], { type: 'm-changes', ids: [Y], states: [pack(0, ALIVE)], metas: [{ name: 'y', tags: {} }], sync: false }, 320);
  assert.deepEqual(io.takeTimers('m-flush'), [{ delay: 200, t: { type: 'm-flush', due: 0 } }]);
  // The ask's timer (due 400) asks X, and sends no batch.
  m.handleTimer(ask.t, 400);
  assert.deepEqual(io.take(), [{ to: X, msg: { type: 'm-meta-req', ids: [X] } }]);
  m.handleTimer({ type: 'm-flush', due: 0 }, 520);
  assert.ok(io.take().some((s) => s.to === A[2] && s.msg.type === 'm-changes' && s.msg.ids.includes(Y)), 'Y flooded at the flush period');
});

test('metaAskWaitMs: a second member heard of during the wait gets a timer when the first ask is done', () => {
  const { m, io } = setup(300);
  m.handleMessage(A[3], { type: 'm-ping', seq: 1, ids: [X], states: [pack(0, ALIVE)] }, 100);
  m.handleMessage(A[3], { type: 'm-ping', seq: 2, ids: [Y], states: [pack(0, ALIVE)] }, 250);
  const asks = io.takeTimers('m-meta-ask');
  assert.equal(asks.length, 1, 'one meta-ask timer at a time');
  m.handleTimer(asks[0].t, 400);
  assert.deepEqual(metaReqs(io.take()).map((s) => s.to), [X]);
  const again = io.takeTimers('m-meta-ask');
  assert.deepEqual(again, [{ delay: 150, t: { type: 'm-meta-ask', due: 550 } }], 'Y is due 300 ms after t = 250');
  m.handleTimer(again[0].t, 550);
  assert.deepEqual(metaReqs(io.take()).map((s) => s.to), [Y]);
});

test('metaAskWaitMs 0 (the default): asked at the next flush, as before; a value out of range is refused with a clear error', () => {
  const { m, io } = setup(0);
  m.handleMessage(A[3], { type: 'm-ping', seq: 1, ids: [X], states: [pack(0, ALIVE)] }, 100);
  const timers = io.takeTimers('m-flush');
  assert.deepEqual(timers.map((x) => x.t), [{ type: 'm-flush', due: 0 }]);
  assert.deepEqual(io.takeTimers('m-meta-ask'), [], 'no timer of its own');
  m.handleTimer(timers[0].t, 300);
  assert.deepEqual(metaReqs(io.take()).map((s) => s.to), [X]);
  const r = resolveMembersConfig({ metaAskWaitMs: -1 });
  assert.equal(r.ok ? '' : r.reason, 'metaAskWaitMs: expected an integer in [0, 600000], got -1');
});
