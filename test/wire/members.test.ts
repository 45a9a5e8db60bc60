import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMembers, encodeMembers, membersSize, MEMBERS_CHANNEL, MEMBERS_TYPE_CODES } from '../../src/wire/members.js';
import { encodeFrame } from '../../src/wire/frame.js';
import { BUCKETS, pack, type MembersMessage } from '../../src/proto/members/types.js';

const hashes = Array.from({ length: BUCKETS }, (_, i) => (i * 2654435761) >>> 0);
const SAMPLES: MembersMessage<string>[] = [
  { type: 'm-ping', seq: 1, ids: [], states: [] },
  { type: 'm-ack', seq: 0xffffffff, ids: ['a:1'], states: [pack(2, 1)] },
  { type: 'm-nack', seq: 77 },
  { type: 'm-ping-req', seq: 9, target: '10.0.0.1:7946' },
  { type: 'm-alert', subject: 'host-é:1', state: pack(12, 1) },
  { type: 'm-changes', ids: ['a:1', 'b:2'], states: [pack(0, 0), pack(0xffffffff, 3)], metas: null, sync: false },
  { type: 'm-changes', ids: ['a:1', 'b:2'], states: [pack(3, 0), pack(1, 2)], metas: [{ name: 'web-1', tags: { role: 'web', dc: 'eu' } }, null], sync: true },
  { type: 'm-sync', count: 10_000, hashes, join: false },
  { type: 'm-digest', buckets: [0, 63], ids: ['a:1'], states: [pack(5, 2)] },
  { type: 'm-meta-req', ids: ['a:1', '10.0.0.2:7946'] },
  { type: 'm-prune', graft: false },
  { type: 'm-prune', graft: true },
  { type: 'm-tally', counts: Array.from({ length: BUCKETS }, (_, i) => i * 1000), want: [] },
  { type: 'm-tally', counts: [], want: [0, 5, 63] },
];

test('members codec: every message type round-trips, and membersSize is the exact direct-frame size', () => {
  for (const msg of SAMPLES) {
    const e = encodeMembers(msg);
    assert.ok(e.ok, e.ok ? '' : e.reason);
    assert.equal(e.data[0], 1, 'codec version');
    assert.equal(e.data[1], MEMBERS_TYPE_CODES[msg.type]);
    const d = decodeMembers(e.data);
    assert.deepEqual(d, { ok: true, msg });
    const frame = encodeFrame({ type: 'direct', channel: MEMBERS_CHANNEL, data: e.data });
    assert.ok(frame.ok);
    assert.equal(membersSize(msg, (p) => Buffer.byteLength(p) + 1), frame.frame.length, `${msg.type} size`);
  }
});

test('members codec: bad input is refused at encode and rejected at decode with a reason', () => {
  assert.deepEqual(encodeMembers({ type: 'm-ping', seq: -1, ids: [], states: [] }), { ok: false, reason: 'm-ping: seq: bad value -1' });
  assert.deepEqual(encodeMembers({ type: 'm-changes', ids: ['a'], states: [], metas: null, sync: false }), { ok: false, reason: 'm-changes: ids and states differ in length' });
  assert.deepEqual(encodeMembers({ type: 'm-sync', count: 1, hashes: [1], join: false }), { ok: false, reason: `m-sync: hashes: expected ${BUCKETS}, got 1` });
  assert.deepEqual(encodeMembers({ type: 'm-ping-req', seq: 1, target: 'x'.repeat(400) }), { ok: false, reason: 'm-ping-req: target: 400 bytes, limit 320' });
  assert.deepEqual(decodeMembers(new Uint8Array([2, 1, 1])), { ok: false, reason: 'unsupported membership codec version 2' });
  assert.deepEqual(decodeMembers(new Uint8Array([1, 99])), { ok: false, reason: 'unknown membership message type code 99' });
  assert.deepEqual(decodeMembers(new Uint8Array([1, 1, 1, 0, 0])), { ok: false, reason: 'm-ping: 1 trailing bytes' });
  const e = encodeMembers(SAMPLES[6]);
  assert.ok(e.ok);
  // Every truncation and every single-byte corruption is either rejected or decodes to a
  // well-formed message: never a throw.
  for (let i = 0; i < e.data.length; i++) {
    const r = decodeMembers(e.data.subarray(0, i));
    assert.equal(r.ok, false, `truncated at ${i}`);
    for (const v of [0, 0x7f, 0xff]) {
      const c = e.data.slice();
      c[i] = v;
      decodeMembers(c);
    }
  }
  assert.deepEqual(encodeMembers({ type: 'm-meta-req', ids: Array.from({ length: 65 }, (_, i) => `h${i}:1`) }), { ok: false, reason: 'm-meta-req: 65 ids, limit 64' });
  assert.deepEqual(decodeMembers(new Uint8Array([1, 9, 65])), { ok: false, reason: 'limit-exceeded: id count: 65 exceeds 64' });
  // A huge entry count with few bytes is refused before allocating.
  assert.equal(decodeMembers(new Uint8Array([1, 5, 0, 0xff, 0xff, 0x03])).ok, false);
});

test('members codec: an m-changes batch shared among links (`skip`) encodes only the entries left in, exactly as their copy; membersSize agrees', () => {
  const ids = Array.from({ length: 40 }, (_, i) => `10.0.0.${i}:7946`);
  const states = ids.map((_, i) => pack(i, i % 3));
  const metas = ids.map((_, i) => (i === 33 ? { name: 'n33', tags: { role: 'db' } } : null));
  const peerBytes = (p: string): number => Buffer.byteLength(p) + 1;
  const cases: { skip: number[]; kept: number[] }[] = [
    // Entries 0 and 31 out (word 0), 32..39 in: the meta of 33 kept, so metas are encoded.
    { skip: [1 | (1 << 31), 0], kept: ids.map((_, i) => i).filter((i) => i !== 0 && i !== 31) },
    // 33 (the only meta) out: metas are not encoded at all, as a copy without metas.
    { skip: [0, 1 << 1], kept: ids.map((_, i) => i).filter((i) => i !== 33) },
    // Every entry but 5 out.
    { skip: [~(1 << 5), 0xff], kept: [5] },
  ];
  for (const { skip, kept } of cases) {
    const shared: MembersMessage<string> = { type: 'm-changes', ids, states, metas, sync: false, skip };
    const keptMetas = kept.map((i) => metas[i]);
    const copy: MembersMessage<string> = {
      type: 'm-changes',
      ids: kept.map((i) => ids[i]),
      states: kept.map((i) => states[i]),
      metas: keptMetas.some((x) => x !== null) ? keptMetas : null,
      sync: false,
    };
    const a = encodeMembers(shared);
    const b = encodeMembers(copy);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.data, b.data, `skip ${JSON.stringify(skip)}: the same bytes as the copy`);
    assert.deepEqual(decodeMembers(a.data), { ok: true, msg: copy }, 'decoded: the kept entries, no skip field');
    assert.equal(membersSize(shared, peerBytes), membersSize(copy, peerBytes), 'sized as the copy');
    const frame = encodeFrame({ type: 'direct', channel: MEMBERS_CHANNEL, data: a.data });
    assert.ok(frame.ok);
    assert.equal(membersSize(shared, peerBytes), frame.frame.length);
  }
  assert.deepEqual(encodeMembers({ type: 'm-changes', ids, states, metas: null, sync: false, skip: [0] }), {
    ok: false,
    reason: 'm-changes: skip: 1 words for 40 entries, expected 2',
  });
});

test('members codec: m-tally is bounded (0 or BUCKETS counts, want buckets below BUCKETS) with a clear reason', () => {
  assert.deepEqual(encodeMembers({ type: 'm-tally', counts: [1, 2], want: [] }), { ok: false, reason: `m-tally: counts: expected 0 or ${BUCKETS}, got 2` });
  assert.deepEqual(encodeMembers({ type: 'm-tally', counts: [], want: [64] }), { ok: false, reason: 'm-tally: want: bad list' });
  assert.deepEqual(encodeMembers({ type: 'm-tally', counts: new Array<number>(BUCKETS).fill(-1), want: [] }), { ok: false, reason: 'm-tally: counts: bad value' });
  assert.deepEqual(decodeMembers(new Uint8Array([1, 11, 3, 0, 0, 0, 0])), { ok: false, reason: `malformed: count count: expected 0 or ${BUCKETS}, got 3` });
  assert.deepEqual(decodeMembers(new Uint8Array([1, 11, 0, 65])), { ok: false, reason: `limit-exceeded: want count: 65, limit ${BUCKETS}` });
  assert.deepEqual(decodeMembers(new Uint8Array([1, 11, 0, 1, 64])), { ok: false, reason: `malformed: want: 64 is not below ${BUCKETS}` });
  assert.equal(decodeMembers(new Uint8Array([1, 11, 0, 1])).ok, false, 'truncated want list');
});

test('members codec: tags decode as a plain object; a `__proto__` tag key is an own tag, never the prototype', () => {
  const wire = encodeMembers({ type: 'm-changes', ids: ['a:1'], states: [pack(1, 0)], metas: [{ name: 'n1', tags: { role: 'web' } }], sync: false });
  assert.ok(wire.ok);
  // A meta whose tag key is `__proto__` (an own property of the given tags).
  const tags: Record<string, string> = { a: '1' };
  Object.defineProperty(tags, '__proto__', { value: 'x', enumerable: true, writable: true, configurable: true });
  tags.z = '2';
  const e = encodeMembers({ type: 'm-changes', ids: ['a:1'], states: [pack(1, 0)], metas: [{ name: 'n1', tags }], sync: false });
  assert.ok(e.ok, e.ok ? '' : e.reason);
  const d = decodeMembers(e.data);
  assert.ok(d.ok && d.msg.type === 'm-changes' && d.msg.metas !== null);
  const got = d.msg.metas[0]!.tags;
  assert.equal(Object.getPrototypeOf(got), Object.prototype, 'a plain object');
  assert.deepEqual(Object.keys(got), ['a', '__proto__', 'z'], 'every key, in wire order');
  assert.equal(Object.getOwnPropertyDescriptor(got, '__proto__')?.value, 'x', '`__proto__` is an own tag');
  assert.equal((got as { a?: string }).a, '1');
  const first = decodeMembers(wire.data);
  assert.ok(first.ok && first.msg.type === 'm-changes');
  assert.deepEqual(first.msg.metas, [{ name: 'n1', tags: { role: 'web' } }]);
});
