// UDP heartbeat datagrams (src/wire/datagram.ts): exact layout, bounds named at encode, every
// kind of bad datagram rejected with its reason, and random garbage never throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import {
  DATAGRAM_TYPE_CODES,
  FrameDecoder,
  MAX_DATAGRAM_BYTES,
  TYPE_CODES,
  decodeDatagram,
  decodeFrame,
  encodeDatagram,
  encodeFrame,
  type Datagram,
} from '../../src/wire/index.js';
import { reframe } from './frames.js';

function enc(d: Datagram): Uint8Array {
  const r = encodeDatagram(d);
  if (!r.ok) throw new Error(r.reason);
  return r.frame;
}


const TOKEN = '0123456789abcdef';
const TOKEN_BYTES = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef];
const tokenArb = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex'));
const dgramArb = fc.record({
  type: fc.constantFrom('hb-ping' as const, 'hb-pong' as const),
  token: tokenArb,
  seq: fc.integer({ min: 0, max: 0xffffffff }),
});

test('datagram layout: stream framing, 8 raw token bytes, varint seq; 19 bytes for a small seq', () => {
  const d = enc({ type: 'hb-ping', token: TOKEN, seq: 300 });
  assert.deepEqual([...d.subarray(0, 16)], [0, 0, 0, 16, 1, DATAGRAM_TYPE_CODES['hb-ping'], ...TOKEN_BYTES, 0xac, 0x02]);
  assert.equal(new DataView(d.buffer).getUint32(16), crc32c(d.subarray(4, 16)));
  assert.equal(d.length, 20);
  assert.equal(enc({ type: 'hb-pong', token: TOKEN, seq: 5 }).length, 19, 'with IPv4 + UDP headers: 47 bytes on the wire');
  assert.equal(enc({ type: 'hb-pong', token: TOKEN, seq: 0xffffffff }).length, MAX_DATAGRAM_BYTES);
  // Datagram codes sit in the gap the stream table reserves for them.
  const streamCodes = new Set<number>(Object.values(TYPE_CODES));
  for (const c of Object.values(DATAGRAM_TYPE_CODES)) assert.equal(streamCodes.has(c), false);
});

test('round trip: every hb-ping / hb-pong decodes to what was encoded', () => {
  fc.assert(
    fc.property(dgramArb, (d) => {
      const r = decodeDatagram(enc(d));
      assert.deepEqual(r, { ok: true, dgram: { ...d } });
    }),
    { numRuns: 500 },
  );
});

test('encode names the bad field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ type: 'hb-ping', token: 'ABCDEF0123456789', seq: 1 }, /hb-ping\.token/],
    [{ type: 'hb-ping', token: '0123', seq: 1 }, /hb-ping\.token/],
    [{ type: 'hb-pong', token: TOKEN, seq: -1 }, /hb-pong\.seq/],
    [{ type: 'hb-pong', token: TOKEN, seq: 2 ** 32 }, /hb-pong\.seq/],
    [{ type: 'ping', token: TOKEN, seq: 1 }, /datagram\.type/],
    [null, /object/],
  ];
  for (const [d, re] of cases) {
    const r = encodeDatagram(d as Datagram);
    assert.equal(r.ok, false, JSON.stringify(d));
    if (!r.ok) assert.match(r.reason, re);
  }
});

test('decode rejects each kind of bad datagram with its reason', () => {
  const good = enc({ type: 'hb-pong', token: TOKEN, seq: 7 });
  const flipped = good.slice();
  flipped[10] ^= 0x04;
  const prefix = good.slice();
  prefix[3] += 1;
  const cases: Array<[Uint8Array, string]> = [
    [new Uint8Array(5), 'bad-length'],
    [new Uint8Array(MAX_DATAGRAM_BYTES + 1), 'frame-too-large'],
    [prefix, 'bad-length'],
    [flipped, 'bad-checksum'],
    [reframe(2, 8, [...TOKEN_BYTES, 1]), 'unsupported-version'],
    [reframe(0, 8, [...TOKEN_BYTES, 1]), 'unsupported-version'],
    [reframe(1, TYPE_CODES.ping, [...TOKEN_BYTES, 1]), 'unknown-type'],
    [reframe(1, 8, [...TOKEN_BYTES, 0x81, 0x00]), 'malformed'],
    [reframe(1, 8, [...TOKEN_BYTES, 1, 0]), 'malformed'],
    [reframe(1, 9, [...TOKEN_BYTES, 0x80, 0x80, 0x80, 0x80, 0x10]), 'limit-exceeded'],
  ];
  for (const [b, reason] of cases) {
    const r = decodeDatagram(b);
    assert.equal(r.ok, false, `${reason}: ${JSON.stringify(r)}`);
    if (!r.ok) assert.equal(r.error, reason, r.detail);
  }
  assert.equal(decodeDatagram('x' as unknown as Uint8Array).ok, false);
});

test('EVERY single-bit flip of a datagram is rejected', () => {
  const good = enc({ type: 'hb-ping', token: 'fedcba9876543210', seq: 123456 });
  for (let bit = 0; bit < good.length * 8; bit++) {
    const b = good.slice();
    b[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(decodeDatagram(b).ok, false, `bit ${bit}`);
  }
});

test('random bytes never throw and are never accepted: 0 of 3000 samples, each rejection with a reason', () => {
  // A random datagram passes only if its length prefix, version, type code and CRC-32C all
  // happen to match (p < 2^-40 per sample): over 3000 samples, acceptances must be 0.
  let accepted = 0;
  let samples = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      samples++;
      const r = decodeDatagram(b);
      if (r.ok) accepted++;
      else assert.ok(r.error.length > 0 && r.detail.length > 0, `rejection without a reason: ${JSON.stringify(r)}`);
    }),
    { numRuns: 3000 },
  );
  assert.equal(samples, 3000);
  assert.equal(accepted, 0, `${accepted} of ${samples} random byte strings accepted as datagrams`);
  // Valid framing (length, version, checksum) around a random body: decoded as the type the
  // code says, or rejected with a reason, never a throw; both outcomes occur.
  const seen = { ok: 0, rejected: 0 };
  fc.assert(
    fc.property(fc.constantFrom(8, 9), fc.uint8Array({ maxLength: 14 }), (code, body) => {
      const r = decodeDatagram(reframe(1, code, [...body]));
      if (r.ok) {
        seen.ok++;
        assert.equal(r.dgram.type, code === 8 ? 'hb-ping' : 'hb-pong');
      } else {
        seen.rejected++;
        assert.ok(r.error.length > 0 && r.detail.length > 0, JSON.stringify(r));
      }
    }),
    { numRuns: 2000 },
  );
  assert.ok(seen.ok > 0 && seen.rejected > 0, JSON.stringify(seen));
});

test('a datagram inside a TCP stream is an unknown type (dropped, not fatal); udp-token is a stream frame', () => {
  const d = enc({ type: 'hb-ping', token: TOKEN, seq: 1 });
  const r = decodeFrame(d);
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual([r.error, r.fatal], ['unknown-type', false]);
  const t = encodeFrame({ type: 'udp-token', token: TOKEN });
  assert.ok(t.ok);
  assert.deepEqual([...t.frame], [...reframe(1, TYPE_CODES['udp-token'], TOKEN_BYTES)]);
  const dec = new FrameDecoder();
  dec.push(Buffer.concat([d, t.frame]));
  assert.equal(dec.next()?.ok, false);
  assert.deepEqual(dec.next(), { ok: true, msg: { type: 'udp-token', token: TOKEN }, bytes: 18 });
  const bad = encodeFrame({ type: 'udp-token', token: 'nothex!!nothex!!' });
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.reason, /udp-token\.token/);
  const short = decodeFrame(reframe(1, TYPE_CODES['udp-token'], [1, 2, 3]));
  assert.equal(short.ok, false);
  if (!short.ok) assert.equal(short.error, 'malformed');
});
