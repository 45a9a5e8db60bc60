import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { FrameDecoder, decodeFrame, encodeFrame, messageIdFor, type DecodeResult, type WireMessage } from '../../src/wire/index.js';
import { anyMessageArb, sampleMessages } from './arbitraries.js';

function enc(msg: WireMessage): Uint8Array {
  const r = encodeFrame(msg);
  if (!r.ok) throw new Error(r.reason);
  return r.frame;
}

/** Feed `bytes` in chunks of the given sizes, draining after each; returns every result.
 *  Fails if the decoder yields more results than bytes (it would be looping). */
function drain(bytes: Uint8Array, cuts: number[]): DecodeResult[] {
  const d = new FrameDecoder();
  const out: DecodeResult[] = [];
  let pos = 0;
  let i = 0;
  while (pos < bytes.length) {
    const n = cuts.length > 0 ? cuts[i++ % cuts.length] : bytes.length;
    d.push(bytes.subarray(pos, pos + n));
    pos += n;
    for (let r = d.next(); r !== null; r = d.next()) {
      out.push(r);
      if (!r.ok && r.fatal) return out;
      assert.ok(out.length <= bytes.length, 'decoder yields more results than bytes');
    }
  }
  return out;
}

test('random bytes never throw or hang, in any chunking, and are rejected with a reason', () => {
  // A random byte string is a frame only if its length prefix, version and CRC-32C all match
  // (p < 2^-40 per sample): every result must be a rejection that names its error.
  const rejected = (r: DecodeResult, how: string): void => {
    assert.equal(r.ok, false, `${how}: random bytes accepted: ${JSON.stringify(r)}`);
    if (!r.ok) assert.ok(r.error.length > 0 && r.detail.length > 0, `${how}: rejection without a reason: ${JSON.stringify(r)}`);
  };
  let results = 0;
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 8 }), (bytes, cuts) => {
      for (const r of drain(bytes, cuts)) {
        rejected(r, 'FrameDecoder');
        results++;
      }
      rejected(decodeFrame(bytes), 'decodeFrame');
    }),
    { numRuns: 400 },
  );
  // The stream decoder waits for a whole frame, so some samples yield nothing; most yield a
  // rejection (a bad length or checksum is found as soon as the header or frame is complete).
  assert.ok(results > 0, 'the stream decoder rejected nothing at all');
});

test('random bodies behind a well-formed header and valid checksum never throw; accepted ones re-encode identically', () => {
  const seen: Record<string, number> = {};
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 60 }), fc.uint8Array({ maxLength: 200 }), (code, body) => {
      const f = new Uint8Array(10 + body.length);
      const dv = new DataView(f.buffer);
      dv.setUint32(0, f.length - 4);
      f[4] = 1;
      f[5] = code;
      f.set(body, 6);
      dv.setUint32(f.length - 4, crc32c(f.subarray(4, f.length - 4)));
      const r = decodeFrame(f);
      seen[r.ok ? 'ok' : r.error] = (seen[r.ok ? 'ok' : r.error] ?? 0) + 1;
      if (r.ok) assert.deepEqual(enc(r.msg), f);
    }),
    { numRuns: 2000 },
  );
  // Both outcomes must occur, or the property tested nothing.
  assert.ok(seen.ok > 0 && seen.malformed > 0 && seen['unknown-type'] > 0, JSON.stringify(seen));
});

test('mutated valid frames (byte edits, checksum fixed) never throw; accepted ones are canonical', () => {
  const seen: Record<string, number> = {};
  const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
  fc.assert(
    fc.property(anyMessageArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (msg, muts) => {
      const f = enc(msg).slice();
      const bodyLen = f.length - 10;
      if (bodyLen === 0) return;
      for (const m of muts) f[6 + (m.at % bodyLen)] = m.value;
      new DataView(f.buffer).setUint32(f.length - 4, crc32c(f.subarray(4, f.length - 4)));
      const r = decodeFrame(f);
      seen[r.ok ? 'ok' : 'rejected'] = (seen[r.ok ? 'ok' : 'rejected'] ?? 0) + 1;
      if (r.ok) assert.deepEqual(enc(r.msg), f);
    }),
    { numRuns: 1000 },
  );
  assert.ok(seen.ok > 0 && seen.rejected > 0, JSON.stringify(seen));
});

test('truncated and extended frames never throw and are never accepted', () => {
  fc.assert(
    fc.property(anyMessageArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }), (msg, cut, extra) => {
      const f = enc(msg);
      const short = f.subarray(0, cut % f.length);
      assert.equal(decodeFrame(short).ok, false);
      assert.equal(drain(short, [7]).length === 0 || drain(short, [7]).every((r) => !r.ok), true);
      const long = new Uint8Array(f.length + extra.length);
      long.set(f);
      long.set(extra, f.length);
      const r = decodeFrame(long);
      assert.ok(!r.ok && r.error === 'bad-length' && r.fatal);
    }),
    { numRuns: 300 },
  );
});

test('EVERY single-bit flip of every sample frame is rejected (decodeFrame and FrameDecoder)', () => {
  let flips = 0;
  const marker = enc({ type: 'ping', seq: 424242 });
  for (const msg of sampleMessages()) {
    const frame = enc(msg);
    for (let bit = 0; bit < frame.length * 8; bit++) {
      const f = frame.slice();
      f[bit >> 3] ^= 1 << (bit & 7);
      const r = decodeFrame(f);
      assert.equal(r.ok, false, `${msg.type}: flip of bit ${bit} accepted`);
      // As a stream followed by a valid marker frame: the flipped frame yields no message;
      // the only message that may come out is the marker (if framing survived).
      const results = drain(Buffer.concat([f, marker]), [f.length, marker.length]);
      for (const x of results) {
        if (x.ok) assert.deepEqual(x.msg, { type: 'ping', seq: 424242 }, `${msg.type}: stream flip of bit ${bit} accepted`);
      }
      flips++;
    }
  }
  assert.ok(flips > 5000, `only ${flips} flips tested`);
});

test('EVERY single-bit flip of a 1 KiB gossip frame is rejected', () => {
  const payload = new Uint8Array(1024).map((_, i) => (i * 131 + 7) & 0xff);
  const frame = enc({ type: 'gossip', id: messageIdFor(payload), round: 4, payload });
  for (let bit = 0; bit < frame.length * 8; bit++) {
    const f = frame.slice();
    f[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(decodeFrame(f).ok, false, `flip of bit ${bit} accepted`);
  }
});
