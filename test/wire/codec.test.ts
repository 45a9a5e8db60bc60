import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import {
  DEFAULT_WIRE_LIMITS,
  FrameDecoder,
  TYPE_CODES,
  decodeFrame,
  encodeFrame,
  encodedSize,
  messageIdFor,
  type WireLimits,
  type WireMessage,
} from '../../src/wire/index.js';
import { reframe } from './frames.js';
import { anyMessageArb, messageArbs, sampleMessages } from './arbitraries.js';

function enc(msg: WireMessage, limits?: WireLimits): Uint8Array {
  const r = encodeFrame(msg, limits);
  if (!r.ok) throw new Error(`encode failed: ${r.reason}`);
  return r.frame;
}

const bodyOf = (frame: Uint8Array): Uint8Array => frame.subarray(6, frame.length - 4);

for (const [type, arb] of Object.entries(messageArbs)) {
  test(`round trip: ${type} decodes to the encoded message, encodedSize is exact`, () => {
    fc.assert(
      fc.property(arb, (msg) => {
        const frame = enc(msg);
        assert.equal(encodedSize(msg), frame.length);
        const r = decodeFrame(frame);
        assert.ok(r.ok, JSON.stringify(r));
        assert.deepEqual(r.msg, msg);
        assert.equal(r.bytes, frame.length);
      }),
      { numRuns: 150 },
    );
  });
}

test('frame layout: length prefix, version, type code, crc32c over version+type+body', () => {
  const frame = enc({ type: 'ping', seq: 300 });
  // 300 = varint ac 02
  assert.deepEqual([...frame.subarray(0, 8)], [0, 0, 0, 8, 1, TYPE_CODES.ping, 0xac, 0x02]);
  const crc = new DataView(frame.buffer).getUint32(8);
  assert.equal(crc, crc32c(frame.subarray(4, 8)));
  assert.equal(frame.length, 12);
  // 32-char lowercase hex ids travel as 16 raw bytes (kind 1).
  const id = 'ab'.repeat(16);
  const g = enc({ type: 'graft', id, round: 1 });
  assert.deepEqual([...bodyOf(g)], [1, ...Array(16).fill(0xab), 1]);
  assert.deepEqual([...bodyOf(enc({ type: 'graft', id: null, round: 1 }))], [0, 1]);
});

test('stream: concatenated frames in random chunk splits decode in order', () => {
  fc.assert(
    fc.property(fc.array(anyMessageArb, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }), (msgs, cuts) => {
      const frames = msgs.map((m) => enc(m));
      const all = Buffer.concat(frames);
      const d = new FrameDecoder();
      const out: WireMessage[] = [];
      let pos = 0;
      let i = 0;
      while (pos < all.length) {
        const n = cuts[i++ % cuts.length];
        d.push(all.subarray(pos, pos + n));
        pos += n;
        for (let r = d.next(); r !== null; r = d.next()) {
          assert.ok(r.ok, JSON.stringify(r));
          out.push(r.msg);
        }
      }
      assert.deepEqual(out, msgs);
      assert.equal(d.buffered(), 0);
    }),
    { numRuns: 100 },
  );
});

test('stream: a maximal 1 MiB gossip frame in 1 KiB chunks and a 4 KiB one byte by byte', () => {
  for (const [size, chunk] of [[DEFAULT_WIRE_LIMITS.maxPayloadBytes, 1024], [4096, 1]]) {
    const payload = new Uint8Array(size).map((_, i) => i & 0xff);
    const msg: WireMessage = { type: 'gossip', id: messageIdFor(payload), round: 9, payload };
    const frame = enc(msg);
    const d = new FrameDecoder();
    let got: WireMessage | null = null;
    for (let pos = 0; pos < frame.length; pos += chunk) {
      d.push(frame.subarray(pos, pos + chunk));
      const r = d.next();
      if (pos + chunk < frame.length) assert.equal(r, null);
      else {
        assert.ok(r !== null && r.ok);
        got = r.msg;
      }
    }
    assert.deepEqual(got, msg);
    assert.equal(d.buffered(), 0);
  }
});

test('encode refuses out-of-bound fields with a reason naming the field', () => {
  const big = new Uint8Array(DEFAULT_WIRE_LIMITS.maxPayloadBytes + 1);
  const cases: Array<[WireMessage, RegExp]> = [
    [{ type: 'gossip', id: messageIdFor(big), round: 0, payload: big }, /gossip\.payload is 1048577 bytes, limit 1048576/],
    [{ type: 'gossip', id: 'x', round: 65536, payload: new Uint8Array(1) }, /gossip\.round/],
    [{ type: 'forward-join', peer: 'a:1', ttl: 256 }, /forward-join\.ttl/],
    [{ type: 'forward-join', peer: 'a:1', ttl: 1.5 }, /forward-join\.ttl/],
    [{ type: 'forward-join', peer: '', ttl: 1 }, /forward-join\.peer must not be empty/],
    [{ type: 'shuffle', origin: 'a:1', ttl: 1, peers: Array(65).fill('p:1') }, /shuffle\.peers has 65 entries, limit 64/],
    [{ type: 'ihave', entries: Array(1025).fill({ id: 'x', round: 0 }) }, /ihave\.entries has 1025 entries, limit 1024/],
    [{ type: 'refuse', reason: 'x'.repeat(1025) }, /refuse\.reason is 1025 bytes, limit 1024/],
    [{ type: 'shuffle-reply', peers: ['a'.repeat(321)] }, /shuffle-reply\.peers\[\] is 321 bytes, limit 320/],
    [{ type: 'shuffle-reply', peers: ['\ud800:1'] }, /lone surrogate/],
    [{ type: 'ping', seq: -1 }, /ping\.seq/],
    [{ type: 'ping', seq: 2 ** 32 }, /ping\.seq/],
    [{ type: 'hello', versionMin: 2, versionMax: 1, cluster: '', id: 'a:1', addr: 'a:1' }, /versionMin <= versionMax/],
    [{ type: 'welcome', version: 0, id: 'a:1', addr: 'a:1' }, /welcome\.version/],
    [{ type: 'neighbor', priority: 'urgent' } as unknown as WireMessage, /neighbor\.priority/],
    [{ type: 'teleport' } as unknown as WireMessage, /unknown message type "teleport"/],
  ];
  for (const [msg, re] of cases) {
    const r = encodeFrame(msg);
    assert.equal(r.ok, false, `${msg.type} should be refused`);
    if (!r.ok) assert.match(r.reason, re);
    assert.equal(encodedSize(msg), -1);
  }
  const small: WireLimits = { ...DEFAULT_WIRE_LIMITS, maxFrameBytes: 100 };
  const p = new Uint8Array(100);
  const r = encodeFrame({ type: 'gossip', id: messageIdFor(p), round: 0, payload: p }, small);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.reason, /gossip frame is 125 bytes, limit maxFrameBytes 100/);
});

test('decode enforces the receiver limits (limit-exceeded, non-fatal)', () => {
  const tight: WireLimits = { ...DEFAULT_WIRE_LIMITS, maxPeersPerMessage: 2, maxPayloadBytes: 10, maxIdBytes: 4, maxIHaveEntries: 1 };
  const p = new Uint8Array(11);
  const cases: Array<[WireMessage, RegExp]> = [
    [{ type: 'shuffle-reply', peers: ['a', 'b', 'c'] }, /shuffle-reply\.peers count: 3 exceeds 2/],
    [{ type: 'gossip', id: messageIdFor(p), round: 0, payload: p }, /gossip\.payload length: 11 exceeds 10/],
    [{ type: 'forward-join', peer: 'abcde', ttl: 0 }, /forward-join\.peer length: 5 exceeds 4/],
    [{ type: 'ihave', entries: [{ id: 'a', round: 0 }, { id: 'b', round: 0 }] }, /ihave count: 2 exceeds 1/],
  ];
  for (const [msg, re] of cases) {
    const r = decodeFrame(enc(msg), tight);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error, 'limit-exceeded');
      assert.equal(r.fatal, false);
      assert.match(r.detail, re);
    }
  }
});

test('huge length prefix: fatal frame-too-large from the 4-byte prefix alone, nothing allocated', () => {
  const before = process.memoryUsage().arrayBuffers;
  const d = new FrameDecoder();
  d.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  const r = d.next();
  assert.deepEqual(r, { ok: false, error: 'frame-too-large', detail: 'length prefix 4294967295 exceeds maxFrameBytes 1114112', fatal: true });
  assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  // Dead decoder: the error is sticky, further data ignored.
  d.push(enc({ type: 'prune' }));
  assert.equal(d.buffered(), 0);
  assert.deepEqual(d.next(), r);
  // One more than the limit is also refused; a short prefix is a fatal bad-length.
  const over = new Uint8Array(4);
  new DataView(over.buffer).setUint32(0, DEFAULT_WIRE_LIMITS.maxFrameBytes + 1);
  const r2 = decodeFrame(over);
  assert.ok(!r2.ok && r2.error === 'frame-too-large' && r2.fatal);
  const d2 = new FrameDecoder();
  d2.push(new Uint8Array([0, 0, 0, 5, 1, 2, 3, 4, 5]));
  const r3 = d2.next();
  assert.ok(r3 !== null && !r3.ok && r3.error === 'bad-length' && r3.fatal);
});

test('gossip whose id does not match its payload is rejected as bad-id', () => {
  const payload = new TextEncoder().encode('cluster config v42');
  const wrongId = messageIdFor(new TextEncoder().encode('cluster config v43'));
  const r = decodeFrame(enc({ type: 'gossip', id: wrongId, round: 1, payload }));
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error, 'bad-id');
    assert.equal(r.fatal, false);
    // The detail names the id the payload hashes to (the digest's first 16 bytes, as hex).
    assert.ok(r.detail.includes(`expected ${messageIdFor(payload)}`), r.detail);
  }
  // An id that differs from the right one in its first or its last byte only.
  const right = messageIdFor(payload);
  for (const id of [(right[0] === '0' ? '1' : '0') + right.slice(1), right.slice(0, 31) + (right[31] === '0' ? '1' : '0')]) {
    const off = decodeFrame(enc({ type: 'gossip', id, round: 1, payload }));
    assert.ok(!off.ok && off.error === 'bad-id', id);
  }
  assert.ok(decodeFrame(enc({ type: 'gossip', id: right, round: 1, payload })).ok);
  // A non-hex id can never be content-derived.
  const r2 = decodeFrame(enc({ type: 'gossip', id: 'origin:1/7', round: 1, payload }));
  assert.ok(!r2.ok && r2.error === 'bad-id');
  // Corrupted payload with a recomputed checksum (a flip before the CRC was computed, as in S3).
  const good = enc({ type: 'gossip', id: messageIdFor(payload), round: 1, payload });
  const body = bodyOf(good).slice();
  body[body.length - 2] ^= 0x01; // the payload's last byte (the round varint comes after it)
  const r3 = decodeFrame(reframe(1, TYPE_CODES.gossip, body));
  assert.ok(!r3.ok && r3.error === 'bad-id');
});

test('versions and type codes: unknown type, unsupported version, handshake at any version', () => {
  const ping = bodyOf(enc({ type: 'ping', seq: 1 }));
  const unknown = decodeFrame(reframe(1, 99, ping));
  assert.ok(!unknown.ok && unknown.error === 'unknown-type' && !unknown.fatal);
  const v2 = decodeFrame(reframe(2, TYPE_CODES.ping, ping));
  assert.ok(!v2.ok && v2.error === 'unsupported-version' && !v2.fatal);
  const v0 = decodeFrame(reframe(0, TYPE_CODES.ping, ping));
  assert.ok(!v0.ok && v0.error === 'unsupported-version');
  const hello: WireMessage = { type: 'hello', versionMin: 1, versionMax: 3, cluster: 'c', id: 'a:1', addr: 'a:1' };
  const h = decodeFrame(reframe(3, TYPE_CODES.hello, bodyOf(enc(hello))));
  assert.ok(h.ok);
  assert.deepEqual(h.msg, hello);
  // Non-fatal errors drop one frame; the stream continues.
  const d = new FrameDecoder();
  d.push(Buffer.concat([reframe(1, 99, ping), enc({ type: 'pong', seq: 7 })]));
  const first = d.next();
  assert.ok(first !== null && !first.ok && first.error === 'unknown-type');
  assert.deepEqual(d.next(), { ok: true, msg: { type: 'pong', seq: 7 }, bytes: 11 });
  assert.equal(d.next(), null);
});

test('non-canonical encodings are rejected (every accepted frame has one encoding)', () => {
  // seq 1 as an overlong varint 81 00
  const r = decodeFrame(reframe(1, TYPE_CODES.ping, new Uint8Array([0x81, 0x00])));
  assert.ok(!r.ok && r.error === 'malformed' && /overlong/.test(r.detail));
  // hex id in string form (kind 2)
  const id = 'ab'.repeat(16);
  const body = new Uint8Array([2, 32, ...new TextEncoder().encode(id), 0]);
  const r2 = decodeFrame(reframe(1, TYPE_CODES.graft, body));
  assert.ok(!r2.ok && r2.error === 'malformed' && /string form/.test(r2.detail));
  // booleans other than 0/1, trailing bytes, invalid UTF-8
  const r3 = decodeFrame(reframe(1, TYPE_CODES.disconnect, new Uint8Array([2])));
  assert.ok(!r3.ok && r3.error === 'malformed');
  const r4 = decodeFrame(reframe(1, TYPE_CODES.prune, new Uint8Array([0])));
  assert.ok(!r4.ok && r4.error === 'malformed' && /trailing/.test(r4.detail));
  const r5 = decodeFrame(reframe(1, TYPE_CODES.refuse, new Uint8Array([2, 0xc3, 0x28])));
  assert.ok(!r5.ok && r5.error === 'malformed' && /UTF-8/.test(r5.detail));
});

test('sample messages all encode and decode (fixture sanity)', () => {
  for (const m of sampleMessages()) assert.deepEqual((decodeFrame(enc(m)) as { msg: WireMessage }).msg, m);
});
