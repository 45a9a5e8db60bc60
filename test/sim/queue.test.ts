import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventQueue, type EventRecord } from '../../src/sim/queue.js';
import { Sfc32 } from '../../src/proto/rng.js';

const SEED = Number(process.env.SEED ?? 1);

function drain(q: EventQueue): EventRecord[] {
  const out: EventRecord[] = [];
  for (;;) {
    const e: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
    if (!q.pop(e)) return out;
    out.push(e);
  }
}

test('pops in (time, insertion order) order, with all fields intact', () => {
  const rng = new Sfc32(SEED);
  const q = new EventQueue();
  const pushed: { t: number; i: number }[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = rng.int(50); // many ties
    pushed.push({ t, i });
    q.push(t, i % 200, i, 5000 - i, i * 7, { i });
  }
  assert.equal(q.size, 5000);
  const expected = pushed.slice().sort((a, b) => a.t - b.t || a.i - b.i);
  const got = drain(q);
  assert.equal(got.length, 5000);
  for (let k = 0; k < got.length; k++) {
    const i = expected[k].i;
    assert.equal(got[k].time, expected[k].t);
    assert.equal(got[k].node, i);
    assert.equal(got[k].peer, 5000 - i);
    assert.equal(got[k].aux, i * 7);
    assert.equal(got[k].kind, i % 200);
    assert.deepEqual(got[k].obj, { i });
  }
  assert.equal(q.size, 0);
  assert.equal(q.peekTime(), Infinity);
});

test('interleaved push/pop keeps order and recycles slots', () => {
  const rng = new Sfc32(SEED + 1);
  const q = new EventQueue();
  let now = 0;
  let last = -1;
  let lastSeqAtTime = -1;
  const e: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
  let id = 0;
  for (let round = 0; round < 20000; round++) {
    if (rng.next() < 0.55 || q.size === 0) q.push(now + rng.int(20), 0, id++, 0, 0, null);
    else {
      assert.ok(q.pop(e));
      assert.ok(e.time >= now);
      if (e.time === last) assert.ok(e.node > lastSeqAtTime, 'ties pop in insertion order');
      last = e.time;
      lastSeqAtTime = e.node;
      now = e.time;
    }
  }
});

test('near and far events (ms apart and minutes apart) pop in exact (time, insertion) order', () => {
  const rng = new Sfc32(SEED + 2);
  const q = new EventQueue();
  const e: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
  let now = 0;
  let id = 0;
  let prevT = -1;
  let prevId = -1;
  let popped = 0;
  let sawFar = 0;
  for (let round = 0; round < 60000; round++) {
    if (rng.next() < 0.52 || q.size === 0) {
      const far = rng.next() < 0.3;
      // Integer times so that near and far events often tie.
      q.push(now + (far ? 100 + rng.int(100_000) : rng.int(30)), 0, id++, 0, 0, null);
    } else {
      assert.ok(q.pop(e));
      assert.ok(e.time > prevT || (e.time === prevT && e.node > prevId), `order at pop ${popped}`);
      if (e.time - now > 100) sawFar++;
      prevT = e.time;
      prevId = e.node;
      now = e.time;
      popped++;
    }
  }
  while (q.pop(e)) {
    assert.ok(e.time > prevT || (e.time === prevT && e.node > prevId));
    prevT = e.time;
    prevId = e.node;
    popped++;
  }
  assert.equal(popped, id);
  assert.ok(sawFar > 100, `far events popped: ${sawFar}`);
});
