/** `floodWithoutMeta` false (src/proto/members/dissemination.ts `enqueue`, `floodMeta`): a join
 *  heard without the member's meta is not flooded until the meta comes, then it is, with it;
 *  joins with a meta, and members whose meta we hold, are flooded at once as before. Exact
 *  inputs and outputs, no simulator. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addr, machine } from './harness.js';
import { ALIVE, FAILED, pack, resolveMembersConfig } from '../../../src/proto/members/types.js';

const A = Array.from({ length: 6 }, (_, i) => addr(i + 1));
const X = addr(60);
const META = { name: 'x', tags: { dc: 'a' } };

/** A[0] with overlay neighbours A[1] and A[2], its own join flushed, output and timers cleared. */
function setup(floodWithoutMeta: boolean) {
  const h = machine(A[0], A.slice(0, 4), { rings: 1, floodWithoutMeta });
  h.m.start(0);
  h.m.neighborUp(A[1], 0);
  h.m.neighborUp(A[2], 0);
  h.m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  h.io.take();
  h.io.takeTimers();
  return h;
}

type Out = { to: string; msg: { type: string; ids?: string[]; metas?: unknown[] | null } }[];
/** Who got an `m-changes` listing `m`, and whether with a meta. */
const carried = (out: Out, m: string): string[] =>
  out.flatMap((s) => (s.msg.type === 'm-changes' && s.msg.ids!.includes(m) ? [`${s.to}${s.msg.metas === null ? '' : '+meta'}`] : []));

test('floodWithoutMeta false: a join heard on a ping is not flooded; the member is asked, and its answer is flooded with the meta', () => {
  const { m, io, store } = setup(false);
  m.handleMessage(A[3], { type: 'm-ping', seq: 1, ids: [X], states: [pack(2, ALIVE)] }, 100);
  assert.equal(store.get(X), pack(2, ALIVE));
  m.handleTimer({ type: 'm-flush', due: 0 }, 300);
  const first = io.take() as Out;
  assert.deepEqual(first.filter((s) => s.msg.type === 'm-meta-req'), [{ to: X, msg: { type: 'm-meta-req', ids: [X] } }]);
  assert.deepEqual(carried(first, X), [], 'the join waits for its meta');
  m.handleMessage(X, { type: 'm-changes', ids: [X], states: [pack(2, ALIVE)], metas: [META], sync: true }, 320);
  assert.deepEqual(store.meta(X), META);
  m.handleTimer({ type: 'm-flush', due: 0 }, 340);
  const second = io.take() as Out;
  assert.ok(carried(second, X).includes(`${A[1]}+meta`) && carried(second, X).includes(`${A[2]}+meta`), `flooded with the meta (${carried(second, X).join(', ')})`);
  assert.ok(!carried(second, X).some((x) => !x.endsWith('+meta')), 'never without it');
});

test('floodWithoutMeta false: a meta the flood brings after the piggyback is flooded on with the join, not back to its sender', () => {
  const { m, io, store } = setup(false);
  m.handleMessage(A[3], { type: 'm-ping', seq: 1, ids: [X], states: [pack(2, ALIVE)] }, 100);
  m.handleMessage(A[2], { type: 'm-changes', ids: [X], states: [pack(2, ALIVE)], metas: [META], sync: false }, 150);
  assert.deepEqual(store.meta(X), META);
  m.handleTimer({ type: 'm-flush', due: 0 }, 300);
  const out = io.take() as Out;
  assert.ok(carried(out, X).includes(`${A[1]}+meta`), `A[1] gets it with the meta (${carried(out, X).join(', ')})`);
  assert.ok(!carried(out, X).some((x) => x.startsWith(A[2])), 'not back to A[2]');
  assert.deepEqual(out.filter((s) => s.msg.type === 'm-meta-req'), [], 'nobody asked: the meta came first');
});

test('floodWithoutMeta false: a join that comes with its meta, a member whose meta we hold and a verdict are flooded at once', () => {
  const { m, io } = setup(false);
  const Y = addr(61);
  m.handleMessage(A[2], { type: 'm-changes', ids: [Y], states: [pack(0, ALIVE)], metas: [{ name: 'y', tags: {} }], sync: false }, 100);
  // A[3] (whose meta we hold) back at a higher incarnation, heard on a ping.
  m.handleMessage(A[1], { type: 'm-ping', seq: 1, ids: [A[3]], states: [pack(5, ALIVE)] }, 110);
  m.handleTimer({ type: 'm-flush', due: 0 }, 300);
  const out = io.take() as Out;
  assert.ok(carried(out, Y).includes(`${A[1]}+meta`), 'the join with its meta');
  assert.ok(carried(out, A[3]).includes(A[2]), 'a member whose meta we hold, at once');
  m.handleMessage(A[2], { type: 'm-changes', ids: [Y], states: [pack(0, FAILED)], metas: null, sync: false }, 400);
  m.handleTimer({ type: 'm-flush', due: 0 }, 600);
  assert.ok(carried(io.take() as Out, Y).includes(A[1]), 'the verdict');
});

test('floodWithoutMeta true (the default): the join is flooded at once without the meta, as before; a value not a boolean is refused with a clear error', () => {
  const { m, io } = setup(true);
  m.handleMessage(A[3], { type: 'm-ping', seq: 1, ids: [X], states: [pack(2, ALIVE)] }, 100);
  m.handleTimer({ type: 'm-flush', due: 0 }, 300);
  const out = io.take() as Out;
  assert.ok(carried(out, X).includes(A[1]) && carried(out, X).includes(A[2]));
  assert.equal(out.filter((s) => s.msg.type === 'm-meta-req').length, 1);
  const r = resolveMembersConfig({ floodWithoutMeta: 'no' as unknown as boolean });
  assert.equal(r.ok ? '' : r.reason, 'floodWithoutMeta: expected a boolean, got no');
});
