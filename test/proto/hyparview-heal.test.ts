import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HYPARVIEW_CONFIG, HyParView, validateHyParViewConfig, type HyParViewConfig } from '../../src/proto/hyparview.js';
import { Sfc32 } from '../../src/proto/rng.js';
import type { HyParViewMessage, Message } from '../../src/proto/types.js';
import { Rec, withActive, withPassive, type Out } from './membership-rec.js';

const HIGH: HyParViewMessage<number> = { type: 'neighbor', priority: 'high' };
const LOW: HyParViewMessage<number> = { type: 'neighbor', priority: 'low' };
const ACCEPT: HyParViewMessage<number> = { type: 'neighbor-reply', accepted: true };
const REJECT: HyParViewMessage<number> = { type: 'neighbor-reply', accepted: false };
const JOIN: HyParViewMessage<number> = { type: 'join' };
const timeout = (peer: number, seq: number): Out => ['timer', 1000, { type: 'hv-neighbor-timeout', peer, seq }];

function mk(over: Partial<HyParViewConfig> = {}) {
  const io = new Rec();
  const hv = new HyParView<number>(0, { ...DEFAULT_HYPARVIEW_CONFIG, ...over }, new Sfc32(1), io);
  return { hv, io };
}

/** Fire the shuffle timer; return its outputs minus the re-armed timer and the SHUFFLE itself. */
function tick(hv: HyParView<number>, io: Rec, now: number): Out[] {
  hv.handleTimer({ type: 'hv-shuffle' }, now);
  return io.take().filter((o) => {
    if (o[0] === 'timer' && (o[2] as { type: string }).type === 'hv-shuffle') return false;
    return !(o[0] === 'send' && (o[2] as { type: string }).type === 'shuffle');
  });
}

test('per-period bound: one low-priority NEIGHBOR per shuffle period; a rejection is not retried at once', () => {
  const { hv, io } = mk({ escalateAfter: 100 });
  withActive(hv, io, [1, 2, 3]);
  withPassive(hv, io, 7, [8, 9]);
  for (let period = 1; period <= 3; period++) {
    const out = tick(hv, io, period * 10_000);
    assert.equal(out.length, 3, JSON.stringify(out));
    const p = out[0][1] as number;
    assert.ok([7, 8, 9].includes(p));
    assert.deepEqual(out, [['connect', p], ['send', p, LOW], timeout(p, period)]);
    hv.handleMessage(p, REJECT, period * 10_000 + 5);
    assert.deepEqual(io.take(), [['disconnect', p]]);
  }
  assert.deepEqual([...hv.activeView()], [1, 2, 3]);
  assert.deepEqual([...hv.passiveView()].sort(), [7, 8, 9]);
});

test('promotionsPerPeriod = 2: two low-priority requests per period, still none on rejection', () => {
  const { hv, io } = mk({ promotionsPerPeriod: 2, escalateAfter: 100 });
  withActive(hv, io, [1, 2, 3]);
  withPassive(hv, io, 7, [8, 9]);
  const out = tick(hv, io, 10_000);
  const p = out[0][1] as number;
  const q = out[3][1] as number;
  assert.notEqual(p, q);
  assert.deepEqual(out, [['connect', p], ['send', p, LOW], timeout(p, 1), ['connect', q], ['send', q, LOW], timeout(q, 2)]);
  hv.handleMessage(p, REJECT, 10_005);
  hv.handleMessage(q, REJECT, 10_006);
  assert.deepEqual(io.take(), [['disconnect', p], ['disconnect', q]]);
});

test('escalation at the low watermark: one neighbour, rejected for a whole period -> high-priority NEIGHBOR', () => {
  const { hv, io } = mk();
  withActive(hv, io, [1]);
  withPassive(hv, io, 7, []);
  // Period 1: the ordinary low-priority attempt; 7 is full and rejects.
  assert.deepEqual(tick(hv, io, 10_000), [['connect', 7], ['send', 7, LOW], timeout(7, 1)]);
  hv.handleMessage(7, REJECT, 10_005);
  assert.deepEqual(io.take(), [['disconnect', 7]]);
  // Period 2: still one neighbour after a whole period without an accept -> escalate.
  assert.deepEqual(tick(hv, io, 20_000), [['connect', 7], ['send', 7, HIGH], timeout(7, 2)]);
  hv.handleMessage(7, ACCEPT, 20_005);
  assert.deepEqual(io.take(), [['connect', 7], ['up', 7]]);
  assert.deepEqual([...hv.activeView()], [1, 7]);
  // The accept reset the count: the next period is an ordinary (empty-passive) one.
  assert.deepEqual(tick(hv, io, 30_000), []);
});

test('escalation above the low watermark waits escalateAfter whole periods', () => {
  const { hv, io } = mk({ escalateAfter: 2 });
  withActive(hv, io, [1, 2, 3]);
  withPassive(hv, io, 7, []);
  for (let period = 1; period <= 2; period++) {
    assert.deepEqual(tick(hv, io, period * 10_000), [['connect', 7], ['send', 7, LOW], timeout(7, period)]);
    hv.handleMessage(7, REJECT, period * 10_000 + 5);
    assert.deepEqual(io.take(), [['disconnect', 7]]);
  }
  assert.deepEqual(tick(hv, io, 30_000), [['connect', 7], ['send', 7, HIGH], timeout(7, 3)]);
});

test('the first escalation goes to a spare original contact, the next to a passive peer', () => {
  const { hv, io } = mk();
  hv.join([50, 60], 0);
  io.take();
  hv.handleMessage(50, ACCEPT, 5); // joined through 50; 60 is a spare contact
  io.take();
  withPassive(hv, io, 7, []);
  assert.deepEqual(tick(hv, io, 10_000), [['connect', 7], ['send', 7, LOW], timeout(7, 2)]);
  hv.handleMessage(7, REJECT, 10_005);
  io.take();
  assert.deepEqual(tick(hv, io, 20_000), [['connect', 60], ['send', 60, HIGH], timeout(60, 3), ['connect', 7], ['send', 7, LOW], timeout(7, 4)]);
  hv.handleMessage(60, REJECT, 20_005); // (a real peer always accepts a high request)
  hv.handleMessage(7, REJECT, 20_006);
  io.take();
  // 60 now sits in the passive view. The escalation reset the count: one ordinary period first.
  const low = tick(hv, io, 30_000);
  const p = low[0][1] as number;
  assert.ok(p === 7 || p === 60);
  assert.deepEqual(low, [['connect', p], ['send', p, LOW], timeout(p, 5)]);
  hv.handleMessage(p, REJECT, 30_005);
  io.take();
  // The second escalation draws from the passive view (no spare contact is left).
  const out = tick(hv, io, 40_000);
  const q = out[0][1] as number;
  assert.ok(q === 7 || q === 60);
  assert.deepEqual(out.slice(0, 3), [['connect', q], ['send', q, HIGH], timeout(q, 6)]);
});

test('a node whose own JOIN is pending rejects JOINs, so the joiner tries its next contact', () => {
  const { hv, io } = mk();
  hv.join([50], 0);
  io.take();
  hv.handleMessage(9, JOIN, 1);
  assert.deepEqual(io.take(), [['send', 9, REJECT]]);
  hv.handleMessage(50, ACCEPT, 5);
  io.take();
  hv.handleMessage(9, JOIN, 6);
  assert.deepEqual(io.take(), [
    ['connect', 9],
    ['up', 9],
    ['send', 9, ACCEPT],
    ['send', 50, { type: 'forward-join', peer: 9, ttl: 6 }],
    ['send', 9, { type: 'shuffle', origin: 0, peers: [50], ttl: 1 }],
  ]);
});

test('config: new fields validated with a one-line reason', () => {
  const bad = (over: Partial<HyParViewConfig>): string => {
    const r = validateHyParViewConfig({ ...DEFAULT_HYPARVIEW_CONFIG, ...over });
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(bad({ promotionsPerPeriod: 0 }), 'promotionsPerPeriod: expected an integer >= 1, got 0');
  assert.equal(bad({ lowWatermark: 5 }), 'lowWatermark: expected an integer < activeViewSize (5), got 5');
  assert.equal(bad({ escalateAfter: 0.5 }), 'escalateAfter: expected an integer >= 1, got 0.5');
  assert.equal(bad({ escalateLowAfter: 0 }), 'escalateLowAfter: expected an integer >= 1, got 0');
  assert.equal(bad({}), 'ok');
  assert.equal(DEFAULT_HYPARVIEW_CONFIG.repairMaxMs, 10_000);
});

/** A node whose original contact 60 refused the first JOIN, so 60 is in neither view. */
function withSpareContact(): { hv: HyParView<number>; io: Rec } {
  const { hv, io } = mk();
  hv.join([60], 0);
  hv.handleMessage(60, REJECT, 1);
  io.take();
  return { hv, io };
}

const joinsSent = (io: Rec): number[] =>
  io.take().flatMap((o) => (o[0] === 'send' && (o[2] as Message<number>).type === 'join' ? [o[1] as number] : []));

test('closed island: full active view, half-empty passive view, stale shuffles → re-JOIN via a spare contact', () => {
  const { hv, io } = withSpareContact();
  withActive(hv, io, [1, 2, 3, 4, 5]);
  withPassive(hv, io, 9, [8]); // passive: 9 (origin) and 8
  assert.deepEqual([...hv.passiveView()].sort(), [8, 9]);
  // Each period: the shuffle goes to a clique member whose reply teaches nothing new.
  for (let period = 1; period <= 3; period++) {
    hv.handleTimer({ type: 'hv-shuffle' }, period * 10_000);
    assert.deepEqual(joinsSent(io), [], `no re-JOIN before ${period} stale replies`);
    hv.handleMessage(3, { type: 'shuffle-reply', peers: [1, 2, 4] }, period * 10_000 + 5);
  }
  hv.handleTimer({ type: 'hv-shuffle' }, 40_000);
  assert.deepEqual(joinsSent(io), [60], 'one re-JOIN, through the contact the node knows nothing of');
  // Accepted: the contact joins the active view, a random clique member is evicted.
  hv.handleMessage(60, ACCEPT, 40_010);
  assert.ok(hv.activeView().includes(60));
  assert.equal(hv.activeView().length, 5);
});

/** Six stale shuffle periods of a node whose active view is full and every contact known; in
 *  each, a SHUFFLE walk started by `origin` reaches it through neighbour 2. */
function staleSmallCluster(origin: number) {
  const { hv, io } = mk();
  hv.join([1], 0);
  hv.handleMessage(1, ACCEPT, 1);
  withActive(hv, io, [2, 3, 4, 5]);
  withPassive(hv, io, 9, [8]);
  for (let period = 1; period <= 6; period++) {
    hv.handleMessage(2, { type: 'shuffle', origin, peers: [origin], ttl: 1 }, period * 10_000 - 5);
    hv.handleTimer({ type: 'hv-shuffle' }, period * 10_000);
    hv.handleMessage(3, { type: 'shuffle-reply', peers: [1, 2, 4] }, period * 10_000 + 5);
  }
  io.take();
  hv.handleTimer({ type: 'hv-shuffle' }, 70_000);
  return { hv, io };
}

test('stale shuffles but every contact already known and walks from outside the group arrive (a small healthy cluster): no re-JOIN', () => {
  const { io } = staleSmallCluster(8);
  assert.deepEqual(joinsSent(io), []);
});

test('stale shuffles, every contact known, and only neighbours\' walks arrive (a closed clique after a partition): JOIN through a passive peer', () => {
  const { io } = staleSmallCluster(4);
  const joins = joinsSent(io);
  assert.equal(joins.length, 1, 'one JOIN after six closed periods');
  assert.ok([8, 9].includes(joins[0]), `the JOIN goes to a passive peer, not ${joins[0]}`);
});

test('a shuffle reply with a new peer resets the stale count: no re-JOIN', () => {
  const { hv, io } = withSpareContact();
  withActive(hv, io, [1, 2, 3, 4, 5]);
  withPassive(hv, io, 9, [8]);
  for (let period = 1; period <= 4; period++) {
    hv.handleTimer({ type: 'hv-shuffle' }, period * 10_000);
    hv.handleMessage(3, { type: 'shuffle-reply', peers: period === 3 ? [23] : [1] }, period * 10_000 + 5);
  }
  hv.handleTimer({ type: 'hv-shuffle' }, 50_000);
  assert.deepEqual(joinsSent(io), []);
});
