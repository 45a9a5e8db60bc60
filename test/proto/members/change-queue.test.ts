/** The change queue's storage (change-queue.ts): 4-byte references into a change log, the
 *  consumed prefix reclaimed, the array shrunk after a drain — against a plain list of what
 *  was pushed, with a private log (the agent's) and the simulator's shared one. The bound's
 *  behaviour through the machine is in queue-bound.test.ts. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeQueue } from '../../../src/proto/members/change-queue.js';
import { MapStore } from '../../../src/proto/members/map-store.js';
import { ALIVE, FAILED, pack, type ChangeLog, type MemberMeta, type MemberStore } from '../../../src/proto/members/types.js';
import { SharedChangeLog } from '../../../src/sim/members-store.js';
import { Sfc32 } from '../../../src/proto/rng.js';
import type { Rng } from '../../../src/proto/types.js';

interface Pushed {
  m: number;
  state: number;
  meta: MemberMeta | null;
  src: number | undefined;
}

/** A table over member ids 0..n-1, with or without a shared change log. */
function store(shared: ChangeLog<number> | undefined): MemberStore<number> {
  const s = new MapStore<number>((m) => m, 1);
  if (shared === undefined) return s;
  return Object.assign(Object.create(s) as MemberStore<number>, { changeLog: shared });
}

/** Push `count` changes with takes of random sizes between them; everything taken must be
 *  what was pushed, in order, with its meta and source. Returns the largest array seen. */
function roundTrip(q: ChangeQueue<number>, rng: Rng, count: number, burst: number): number {
  const want: Pushed[] = [];
  const got: Pushed[] = [];
  let most = 0;
  let pushed = 0;
  while (pushed < count || q.length > 0) {
    const k = pushed < count ? rng.int(burst) : 0;
    for (let i = 0; i < k && pushed < count; i++, pushed++) {
      const p: Pushed = {
        m: rng.int(500),
        state: pack(rng.int(3), rng.int(2) === 0 ? ALIVE : FAILED),
        meta: rng.int(10) === 0 ? { name: `n${pushed}`, tags: {} } : null,
        src: rng.int(4) === 0 ? undefined : rng.int(3),
      };
      assert.equal(q.push(p.m, p.state, p.meta, p.src), true, 'an unbounded queue takes every change');
      want.push(p);
    }
    most = Math.max(most, q.slots);
    // Doubling leaves at most half free; a drained large array is shrunk (above 1,024 slots).
    assert.ok(q.slots <= Math.max(1024, 8 * q.length), `slots ${q.slots} for ${q.length} live changes`);
    const t = q.take(1 + rng.int(burst));
    for (let i = 0; i < t.ids.length; i++) got.push({ m: t.ids[i], state: t.states[i], meta: t.metas === null ? null : t.metas[i], src: t.srcs[i] });
  }
  assert.deepEqual(got, want, 'taken in the order pushed, with metas and sources');
  return most;
}

for (const kind of ['private', 'shared'] as const) {
  test(`change queue (${kind} log): every change comes out in order through growth, moves and shrinks`, () => {
    const rng = new Sfc32(7);
    const q = new ChangeQueue<number>(1_000_000, 0, 0, store(kind === 'shared' ? new SharedChangeLog(500) : undefined));
    const most = roundTrip(q, rng, 20_000, 3_000);
    assert.ok(most >= 2048, `the array grew with the backlog (largest ${most} slots)`);
    assert.equal(q.slots, 16, 'a drained queue gives its large array back');
    roundTrip(q, rng, 2_000, 40);
  });
}

test('change queue: a queue at its bound stays within the bound’s slots (the consumed prefix is reclaimed)', () => {
  const q = new ChangeQueue<number>(100, 0, 0, store(undefined));
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 100; i++) q.push(1 + ((round * 100 + i) % 999), pack(round, ALIVE), null, 1);
    assert.equal(q.length, 100, 'the bound holds');
    assert.ok(q.slots <= 100, `slots ${q.slots} within the bound`);
    q.take(30);
  }
  assert.ok(q.dropped > 0, 'the bound refused changes');
});

test('shared change log: one reference per (member, state) pair, across queues', () => {
  const log = new SharedChangeLog(10);
  const a = log.ref(3, pack(0, ALIVE));
  const b = log.ref(3, pack(0, FAILED));
  assert.notEqual(a, b);
  assert.equal(log.ref(3, pack(0, ALIVE)), a, 'the same pair again gets the same reference');
  assert.equal(log.member(b), 3);
  assert.equal(log.state(b), pack(0, FAILED));
  for (let i = 0; i < 5000; i++) log.ref(i % 10, pack(i, ALIVE));
  assert.equal(log.size, 2 + 5000, 'every new pair interned once');
  assert.equal(log.ref(7, pack(4997, ALIVE)), 4999, 'a pair deep in the log is found by its member');
  assert.equal(log.state(a), pack(0, ALIVE), 'references stay valid as the log grows');
  const q1 = new ChangeQueue<number>(64, 0, 0, store(log));
  const q2 = new ChangeQueue<number>(64, 0, 1, store(log));
  q1.push(3, pack(0, FAILED), null, undefined);
  q2.push(3, pack(0, FAILED), null, 2);
  assert.equal(log.size, 2 + 5000, 'queues of one log share its pairs');
  assert.deepEqual(q2.take(1).ids, [3]);
});
