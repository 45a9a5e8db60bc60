// The IHAVE queue arrays come from plumtree-lazy.ts's pool and go back to it, cleared, at the
// flush: machines that share a pool announce exactly what each queued, and nothing a machine
// queued stays reachable from the pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plumtree } from '../../src/proto/plumtree.js';
import { pooledQueues, releaseQueue, takeQueue } from '../../src/proto/plumtree-lazy.js';
import type { BroadcastIo } from '../../src/proto/machine.js';
import type { BroadcastMessage } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';
import { CFG, gossip } from './plumtree-fixture.js';

/** Node `self` with eager neighbour `from` and lazy neighbours `lazy`; sends recorded. */
function lazyNode(self: number, from: number, lazy: number[]) {
  const sent: [number, string[]][] = [];
  const io: BroadcastIo<number> = {
    send: (to, msg: BroadcastMessage) => {
      if (msg.type === 'ihave') sent.push([to, msg.entries.map((e) => `${e.id}@${e.round}`)]);
    },
    timer: () => {},
    deliver: () => {},
  };
  const pt = new Plumtree<number>(self, CFG, new Sfc32(self), io);
  for (const p of [from, ...lazy]) pt.neighborUp(p, -1000);
  for (const p of lazy) pt.handleMessage(p, { type: 'prune' }, 0);
  return { pt, sent };
}

const queueOf = (pt: Plumtree<number>): unknown => (pt as unknown as { queue: unknown }).queue;

test('IHAVE queue pool: a queue is held only while announcements are queued, given back cleared, and reused by another machine', () => {
  // Drain what other tests in this process may have left in the pool.
  const drained = [];
  while (pooledQueues() > 0) drained.push(takeQueue<number>());
  const a = lazyNode(100, 1, [2, 3, 4]);
  const b = lazyNode(200, 1, [5, 6]);
  assert.equal(queueOf(a.pt), null, 'idle: no queue');
  for (let i = 0; i < 4; i++) a.pt.handleMessage(1, gossip(`a${i}`, i), 1);
  b.pt.handleMessage(1, gossip('b0', 0), 1);
  assert.notEqual(queueOf(a.pt), null);
  assert.notEqual(queueOf(a.pt), queueOf(b.pt), 'two machines queueing at once: two queues');
  // A withdrawal while queued: 3 announces a2, which we have.
  a.pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'a2', round: 0 }] }, 2);
  const held = queueOf(a.pt) as { q: unknown[] };
  a.pt.handleTimer({ type: 'pt-ihave-flush' }, 6);
  assert.equal(queueOf(a.pt), null, 'flushed: the queue went back');
  assert.equal(pooledQueues(), 1);
  assert.ok(held.q.every((x) => x === 0), 'given back cleared: no peer, entry or id left in it');
  assert.deepEqual(a.sent, [
    [2, ['a0@1', 'a1@2', 'a2@3']], // full batches (maxIHaveBatch 3) leave first, in queue order
    [4, ['a0@1', 'a1@2', 'a2@3']],
    [3, ['a0@1', 'a1@2', 'a3@4']], // a2 withdrawn for 3
    [2, ['a3@4']],
    [4, ['a3@4']],
  ]);
  // b reuses nothing yet (it holds its own); a third machine takes a's old queue, larger than
  // it needs, and flushes only its own announcement.
  const c = lazyNode(300, 1, [7]);
  c.pt.handleMessage(1, gossip('c0', 0), 7);
  assert.equal(queueOf(c.pt), held, 'the pooled queue is reused');
  assert.equal(pooledQueues(), 0);
  c.pt.handleTimer({ type: 'pt-ihave-flush' }, 12);
  b.pt.handleTimer({ type: 'pt-ihave-flush' }, 12);
  assert.deepEqual(c.sent, [[7, ['c0@1']]]);
  assert.deepEqual(b.sent, [
    [5, ['b0@1']],
    [6, ['b0@1']],
  ]);
  assert.equal(pooledQueues(), 2);
  for (const q of drained) releaseQueue(q, 0);
});
