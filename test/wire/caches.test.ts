import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, encodeFrame, type WireMessage } from '../../src/wire/index.js';

function roundTrip(msg: WireMessage): WireMessage {
  const enc = encodeFrame(msg);
  assert.ok(enc.ok, JSON.stringify(enc));
  const dec = decodeFrame(enc.frame);
  assert.ok(dec.ok, JSON.stringify(dec));
  return dec.msg;
}

// The id cache is direct-mapped on the first three hex digits: these ids share slots.
const A = 'abcd' + '0'.repeat(28);
const B = 'abcd' + 'f'.repeat(28);
const NOT_HEX = 'abcd' + 'X'.repeat(28); // 32 chars, same slot, not hex: travels as a string id

test('hex-id cache: ids sharing a slot, and a non-hex id in that slot, encode and decode exactly', () => {
  for (const ids of [[A, B, A], [B, NOT_HEX, A, NOT_HEX, B], [NOT_HEX, A]]) {
    const msg: WireMessage = { type: 'ihave', entries: ids.map((id, i) => ({ id, round: i })) };
    assert.deepEqual(roundTrip(msg), msg);
    for (const id of ids) assert.deepEqual(roundTrip({ type: 'graft', id, round: 1 }), { type: 'graft', id, round: 1 });
  }
  // Raw form for hex ids (17 bytes each), string form for the other one.
  const hex = encodeFrame({ type: 'graft', id: A, round: 0 });
  const str = encodeFrame({ type: 'graft', id: NOT_HEX, round: 0 });
  assert.ok(hex.ok && str.ok);
  assert.equal(str.frame.length - hex.frame.length, 16 + 1);
});

test('string interning: many distinct peer ids of equal length decode to the right strings', () => {
  const peers: string[] = [];
  for (let i = 0; i < 600; i++) peers.push(`10.0.${i >> 8}.${i & 255}:${7000 + (i % 10)}`);
  for (let k = 0; k < 3; k++) {
    for (let i = 0; i + 8 <= peers.length; i += 8) {
      const msg: WireMessage = { type: 'shuffle-reply', peers: peers.slice(i, i + 8) };
      assert.deepEqual(roundTrip(msg), msg);
    }
  }
  // Non-ASCII strings bypass the cache.
  const msg: WireMessage = { type: 'shuffle-reply', peers: ['héllo:1', 'hello:1', 'héllo:1'] };
  assert.deepEqual(roundTrip(msg), msg);
});

test('hex-id cache on read: cached ids decode exactly; slot mates never alias', () => {
  assert.equal((roundTrip({ type: 'graft', id: A, round: 0 }) as { id: string }).id, A);
  assert.equal((roundTrip({ type: 'graft', id: A, round: 0 }) as { id: string }).id, A, 'a cache hit');
  // B shares A's slot: reading it replaces the entry; A is then read (and cached) anew, exactly.
  const b = roundTrip({ type: 'ihave', entries: [{ id: B, round: 1 }, { id: A, round: 2 }, { id: B, round: 3 }] });
  assert.deepEqual(b, { type: 'ihave', entries: [{ id: B, round: 1 }, { id: A, round: 2 }, { id: B, round: 3 }] });
  // Ids that differ only in their last byte (same slot) never alias.
  const C = A.slice(0, 30) + '01';
  assert.equal((roundTrip({ type: 'graft', id: C, round: 0 }) as { id: string }).id, C);
  assert.equal((roundTrip({ type: 'graft', id: A, round: 0 }) as { id: string }).id, A);
});
