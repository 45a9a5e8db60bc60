// HyParView `reconnect` (issue 20 §3): a member that the membership application held failed
// answers again; the node JOINs through it unless it is a neighbour or a JOIN is in flight.
// Exact outputs of the machine, no simulator (the simulated partition is test/sim/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HYPARVIEW_CONFIG, HyParView } from '../../src/proto/hyparview.js';
import { Rec, TapRng, withActive, withPassive } from './membership-rec.js';

function mk(self = 0) {
  const io = new Rec();
  const hv = new HyParView<number>(self, DEFAULT_HYPARVIEW_CONFIG, new TapRng(1), io);
  return { hv, io };
}
const JOIN_TIMEOUT = DEFAULT_HYPARVIEW_CONFIG.joinTimeoutMs;

test('reconnect: a JOIN through a peer in neither view; the accept makes it a neighbour (evicting one when full)', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2, 3, 4, 5]);
  assert.equal(hv.reconnect(50, 100), true);
  assert.deepEqual(io.take(), [
    ['connect', 50],
    ['send', 50, { type: 'join' }],
    ['timer', JOIN_TIMEOUT, { type: 'hv-neighbor-timeout', peer: 50, seq: 1 }],
  ]);
  hv.handleMessage(50, { type: 'neighbor-reply', accepted: true }, 110);
  const out = io.take();
  assert.ok(hv.activeView().includes(50), 'the member that answered is a neighbour');
  assert.equal(hv.activeView().length, 5, 'the view stays at its size');
  const evicted = out.filter((o) => o[0] === 'down');
  assert.equal(evicted.length, 1, `one neighbour evicted: ${JSON.stringify(out)}`);
  assert.deepEqual(evicted[0].slice(2), ['evicted']);
  assert.ok(hv.passiveView().includes(evicted[0][1] as number), 'the evicted neighbour moves to the passive view');
});

test('reconnect: nothing for a neighbour, for itself, or while a JOIN is in flight; a passive peer leaves the passive view', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2]);
  withPassive(hv, io, 7, [8, 9]);
  assert.equal(hv.reconnect(1, 0), false, 'already a neighbour');
  assert.equal(hv.reconnect(0, 0), false, 'itself');
  assert.deepEqual(io.take(), []);
  assert.equal(hv.reconnect(8, 0), true);
  assert.ok(!hv.passiveView().includes(8), 'a pending peer is in neither view');
  io.take();
  assert.equal(hv.reconnect(9, 0), false, 'one JOIN at a time');
  assert.deepEqual(io.take(), []);
  // Refused: the request is gone, nothing else is tried by this path (the next reconnect asks).
  hv.handleMessage(8, { type: 'neighbor-reply', accepted: false }, 5);
  assert.deepEqual(io.take(), [['disconnect', 8]]);
  assert.deepEqual([...hv.activeView()].sort(), [1, 2]);
  assert.equal(hv.reconnect(9, 10), true, 'free to JOIN again');
});

test('reconnect: a timed-out JOIN is dropped without side effects on the views', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1, 2, 3]);
  assert.equal(hv.reconnect(40, 0), true);
  io.take();
  hv.handleTimer({ type: 'hv-neighbor-timeout', peer: 40, seq: 1 }, JOIN_TIMEOUT);
  assert.deepEqual(io.take(), [['disconnect', 40]]);
  assert.deepEqual([...hv.activeView()].sort(), [1, 2, 3]);
  assert.ok(!hv.passiveView().includes(40));
});

test('reconnect: inert after leave', () => {
  const { hv, io } = mk(0);
  withActive(hv, io, [1]);
  hv.leave(0);
  io.take();
  assert.equal(hv.reconnect(5, 1), false);
  assert.deepEqual(io.take(), []);
});
