/** A `failed` verdict learned by anti-entropy about a member we hold `alive` is taken as
 *  `suspect` (memberlist's push-pull merge) and checked by our own probe (detector.ts
 *  `verify`): no answer and the verdict stands; an answer and the member refutes. And a
 *  digest lists at least 8 differing buckets, over its entry cap if need be
 *  (dissemination.ts `MIN_DIGEST_BUCKETS`). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addrs, machine } from './harness.js';
import { ALIVE, BUCKETS, FAILED, SUSPECT, pack } from '../../../src/proto/members/types.js';

const A = addrs(8);

/** A0's machine after a sync brought `A5 failed@0` (A5 alive@0 in its table), at t = 1000. */
function verdictBySync() {
  const r = machine(A[0], A);
  r.m.start(0);
  r.io.take();
  r.io.timers = [];
  r.m.handleMessage(A[1], { type: 'm-changes', ids: [A[5]], states: [pack(0, FAILED)], metas: null, sync: true }, 1000);
  return r;
}

test('a verdict taken as suspect from a sync: our probe carries it, and with no answer the member is failed', () => {
  const { m, io, store } = verdictBySync();
  assert.equal(store.get(A[5]), pack(0, SUSPECT));
  const pings = io.take().filter((s) => s.to === A[5] && s.msg.type === 'm-ping');
  assert.equal(pings.length, 1, 'no probe of the member the verdict is about');
  const ping = pings[0].msg;
  assert.ok(ping.type === 'm-ping' && ping.ids.includes(A[5]) && ping.states[ping.ids.indexOf(A[5])] === pack(0, SUSPECT), 'the ping does not carry the suspicion');
  // Direct probe times out: indirect probes; those time out too: failed.
  const [direct] = io.takeTimers('m-probe-timeout');
  m.handleTimer(direct.t, 1000 + direct.delay);
  assert.ok(io.take().some((s) => s.msg.type === 'm-ping-req'), 'no indirect probe');
  assert.equal(store.get(A[5]), pack(0, SUSPECT));
  const [indirect] = io.takeTimers('m-probe-timeout');
  m.handleTimer(indirect.t, 1000 + direct.delay + indirect.delay);
  assert.equal(store.get(A[5]), pack(0, FAILED));
  assert.ok(io.events.some((e) => e.type === 'member-failed' && e.member === A[5]));
});

test('a verdict taken as suspect from a sync: a member that answers refutes, and is not failed', () => {
  const { m, io, store } = verdictBySync();
  const ping = io.take().find((s) => s.to === A[5] && s.msg.type === 'm-ping')!.msg;
  assert.ok(ping.type === 'm-ping');
  // A5 is alive: it heard itself suspect and answers with its refutation.
  m.handleMessage(A[5], { type: 'm-ack', seq: ping.seq, ids: [A[5]], states: [pack(1, ALIVE)] }, 1010);
  assert.equal(store.get(A[5]), pack(1, ALIVE));
  for (const t of io.takeTimers('m-probe-timeout')) m.handleTimer(t.t, 1000 + t.delay);
  assert.equal(store.get(A[5]), pack(1, ALIVE));
  assert.ok(!io.events.some((e) => e.type === 'member-failed'), 'a live member was failed');
});

test('a verdict by the flood is taken as is (no probe); a sync about a member we hold suspect gives failed', () => {
  const flood = machine(A[0], A);
  flood.m.start(0);
  flood.io.take();
  flood.m.handleMessage(A[1], { type: 'm-changes', ids: [A[5]], states: [pack(0, FAILED)], metas: null, sync: false }, 1000);
  assert.equal(flood.store.get(A[5]), pack(0, FAILED));
  assert.ok(!flood.io.take().some((s) => s.to === A[5] && s.msg.type === 'm-ping'));
  const { m, store } = verdictBySync();
  m.handleMessage(A[2], { type: 'm-changes', ids: [A[5]], states: [pack(0, FAILED)], metas: null, sync: true }, 1100);
  assert.equal(store.get(A[5]), pack(0, FAILED));
});

/** The digest a node of `members` members (16 entries a message) answers a sync whose every
 *  bucket differs from its own with. */
function digestOf(members: number, net: number) {
  const many = Array.from({ length: members }, (_, i) => `10.${net}.${i >> 8}.${i & 255}:7946`);
  const { m, io } = machine(many[0], many, { maxEntriesPerMessage: 16 });
  m.start(0);
  io.take();
  m.handleMessage(many[1], { type: 'm-sync', count: 1, hashes: new Array<number>(BUCKETS).fill(0), join: false }, 10);
  const digest = io.take().find((s) => s.msg.type === 'm-digest')!.msg;
  assert.ok(digest.type === 'm-digest');
  return digest;
}

test('a digest lists at least 8 differing buckets, over its entry cap', () => {
  // 1,000 members, ≈ 15.6 a bucket: the cap (4 × 16 entries) alone would list 4 buckets.
  const digest = digestOf(1000, 1);
  assert.equal(digest.buckets.length, 8);
  assert.ok(digest.ids.length > 4 * 16, `only ${digest.ids.length} entries`);
});

test('the digest floor gives way above 16 × maxEntriesPerMessage entries', () => {
  // 4,000 members, ≈ 62 a bucket: 8 buckets would be ≈ 500 entries, over 16 × 16.
  const digest = digestOf(4000, 2);
  assert.ok(digest.ids.length <= 16 * 16, `${digest.ids.length} entries`);
  assert.ok(digest.buckets.length > 1 && digest.buckets.length < 8, `${digest.buckets.length} buckets`);
});
