import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plumtree, DEFAULT_PLUMTREE_CONFIG, type PlumtreeConfig } from '../../src/proto/plumtree.js';
import type { BroadcastIo } from '../../src/proto/machine.js';
import type { BroadcastMessage, MsgId, Verdict } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';

// Validate-before-forward (src/proto/plumtree.ts `validated`): exact outputs.

const CFG: PlumtreeConfig = {
  ...DEFAULT_PLUMTREE_CONFIG,
  ihaveTimeoutMs: 100,
  graftTimeoutMs: 50,
  ihaveFlushMs: 5,
  cacheTtlMs: 1000,
  seenTtlMs: 2000,
  syncOnNeighborUp: false,
};

type Out = string;

function node(verdict: (id: MsgId, payload: Uint8Array, from: number) => Verdict) {
  const log: Out[] = [];
  const checked: string[] = [];
  const io: BroadcastIo<number> = {
    send: (to, msg) => log.push(`send ${to} ${msg.type}${'id' in msg ? ` ${String(msg.id)}` : ''}`),
    timer: (delay, t) => log.push(`timer ${delay} ${t.type}`),
    deliver: (id, _p, round, from) => log.push(`deliver ${id} ${round} ${from}`),
    validate: (id, payload, from) => {
      checked.push(`${id}@${from}`);
      return verdict(id, payload, from);
    },
  };
  const pt = new Plumtree<number>(0, CFG, new Sfc32(1), io);
  for (const p of [1, 2, 3]) pt.neighborUp(p, -1000);
  log.length = 0;
  return { pt, log, checked };
}

const g = (id: string, round: number, byte = 1): BroadcastMessage => ({ type: 'gossip', id, round, payload: new Uint8Array([byte]) });

test('validate accept: delivered and forwarded exactly as without a hook', () => {
  const { pt, log, checked } = node(() => 'accept');
  pt.handleMessage(1, g('a', 0), 0);
  assert.deepEqual(log, ['timer 1000 pt-cache-gc', 'deliver a 0 1', 'send 2 gossip a', 'send 3 gossip a']);
  assert.deepEqual(checked, ['a@1']);
});

test('validate reject: never delivered, never forwarded; copies are duplicates (PRUNE), not re-checked', () => {
  const { pt, log, checked } = node((_id, p) => (p[0] === 0xff ? 'reject' : 'accept'));
  pt.handleMessage(1, g('bad', 0, 0xff), 0);
  assert.deepEqual(log, ['timer 2000 pt-cache-gc']);
  pt.handleMessage(2, g('bad', 1, 0xff), 1);
  assert.deepEqual(log, ['timer 2000 pt-cache-gc', 'send 2 prune']);
  assert.deepEqual(checked, ['bad@1']);
  // A GRAFT for the rejected id is not answered (no payload kept).
  log.length = 0;
  pt.handleMessage(3, { type: 'graft', id: 'bad', round: 0 }, 2);
  assert.deepEqual(log, []);
  // Good traffic continues.
  pt.handleMessage(1, g('ok', 0), 3);
  assert.deepEqual(log, ['deliver ok 0 1', 'send 3 gossip ok', 'timer 5 pt-ihave-flush']); // 2 is lazy now
});

test('validate ignore: dropped like reject, an IHAVE for it is not grafted', () => {
  const { pt, log } = node(() => 'ignore');
  pt.handleMessage(1, g('x', 0), 0);
  assert.deepEqual(log, ['timer 2000 pt-cache-gc']);
  log.length = 0;
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'x', round: 0 }] }, 1);
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'x', round: 0 }] }, 500);
  assert.deepEqual(log, []);
});

test('validate: a pending GRAFT timer for a rejected id is dropped', () => {
  const { pt, log } = node(() => 'reject');
  pt.handleMessage(2, { type: 'prune' }, 0); // 2 lazy
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'm', round: 0 }] }, 0);
  assert.deepEqual(log, ['timer 100 pt-missing']);
  assert.equal(pt.missingCount(), 1);
  pt.handleMessage(1, g('m', 0), 10);
  assert.equal(pt.missingCount(), 0);
  log.length = 0;
  pt.handleTimer({ type: 'pt-missing', id: 'm', due: 100 }, 100);
  assert.deepEqual(log, []);
});

test('own broadcasts are not validated', () => {
  const { pt, log, checked } = node(() => 'reject');
  assert.equal(pt.broadcast('own', new Uint8Array([1]), 0), true);
  assert.deepEqual(log, ['timer 1000 pt-cache-gc', 'deliver own 0 null', 'send 1 gossip own', 'send 2 gossip own', 'send 3 gossip own']);
  assert.deepEqual(checked, []);
});
