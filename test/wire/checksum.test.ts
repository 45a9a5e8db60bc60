// Checksum verification on receipt (src/wire/frame.ts): large `gossip` frames have their CRC
// checked inside the body reader (over the payload view), small frames in JS, the rest
// natively. Whatever the path, any single corrupted byte must be reported as `bad-checksum`,
// never as another error, never accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { decodeFrame, encodeFrame, FrameDecoder, messageIdFor, type WireMessage } from '../../src/wire/index.js';
import { forgetGossip } from '../../src/wire/forward.js';

function enc(msg: WireMessage): Uint8Array {
  const r = encodeFrame(msg);
  if (!r.ok) throw new Error(`encode failed: ${r.reason}`);
  return r.frame.slice();
}

function gossipFrame(size: number, round: number): Uint8Array {
  const payload = new Uint8Array(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 37 + 11) & 0xff;
  return enc({ type: 'gossip', id: messageIdFor(payload), round, payload });
}

/** Decode `frame` three ways: one-shot, through a stream decoder that copies, and through one
 *  that adopts its chunks (payload views kept), the frame in the middle of a larger chunk. */
function decodeAllWays(frame: Uint8Array): Array<{ ok: boolean; error?: string }> {
  const out: Array<{ ok: boolean; error?: string }> = [];
  const one = decodeFrame(frame);
  out.push(one.ok ? { ok: true } : { ok: false, error: one.error });
  for (const adoptChunks of [false, true]) {
    const pad = enc({ type: 'ping', seq: 7 });
    const chunk = new Uint8Array(pad.length * 2 + frame.length);
    chunk.set(pad, 0);
    chunk.set(frame, pad.length);
    chunk.set(pad, pad.length + frame.length);
    const d = new FrameDecoder(undefined, { adoptChunks });
    d.push(chunk);
    const first = d.next();
    assert.ok(first !== null && first.ok && first.msg.type === 'ping');
    const r = d.next();
    assert.ok(r !== null);
    out.push(r.ok ? { ok: true } : { ok: false, error: r.error });
    const last = d.next();
    assert.ok(last !== null && last.ok && last.msg.type === 'ping', 'framing continues after the frame');
  }
  return out;
}

test('a valid large gossip frame decodes the same on every path', () => {
  forgetGossip();
  const f = gossipFrame(1024, 3);
  assert.deepEqual(decodeAllWays(f), [{ ok: true }, { ok: true }, { ok: true }]);
  const r = decodeFrame(f);
  assert.ok(r.ok && r.msg.type === 'gossip');
  if (r.ok && r.msg.type === 'gossip') {
    assert.equal(r.msg.round, 3);
    assert.equal(r.msg.payload.length, 1024);
    assert.equal(r.msg.payload[1023], (1023 * 37 + 11) & 0xff);
  }
});

test('any flipped byte of a large gossip frame (after the length prefix) is a bad checksum', () => {
  const f = gossipFrame(300, 200);
  fc.assert(
    fc.property(fc.integer({ min: 4, max: f.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
      const g = f.slice();
      g[at] ^= x;
      for (const r of decodeAllWays(g)) assert.deepEqual(r, { ok: false, error: 'bad-checksum' });
    }),
    { numRuns: 300 },
  );
});

test('a flipped byte of a small frame (JS checksum) is a bad checksum', () => {
  const id = messageIdFor(new Uint8Array([1, 2, 3]));
  const frames = [enc({ type: 'ihave', entries: [{ id, round: 4 }] }), enc({ type: 'graft', id, round: 1 }), enc({ type: 'ping', seq: 9 })];
  for (const f of frames) {
    for (let at = 4; at < f.length; at++) {
      const g = f.slice();
      g[at] ^= 0x40;
      for (const r of decodeAllWays(g)) assert.deepEqual(r, { ok: false, error: 'bad-checksum' }, `byte ${at} of ${f.length}`);
    }
  }
});

test('encoded checksums equal the native CRC-32C for small and large frames', () => {
  const id = messageIdFor(new Uint8Array([5]));
  const entries = Array.from({ length: 40 }, (_, i) => ({ id, round: i }));
  for (const f of [enc({ type: 'ihave', entries: [{ id, round: 1 }] }), enc({ type: 'ihave', entries }), gossipFrame(500, 1)]) {
    const stored = new DataView(f.buffer, f.byteOffset).getUint32(f.length - 4);
    assert.equal(stored, crc32c(f.subarray(4, f.length - 4)));
  }
});

test('a large gossip frame with a bad version and a bad checksum reports the checksum', () => {
  const f = gossipFrame(400, 1);
  const g = f.slice();
  g[4] = 250; // version byte: unsupported, and the checksum no longer matches
  for (const r of decodeAllWays(g)) assert.deepEqual(r, { ok: false, error: 'bad-checksum' });
  // Checksum fixed: the version is the error.
  new DataView(g.buffer).setUint32(g.length - 4, crc32c(g.subarray(4, g.length - 4)));
  for (const r of decodeAllWays(g)) assert.deepEqual(r, { ok: false, error: 'unsupported-version' });
});
