import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Plumtree, DEFAULT_PLUMTREE_CONFIG, validatePlumtreeConfig } from '../../src/proto/plumtree.js';
import type { BroadcastIo } from '../../src/proto/machine.js';
import type { BroadcastMessage } from '../../src/proto/types.js';
import { Sfc32 } from '../../src/proto/rng.js';
import { CFG, FLUSH, GC, MISS, MISSING, PL, gossip, node, send } from './plumtree-fixture.js';

// ---------------------------------------------------------------------------------------

test('first receipt: deliver once, eager-push round+1 to the others', () => {
  const { pt, take } = node([1, 2, 3]);
  pt.handleMessage(1, gossip('a', 2), 0);
  assert.deepEqual(take(), [
    GC(1000),
    { out: 'deliver', id: 'a', round: 2, from: 1 },
    send(2, gossip('a', 3)),
    send(3, gossip('a', 3)),
  ]);
  assert.deepEqual(pt.eagerPeers(), [1, 2, 3]);
});

test('duplicate: no delivery, sender moved to lazy and PRUNEd', () => {
  const { pt, take } = node([1, 2, 3]);
  pt.handleMessage(1, gossip('a', 0), 0);
  pt.handleMessage(1, gossip('b', 0), 1); // pushed last: 'b'
  take();
  pt.handleMessage(2, gossip('a', 1), 2);
  assert.deepEqual(take(), [send(2, { type: 'prune' })]);
  assert.deepEqual(pt.eagerPeers(), [1, 3]);
  assert.deepEqual(pt.lazyPeers(), [2]);
  // PRUNE received: sender to lazy.
  pt.handleMessage(3, { type: 'prune' }, 3);
  assert.deepEqual(take(), []);
  assert.deepEqual(pt.lazyPeers(), [2, 3]);
});

test('duplicate that crossed our own copy: lazy on both ends without a PRUNE; any other duplicate is PRUNEd', () => {
  const { pt, take } = node([1, 2, 3, 4]);
  pt.handleMessage(1, gossip('a', 0), 0); // pushed to 2, 3 and 4
  take();
  // 2 pushed 'a' to us as we pushed it to 2: 2 gets ours as a duplicate and makes us lazy itself.
  pt.handleMessage(2, gossip('a', 1), 1);
  assert.deepEqual(take(), []);
  assert.deepEqual(pt.eagerPeers(), [1, 3, 4]);
  assert.deepEqual(pt.lazyPeers(), [2]);
  // From the peer our copy came from (we never sent it back): PRUNE.
  pt.handleMessage(1, gossip('a', 0), 2);
  assert.deepEqual(take(), [send(1, { type: 'prune' })]);
  // From a lazy peer (it did not get our copy): PRUNE.
  pt.handleMessage(2, gossip('a', 1), 3);
  assert.deepEqual(take(), [send(2, { type: 'prune' })]);
  // A peer made eager since the push (it may never have had our copy): PRUNE.
  pt.handleMessage(3, { type: 'graft', id: null, round: 0 }, 4); // already eager: no change
  pt.neighborUp(5, 5);
  take();
  pt.handleMessage(3, gossip('a', 1), 6);
  assert.deepEqual(take(), [send(3, { type: 'prune' })]);
  // A duplicate of an id pushed before the last one: PRUNE.
  pt.handleMessage(4, gossip('b', 0), 7); // first copy, pushed to 5 (1, 2, 3 lazy: IHAVE)
  take();
  pt.handleMessage(5, gossip('a', 2), 8);
  assert.deepEqual(take(), [send(5, { type: 'prune' })]);
  // And the newest again, from a peer it was pushed to: no PRUNE.
  pt.neighborUp(6, 9); // eager before the push of 'c'
  pt.handleMessage(4, gossip('c', 0), 10); // pushed to 6
  take();
  pt.handleMessage(6, gossip('c', 1), 11);
  assert.deepEqual(take(), []);
  assert.deepEqual(pt.eagerPeers(), [4]);
});

test('first copy over a link we pruned (PRUNE crossed it): re-GRAFT so the link is eager on both sides', () => {
  const { pt, take } = node([1, 2, 3]);
  pt.handleMessage(1, gossip('a', 0), 0);
  pt.handleMessage(2, gossip('a', 1), 1); // duplicate: 2 is pruned
  take();
  // 2 had not yet processed our PRUNE and pushes 'b' eagerly; it arrives before 1's copy.
  pt.handleMessage(2, gossip('b', 3), 5);
  const out = take();
  assert.deepEqual(out.slice(-1), [send(2, { type: 'graft', id: null, round: 3 })]);
  assert.deepEqual(pt.eagerPeers(), [1, 3, 2]);
  // A first copy from an eager peer sends no GRAFT.
  pt.handleMessage(1, gossip('c', 0), 6);
  assert.ok(!take().some((o) => o.out === 'send' && (o as { msg: BroadcastMessage }).msg.type === 'graft'));
});

test('origin: delivers locally with round 0, pushes round 0; second broadcast of the id is refused', () => {
  const { pt, take } = node([1, 2], [2]);
  assert.equal(pt.broadcast('o', PL, 0), true);
  assert.deepEqual(take(), [
    GC(1000),
    { out: 'deliver', id: 'o', round: 0, from: null },
    send(1, gossip('o', 0)),
    FLUSH,
  ]);
  assert.equal(pt.broadcast('o', PL, 1), false);
  assert.deepEqual(take(), []);
  pt.handleTimer({ type: 'pt-ihave-flush' }, 5);
  assert.deepEqual(take(), [send(2, { type: 'ihave', entries: [{ id: 'o', round: 0 }] })]);
});

test('IHAVE: batched on one flush timer, at most maxIHaveBatch entries per message', () => {
  const { pt, take } = node([1, 2, 3, 4], [3, 4]);
  for (const [i, id] of ['a', 'b', 'c', 'd'].entries()) pt.handleMessage(1, gossip(id, i), i);
  const outs = take();
  assert.deepEqual(outs.filter((o) => o.out === 'timer' && o.t.type === 'pt-ihave-flush'), [FLUSH]);
  assert.equal(outs.filter((o) => o.out === 'send' && o.msg.type === 'ihave').length, 0);
  pt.handleTimer({ type: 'pt-ihave-flush' }, 5);
  const e = (id: string, round: number) => ({ id, round });
  assert.deepEqual(take(), [
    send(3, { type: 'ihave', entries: [e('a', 1), e('b', 2), e('c', 3)] }),
    send(4, { type: 'ihave', entries: [e('a', 1), e('b', 2), e('c', 3)] }),
    send(3, { type: 'ihave', entries: [e('d', 4)] }),
    send(4, { type: 'ihave', entries: [e('d', 4)] }),
  ]);
  // Queue empty again: the next message arms a new flush timer.
  pt.handleMessage(1, gossip('e', 0), 10);
  assert.deepEqual(take().filter((o) => o.out === 'timer' && o.t.type === 'pt-ihave-flush'), [FLUSH]);
  // A peer that went down before the flush is skipped.
  pt.neighborDown(4, 11);
  pt.handleTimer({ type: 'pt-ihave-flush' }, 15);
  assert.deepEqual(take(), [send(3, { type: 'ihave', entries: [e('e', 1)] })]);
});

/** Node 0 with eager neighbour 1 and lazy neighbours 4, 2, 3 (pruned in that order), its
 *  sends recorded as they are (not cloned: identity matters). */
function lazyFixture(): { pt: Plumtree<number>; sent: { to: number; msg: BroadcastMessage }[] } {
  const sent: { to: number; msg: BroadcastMessage }[] = [];
  const io: BroadcastIo<number> = { send: (to, msg) => sent.push({ to, msg }), timer: () => {}, deliver: () => {} };
  const pt = new Plumtree<number>(0, CFG, new Sfc32(1), io);
  for (const p of [1, 2, 3, 4]) pt.neighborUp(p, -1000);
  for (const p of [4, 2, 3]) pt.handleMessage(p, { type: 'prune' }, 0);
  return { pt, sent };
}

test('IHAVE: withdrawals among many queued ids (first, middle, last), none for an id flushed before or never queued', () => {
  const { pt, sent } = lazyFixture();
  pt.handleMessage(1, gossip('old', 0), 0);
  pt.handleTimer({ type: 'pt-ihave-flush' }, 1);
  const ids = Array.from({ length: 20 }, (_, i) => `m${i}`);
  for (const id of ids) pt.handleMessage(1, gossip(id, 0), 2);
  pt.handleMessage(1, { type: 'prune' }, 2); // 1 lazy now: ids from here on are not pushed to it
  pt.handleMessage(4, gossip('late', 0), 3);
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'm0', round: 1 }, { id: 'm10', round: 1 }, { id: 'm19', round: 1 }, { id: 'old', round: 1 }] }, 4);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'm10', round: 1 }] }, 4);
  pt.handleMessage(1, { type: 'ihave', entries: [{ id: 'late', round: 1 }] }, 4); // queued for 1: withdrawn
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'late', round: 1 }] }, 4); // queued for 2: withdrawn
  sent.length = 0;
  pt.handleTimer({ type: 'pt-ihave-flush' }, 7);
  const got = new Map<number, string[]>();
  for (const s of sent) got.set(s.to, [...(got.get(s.to) ?? []), ...(s.msg as { entries: { id: string }[] }).entries.map((x) => x.id)]);
  assert.deepEqual(got.get(4), ids, 'peer 4 sent us `late`, announced nothing');
  assert.deepEqual(got.get(2), ids.filter((id) => id !== 'm0' && id !== 'm10' && id !== 'm19'));
  assert.deepEqual(got.get(3), [...ids.filter((id) => id !== 'm10'), 'late']);
  assert.equal(got.get(1), undefined, 'the ids from 1 were not announced to it, and `late` was withdrawn');
});

test('IHAVE: one message announced to several lazy peers is one shared one-entry IHAVE, sent in peer order', () => {
  const { pt, sent } = lazyFixture();
  pt.handleMessage(1, gossip('a', 0), 1);
  sent.length = 0;
  pt.handleTimer({ type: 'pt-ihave-flush' }, 6);
  assert.deepEqual(sent.map((s) => s.to), [4, 2, 3]);
  for (const s of sent) assert.deepEqual(s.msg, { type: 'ihave', entries: [{ id: 'a', round: 1 }] });
  assert.ok(sent[1].msg === sent[0].msg && sent[2].msg === sent[0].msg, 'one IHAVE object for every lazy peer');
  // Two messages in one flush: the general path (a batch per peer).
  pt.handleMessage(1, gossip('b', 0), 10);
  pt.handleMessage(1, gossip('c', 0), 11);
  sent.length = 0;
  pt.handleTimer({ type: 'pt-ihave-flush' }, 15);
  assert.deepEqual(sent.map((s) => [s.to, (s.msg as { entries: { id: string }[] }).entries.map((x) => x.id)]), [
    [4, ['b', 'c']],
    [2, ['b', 'c']],
    [3, ['b', 'c']],
  ]);
  assert.equal(pt.missingCount(), 0);
});

test('IHAVE: a queued announcement is dropped for a peer that announced the same id to us first', () => {
  const { pt, sent } = lazyFixture();
  pt.handleMessage(1, gossip('a', 0), 1);
  pt.handleMessage(1, gossip('b', 0), 2);
  // Lazy peer 2 announces `a` (it has it) before our flush; 3 announces an id we never queued for it.
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'a', round: 1 }] }, 3);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'b', round: 1 }] }, 3);
  sent.length = 0;
  pt.handleTimer({ type: 'pt-ihave-flush' }, 6);
  assert.deepEqual(sent.map((s) => [s.to, (s.msg as { entries: { id: string }[] }).entries.map((x) => x.id)]), [
    [4, ['a', 'b']],
    [3, ['a']], // peers in order of their first remaining entry: 2's `a` was dropped
    [2, ['b']],
  ]);
  // The notes are per flush: next time every lazy peer is announced to again.
  pt.handleMessage(1, gossip('c', 0), 10);
  sent.length = 0;
  pt.handleTimer({ type: 'pt-ihave-flush' }, 15);
  assert.deepEqual(sent.map((s) => s.to), [4, 2, 3]);
  // An announcement that arrives while nothing is queued is not remembered for later.
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'd', round: 1 }] }, 16); // unknown: missing
  pt.handleMessage(1, gossip('d', 0), 17);
  sent.length = 0;
  pt.handleTimer({ type: 'pt-ihave-flush' }, 22);
  assert.deepEqual(sent.map((s) => s.to), [4, 2, 3]);
});

test('missing: timeout1 → GRAFT first announcer, timeout2 → next announcer, then give up', () => {
  const { pt, take } = node([1, 3, 4], [3, 4]);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 4 }] }, 0);
  pt.handleMessage(4, { type: 'ihave', entries: [{ id: 'x', round: 5 }] }, 10);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 4 }] }, 20); // repeat: ignored
  assert.deepEqual(take(), [MISS(100, 'x', 100)]);
  assert.equal(pt.missingCount(), 1);
  pt.handleTimer(MISSING('x', 100), 100);
  assert.deepEqual(take(), [MISS(50, 'x', 150), send(3, { type: 'graft', id: 'x', round: 4 })]);
  assert.deepEqual(pt.eagerPeers(), [1, 3]);
  pt.handleTimer(MISSING('x', 150), 150);
  assert.deepEqual(take(), [MISS(50, 'x', 200), send(4, { type: 'graft', id: 'x', round: 5 })]);
  assert.deepEqual(pt.eagerPeers(), [1, 3, 4]);
  pt.handleTimer(MISSING('x', 200), 200);
  assert.deepEqual(take(), []);
  assert.equal(pt.missingCount(), 0);
});

test('missing: receipt cancels the timer; firings with another deadline are stale', () => {
  const { pt, take } = node([1, 3], [3]);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 1 }, { id: 'y', round: 1 }] }, 0);
  assert.deepEqual(take(), [MISS(100, 'x', 100), MISS(100, 'y', 100)]);
  pt.handleTimer(MISSING('y', 60), 60); // not the current timer (due 100): stale
  pt.handleTimer(MISSING('y', 130), 100); // nor is a later one
  pt.handleMessage(1, gossip('x', 0), 70);
  take();
  pt.handleTimer(MISSING('x', 100), 100);
  assert.deepEqual(take(), []);
  pt.handleTimer(MISSING('y', 100), 100);
  assert.deepEqual(take(), [MISS(50, 'y', 150), send(3, { type: 'graft', id: 'y', round: 1 })]);
  pt.handleTimer(MISSING('y', 100), 150); // a duplicate firing of the old timer: stale
  assert.deepEqual(take(), []);
  // IHAVE of an id already received is ignored.
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 1 }] }, 110);
  assert.deepEqual(take(), []);
});

test('missing: an early firing of the current timer (now < due) still GRAFTs', () => {
  const { pt, take } = node([1, 3, 4], [3, 4]);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 2 }] }, 0);
  pt.handleMessage(4, { type: 'ihave', entries: [{ id: 'x', round: 3 }] }, 1);
  assert.deepEqual(take(), [MISS(100, 'x', 100)]);
  // A real-time driver fires the timeout1 timer 3 ms early by its clock.
  pt.handleTimer(MISSING('x', 100), 97);
  assert.deepEqual(take(), [MISS(50, 'x', 147), send(3, { type: 'graft', id: 'x', round: 2 })]);
  // And the timeout2 timer 2 ms early: the next announcer is grafted.
  pt.handleTimer(MISSING('x', 147), 145);
  assert.deepEqual(take(), [MISS(50, 'x', 195), send(4, { type: 'graft', id: 'x', round: 3 })]);
  pt.handleMessage(4, gossip('x', 3), 160);
  assert.deepEqual(take().filter((o) => o.out === 'deliver'), [{ out: 'deliver', id: 'x', round: 3, from: 4 }]);
  assert.equal(pt.missingCount(), 0);
});

test('GRAFT: sender becomes eager; payload answered from the cache', () => {
  const { pt, take } = node([1, 2], [2]);
  pt.handleMessage(1, gossip('a', 3), 0);
  take();
  pt.handleMessage(2, { type: 'graft', id: 'a', round: 4 }, 10);
  assert.deepEqual(take(), [send(2, gossip('a', 4))]);
  assert.deepEqual(pt.eagerPeers(), [1, 2]);
  pt.handleMessage(1, { type: 'graft', id: 'unknown', round: 0 }, 11);
  pt.handleMessage(1, { type: 'graft', id: null, round: 0 }, 12);
  assert.deepEqual(take(), []);
});

test('cache: payload expires after cacheTtlMs, id after seenTtlMs; GC timer only while non-empty', () => {
  const { pt, take } = node([1, 2]);
  pt.handleMessage(1, gossip('a', 0), 0);
  assert.deepEqual(take()[0], GC(1000));
  pt.handleMessage(1, gossip('b', 0), 500); // GC timer already armed: no second one
  assert.equal(take().filter((o) => o.out === 'timer').length, 0);
  pt.handleTimer({ type: 'pt-cache-gc' }, 1000); // 'a' payload expires; next: 'b' payload at 1500
  assert.deepEqual(take(), [GC(500)]);
  assert.deepEqual(pt.cacheSize(), { ids: 2, payloads: 1, payloadBytes: 1 });
  pt.handleMessage(2, { type: 'graft', id: 'a', round: 1 }, 1001);
  pt.handleMessage(2, { type: 'graft', id: 'b', round: 1 }, 1002);
  assert.deepEqual(take(), [send(2, gossip('b', 1))]);
  pt.handleTimer({ type: 'pt-cache-gc' }, 1500);
  assert.deepEqual(take(), [GC(500)]); // 'a' id at 2000
  pt.handleTimer({ type: 'pt-cache-gc' }, 2000);
  assert.deepEqual(take(), [GC(500)]); // 'b' id at 2500
  pt.handleMessage(1, gossip('b', 0), 2400); // still remembered: duplicate (from its sender: PRUNE)
  assert.deepEqual(take(), [send(1, { type: 'prune' })]);
  pt.handleTimer({ type: 'pt-cache-gc' }, 2500);
  assert.deepEqual(take(), []); // empty: not re-armed
  assert.deepEqual(pt.cacheSize(), { ids: 0, payloads: 0, payloadBytes: 0 });
});

test('cache: bounded by maxCacheEntries, oldest evicted', () => {
  const { pt, take } = node([1], [], { ...CFG, maxCacheEntries: 2 });
  for (const id of ['a', 'b', 'c']) pt.broadcast(id, PL, 0);
  assert.deepEqual(pt.cacheSize(), { ids: 2, payloads: 2, payloadBytes: 2 });
  take();
  pt.handleMessage(1, { type: 'graft', id: 'a', round: 0 }, 1);
  assert.deepEqual(take(), []);
  assert.equal(pt.broadcast('a', PL, 2), true); // forgotten, so accepted again; evicts 'b'
  assert.equal(pt.broadcast('c', PL, 2), false);
  assert.equal(pt.broadcast('a', PL, 2), false);
  assert.equal(pt.broadcast('b', PL, 2), true);
});

test('cache: payloads bounded by maxCacheBytes, oldest dropped first, ids kept', () => {
  const { pt, take } = node([1], [], { ...CFG, maxCacheBytes: 250 });
  const p100 = new Uint8Array(100);
  for (const id of ['a', 'b', 'c']) pt.broadcast(id, p100, 0);
  // 300 bytes > 250: 'a' lost its payload, 'b' and 'c' keep theirs; all three ids remembered.
  assert.deepEqual(pt.cacheSize(), { ids: 3, payloads: 2, payloadBytes: 200 });
  take();
  pt.handleMessage(1, { type: 'graft', id: 'a', round: 0 }, 1);
  assert.deepEqual(take(), []); // no payload left to answer with
  pt.handleMessage(1, { type: 'graft', id: 'b', round: 0 }, 1);
  assert.deepEqual(take(), [send(1, { type: 'gossip', id: 'b', round: 0, payload: p100 })]);
  assert.equal(pt.broadcast('a', p100, 2), false); // still exactly-once
  // One payload larger than the bound: kept (the newest is never dropped), the rest go.
  pt.broadcast('big', new Uint8Array(400), 3);
  assert.deepEqual(pt.cacheSize(), { ids: 4, payloads: 1, payloadBytes: 400 });
});

test('optimisation: GRAFT(null) the lazy announcer and PRUNE the sender when r − r′ ≥ threshold', () => {
  const { pt, take } = node([1, 2, 5], [2, 5]);
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'x', round: 1 }] }, 0);
  pt.handleMessage(5, { type: 'ihave', entries: [{ id: 'y', round: 2 }] }, 0);
  take();
  // r − r′ = 6 < 7: no change.
  pt.handleMessage(1, gossip('y', 8), 10);
  assert.deepEqual(take().filter((o) => o.out === 'send' && o.msg.type !== 'gossip'), []);
  assert.deepEqual(pt.eagerPeers(), [1]);
  // r − r′ = 7: optimise.
  pt.handleMessage(1, gossip('x', 8), 20);
  assert.deepEqual(take(), [
    { out: 'deliver', id: 'x', round: 8, from: 1 }, // IHAVE queued: flush timer already armed
    send(2, { type: 'graft', id: null, round: 1 }),
    send(1, { type: 'prune' }),
  ]);
  assert.deepEqual(pt.eagerPeers(), [2]);
  assert.deepEqual(pt.lazyPeers(), [5, 1]);
});

test('syncOnNeighborUp: a new neighbour gets IHAVEs of the cached ids, in batches', () => {
  const { pt, take } = node([1], [], { ...CFG, syncOnNeighborUp: true });
  pt.broadcast('a', PL, 0);
  pt.handleMessage(1, gossip('b', 2), 1);
  pt.broadcast('c', PL, 2);
  pt.broadcast('d', PL, 3);
  take();
  pt.neighborUp(9, 4);
  assert.deepEqual(take(), [
    send(9, { type: 'ihave', entries: [{ id: 'a', round: 0 }, { id: 'b', round: 3 }, { id: 'c', round: 0 }] }),
    send(9, { type: 'ihave', entries: [{ id: 'd', round: 0 }] }),
  ]);
  assert.deepEqual(pt.eagerPeers(), [1, 9]);
  // The receiving side: IHAVE → timer → GRAFT → answered from the sender's cache.
  const other = node([0], [], { ...CFG, syncOnNeighborUp: true });
  other.pt.handleMessage(0, { type: 'ihave', entries: [{ id: 'a', round: 0 }] }, 5);
  other.pt.handleTimer(MISSING('a', 105), 105);
  assert.deepEqual(other.take(), [MISS(100, 'a', 105), MISS(50, 'a', 155), send(0, { type: 'graft', id: 'a', round: 0 })]);
  pt.handleMessage(9, { type: 'graft', id: 'a', round: 0 }, 106);
  assert.deepEqual(take(), [send(9, gossip('a', 0))]);
});

test('exactly once under many duplicates from many peers', () => {
  const { pt, take } = node([1, 2, 3, 4, 5]);
  const rng = new Sfc32(42);
  const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (let i = 0; i < 300; i++) {
    const from = 1 + rng.int(5);
    pt.handleMessage(from, gossip(ids[rng.int(ids.length)], rng.int(5)), i);
  }
  const delivered = take().filter((o) => o.out === 'deliver').map((o) => (o as { id: string }).id);
  assert.deepEqual([...delivered].sort(), ids);
  for (const id of ids) assert.equal(pt.broadcast(id, PL, 400), false);
});

test('config validation: defaults valid; reasons name the field', () => {
  assert.deepEqual(validatePlumtreeConfig(DEFAULT_PLUMTREE_CONFIG), { ok: true, config: { ...DEFAULT_PLUMTREE_CONFIG } });
  const bad = (patch: Record<string, unknown>) => {
    const r = validatePlumtreeConfig({ ...DEFAULT_PLUMTREE_CONFIG, ...patch });
    return r.ok ? 'ok' : r.reason;
  };
  assert.equal(bad({ ihaveTimeoutMs: 400, graftTimeoutMs: 500 }), 'graftTimeoutMs: must be smaller than ihaveTimeoutMs (got 500 >= 400)');
  assert.equal(bad({ ihaveTimeoutMs: 'x' }), 'ihaveTimeoutMs: must be a finite number > 0 (got "x")');
  assert.equal(bad({ graftTimeoutMs: 0 }), 'graftTimeoutMs: must be a finite number > 0 (got 0)');
  assert.equal(bad({ maxIHaveBatch: 1.5 }), 'maxIHaveBatch: must be an integer >= 1 (got 1.5)');
  assert.equal(bad({ ihaveFlushMs: -1 }), 'ihaveFlushMs: must be a finite number >= 0 (got -1)');
  assert.equal(bad({ seenTtlMs: Infinity }), 'seenTtlMs: must be a finite number > 0 (got Infinity)');
  assert.equal(bad({ cacheTtlMs: 100_000 }), 'cacheTtlMs: must not exceed seenTtlMs (got 100000 > 90000)');
  assert.equal(bad({ maxCacheBytes: -1 }), 'maxCacheBytes: must be an integer >= 0 (got -1)');
  assert.equal(bad({ syncOnNeighborUp: 'yes' }), 'syncOnNeighborUp: must be a boolean (got "yes")');
  assert.equal(bad({ optimizationThreshold: undefined }), 'optimizationThreshold: must be an integer >= 1 (got undefined)');
  const r = validatePlumtreeConfig(null);
  assert.deepEqual(r, { ok: false, reason: 'config: must be an object (got null)' });
});

