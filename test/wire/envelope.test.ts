import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  ENVELOPE_MAX_CHANNEL_BYTES,
  checkEnvelope,
  decodeEnvelope,
  encodeEnvelope,
  messageIdFor,
  type Envelope,
} from '../../src/wire/index.js';

const envelopeArb: fc.Arbitrary<Envelope> = fc.record({
  origin: fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
  seq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
  channel: fc.string({ unit: 'binary', maxLength: 40 }),
  timestamp: fc.integer({ min: 0, max: 2 ** 45 }),
  data: fc.uint8Array({ maxLength: 300 }),
}).map((e) => ({ ...e }));

test('envelope round trip', () => {
  fc.assert(
    fc.property(envelopeArb, (e) => {
      const b = encodeEnvelope(e);
      const r = decodeEnvelope(b);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.envelope, e);
    }),
    { numRuns: 300 },
  );
});

test('envelope layout is fixed', () => {
  const b = encodeEnvelope({ origin: 'a:1', seq: 300, channel: 'kv', timestamp: 5, data: new Uint8Array([9, 8]) });
  assert.deepEqual([...b], [1, 3, 0x61, 0x3a, 0x31, 0xac, 0x02, 2, 0x6b, 0x76, 5, 9, 8]);
});

test('envelope bounds: encode refuses with the field name, decode never throws', () => {
  const ok: Envelope = { origin: 'a:1', seq: 0, channel: '', timestamp: 0, data: new Uint8Array() };
  const bad: Array<[Partial<Envelope>, RegExp]> = [
    [{ origin: '' }, /envelope\.origin must be 1\.\.320 bytes, got 0/],
    [{ origin: 'x'.repeat(321) }, /envelope\.origin/],
    [{ seq: -1 }, /envelope\.seq/],
    [{ seq: 1.5 }, /envelope\.seq/],
    [{ seq: 2 ** 53 }, /envelope\.seq/],
    [{ channel: 'c'.repeat(ENVELOPE_MAX_CHANNEL_BYTES + 1) }, /envelope\.channel is 256 bytes, limit 255/],
    [{ timestamp: -5 }, /envelope\.timestamp/],
    [{ data: [1, 2] as unknown as Uint8Array }, /envelope\.data/],
  ];
  for (const [patch, re] of bad) {
    const e = { ...ok, ...patch };
    assert.match(checkEnvelope(e) ?? '', re);
    assert.throws(() => encodeEnvelope(e), (err: Error) => err instanceof RangeError && re.test(err.message));
  }
  assert.equal(checkEnvelope(ok), null);
  const cases: Array<[number[], RegExp]> = [
    [[], /truncated envelope\.version/],
    [[2, 1, 0x61, 0, 0, 0], /version 2 unsupported/],
    [[1, 0, 0, 0, 0], /envelope\.origin: empty/],
    [[1, 5, 0x61], /truncated envelope\.origin/],
    [[1, 1, 0x61, 0x80], /truncated envelope\.seq/],
    [[1, 1, 0x61, 0, 1, 0xff, 0], /envelope\.channel: invalid UTF-8/],
  ];
  for (const [bytes, re] of cases) {
    const r = decodeEnvelope(new Uint8Array(bytes));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, re);
  }
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
      const r = decodeEnvelope(b);
      if (r.ok) assert.deepEqual(encodeEnvelope(r.envelope), b);
    }),
    { numRuns: 1000 },
  );
});

test('messageIdFor is the hex of the first 16 bytes of SHA-256', () => {
  const b = new TextEncoder().encode('abc');
  assert.equal(messageIdFor(b), 'ba7816bf8f01cfea414140de5dae2223');
  assert.equal(messageIdFor(b), createHash('sha256').update(b).digest('hex').slice(0, 32));
  const e1 = encodeEnvelope({ origin: 'a:1', seq: 1, channel: 'c', timestamp: 0, data: b });
  const e2 = encodeEnvelope({ origin: 'a:1', seq: 2, channel: 'c', timestamp: 0, data: b });
  assert.notEqual(messageIdFor(e1), messageIdFor(e2));
});
