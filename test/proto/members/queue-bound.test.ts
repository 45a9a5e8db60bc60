/** The bound on the membership change queue (change-queue.ts): max(`maxQueuedChanges`,
 *  `queueDepthPerMember` × table size); the fixed-bound tests set `queueDepthPerMember` 0. When
 *  it is full, superseded changes go first, then new changes are refused (not our own:
 *  it takes the oldest one's place); what is kept goes out in order.
 *  Exact inputs and outputs, no simulator (the simulated wave with the bound is in
 *  test/sim/members-queue-bound.test.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addr, machine } from './harness.js';
import { ALIVE, FAILED, pack } from '../../../src/proto/members/types.js';
import type { Members } from '../../../src/proto/members/machine.js';

const A = Array.from({ length: 120 }, (_, i) => addr(i + 1));

/** The machine's dissemination (private; read here only to check the bound). */
const spread = (m: Members<string>): { pending(): number; droppedChanges: number } => (m as unknown as { spread: { pending(): number; droppedChanges: number } }).spread;

function ready(bound: number, queueDepthPerMember = 0) {
  const r = machine(A[0], A, { rings: 1, maxQueuedChanges: bound, queueDepthPerMember });
  r.m.start(0);
  r.m.neighborUp(A[1], 0);
  r.m.neighborUp(A[2], 0);
  r.m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  r.io.take();
  r.io.timers = [];
  return r;
}

/** What the next flush sends to neighbour A[2] (it sent us nothing: it gets every change). */
function flushedTo(r: ReturnType<typeof ready>, now: number): { ids: string[]; states: number[] } {
  r.m.handleTimer({ type: 'm-flush', due: 0 }, now);
  const out = r.io.take().filter((s) => s.to === A[2] && s.msg.type === 'm-changes');
  return { ids: out.flatMap((s) => (s.msg.type === 'm-changes' ? s.msg.ids : [])), states: out.flatMap((s) => (s.msg.type === 'm-changes' ? s.msg.states : [])) };
}

test('queue bound: a full queue refuses new changes (tail drop); those kept go out in order', () => {
  const r = ready(16);
  const wave = A.slice(3, 43);
  r.m.handleMessage(A[1], { type: 'm-changes', ids: wave, states: wave.map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  assert.equal(r.io.events.filter((e) => e.type === 'member-failed').length, 40, 'every change is adopted in the table');
  assert.equal(spread(r.m).pending(), 16, 'the queue holds the bound');
  assert.equal(spread(r.m).droppedChanges, 24);
  const sent = flushedTo(r, 200);
  assert.deepEqual(sent.ids, wave.slice(0, 16), 'the first 16, in order');
  assert.equal(spread(r.m).pending(), 0);
  // Below the bound nothing is dropped.
  const more = A.slice(43, 53);
  r.m.handleMessage(A[1], { type: 'm-changes', ids: more, states: more.map(() => pack(0, FAILED)), metas: null, sync: false }, 300);
  assert.deepEqual(flushedTo(r, 400).ids, more);
  assert.equal(spread(r.m).droppedChanges, 24);
});

test('queue bound: a change superseded by a newer queued change of the same member is dropped before any older one', () => {
  const r = ready(16);
  const x = A[3];
  r.m.handleMessage(A[1], { type: 'm-changes', ids: [x], states: [pack(0, FAILED)], metas: null, sync: false }, 10);
  const others = A.slice(4, 18);
  r.m.handleMessage(A[1], { type: 'm-changes', ids: others, states: others.map(() => pack(0, FAILED)), metas: null, sync: false }, 11);
  // x came back (a higher incarnation): queued behind its failure; the queue now holds 16.
  r.m.handleMessage(A[1], { type: 'm-changes', ids: [x], states: [pack(1, ALIVE)], metas: null, sync: false }, 12);
  assert.equal(spread(r.m).pending(), 16);
  // One more: over the bound; x's failure (superseded) goes, not the oldest of the others.
  r.m.handleMessage(A[1], { type: 'm-changes', ids: [A[18]], states: [pack(0, FAILED)], metas: null, sync: false }, 13);
  assert.equal(spread(r.m).pending(), 16);
  assert.equal(spread(r.m).droppedChanges, 1);
  const sent = flushedTo(r, 200);
  assert.deepEqual(sent.ids, [...others, x, A[18]]);
  assert.deepEqual(sent.states, [...others.map(() => pack(0, FAILED)), pack(1, ALIVE), pack(0, FAILED)]);
});

test('queue bound: a change kept keeps its source (not sent back to the neighbour it came from) after the queue is coalesced', () => {
  const r = ready(16);
  const fromA1 = A.slice(3, 13);
  const fromA2 = A.slice(13, 23);
  r.m.handleMessage(A[1], { type: 'm-changes', ids: [A[3]], states: [pack(0, FAILED)], metas: null, sync: false }, 9);
  r.m.handleMessage(A[2], { type: 'm-changes', ids: [A[3]], states: [pack(1, ALIVE)], metas: null, sync: false }, 9);
  r.m.handleMessage(A[1], { type: 'm-changes', ids: fromA1.slice(1), states: fromA1.slice(1).map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  r.m.handleMessage(A[2], { type: 'm-changes', ids: fromA2, states: fromA2.map(() => pack(0, FAILED)), metas: null, sync: false }, 11);
  assert.equal(spread(r.m).pending(), 16, '21 queued, bound 16');
  r.m.handleTimer({ type: 'm-flush', due: 0 }, 200);
  const out = r.io.take().filter((s) => s.msg.type === 'm-changes');
  const to = (p: string): string[] => out.filter((s) => s.to === p).flatMap((s) => (s.msg.type === 'm-changes' ? s.msg.ids : []));
  // The 17th change coalesced the queue (A[3]'s failure, superseded, went) and was queued;
  // the next four were refused.
  const kept = [A[3], ...fromA1.slice(1), ...fromA2.slice(0, 6)];
  assert.equal(spread(r.m).droppedChanges, 5);
  assert.deepEqual(to(A[1]), kept.filter((m) => m === A[3] || fromA2.includes(m)), 'A[1] gets what A[2] sent');
  assert.deepEqual(to(A[2]), kept.filter((m) => m !== A[3] && fromA1.includes(m)), 'A[2] gets what A[1] sent');
});

test('queue bound: a full queue still takes our own entry (a refutation), in the oldest change\'s place', () => {
  const r = ready(16);
  const wave = A.slice(3, 19);
  r.m.handleMessage(A[1], { type: 'm-changes', ids: wave, states: wave.map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  assert.equal(spread(r.m).pending(), 16);
  r.m.handleMessage(A[1], { type: 'm-changes', ids: [A[0]], states: [pack(0, FAILED)], metas: null, sync: false }, 11);
  const sent = flushedTo(r, 200);
  assert.deepEqual(sent.ids, [...wave.slice(1), A[0]]);
  assert.equal(sent.states[15], pack(1, ALIVE), 'the refutation');
});

test('queue bound: by default it scales with the table (Serf\'s dynamic depth, 2 per member): a wave larger than the floor is queued whole and sent in order', () => {
  // 120 members, floor 16: the bound is max(16, 2 × 120) = 240.
  const r = ready(16, 2);
  const wave = A.slice(3, 103);
  r.m.handleMessage(A[1], { type: 'm-changes', ids: wave, states: wave.map(() => pack(0, FAILED)), metas: null, sync: false }, 10);
  assert.equal(spread(r.m).pending(), 100, 'every change queued');
  assert.equal(spread(r.m).droppedChanges, 0);
  assert.deepEqual(flushedTo(r, 200).ids, wave, 'all of them, in order');
  // Over 2 per member it is refused again: 240 queued, the rest dropped.
  const r2 = ready(16, 2);
  const states = (ids: string[], inc: number): number[] => ids.map(() => pack(inc, inc % 2 === 0 ? FAILED : ALIVE));
  const all = A.slice(3, 120);
  for (let inc = 0; inc < 3; inc++) r2.m.handleMessage(A[1], { type: 'm-changes', ids: all, states: states(all, inc), metas: null, sync: false }, 10 + inc);
  assert.ok(spread(r2.m).pending() <= 240, `${spread(r2.m).pending()} queued, over the bound 240`);
  assert.ok(spread(r2.m).droppedChanges > 0, 'nothing dropped over the bound');
});

test('config: maxQueuedChanges is validated', async () => {
  const { resolveMembersConfig } = await import('../../../src/proto/members/types.js');
  const r = resolveMembersConfig({ maxQueuedChanges: 8 });
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /^maxQueuedChanges: expected an integer in \[16, 10000000\], got 8$/);
  const d = resolveMembersConfig({});
  assert.equal(d.ok ? d.config.maxQueuedChanges : -1, 4096);
  assert.equal(d.ok ? d.config.queueDepthPerMember : -1, 2);
  const q = resolveMembersConfig({ queueDepthPerMember: 65 });
  assert.match(q.ok ? '' : q.reason, /^queueDepthPerMember: expected an integer in \[0, 64\], got 65$/);
});
