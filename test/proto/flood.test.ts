import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flood } from '../../src/proto/flood.js';
import { DEFAULT_PLUMTREE_CONFIG, type PlumtreeConfig } from '../../src/proto/plumtree.js';
import type { BroadcastIo } from '../../src/proto/machine.js';
import type { BroadcastMessage, BroadcastTimer, MsgId } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';

// The network-level test (100 nodes, RMR ≈ degree − 2) lives in plumtree.test.ts, which
// runs flooding and Plumtree on the same simulated graph.

type Out =
  | { out: 'send'; to: number; msg: BroadcastMessage }
  | { out: 'timer'; delay: number; t: BroadcastTimer }
  | { out: 'deliver'; id: MsgId; round: number; from: number | null };

const CFG: PlumtreeConfig = { ...DEFAULT_PLUMTREE_CONFIG, cacheTtlMs: 500, seenTtlMs: 1000, maxCacheEntries: 3 };
const PL = new Uint8Array([1, 2]);
const gossip = (id: string, round: number): BroadcastMessage => ({ type: 'gossip', id, round, payload: PL });

function flood(peers: number[]) {
  let log: Out[] = [];
  const io: BroadcastIo<number> = {
    send: (to, msg) => log.push({ out: 'send', to, msg }),
    timer: (delay, t) => log.push({ out: 'timer', delay, t }),
    deliver: (id, _p, round, from) => log.push({ out: 'deliver', id, round, from }),
  };
  const f = new Flood<number>(0, CFG, io);
  for (const p of peers) f.neighborUp(p, 0);
  const take = () => {
    const r = log;
    log = [];
    return r;
  };
  return { f, take };
}

test('flood: first receipt delivered and sent to every neighbour but the sender', () => {
  const { f, take } = flood([1, 2, 3]);
  f.handleMessage(2, gossip('a', 4), 0);
  assert.deepEqual(take(), [
    { out: 'timer', delay: 1000, t: { type: 'pt-cache-gc' } }, // no payload cache: seen TTL only
    { out: 'deliver', id: 'a', round: 4, from: 2 },
    { out: 'send', to: 1, msg: gossip('a', 5) },
    { out: 'send', to: 3, msg: gossip('a', 5) },
  ]);
});

test('flood: duplicates and control messages are ignored; exactly once', () => {
  const { f, take } = flood([1, 2, 3]);
  const rng = new Sfc32(3);
  for (let i = 0; i < 100; i++) f.handleMessage(1 + rng.int(3), gossip(rng.int(2) ? 'a' : 'b', 0), i);
  f.handleMessage(1, { type: 'ihave', entries: [{ id: 'z', round: 0 }] }, 100);
  f.handleMessage(1, { type: 'graft', id: 'a', round: 0 }, 100);
  f.handleMessage(1, { type: 'prune' }, 100);
  const out = take();
  assert.deepEqual(out.filter((o) => o.out === 'deliver').map((o) => (o as { id: string }).id).sort(), ['a', 'b']);
  assert.equal(out.filter((o) => o.out === 'send').length, 4);
});

test('flood: origin delivers round 0 and sends round 0 to all; refuses a seen id', () => {
  const { f, take } = flood([1, 2]);
  assert.equal(f.broadcast('o', PL, 0), true);
  assert.deepEqual(take().slice(1), [
    { out: 'deliver', id: 'o', round: 0, from: null },
    { out: 'send', to: 1, msg: gossip('o', 0) },
    { out: 'send', to: 2, msg: gossip('o', 0) },
  ]);
  assert.equal(f.broadcast('o', PL, 1), false);
  f.handleMessage(1, gossip('o', 0), 2);
  assert.deepEqual(take(), []);
});

test('flood: neighborDown stops sends; seen ids bounded and expired', () => {
  const { f, take } = flood([1, 2, 3]);
  f.neighborDown(2, 0);
  f.neighborUp(1, 0); // already present: no duplicate entry
  assert.deepEqual(f.neighborList(), [1, 3]);
  for (const id of ['a', 'b', 'c', 'd']) f.broadcast(id, PL, 10);
  assert.equal(f.seenCount(), 3); // maxCacheEntries = 3: 'a' evicted
  assert.equal(f.broadcast('a', PL, 20), true);
  take();
  f.handleTimer({ type: 'pt-cache-gc' }, 1010); // b, c, d (t=10) expire; a (t=20) stays
  assert.equal(f.seenCount(), 1);
  assert.deepEqual(take(), [{ out: 'timer', delay: 100, t: { type: 'pt-cache-gc' } }]);
  f.handleTimer({ type: 'pt-cache-gc' }, 1110);
  assert.equal(f.seenCount(), 0);
  assert.deepEqual(take(), []);
});
