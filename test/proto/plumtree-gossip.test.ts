// Plumtree's shared GOSSIP messages (plumtree-gossip.ts): one object per (id, round, payload)
// for every machine of a process, with the same fields a message made per push would have.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLY_ROUNDS, gossipMessage } from '../../src/proto/plumtree-gossip.js';
import { Plumtree } from '../../src/proto/plumtree.js';
import type { BroadcastIo } from '../../src/proto/machine.js';
import type { BroadcastMessage } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';
import { CFG } from './plumtree-fixture.js';

test('the same (id, round, payload) gives the same message; any other field gives another', () => {
  const p = new Uint8Array([1, 2, 3]);
  const a = gossipMessage('x', 3, p);
  assert.deepEqual(a, { type: 'gossip', id: 'x', round: 3, payload: p });
  assert.equal(gossipMessage('x', 3, p), a);
  const b = gossipMessage('x', 4, p);
  assert.notEqual(b, a);
  assert.deepEqual(b, { type: 'gossip', id: 'x', round: 4, payload: p });
  assert.equal(gossipMessage('x', 3, p), a, 'rounds of one id are kept side by side');
  const q = new Uint8Array([1, 2, 3]);
  const c = gossipMessage('x', 3, q);
  assert.notEqual(c, a, 'another payload object: another message');
  assert.equal(c.type === 'gossip' && c.payload, q);
  const d = gossipMessage('y', 3, q);
  assert.deepEqual(d, { type: 'gossip', id: 'y', round: 3, payload: q });
  assert.notEqual(gossipMessage('x', 3, p), a, 'a new id starts the table again');
});

test('rounds outside the table, and fractional ones, get a message of their own each time', () => {
  const p = new Uint8Array([9]);
  for (const round of [FLY_ROUNDS, FLY_ROUNDS + 5, -1, 1.5]) {
    const a = gossipMessage('z', round, p);
    assert.deepEqual(a, { type: 'gossip', id: 'z', round, payload: p });
    assert.notEqual(gossipMessage('z', round, p), a);
  }
});

test('two machines forwarding one broadcast at the same round send one object', () => {
  const sent: BroadcastMessage[] = [];
  const io = (): BroadcastIo<number> => ({ send: (_to, msg) => sent.push(msg), timer: () => {}, deliver: () => {} });
  const a = new Plumtree(1, CFG, new Sfc32(1), io());
  const b = new Plumtree(2, CFG, new Sfc32(2), io());
  a.neighborUp(10, 0);
  a.neighborUp(11, 0);
  b.neighborUp(12, 0);
  const payload = new Uint8Array([7]);
  const m: BroadcastMessage = { type: 'gossip', id: 'w', round: 2, payload };
  a.handleMessage(10, m, 1);
  b.handleMessage(20, m, 1);
  assert.equal(sent.length, 2, 'a forwards to 11, b to 12');
  assert.equal(sent[0], sent[1]);
  assert.deepEqual(sent[0], { type: 'gossip', id: 'w', round: 3, payload });
});
