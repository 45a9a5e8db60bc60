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

/** A reference queue: a sorted array by (time, insertion order). */
class RefQueue {
  private items: { t: number; id: number }[] = [];
  push(t: number, id: number): void {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.items[mid].t <= t) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, { t, id });
  }
  pop(limit: number): { t: number; id: number } | undefined {
    if (this.items.length === 0 || this.items[0].t > limit) return undefined;
    return this.items.shift();
  }
  get size(): number {
    return this.items.length;
  }
  peek(): number {
    return this.items.length === 0 ? Infinity : this.items[0].t;
  }
}

test('matches a sorted reference under pops bounded by a limit, pushes at the clock, sparse far timers and clear', () => {
  const rng = new Sfc32(SEED + 3);
  const q = new EventQueue();
  const ref = new RefQueue();
  const e: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
  let now = 0;
  let id = 0;
  let pops = 0;
  for (let round = 0; round < 40_000; round++) {
    const x = rng.next();
    if (x < 0.4) {
      // Delays: 0 (into the bucket being read), fractions of a ms, in-flight, short timers,
      // and far timers (seconds to minutes), non-integer and integer so that ties occur.
      const d = rng.next();
      const delay = d < 0.1 ? 0 : d < 0.3 ? rng.next() : d < 0.7 ? 5 + rng.int(21) : d < 0.9 ? 10 + 40 * rng.next() : 1000 + rng.int(600_000);
      q.push(now + delay, 1, id, 0, 0, id);
      ref.push(now + delay, id);
      id++;
    } else if (x < 0.97) {
      // Pop up to a limit a little ahead of the clock (runUntil), sometimes none due.
      const limit = now + (rng.next() < 0.5 ? rng.next() * 3 : rng.int(400));
      const want = ref.pop(limit);
      const got = q.pop(e, limit);
      assert.equal(got, want !== undefined, `pop ${pops}: due event expected ${String(want?.id)}`);
      if (want !== undefined) {
        assert.equal(e.time, want.t, `pop ${pops}: time`);
        assert.equal(e.node, want.id, `pop ${pops}: insertion order`);
        assert.equal(e.obj, want.id);
        now = want.t;
        pops++;
      } else if (limit > now) now = limit; // runUntil: the clock moves to the limit
    } else if (x < 0.999) {
      assert.equal(q.peekTime(), ref.peek(), `peekTime at round ${round}`);
    } else {
      q.clear();
      while (ref.size > 0) ref.pop(Infinity);
    }
    assert.equal(q.size, ref.size);
  }
  while (ref.size > 0) {
    const want = ref.pop(Infinity)!;
    assert.ok(q.pop(e));
    assert.equal(e.node, want.id);
  }
  assert.equal(q.pop(e), false);
  assert.ok(pops > 10_000, `pops: ${pops}`);
});

test('a queue holding only far timers jumps to them, in order, and wakes for a push at the clock', () => {
  const q = new EventQueue();
  const e: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
  // Timers an hour apart (virtual time), pushed out of order.
  const times = [7_200_000, 3_600_000.5, 10_800_000, 3_600_000.5, 0.25];
  times.forEach((t, i) => q.push(t, 0, i, 0, 0, null));
  assert.ok(q.pop(e, 1000));
  assert.deepEqual([e.time, e.node], [0.25, 4]);
  assert.equal(q.pop(e, 3_600_000), false, 'nothing due before the first far timer');
  q.push(3_600_000, 0, 5, 0, 0, null); // at the clock, after runUntil(3_600_000)
  const order: number[] = [];
  while (q.pop(e)) order.push(e.node);
  assert.deepEqual(order, [5, 1, 3, 0, 2]);
  assert.equal(q.size, 0);
});

test('a near bucket keeps its grown arrays through 7 quiet turns of the ring and gives them back at the 8th', () => {
  const q = new EventQueue();
  const e: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
  const base = q.ringCapacity(); // 256 buckets of 64 slots
  // A burst of 5,000 events in the bucket of ms 0: its arrays double up to 8,192 slots.
  for (let i = 0; i < 5000; i++) q.push(0.5, 0, i, 0, 0, null);
  for (let i = 0; i < 5000; i++) assert.ok(q.pop(e));
  const grown = q.ringCapacity() - base + 64;
  assert.equal(grown, 8192);
  // Then one event per turn (256 ms) in the same bucket: popping turn j's event leaves the
  // bucket for the (j − 1)-th time since the burst.
  const held: number[] = [];
  for (let j = 1; j <= 10; j++) {
    q.push(j * 256 + 0.5, 0, j, 0, 0, null);
    assert.ok(q.pop(e));
    assert.equal(e.node, j);
    held.push(q.ringCapacity() - base + 64);
  }
  assert.deepEqual(held, [8192, 8192, 8192, 8192, 8192, 8192, 8192, 8192, 128, 128]);
  assert.equal(q.size, 0);
});

test('peekHint: node · 32 + the kind\'s low 5 bits of the k-th next event in the bucket being read, else -1', () => {
  const q = new EventQueue();
  const e: EventRecord = { time: 0, kind: 0, node: 0, peer: 0, aux: 0, obj: null };
  q.push(0.2, 16, 7, 0, 0, null);
  q.push(0.1, 1, 49_999_999, 0, 0, null);
  q.push(0.3, 0x45, 3, 0, 0, null); // an app kind: bits 5..7 dropped
  q.push(5.5, 16, 9, 0, 0, null); // a later bucket
  assert.ok(q.pop(e));
  assert.equal(e.node, 49_999_999);
  assert.deepEqual([q.peekHint(0), q.peekHint(1), q.peekHint(2)], [7 * 32 + 16, 3 * 32 + 5, -1]);
});
