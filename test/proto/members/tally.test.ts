/** Tallies over the flood's pruned links (`tallyRepair`, src/proto/members/tally.ts): what a
 *  pruned link carries, when the receiver pulls, and what the pull brings. Exact inputs and
 *  outputs, no simulator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addr, machine } from './harness.js';
import { BUCKETS, FAILED, pack, resolveMembersConfig, statusOf } from '../../../src/proto/members/types.js';

const A = Array.from({ length: 24 }, (_, i) => addr(i + 1));
type Out = { to: string; msg: { type: string } }[];
const tallies = (out: Out) => out.filter((s) => s.msg.type === 'm-tally').map((s) => [s.to, s.msg] as const);

/** A machine at A[0] with `eagerFeeders` 2 and `tallyRepair`, four overlay neighbours (n1, n2
 *  feed it, n3 and n4 are pruned), and n4 has pruned it (it gets no relayed batch). */
function setup(tallyRepair = true) {
  const { m, io } = machine(A[0], A, { rings: 4, eagerFeeders: 2, tallyRepair });
  const [n1, n2, n3, n4] = [A[1], A[2], A[3], A[4]];
  m.start(0);
  for (const p of [n1, n2, n3, n4]) m.neighborUp(p, 0);
  m.handleMessage(n4, { type: 'm-prune', graft: false }, 0);
  flush(m, io, 0);
  io.take();
  io.timers = io.timers.filter((t) => t.t.type === 'm-flush');
  return { m, io, n1, n2, n3, n4 };
}

/** Fire every armed flush at `now` (the harness holds timers until a test fires them). */
function flush(m: ReturnType<typeof machine>['m'], io: ReturnType<typeof machine>['io'], now: number): void {
  for (const t of io.takeTimers('m-flush')) m.handleTimer(t.t, now);
}

test('tallyRepair: a verdict taken sends our per-bucket tally of down entries to the neighbour that pruned us, once a probe period', () => {
  const { m, io, n1, n4 } = setup();
  const x = A[10];
  m.handleMessage(n1, { type: 'm-changes', ids: [x], states: [pack(0, FAILED)], metas: null, sync: false }, 10);
  flush(m, io, 200);
  const t = tallies(io.take());
  assert.equal(t.length, 1, 'one tally, to n4 only (the feeders and n3 get whole batches)');
  assert.equal(t[0][0], n4);
  const msg = t[0][1] as unknown as { counts: number[]; want: number[] };
  assert.equal(msg.counts.length, BUCKETS);
  assert.equal(msg.counts.reduce((a, b) => a + b, 0), 1);
  assert.equal(msg.counts[m.store.bucketOf(x)], 1);
  assert.deepEqual(msg.want, []);
  // A second verdict within the probe period: its tally waits for the period.
  m.handleMessage(n1, { type: 'm-changes', ids: [A[11]], states: [pack(0, FAILED)], metas: null, sync: false }, 300);
  flush(m, io, 400);
  assert.deepEqual(tallies(io.take()), [], 'no second tally within a probe period');
  for (let now = 600; now <= 1400; now += 200) flush(m, io, now);
  const t2 = tallies(io.take());
  assert.equal(t2.length, 1, 'the changed tally goes out once the period has passed');
  assert.equal((t2[0][1] as unknown as { counts: number[] }).counts.reduce((a, b) => a + b, 0), 2);
});

test('tallyRepair: a pruned neighbour ahead of us a probe period after its tally is asked for those buckets; its answer is taken as a flood', () => {
  const { m, io, n3 } = setup();
  const x = A[12];
  const b = m.store.bucketOf(x);
  const counts = new Array<number>(BUCKETS).fill(0);
  counts[b] = 1;
  m.handleMessage(n3, { type: 'm-tally', counts, want: [] }, 1000);
  flush(m, io, 1200);
  assert.deepEqual(tallies(io.take()), [], 'not checked before a probe period');
  for (let now = 1400; now <= 2000; now += 200) flush(m, io, now);
  assert.deepEqual(tallies(io.take()), [[n3, { type: 'm-tally', counts: [], want: [b] }]], 'the bucket where n3 was ahead is pulled from n3');
  assert.deepEqual(io.takeTimers('m-flush'), [], 'nothing left to check: no more flushes armed');
  // n3's answer: an m-changes that is not a sync; the verdict is taken as failed, not suspect.
  m.handleMessage(n3, { type: 'm-changes', ids: [x], states: [pack(0, FAILED)], metas: null, sync: false }, 2100);
  assert.equal(statusOf(m.store.get(x)), FAILED);
});

test('tallyRepair: a tally we have caught up with by the check pulls nothing', () => {
  const { m, io, n1, n3 } = setup();
  const x = A[13];
  const counts = new Array<number>(BUCKETS).fill(0);
  counts[m.store.bucketOf(x)] = 1;
  m.handleMessage(n3, { type: 'm-tally', counts, want: [] }, 1000);
  m.handleMessage(n1, { type: 'm-changes', ids: [x], states: [pack(0, FAILED)], metas: null, sync: false }, 1100);
  for (let now = 1200; now <= 2200; now += 200) flush(m, io, now);
  assert.deepEqual(tallies(io.take()).filter(([, msg]) => (msg as unknown as { want: number[] }).want.length > 0), []);
});

test('tallyRepair: a pull is answered with the recent down entries of the buckets asked, as a flooded m-changes', () => {
  const { m, io, n1, n4 } = setup();
  const down = [A[14], A[15], A[16]];
  m.handleMessage(n1, { type: 'm-changes', ids: down, states: down.map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  io.take();
  const want = [...new Set(down.map((x) => m.store.bucketOf(x)))];
  m.handleMessage(n4, { type: 'm-tally', counts: [], want: [want[0]] }, 100);
  const ans = io.take().filter((s) => s.to === n4 && s.msg.type === 'm-changes');
  assert.equal(ans.length, 1);
  const msg = ans[0].msg as { ids: string[]; states: number[]; sync: boolean };
  assert.equal(msg.sync, false);
  assert.deepEqual([...msg.ids].sort(), down.filter((x) => m.store.bucketOf(x) === want[0]).sort());
  assert.ok(msg.states.every((s) => statusOf(s) === FAILED));
  // Past syncIntervalMs (30 s by default) the entries are no longer recent: nothing is sent.
  m.handleMessage(n4, { type: 'm-tally', counts: [], want: [want[0]] }, 10 + 30_000 + 1);
  assert.deepEqual(io.take().filter((s) => s.to === n4 && s.msg.type === 'm-changes'), []);
});

test('tallyRepair off (the default): no tally goes out, and one received is ignored', () => {
  const { m, io, n1, n3 } = setup(false);
  m.handleMessage(n1, { type: 'm-changes', ids: [A[17]], states: [pack(0, FAILED)], metas: null, sync: false }, 10);
  const counts = new Array<number>(BUCKETS).fill(5);
  m.handleMessage(n3, { type: 'm-tally', counts, want: [] }, 20);
  for (let now = 200; now <= 2000; now += 200) flush(m, io, now);
  assert.deepEqual(tallies(io.take()), []);
});

test('tallyRepair and ringRelayAll: a value that is not a boolean is refused with a clear error', () => {
  const t = resolveMembersConfig({ tallyRepair: 1 as unknown as boolean });
  assert.equal(t.ok, false);
  assert.equal(t.ok ? '' : t.reason, 'tallyRepair: expected a boolean, got 1');
  const r = resolveMembersConfig({ ringRelayAll: 'no' as unknown as boolean });
  assert.equal(r.ok ? '' : r.reason, 'ringRelayAll: expected a boolean, got no');
});
