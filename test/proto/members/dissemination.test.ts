/** Dissemination of the membership machine (src/proto/members/dissemination.ts): who gets
 *  which part of a flushed batch, when a new link's anti-entropy runs during a failure wave,
 *  and which suspicions are piggybacked. Exact inputs and outputs, no simulator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addr, machine, started } from './harness.js';
import { ALIVE, FAILED, SUSPECT, pack } from '../../../src/proto/members/types.js';

const A = Array.from({ length: 24 }, (_, i) => addr(i + 1));

/** A[0] started with overlay neighbours A[1] and A[2], its first flush done and its output cleared. */
function twoNeighbours(cfg: Parameters<typeof machine>[2]) {
  const h = machine(A[0], A, cfg);
  const [n1, n2] = [A[1], A[2]];
  h.m.start(0);
  h.m.neighborUp(n1, 0);
  h.m.neighborUp(n2, 0);
  h.m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  h.io.take();
  h.io.timers = [];
  return { ...h, n1, n2 };
}

test('flush: an overlay neighbour gets the batch without what it sent us; each ring subject only the members of its ring (bucket mod K)', () => {
  const { m, io, store, n1, n2 } = twoNeighbours({ rings: 4 });
  const fromN1 = A.slice(3, 11);
  const fromN2 = A.slice(11, 13);
  m.handleMessage(n1, { type: 'm-changes', ids: fromN1, states: fromN1.map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  m.handleMessage(n2, { type: 'm-changes', ids: fromN2, states: fromN2.map(() => pack(0, FAILED)), metas: null, sync: false }, 11);
  m.handleTimer(io.takeTimers('m-flush')[0].t, 200);
  // As sent: every link shares the flush's one batch (no copies); what a link must not get is
  // marked in its message's exclusion words, one bit per entry.
  const raw = io.raw.map((s) => s.msg).filter((x) => x.type === 'm-changes');
  assert.ok(raw.length >= 3, `a batch to each neighbour and ring subject (got ${raw.length})`);
  const batch = raw[0].type === 'm-changes' ? raw[0].ids : [];
  assert.equal(batch.length, fromN1.length + fromN2.length, 'one batch of every queued change');
  for (const x of raw) {
    if (x.type !== 'm-changes') continue;
    assert.equal(x.ids, batch, 'the batch array is shared, not copied');
    assert.ok(x.skip === null || x.skip!.length === Math.ceil(batch.length / 32), 'one exclusion word per 32 entries');
  }
  assert.ok(raw.some((x) => x.type === 'm-changes' && x.skip !== null), 'some link has entries left out');
  const out = io.take().filter((s) => s.msg.type === 'm-changes');
  const to = (p: string): string[] => out.filter((s) => s.to === p).flatMap((s) => (s.msg.type === 'm-changes' ? s.msg.ids : []));
  assert.deepEqual(to(n1), fromN2, 'n1 gets only what it did not send us');
  assert.deepEqual(to(n2), fromN1, 'n2 gets only what it did not send us');
  const byRing = m.detector.subjectsByRing();
  const K = byRing.length;
  const got = new Map<string, number>();
  for (const [r, p] of byRing.entries()) {
    if (p === undefined || p === n1 || p === n2) continue;
    const want = [...fromN1, ...fromN2].filter((x) => byRing.some((q, k) => q === p && store.bucketOf(x) % K === k));
    assert.deepEqual(to(p), want, `ring ${r}'s subject gets its rings' share`);
    for (const x of want) got.set(x, (got.get(x) ?? 0) + 1);
  }
  // Every change still leaves over the overlay; no member of a ring subject's share is skipped.
  assert.ok([...got.values()].every((c) => c === 1), 'each change goes to at most one ring subject');
  assert.ok(out.every((s) => s.to === n1 || s.to === n2 || byRing.includes(s.to)), 'sent only to neighbours and ring subjects');
});

test('m-changes with exclusion words: the receiver merges only the entries not left out for it', () => {
  const ids = Array.from({ length: 40 }, (_, i) => addr(100 + i));
  const { m, store } = started(A[0], [...A, ...ids], [A[1]], { rings: 4 });
  // Leave out entries 0, 5, 31 (word 0) and 33 (word 1).
  const skip = [(1 << 0) | (1 << 5) | (1 << 31), 1 << 1];
  m.handleMessage(A[1], { type: 'm-changes', ids, states: ids.map(() => pack(0, FAILED)), metas: null, sync: false, skip }, 10);
  const out = new Set([0, 5, 31, 33]);
  for (let i = 0; i < ids.length; i++) {
    assert.equal(store.get(ids[i]), out.has(i) ? pack(0, 0) : pack(0, FAILED), `entry ${i} ${out.has(i) ? 'left out: still alive' : 'merged: failed'}`);
  }
});

test('flush: while a full batch is still queued the next flush comes 1/8 of a period later (catch-up); then a period again', () => {
  const ids = Array.from({ length: 40 }, (_, i) => addr(100 + i));
  const { m, io } = started(A[0], [...A, ...ids], [A[1]], { rings: 4, maxEntriesPerMessage: 16, flushIntervalMs: 200 });
  m.handleMessage(A[2], { type: 'm-changes', ids, states: ids.map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  const sizes: number[] = [];
  const delays: number[] = [];
  let now = 10;
  for (let k = 0; k < 4; k++) {
    const t = io.takeTimers('m-flush');
    if (t.length === 0) break;
    assert.equal(t.length, 1, 'one flush armed at a time');
    delays.push(t[0].delay);
    now += t[0].delay;
    m.handleTimer(t[0].t, now);
    const toA1 = io.take().filter((s) => s.to === A[1] && s.msg.type === 'm-changes');
    sizes.push(toA1.reduce((a, s) => a + (s.msg.type === 'm-changes' ? s.msg.ids.length : 0), 0));
  }
  // 40 queued: 16 sent, 24 left (a full batch): 25 ms; 16 sent, 8 left: 200 ms; the last 8.
  assert.deepEqual(sizes, [16, 16, 8], 'batches of at most 16, oldest first');
  assert.deepEqual(delays, [200, 25, 200], 'a period, a catch-up, a period');
});

test('flush: our own entry (a refutation) goes to every ring subject and back to the sender of the rumour', () => {
  const { m, io } = started(A[0], A, [A[1]], { rings: 4 });
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[0]], states: [pack(0, SUSPECT)], metas: null, sync: false }, 10);
  m.handleTimer(io.takeTimers('m-flush')[0].t, 200);
  const got = io
    .take()
    .filter((s) => s.msg.type === 'm-changes')
    .map((s) => s.to);
  const want = [A[1], ...m.detector.subjects().filter((x) => x !== A[1])];
  assert.deepEqual(got, want);
});

test('link sync: a link that comes up while the flood of a failure wave reaches us syncs a probe period later; a node cut off from the flood syncs at once', () => {
  const fed = machine(A[0], A);
  fed.m.start(0);
  fed.m.neighborUp(A[1], 0);
  fed.io.take();
  fed.io.timers = [];
  fed.m.handleMessage(A[1], { type: 'm-changes', ids: [A[5]], states: [pack(0, FAILED)], metas: null, sync: false }, 1000);
  fed.io.take();
  fed.m.neighborUp(A[2], 1100);
  assert.deepEqual(
    fed.io.take().filter((s) => s.msg.type === 'm-sync'),
    [],
    'no sync while the wave passes',
  );
  const [t] = fed.io.takeTimers('m-link-sync');
  assert.deepEqual(t, { delay: 1000, t: { type: 'm-link-sync', peer: A[2], due: 2100 } });
  fed.m.handleTimer(t.t, 2100);
  assert.deepEqual(
    fed.io.take().map((s) => [s.to, s.msg.type]),
    [[A[2], 'm-sync']],
  );
  // No news for a probe period: the wave has passed here, a new link syncs at once.
  fed.m.neighborUp(A[3], 4200);
  assert.deepEqual(
    fed.io.take().map((s) => [s.to, s.msg.type]),
    [[A[3], 'm-sync']],
  );
  // News again; a link deferred then gone by the time its sync is due: nothing is sent.
  fed.m.handleMessage(A[1], { type: 'm-changes', ids: [A[6]], states: [pack(0, FAILED)], metas: null, sync: false }, 5000);
  fed.io.take();
  fed.io.timers = [];
  fed.m.neighborUp(A[4], 5050);
  fed.m.neighborDown(A[4], 'disconnected', 5100);
  const [late] = fed.io.takeTimers('m-link-sync');
  fed.m.handleTimer(late.t, 6050);
  assert.deepEqual(fed.io.take(), []);

  // Trouble heard only through anti-entropy (a `failed` taken as suspect), or through a batch
  // from a ring link (not an overlay neighbour): not fed by the overlay's flood.
  const cut = machine(A[0], A);
  cut.m.start(0);
  cut.io.take();
  cut.m.handleMessage(A[1], { type: 'm-changes', ids: [A[5]], states: [pack(0, FAILED)], metas: null, sync: true }, 1000);
  cut.m.handleMessage(A[7], { type: 'm-changes', ids: [A[6]], states: [pack(0, FAILED)], metas: null, sync: false }, 1001);
  cut.io.take();
  cut.m.neighborUp(A[2], 1100);
  assert.deepEqual(
    cut.io.take().map((s) => [s.to, s.msg.type]),
    [[A[2], 'm-sync']],
  );
});

test('piggyback: a suspicion we raised rides on our acks; one heard from others is not relayed', () => {
  const { m, io } = machine(A[0], A, { rings: 1, piggybackPerMessage: 4 });
  m.start(0);
  m.handleMessage(A[1], { type: 'm-ping', seq: 1, ids: [], states: [] }, 5);
  io.take(); // our own join rides on this ack
  // Heard: A5 suspect, on a ping from A1. Our ack to A2 does not carry it.
  m.handleMessage(A[1], { type: 'm-ping', seq: 2, ids: [A[5]], states: [pack(0, SUSPECT)] }, 10);
  m.handleMessage(A[2], { type: 'm-ping', seq: 3, ids: [], states: [] }, 20);
  const acks = io.take().filter((s) => s.msg.type === 'm-ack');
  assert.ok(
    acks.every((s) => s.msg.type === 'm-ack' && !s.msg.ids.includes(A[5])),
    'a relayed suspicion',
  );
  // Raised here: an observer's alert about A6 makes us suspect it; that rides on our next ack.
  m.handleMessage(A[3], { type: 'm-alert', subject: A[6], state: pack(0, SUSPECT) }, 30);
  io.take();
  m.handleMessage(A[2], { type: 'm-ping', seq: 4, ids: [], states: [] }, 40);
  const ack = io.take().find((s) => s.msg.type === 'm-ack');
  assert.ok(ack !== undefined && ack.msg.type === 'm-ack');
  const i = ack.msg.ids.indexOf(A[6]);
  assert.ok(i >= 0, 'our own suspicion rides on the ack');
  assert.equal(ack.msg.states[i], pack(0, SUSPECT));
  assert.equal(m.store.get(A[5]), pack(0, SUSPECT));
  assert.equal(m.store.get(A[7]), pack(0, ALIVE));
});

/** A pruneFlood machine at A[0] with four overlay neighbours, its first flush taken, and a
 *  batch of two failures none of them has sent yet. */
function pruneFloodSetup() {
  const { m, io } = machine(A[0], A, { rings: 4, pruneFlood: true });
  const [n1, n2, n3, n4] = [A[1], A[2], A[3], A[4]];
  m.start(0);
  for (const p of [n1, n2, n3, n4]) m.neighborUp(p, 0);
  m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  io.take();
  const news = [A[10], A[11]];
  const batch = { type: 'm-changes' as const, ids: news, states: news.map(() => pack(0, FAILED)), metas: null, sync: false };
  return { m, io, n1, n2, n3, n4, batch };
}

test('pruneFlood: a batch that brings nothing new prunes its sender (two feeders kept); a pruned link carries our own entry only; losing a feeder grafts the pruned back', () => {
  const { m, io, n1, n2, n3, n4, batch } = pruneFloodSetup();
  io.timers = [];
  m.handleMessage(n1, batch, 10);
  assert.deepEqual(io.take().filter((s) => s.msg.type === 'm-prune'), [], 'news: no prune');
  // A sender's own entry alone (a join announcement) is no duplicate of the flood.
  m.handleMessage(n2, { type: 'm-changes', ids: [n2], states: [pack(0, ALIVE)], metas: null, sync: false }, 11);
  assert.deepEqual(io.take().filter((s) => s.msg.type === 'm-prune'), [], 'own entry: no prune');
  m.handleMessage(n2, batch, 12);
  m.handleMessage(n3, batch, 13);
  m.handleMessage(n4, batch, 14);
  assert.deepEqual(
    io.take().filter((s) => s.msg.type === 'm-prune').map((s) => [s.to, s.msg]),
    [
      [n2, { type: 'm-prune', graft: false }],
      [n3, { type: 'm-prune', graft: false }],
    ],
    'n2 and n3 pruned; n1 and n4 stay our feeders',
  );
  // n4 prunes us: our batches carry only our own entry to it (unless it is a ring subject).
  m.handleMessage(n4, { type: 'm-prune', graft: false }, 20);
  const other = [A[12]];
  m.handleMessage(n1, { type: 'm-changes', ids: other, states: [pack(0, FAILED)], metas: null, sync: false }, 30);
  m.handleTimer(io.takeTimers('m-flush')[0].t, 200);
  const sent = io.take().filter((s) => s.msg.type === 'm-changes' && s.to === n4);
  if (!m.detector.subjectsByRing().includes(n4)) assert.deepEqual(sent, [], 'a pruned link gets no relayed change');
  // A feeder goes down: every pruned neighbour is asked back, and reconciled with (what its
  // flushes left out for us since the prune).
  m.neighborDown(n1, 'disconnected', 300);
  const out = io.take();
  assert.deepEqual(
    out.filter((s) => s.msg.type === 'm-prune').map((s) => [s.to, s.msg]),
    [
      [n2, { type: 'm-prune', graft: true }],
      [n3, { type: 'm-prune', graft: true }],
    ],
  );
  assert.deepEqual(out.filter((s) => s.msg.type === 'm-sync').map((s) => s.to), [n2, n3], 'an m-sync to each grafted neighbour');
});

test('pruneFlood: a feeder marked failed in our table grafts the pruned neighbours at once, before its link times out', () => {
  const { m, io, n1, n2, n3, n4, batch } = pruneFloodSetup();
  for (const [i, p] of [n1, n2, n3, n4].entries()) m.handleMessage(p, batch, 10 + i);
  assert.deepEqual(io.take().filter((s) => s.msg.type === 'm-prune').map((s) => s.to), [n2, n3], 'n1 and n4 feed us');
  // A change that is not about a feeder grafts nothing.
  m.handleMessage(n4, { type: 'm-changes', ids: [A[12]], states: [pack(0, FAILED)], metas: null, sync: false }, 20);
  assert.deepEqual(io.take().filter((s) => s.msg.type === 'm-prune'), []);
  // n4's verdict arrives (its link still up): n2 and n3 are grafted and synced with.
  m.handleMessage(n1, { type: 'm-changes', ids: [n4], states: [pack(0, FAILED)], metas: null, sync: false }, 30);
  const out = io.take();
  assert.deepEqual(out.filter((s) => s.msg.type === 'm-prune').map((s) => [s.to, s.msg]), [
    [n2, { type: 'm-prune', graft: true }],
    [n3, { type: 'm-prune', graft: true }],
  ]);
  assert.deepEqual(out.filter((s) => s.msg.type === 'm-sync').map((s) => s.to), [n2, n3]);
});

test('reconnect: the failed member that answers our reconnect m-sync (its m-digest) is handed to the overlay, once; no one else is', () => {
  const { m, io, store } = machine(A[0], A);
  m.start(0);
  io.take();
  // Every other member failed (the other side of a long partition): the tick picks one of them.
  for (const x of A.slice(1)) store.set(x, pack(0, FAILED), 0);
  m.handleTimer({ type: 'm-reconnect-tick', due: 30_000 }, 30_000);
  const syncs = io.take().filter((s) => s.msg.type === 'm-sync');
  assert.equal(syncs.length, 1, 'one m-sync to one failed member');
  const p = syncs[0].to;
  const other = A.find((x) => x !== p && x !== A[0])!;
  const digest = { type: 'm-digest' as const, buckets: [], ids: [], states: [] };
  // A digest from a member we did not reconnect to (an ordinary anti-entropy answer): nothing.
  m.handleMessage(other, digest, 30_010);
  assert.deepEqual(io.reconnected, []);
  m.handleMessage(p, digest, 30_020);
  assert.deepEqual(io.reconnected, [p], 'the member that answered goes to the overlay');
  m.handleMessage(p, digest, 30_030);
  assert.deepEqual(io.reconnected, [p], 'once per reconnect');
  // A periodic sync (to an up member) answered is not a reconnect.
  for (const x of A.slice(1)) store.set(x, pack(1, ALIVE), 30_040);
  m.handleTimer({ type: 'm-sync-tick', due: 60_000 }, 60_000);
  const periodic = io.take().filter((x) => x.msg.type === 'm-sync');
  assert.equal(periodic.length, 1, 'the periodic sync went out');
  m.handleMessage(periodic[0].to, digest, 60_010);
  assert.deepEqual(io.reconnected, [p]);
});

test("join: a node knowing only itself asks one neighbour for the whole table; its other links and the peer's own sync wait for it, then reconcile by digest", () => {
  const J = addr(90);
  const { m, io, store } = machine(J, [], { probeIntervalMs: 1000 });
  m.start(0);
  io.take();
  io.timers = [];
  m.neighborUp(A[1], 10);
  m.neighborUp(A[2], 11);
  function syncs(): [string, boolean][] {
    const out: [string, boolean][] = [];
    for (const s of io.take()) if (s.msg.type === 'm-sync') out.push([s.to, s.msg.join]);
    return out;
  }
  assert.deepEqual(syncs(), [[A[1], true]], 'one ask for the table, to the first link');
  // A[1]'s own sync of the link, and A[2]'s, arrive before the table: no second ask.
  const hashes = new Array<number>(64).fill(1);
  m.handleMessage(A[1], { type: 'm-sync', count: 5, hashes, join: false }, 12);
  m.handleMessage(A[2], { type: 'm-sync', count: 5, hashes, join: false }, 13);
  assert.deepEqual(syncs(), [], 'the joining node asked again before the table came');
  const [t] = io.takeTimers('m-link-sync');
  assert.deepEqual(t, { delay: 1000, t: { type: 'm-link-sync', peer: A[2], due: 1011 } });
  // The table comes (with names); the deferred link then reconciles by digest, not by another ask.
  const table = A.slice(1, 5);
  m.handleMessage(A[1], { type: 'm-changes', ids: table, states: table.map(() => pack(0, ALIVE)), metas: table.map((x) => ({ name: `node-${x}`, tags: {} })), sync: true }, 50);
  assert.equal(store.size(), 5);
  io.take();
  m.handleTimer(t.t, 1011);
  assert.deepEqual(syncs(), [[A[2], false]]);
});

test('join: an ask for the table that is not answered within two probe periods goes to the next link', () => {
  const J = addr(91);
  const { m, io } = machine(J, [], { probeIntervalMs: 1000 });
  m.start(0);
  m.neighborUp(A[1], 0);
  m.neighborUp(A[2], 0);
  io.take();
  const t1 = io.takeTimers('m-link-sync')[0];
  m.handleTimer(t1.t, 1000);
  assert.deepEqual(io.take().filter((s) => s.msg.type === 'm-sync'), [], 'asked a second peer within the wait');
  const t2 = io.takeTimers('m-link-sync')[0];
  m.handleTimer(t2.t, 2000);
  const asks = io.take().filter((s) => s.msg.type === 'm-sync');
  assert.deepEqual(asks.map((s) => [s.to, s.msg.type === 'm-sync' && s.msg.join]), [[A[2], true]]);
});

test('linkSyncOnce: only the smaller id opens the link sync; the larger waits a probe period and opens one only if none came; one round reconciles both tables', () => {
  const [lo, hi] = [A[1], A[2]]; // '10.0.0.2:7946' < '10.0.0.3:7946'
  const onlyLo = A.slice(3, 8);
  const onlyHi = A.slice(8, 12);
  const x = machine(lo, [lo, hi, ...onlyLo], { linkSyncOnce: true, probeIntervalMs: 1000 });
  const y = machine(hi, [lo, hi, ...onlyHi], { linkSyncOnce: true, probeIntervalMs: 1000 });
  for (const r of [x, y]) {
    r.m.start(0);
    r.io.take();
    r.io.timers = [];
  }
  y.m.neighborUp(lo, 10);
  assert.deepEqual(y.io.take().filter((s) => s.msg.type === 'm-sync'), [], 'the larger id synced at once');
  const [t] = y.io.takeTimers('m-link-sync');
  assert.deepEqual(t, { delay: 1000, t: { type: 'm-link-sync', peer: lo, due: 1010 } });
  x.m.neighborUp(hi, 11);
  const sync = x.io.take().filter((s) => s.msg.type === 'm-sync');
  assert.deepEqual(sync.map((s) => s.to), [hi], 'the smaller id syncs at once');
  // The round: x's m-sync → y's digest → x's changes; then both tables hold every member.
  y.m.handleMessage(lo, sync[0].msg, 12);
  const digest = y.io.take().filter((s) => s.msg.type === 'm-digest');
  assert.equal(digest.length, 1);
  x.m.handleMessage(hi, digest[0].msg, 13);
  for (const s of x.io.take()) if (s.to === hi && s.msg.type === 'm-changes') y.m.handleMessage(lo, s.msg, 14);
  y.io.take();
  for (const p of [...onlyLo, ...onlyHi]) {
    assert.ok(x.store.get(p) >= 0 && y.store.get(p) >= 0, `${p} is in both tables`);
  }
  y.m.handleTimer(t.t, 1010);
  assert.deepEqual(y.io.take().filter((s) => s.msg.type === 'm-sync'), [], 'the larger id synced again after the round');
});

test('linkSyncOnce: the larger id syncs a probe period later when the other end never did (ids seen differently at the two ends)', () => {
  const { m, io } = machine(A[2], A.slice(0, 6), { linkSyncOnce: true, probeIntervalMs: 1000 });
  m.start(0);
  io.take();
  io.timers = [];
  m.neighborUp(A[1], 10);
  assert.deepEqual(io.take().filter((s) => s.msg.type === 'm-sync'), []);
  const [t] = io.takeTimers('m-link-sync');
  m.handleTimer(t.t, 1010);
  assert.deepEqual(io.take().filter((s) => s.msg.type === 'm-sync').map((s) => s.to), [A[1]]);
  // Off (the default), both ends sync at once.
  const off = machine(A[2], A.slice(0, 6), { probeIntervalMs: 1000 });
  off.m.start(0);
  off.io.take();
  off.m.neighborUp(A[1], 10);
  assert.deepEqual(off.io.take().filter((s) => s.msg.type === 'm-sync').map((s) => s.to), [A[1]]);
});

test('linkSyncOnce in a join burst (news in the last probe period, another link up): the smaller id syncs a probe period later, the larger two, only if none came; a link gone by then never syncs; an only link syncs at once', () => {
  const [lo, hi, feeder] = [A[1], A[2], A[5]]; // lo < hi as strings
  const joiner = addr(200); // not in either table
  const fed = (self: string) => {
    const r = machine(self, A.slice(0, 8), { linkSyncOnce: true, probeIntervalMs: 1000 });
    r.m.start(0);
    r.m.neighborUp(feeder, 0);
    r.m.handleMessage(feeder, { type: 'm-changes', ids: [joiner], states: [pack(0, ALIVE)], metas: null, sync: false }, 100);
    assert.ok(r.store.get(joiner) >= 0, 'the flood brought a new member');
    r.io.take();
    r.io.timers = [];
    return r;
  };
  const x = fed(lo);
  const y = fed(hi);
  x.m.neighborUp(hi, 150);
  y.m.neighborUp(lo, 150);
  assert.deepEqual([...x.io.take(), ...y.io.take()].filter((s) => s.msg.type === 'm-sync'), [], 'neither end synced at once');
  const [tx] = x.io.takeTimers('m-link-sync');
  const [ty] = y.io.takeTimers('m-link-sync');
  assert.deepEqual(tx, { delay: 1000, t: { type: 'm-link-sync', peer: hi, due: 1150 } });
  assert.deepEqual(ty, { delay: 2000, t: { type: 'm-link-sync', peer: lo, due: 2150 } });
  x.m.handleTimer(tx.t, 1150);
  const sync = x.io.take().filter((s) => s.msg.type === 'm-sync');
  assert.deepEqual(sync.map((s) => s.to), [hi], 'the smaller id synced a probe period later');
  y.m.handleMessage(lo, sync[0].msg, 1152);
  y.io.take();
  y.m.handleTimer(ty.t, 2150);
  assert.deepEqual(y.io.take().filter((s) => s.msg.type === 'm-sync'), [], 'the larger id synced although the smaller had');
  // A link that HyParView replaced within the probe period: no sync at either end.
  const z = fed(lo);
  z.m.neighborUp(hi, 150);
  const [tz] = z.io.takeTimers('m-link-sync');
  z.m.neighborDown(hi, 'evicted', 600);
  z.io.take();
  z.m.handleTimer(tz.t, 1150);
  assert.deepEqual(z.io.take().filter((s) => s.msg.type === 'm-sync'), [], 'a link gone before its deferred sync synced');
  // A node whose only link this is (it may have missed the flood without one) syncs at once.
  const alone = fed(hi);
  alone.m.neighborDown(feeder, 'evicted', 120);
  alone.io.take();
  alone.m.neighborUp(lo, 150);
  assert.deepEqual(alone.io.take().filter((s) => s.msg.type === 'm-sync').map((s) => s.to), [lo], 'an only link waited');
  // A quiet table (no news for a probe period): the smaller id syncs at once, as before.
  const q = fed(lo);
  q.m.neighborUp(hi, 1100);
  assert.deepEqual(q.io.take().filter((s) => s.msg.type === 'm-sync').map((s) => s.to), [hi]);
});

test('a node that loses its last overlay link pulls within a probe period; the sync tick armed before is ignored', () => {
  const { m, io, cfg } = machine(A[0], A);
  m.start(0);
  const first = io.takeTimers('m-sync-tick');
  assert.equal(first.length, 1);
  const armed = first[0].t;
  // A neighbour came and went: links up and down while members are failing cost no extra ticks.
  m.neighborUp(A[1], 0);
  m.neighborUp(A[2], 0);
  io.takeTimers();
  m.neighborDown(A[1], 'link-failed', 5);
  assert.deepEqual(io.takeTimers('m-sync-tick'), [], 'a neighbour is left: the armed tick stands');
  m.neighborDown(A[2], 'link-failed', 10);
  const early = io.takeTimers('m-sync-tick');
  assert.equal(early.length, 1, 'the last link down arms a pull');
  assert.equal(early[0].delay, cfg.probeIntervalMs);
  io.take();
  m.handleTimer(early[0].t, 10 + cfg.probeIntervalMs);
  assert.equal(io.take().filter((x) => x.msg.type === 'm-sync').length, 1, 'the pull went out');
  const next = io.takeTimers('m-sync-tick');
  assert.equal(next.length, 1);
  assert.equal(next[0].delay, cfg.probeIntervalMs, 'and, without neighbours, every probe period');
  // The tick armed at the start fires later: superseded, it sends nothing and arms nothing.
  m.handleTimer(armed, Math.max(armed.due, 10 + cfg.probeIntervalMs));
  assert.equal(io.take().filter((x) => x.msg.type === 'm-sync').length, 0, 'the old tick is ignored');
  assert.deepEqual(io.takeTimers('m-sync-tick'), [], 'one chain of ticks only');
});

test('ringRelayAll false: ring subjects get only the changes no overlay batch brought (here: a ping\'s piggyback and our own); the overlay still gets everything', () => {
  const { m, io, store, n1, n2 } = twoNeighbours({ rings: 4, ringRelayAll: false, piggybackPerMessage: 4 });
  const byRing = m.detector.subjectsByRing();
  const K = byRing.length;
  const ringOnly = byRing.filter((p): p is string => p !== undefined && p !== n1 && p !== n2);
  assert.ok(ringOnly.length > 0, 'some ring subject is not an overlay neighbour');
  const overlay = A.slice(3, 11).filter((x) => !byRing.includes(x));
  const heard = A.slice(11, 15).filter((x) => !byRing.includes(x));
  m.handleMessage(n1, { type: 'm-changes', ids: overlay, states: overlay.map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  // A ping from a non-neighbour with piggybacked verdicts: not the overlay's flood.
  m.handleMessage(A[20], { type: 'm-ping', seq: 1, ids: heard, states: heard.map(() => pack(0, FAILED)) }, 11);
  for (const t of io.takeTimers('m-flush')) m.handleTimer(t.t, 200);
  const out = io.take().filter((s) => s.msg.type === 'm-changes');
  const to = (p: string): string[] => out.filter((s) => s.to === p).flatMap((s) => (s.msg.type === 'm-changes' ? s.msg.ids : []));
  assert.deepEqual(new Set(to(n2)), new Set([...overlay, ...heard]), 'the overlay neighbour that did not send them gets every change');
  let relayed = 0;
  for (const p of ringOnly) {
    const share = heard.filter((x) => byRing.some((q, k) => q === p && store.bucketOf(x) % K === k));
    assert.deepEqual(to(p), share, `ring subject ${p}: its share of the changes heard off the overlay, none of the flood's`);
    relayed += share.length;
  }
  assert.ok(relayed > 0, 'some change heard off the overlay went over a ring link');
});

test('flush: a node with no one to tell does not poll; its first link arms the flush that sends what it queued', () => {
  const h = machine(A[0], [A[0]], { flushIntervalMs: 10 });
  h.m.start(0);
  const first = h.io.takeTimers('m-flush');
  assert.equal(first.length, 1, 'its own alive entry arms one flush');
  h.m.handleTimer(first[0].t, 10);
  assert.equal(h.io.takeTimers('m-flush').length, 0, 'alone (no link, no ring subject): no flush re-armed');
  assert.equal(h.io.take().filter((s) => s.msg.type === 'm-changes').length, 0, 'nothing sent');
  h.m.neighborUp(A[1], 500);
  const armed = h.io.takeTimers('m-flush');
  assert.equal(armed.length, 1, 'the first link arms the flush');
  h.io.take();
  h.m.handleTimer(armed[0].t, 510);
  const sent = h.io.take().filter((s) => s.to === A[1] && s.msg.type === 'm-changes');
  assert.ok(sent.some((s) => s.msg.type === 'm-changes' && s.msg.ids.includes(A[0])), 'the queued alive entry reaches the new neighbour');
});
