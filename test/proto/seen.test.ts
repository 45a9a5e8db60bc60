import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SeenCache } from '../../src/proto/seen.js';

const P = (b: number): Uint8Array => new Uint8Array([b]);

test('add/has: duplicates refused; payload and round kept until the payload TTL', () => {
  const c = new SeenCache(100, 50, 10);
  assert.equal(c.add('a', 0, P(1), 3), true);
  assert.equal(c.add('a', 1, P(2), 4), false);
  assert.equal(c.add('b', 10), true); // no payload
  assert.deepEqual([c.has('a'), c.has('b'), c.has('z'), c.size, c.payloadCount], [true, true, false, 2, 1]);
  assert.deepEqual([c.payload('a'), c.round('a'), c.payload('b')], [P(1), 3, undefined]);
  assert.equal(c.nextExpiry(), 50);
  c.gc(50);
  assert.deepEqual([c.size, c.payloadCount, c.payload('a'), c.nextExpiry()], [2, 0, undefined, 100]);
  c.gc(100);
  assert.deepEqual([c.size, c.has('a'), c.has('b'), c.nextExpiry()], [1, false, true, 110]);
  c.gc(110);
  assert.deepEqual([c.size, c.nextExpiry()], [0, Infinity]);
});

test('an id that `has` missed is added once; an add in between or a second add is still checked', () => {
  const c = new SeenCache(100, 0, 10);
  assert.equal(c.has('x'), false);
  assert.equal(c.add('y', 0), true); // another add between the lookup and the add
  assert.equal(c.add('x', 0), true);
  assert.equal(c.add('x', 0), false);
  assert.equal(c.has('z'), false);
  assert.equal(c.add('z', 1), true);
  assert.equal(c.add('z', 1), false);
  assert.equal(c.has('y'), true);
  assert.equal(c.add('y', 1), false);
  // Past LINEAR_MAX (the id index): the same.
  for (let i = 0; i < 40; i++) {
    assert.equal(c.has(`n${i}`), false);
    assert.equal(c.add(`n${i}`, 2), true);
    assert.equal(c.add(`n${i}`, 2), false);
  }
  assert.equal(c.size, 10);
  // Two caches: one's lookup says nothing about the other.
  const a = new SeenCache(100, 0, 10);
  const b = new SeenCache(100, 0, 10);
  assert.equal(a.has('x'), false);
  assert.equal(b.add('x', 0), true);
  assert.equal(b.add('x', 0), false);
  assert.equal(a.add('x', 0), true);
  assert.equal(b.has('w'), false);
  assert.equal(a.add('w', 0), true);
  assert.equal(b.has('w'), false);
  assert.equal(a.has('v'), false);
  assert.equal(b.add('w', 0), true);
  assert.equal(b.add('w', 0), false);
});

test('full cache: every add evicts the oldest id and its payload, across ring wrap-around', () => {
  const c = new SeenCache(1e9, 1e9, 20); // above the linear-scan limit: uses the index
  for (let i = 0; i < 100; i++) assert.equal(c.add(`m${i}`, i, P(i), i), true);
  assert.deepEqual([c.size, c.payloadCount], [20, 20]);
  for (let i = 0; i < 100; i++) assert.equal(c.has(`m${i}`), i >= 80, `m${i}`);
  const seen: string[] = [];
  c.forEachPayload((id, round) => seen.push(`${id}/${round}`));
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, k) => `m${80 + k}/${80 + k}`));
  assert.equal(c.add('m10', 100), true); // forgotten, so new again; evicts m80
  assert.deepEqual([c.has('m80'), c.has('m81'), c.payloadCount], [false, true, 19]);
});

interface Ref {
  id: string;
  at: number;
  payload: Uint8Array | undefined;
  round: number;
}

/** The cache's contract, written naively: an array in insertion order. */
class Model {
  entries: Ref[] = [];
  constructor(
    readonly seenTtl: number,
    readonly payTtl: number,
    readonly max: number,
  ) {}
  add(id: string, at: number, payload: Uint8Array | undefined, round: number): boolean {
    if (this.entries.some((e) => e.id === id)) return false;
    this.entries.push({ id, at, payload: payload !== undefined && this.payTtl > 0 ? payload : undefined, round });
    if (this.entries.length > this.max) this.entries.shift();
    return true;
  }
  gc(now: number): void {
    for (const e of this.entries) if (e.payload !== undefined && e.at + this.payTtl <= now) e.payload = undefined;
    this.entries = this.entries.filter((e) => e.at + this.seenTtl > now);
  }
  nextExpiry(): number {
    if (this.entries.length === 0) return Infinity;
    const p = this.entries.find((e) => e.payload !== undefined);
    return Math.min(this.entries[0].at + this.seenTtl, p === undefined ? Infinity : p.at + this.payTtl);
  }
}

test('property: SeenCache behaves as the naive model (adds, lookups, GC, eviction)', () => {
  const op = fc.oneof(
    fc.record({ k: fc.constant('add' as const), id: fc.integer({ min: 0, max: 40 }), dt: fc.integer({ min: 0, max: 7 }), pay: fc.boolean(), round: fc.integer({ min: 0, max: 9 }) }),
    fc.record({ k: fc.constant('gc' as const), dt: fc.integer({ min: 0, max: 30 }) }),
    // A lookup right before an add (Plumtree's validate-then-remember): `add` may skip its own.
    fc.record({ k: fc.constant('has-add' as const), id: fc.integer({ min: 0, max: 40 }), dt: fc.integer({ min: 0, max: 7 }) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 30 }), fc.array(op, { maxLength: 200 }), (seenTtl, payRaw, max, ops) => {
      const payTtl = Math.min(payRaw, seenTtl);
      const c = new SeenCache(seenTtl, payTtl, max);
      const m = new Model(seenTtl, payTtl, max);
      let now = 0;
      for (const o of ops) {
        now += o.dt;
        if (o.k === 'add') {
          const pl = o.pay ? P(o.id) : undefined;
          assert.equal(c.add(`i${o.id}`, now, pl, o.round), m.add(`i${o.id}`, now, pl, o.round));
        } else if (o.k === 'has-add') {
          const id = `i${o.id}`;
          const known = m.entries.some((e) => e.id === id);
          assert.equal(c.has(id), known);
          assert.equal(c.add(id, now), m.add(id, now, undefined, 0));
          assert.equal(c.add(id, now), false, 'a second add of the same id is refused');
        } else {
          c.gc(now);
          m.gc(now);
        }
        assert.equal(c.size, m.entries.length);
        assert.equal(c.payloadCount, m.entries.filter((e) => e.payload !== undefined).length);
        assert.equal(c.nextExpiry(), m.nextExpiry());
        for (let id = 0; id <= 40; id++) {
          const e = m.entries.find((x) => x.id === `i${id}`);
          assert.equal(c.has(`i${id}`), e !== undefined);
          assert.deepEqual(c.payload(`i${id}`), e?.payload); // the same bytes (a view made from the kept span)
          if (e?.payload !== undefined) assert.equal(c.round(`i${id}`), e.round);
        }
        const listed: string[] = [];
        c.forEachPayload((id, round) => listed.push(`${id}/${round}`));
        assert.deepEqual(listed, m.entries.filter((e) => e.payload !== undefined).map((e) => `${e.id}/${e.round}`));
      }
    }),
    { numRuns: 300, seed: 42 },
  );
});

test('property: the id index (above LINEAR_MAX entries) agrees with the model under heavy eviction', () => {
  // Many ids through caches of 17..250 entries: every add past the bound evicts the oldest
  // through the index; short and digest-like ids.
  const ids = fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 1500 });
  fc.assert(
    fc.property(fc.integer({ min: 17, max: 250 }), ids, fc.boolean(), (max, adds, longIds) => {
      const name = (i: number): string => (longIds ? `${i.toString(16).padStart(8, '0')}aa55aa55aa55aa55aa55aa55` : `m${i}`);
      const c = new SeenCache(1e9, 1e9, max);
      const m = new Model(1e9, 1e9, max);
      for (let k = 0; k < adds.length; k++) {
        assert.equal(c.add(name(adds[k]), k, undefined, 0), m.add(name(adds[k]), k, undefined, 0));
      }
      const held = new Set(m.entries.map((e) => e.id));
      for (let i = 0; i <= 600; i++) assert.equal(c.has(name(i)), held.has(name(i)), name(i));
      assert.equal(c.size, held.size);
    }),
    { numRuns: 60, seed: 7 },
  );
});

test('the newest id (checked before the ring) is forgotten when it expires or is evicted', () => {
  const c = new SeenCache(100, 0, 1);
  assert.equal(c.add('a', 0), true);
  assert.equal(c.add('b', 10), true); // evicts a (one entry at most)
  assert.deepEqual([c.has('a'), c.has('b'), c.size], [false, true, 1]);
  c.gc(110); // b expires: the cache is empty
  assert.deepEqual([c.has('b'), c.size], [false, 0]);
  assert.equal(c.add('b', 120), true);
  assert.equal(c.add('b', 121), false);
});

test('numberOf / nextNumber: ids numbered in the order added, never reused, across eviction, expiry and both lookups', () => {
  for (const max of [8, 40]) {
    // 8: linear scan only; 40: above LINEAR_MAX, the index.
    const c = new SeenCache(100, 100, max);
    assert.equal(c.nextNumber, 0);
    assert.equal(c.numberOf('x'), -1, 'empty');
    for (let i = 0; i < 3 * max; i++) {
      assert.equal(c.nextNumber, i);
      c.add(`m${i}`, i);
      assert.equal(c.numberOf(`m${i}`), i, `the newest, m${i} (max ${max})`);
      for (let k = 0; k <= i; k++) assert.equal(c.numberOf(`m${k}`), k > i - max ? k : -1, `m${k} after adding m${i} (max ${max})`);
    }
    assert.equal(c.add(`m${3 * max - 1}`, 1000), false, 'a duplicate takes no number');
    assert.equal(c.nextNumber, 3 * max);
    c.gc(1e6); // everything expires
    assert.deepEqual([c.size, c.numberOf(`m${3 * max - 1}`), c.nextNumber], [0, -1, 3 * max]);
    c.add('again', 1e6);
    assert.equal(c.numberOf('again'), 3 * max, 'numbers go on after the cache emptied');
  }
});

test('payloads are kept as their buffer and span: views at offsets come back with their bytes; a payload of 2 MiB or more is kept as itself', () => {
  const c = new SeenCache(1000, 1000, 100, 2 ** 22 + 40);
  const buf = new Uint8Array(4096);
  for (let i = 0; i < buf.length; i++) buf[i] = i & 0xff;
  const views = [buf.subarray(0, 10), buf.subarray(100, 164), buf.subarray(4000, 4096), buf.subarray(7, 7)];
  views.forEach((v, i) => assert.equal(c.add(`v${i}`, 0, v, i), true));
  views.forEach((v, i) => {
    const p = c.payload(`v${i}`)!;
    assert.deepEqual([...p], [...v]);
    assert.equal(p.buffer, buf.buffer, 'a view of the same memory, no copy');
    assert.equal(p.byteOffset, v.byteOffset);
    assert.equal(c.round(`v${i}`), i);
  });
  assert.equal(c.payloadBytes, 10 + 64 + 96);
  const big = new Uint8Array(2 ** 21);
  assert.equal(c.add('big', 1, big, 9), true);
  assert.equal(c.payload('big'), big, 'kept as itself');
  assert.equal(c.payloadBytes, 10 + 64 + 96 + 2 ** 21);
  // A second one goes over the byte bound (2^22 + 40): the oldest payloads are dropped, the
  // bytes counted back right.
  const big2 = new Uint8Array(2 ** 21 + 5);
  assert.equal(c.add('big2', 2, big2), true);
  assert.equal(c.payloadBytes, 2 ** 21 + 2 ** 21 + 5);
  assert.deepEqual([c.payload('v0'), c.payload('v2'), c.payload('big') === big], [undefined, undefined, true]);
  c.gc(1001);
  assert.equal(c.payloadBytes, 2 ** 21 + 5);
  c.gc(1002);
  assert.deepEqual([c.payloadBytes, c.payloadCount, c.size], [0, 0, 0]);
});

test('the round shares its number with the span: rounds 0–255 at offsets below 16 MiB come back exact with the buffer kept; larger rounds and offsets keep the view; the round outlives the payload', () => {
  const c = new SeenCache(1000, 500, 100);
  const buf = new Uint8Array(2 ** 24 + 64);
  for (let i = 0; i < 64; i++) buf[2 ** 24 + i] = i + 1;
  const low = buf.subarray(2 ** 24 - 3, 2 ** 24 - 1); // offset below 2^24: packed
  const high = buf.subarray(2 ** 24, 2 ** 24 + 64); // offset 2^24: kept as itself
  const cases: [string, Uint8Array | undefined, number, 'buffer' | 'view' | 'none'][] = [
    ['r0', low, 0, 'buffer'],
    ['r255', low, 255, 'buffer'],
    ['r256', low, 256, 'view'],
    ['r1e6', low, 1_000_000, 'view'],
    ['hi', high, 7, 'view'],
    ['none', undefined, 42, 'none'],
    ['none0', undefined, 0, 'none'],
  ];
  for (const [id, p, r] of cases) assert.equal(c.add(id, 0, p, r), true);
  for (const [id, p, r, how] of cases) {
    assert.equal(c.round(id), r, id);
    const got = c.payload(id);
    if (how === 'none') assert.equal(got, undefined, id);
    else {
      assert.deepEqual([...got!], [...p!], id);
      assert.equal(got!.byteOffset, p!.byteOffset, id);
      if (how === 'view') assert.equal(got, p, `${id}: kept as itself`);
      else assert.notEqual(got, p, `${id}: a new view of the kept buffer`);
    }
  }
  const rounds: [string, number][] = [];
  c.forEachPayload((id, r) => rounds.push([id, r]));
  assert.deepEqual(rounds, [['r0', 0], ['r255', 255], ['r256', 256], ['r1e6', 1_000_000], ['hi', 7]]);
  assert.equal(c.payloadBytes, 4 * 2 + 64);
  c.gc(500); // payloads expire, ids and rounds stay
  assert.deepEqual([c.payloadCount, c.payloadBytes, c.size], [0, 0, 7]);
  for (const [id, , r] of cases) assert.deepEqual([c.payload(id), c.round(id)], [undefined, r], id);
});

test('caches built with the same bounds share one limits object; other bounds get their own, with their own GC slack', () => {
  const lim = (c: SeenCache): unknown => (c as unknown as { lim: unknown }).lim;
  const a = new SeenCache(100, 50, 10);
  const b = new SeenCache(100, 50, 10);
  const d = new SeenCache(100, 0, 10);
  assert.equal(lim(a), lim(b));
  assert.notEqual(lim(a), lim(d));
  const fired: number[] = [];
  const io = { timer: (ms: number): void => void fired.push(ms) };
  a.add('x', 0, P(1));
  a.armGc(49.5, io); // the payload expires at 50: the slack (min TTL 50 / 10 = 5) applies
  d.add('x', 0, P(1));
  d.armGc(99.5, io); // no payloads kept: the id expires at 100, slack 100 / 10 = 10
  assert.deepEqual(fired, [5, 10]);
});

test('the ring grows 4 → 12 → 18 → 27 (not through 8), entries and numbers intact across each growth; warm hints touch without changing', () => {
  const c = new SeenCache(1000, 500, 100);
  const cap = (): number => (c as unknown as { cap: number }).cap;
  const caps: number[] = [];
  for (let i = 0; i < 20; i++) {
    assert.equal(c.add(`m${i}`, i, P(i), i % 7), true);
    if (caps.at(-1) !== cap()) caps.push(cap());
    assert.equal(c.warm(), c.size + cap());
    assert.equal(c.warmArrays(), 4 * cap());
    assert.equal(c.warmRing(), 2); // the newest entry: its time (≥ 0) and its id
  }
  assert.deepEqual(caps, [4, 12, 18, 27]);
  for (let i = 0; i < 20; i++) {
    assert.equal(c.numberOf(`m${i}`), i);
    assert.deepEqual([c.payload(`m${i}`), c.round(`m${i}`)], [P(i), i % 7]);
  }
  assert.equal(new SeenCache(1000, 500, 100).warmRing(), 0);
});

test('a large cache (9,000 entries, a 3 MB payload bound): ids, numbers, payloads, rounds and expiry agree with a model through growth, eviction, expiry to empty and regrowth', () => {
  // The model: entries in insertion order from `first`, and id → entry number.
  const max = 9_000;
  const c = new SeenCache(5_000, 2_000, max, 3_000_000);
  const ids: string[] = [];
  const at: number[] = [];
  const pays: (Uint8Array | undefined)[] = [];
  const byId = new Map<string, number>();
  let first = 0;
  let payFirst = 0; // entries before it have no payload any more
  let payBytes = 0;
  const slab = new Uint8Array(1 << 16);
  for (let k = 0; k < slab.length; k++) slab[k] = k & 0xff;
  // Digest-like ids (16 latin1 characters) and short ones, so every index shard is used.
  const name = (i: number): string => (i % 3 === 0 ? `m${i}` : String.fromCharCode(...Array.from({ length: 16 }, (_, k) => (i * 131 + k * 977 + (i >> k % 8)) & 0xff)) + `${i}`);
  const dropFirst = (): void => {
    byId.delete(ids[first]);
    if (first >= payFirst && pays[first] !== undefined) payBytes -= (pays[first] as Uint8Array).byteLength;
    first++;
    payFirst = Math.max(payFirst, first);
  };
  const check = (label: string): void => {
    assert.equal(c.size, ids.length - first, label);
    let held = 0;
    for (let i = payFirst; i < ids.length; i++) if (pays[i] !== undefined) held++;
    assert.equal(c.payloadCount, held, label);
    assert.equal(c.payloadBytes, payBytes, label);
    for (let i = Math.max(0, first - 50); i < ids.length; i += i < first ? 1 : 7) {
      const live = i >= first;
      assert.equal(c.has(ids[i]), live, `${label}: has #${i}`);
      assert.equal(c.numberOf(ids[i]), live ? i : -1, `${label}: numberOf #${i}`);
      if (live) {
        assert.deepEqual(c.payload(ids[i]), i >= payFirst ? pays[i] : undefined, `${label}: payload #${i}`);
        assert.equal(c.round(ids[i]), i % 200, `${label}: round #${i}`);
      }
    }
    assert.equal(c.nextNumber, ids.length, label);
  };
  let now = 0;
  const addAt = (count: number, label: string): void => {
    for (let k = 0; k < count; k++) {
      const i = ids.length;
      const id = name(i);
      const pay = i % 5 === 4 ? undefined : slab.subarray(i % 1000, (i % 1000) + 1 + (i % 700));
      assert.equal(c.add(id, now, pay, i % 200), true);
      assert.equal(c.add(id, now, pay, i % 200), false);
      ids.push(id);
      at.push(now);
      pays.push(pay);
      byId.set(id, i);
      if (pay !== undefined) payBytes += pay.byteLength;
      if (ids.length - first > max) dropFirst();
      // The byte bound: oldest payloads first, never the newest.
      while (payBytes > 3_000_000 && payFirst < ids.length - 1) {
        if (pays[payFirst] !== undefined) payBytes -= (pays[payFirst] as Uint8Array).byteLength;
        payFirst++;
      }
      if (k % 1000 === 999) now++;
    }
    check(label);
  };
  addAt(4_100, 'past 4,096 entries');
  addAt(8_000, 'full, evicting');
  addAt(13_000, 'evicting, the ring wrapped');
  // Expiry: the payloads first, then the ids, part of the way and then to empty.
  now += 2_000 - 5;
  c.gc(now);
  while (payFirst < ids.length && at[payFirst] + 2_000 <= now) {
    if (pays[payFirst] !== undefined) payBytes -= (pays[payFirst] as Uint8Array).byteLength;
    payFirst++;
  }
  check('payloads expired in part');
  now += 3_000;
  c.gc(now);
  while (first < ids.length && at[first] + 5_000 <= now) dropFirst();
  assert.ok(first > 0 && first < ids.length);
  payFirst = ids.length; // every payload past its TTL by now
  payBytes = 0;
  c.gc(now);
  check('ids expired in part');
  assert.equal(c.nextExpiry(), at[first] + 5_000);
  now += 10_000;
  c.gc(now);
  while (first < ids.length) dropFirst();
  check('empty');
  assert.equal(c.nextExpiry(), Infinity);
  payFirst = ids.length;
  addAt(6_000, 'regrown from empty');
  const listed: number[] = [];
  c.forEachPayload((id, round) => {
    assert.equal(round, (byId.get(id) as number) % 200);
    listed.push(byId.get(id) as number);
  });
  assert.deepEqual(listed, ids.map((_, i) => i).filter((i) => i >= payFirst && pays[i] !== undefined));
});
