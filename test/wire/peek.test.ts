// Looking at a frame before decoding it (src/wire/peek.ts, FrameDecoder.peek/skip): used by the
// runtime to drop a flooding peer's own gossip unread (src/net/gossip-inbound.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_WIRE_LIMITS, encodeEnvelope, encodeFrame, envelopeOriginRange, FrameDecoder, gossipFromOrigin, gossipOriginRange, messageIdFor, type WireMessage } from '../../src/wire/index.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function frame(msg: WireMessage): Uint8Array {
  const r = encodeFrame(msg);
  if (!r.ok) throw new Error(r.reason);
  return r.frame;
}

function gossipFrame(origin: string, seq: number, size = 64): Uint8Array {
  const payload = encodeEnvelope({ origin, seq, channel: 'c', timestamp: 1_700_000_000_000, data: new Uint8Array(size) });
  return frame({ type: 'gossip', id: messageIdFor(payload), round: 3, payload });
}

test('gossipFromOrigin: true only for a gossip frame whose envelope names that origin', () => {
  const f = gossipFrame('127.0.0.1:7001', 5);
  assert.equal(gossipFromOrigin(f, utf8('127.0.0.1:7001')), true);
  assert.equal(gossipFromOrigin(f, utf8('127.0.0.1:7002')), false, 'another origin');
  assert.equal(gossipFromOrigin(f, utf8('127.0.0.1:700')), false, 'a prefix of the origin');
  // Payloads whose length varint takes 2 and 3 bytes.
  assert.equal(gossipFromOrigin(gossipFrame('a:1', 1, 300), utf8('a:1')), true);
  assert.equal(gossipFromOrigin(gossipFrame('a:1', 1, 20_000), utf8('a:1')), true);
  assert.equal(gossipFromOrigin(frame({ type: 'ping', seq: 1 }), utf8('127.0.0.1:7001')), false, 'not gossip');
  for (let n = 0; n < f.length; n++) assert.equal(gossipFromOrigin(f.subarray(0, n), utf8('127.0.0.1:7001')), false, `truncated to ${n}`);
});

test('gossipOriginRange: where the origin lies, only for a gossip frame with a well-formed header', () => {
  const out = new Int32Array(2);
  for (const [origin, size] of [['127.0.0.1:7001', 64], ['a:1', 300], ['ü:2', 20_000]] as const) {
    const f = gossipFrame(origin, 5, size);
    assert.equal(gossipOriginRange(f, out), true);
    assert.deepEqual(f.subarray(out[0], out[0] + out[1]), utf8(origin), `origin ${origin}, payload ${size} B`);
  }
  assert.equal(gossipOriginRange(frame({ type: 'ping', seq: 1 }), out), false, 'not gossip');
  const env = encodeEnvelope({ origin: 'b:2', seq: 1, channel: 'c', timestamp: 1, data: new Uint8Array(3) });
  assert.equal(envelopeOriginRange(env, out), true);
  assert.deepEqual(env.subarray(out[0], out[0] + out[1]), utf8('b:2'));
  assert.equal(envelopeOriginRange(env.subarray(0, 3), out), false, 'a truncated envelope');
  assert.equal(envelopeOriginRange(new Uint8Array(0), out), false, 'empty');
  const f = gossipFrame('127.0.0.1:7001', 5);
  for (let n = 0; n < f.length; n++) assert.equal(gossipOriginRange(f.subarray(0, n), out), false, `truncated to ${n}`);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      // Never throws; when true, the range lies inside the frame before its checksum.
      if (gossipOriginRange(bytes, out)) assert.ok(out[0] >= 0 && out[1] >= 0 && out[0] + out[1] <= bytes.length - 4);
    }),
    { seed: 15, numRuns: 2000 },
  );
});

test('gossipFromOrigin never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1, maxLength: 30 }), (bytes, origin) => {
      assert.equal(typeof gossipFromOrigin(bytes, origin), 'boolean');
    }),
    { seed: 13, numRuns: 2000 },
  );
  // Mutations of a real frame: any answer, no throw, and true only if the origin bytes survived.
  const f = gossipFrame('10.0.0.1:1', 9);
  fc.assert(
    fc.property(fc.nat(f.length - 1), fc.integer({ min: 0, max: 255 }), (i, v) => {
      const m = f.slice();
      m[i] = v;
      gossipFromOrigin(m, utf8('10.0.0.1:1'));
    }),
    { seed: 14, numRuns: 2000 },
  );
});

test('FrameDecoder.peek returns the next whole frame in its chunk; skip drops it and decoding goes on', () => {
  const a = gossipFrame('x:1', 1);
  const b = frame({ type: 'ping', seq: 42 });
  const dec = new FrameDecoder();
  assert.equal(dec.peek(), null, 'nothing buffered');
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  dec.push(both.subarray(0, a.length - 1));
  assert.equal(dec.peek(), null, 'the first frame is not whole yet');
  dec.push(both.subarray(a.length - 1));
  // The first frame is split across two chunks: peek declines, next decodes it.
  assert.equal(dec.peek(), null);
  const first = dec.next();
  assert.ok(first !== null && first.ok && first.msg.type === 'gossip');
  const p = dec.peek();
  assert.deepEqual(p, b);
  dec.skip(p!);
  assert.equal(dec.buffered(), 0);
  assert.equal(dec.next(), null);
  // In one chunk: peek, skip the first, decode the second.
  dec.push(both);
  const q = dec.peek();
  assert.deepEqual(q, a);
  dec.skip(q!);
  const second = dec.next();
  assert.ok(second !== null && second.ok && second.msg.type === 'ping');
  // A length prefix over the limit is not peeked (next reports it).
  const bad = new FrameDecoder({ ...DEFAULT_WIRE_LIMITS, maxFrameBytes: 16 });
  bad.push(a);
  assert.equal(bad.peek(), null);
  const r = bad.next();
  assert.ok(r !== null && !r.ok && r.error === 'frame-too-large');
});
