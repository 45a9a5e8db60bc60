// Forwarding a received gossip frame without re-encoding (src/wire/forward.ts): the bytes
// must be exactly what the ordinary encoder produces, and a frame handed out is never mutated.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32c } from '@node-rs/crc32';
import { decodeFrame, encodeFrame, FrameDecoder, messageIdFor, type WireMessage } from '../../src/wire/index.js';
import { crcAppend, crcUnappend } from '../../src/wire/crc.js';
import { forgetGossip } from '../../src/wire/forward.js';

type Gossip = Extract<WireMessage, { type: 'gossip' }>;

function enc(msg: WireMessage): Uint8Array {
  const r = encodeFrame(msg);
  if (!r.ok) throw new Error(`encode failed: ${r.reason}`);
  return r.frame;
}

/** The ordinary encoder's frame (the payload copied, so the forward cache cannot apply). */
function fresh(id: string, round: number, payload: Uint8Array): Uint8Array {
  return enc({ type: 'gossip', id, round, payload: payload.slice() }).slice();
}

function decodeGossip(frame: Uint8Array): Gossip {
  const r = decodeFrame(frame);
  if (!r.ok || r.msg.type !== 'gossip') throw new Error(`decode failed: ${JSON.stringify(r)}`);
  return r.msg;
}

test('crcAppend / crcUnappend agree with the native CRC-32C and invert each other', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 12 }), (a, b) => {
      const all = new Uint8Array(a.length + b.length);
      all.set(a);
      all.set(b, a.length);
      const whole = crc32c(Buffer.from(all));
      const head = crc32c(Buffer.from(a));
      assert.equal(crcAppend(head, all, a.length, all.length), whole);
      assert.equal(crcUnappend(whole, all, a.length, all.length), head);
    }),
    { numRuns: 300 },
  );
});

test('a received gossip re-encoded with another round is byte-identical to a fresh encoding', () => {
  const rounds = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 126, 127, 128, 16382, 16383, 16384, 0xfffe, 0xffff));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), rounds, rounds, (payload, r0, r1) => {
      const id = messageIdFor(payload);
      const got = decodeGossip(fresh(id, r0, payload));
      assert.equal(got.round, r0);
      const out = enc({ type: 'gossip', id, round: r1, payload: got.payload });
      assert.deepEqual(out, fresh(id, r1, payload));
      const back = decodeGossip(out);
      assert.equal(back.round, r1);
      assert.deepEqual(back.payload, payload);
    }),
    { numRuns: 400 },
  );
});

test('the forwarding path is taken (no copy) and a handed-out frame is never mutated', () => {
  const payload = new Uint8Array(1024).map((_, i) => (i * 31 + 5) & 0xff);
  const id = messageIdFor(payload);
  // Behind another frame in the same chunk (decoded in place at a non-zero offset).
  const ping = enc({ type: 'ping', seq: 77 }).slice();
  const dec = new FrameDecoder();
  dec.push(Buffer.concat([ping, fresh(id, 4, payload)]));
  assert.deepEqual(dec.next(), { ok: true, msg: { type: 'ping', seq: 77 }, bytes: ping.length });
  const r = dec.next();
  assert.ok(r !== null && r.ok && r.msg.type === 'gossip');
  const got = r.msg as Gossip;
  const fwd = enc({ type: 'gossip', id, round: 5, payload: got.payload });
  // The outgoing frame is the received copy itself: the payload view lies inside it.
  assert.equal(fwd.buffer, got.payload.buffer);
  assert.equal(got.payload.byteOffset, fwd.byteOffset + 6 + 17 + 2);
  assert.deepEqual(got.payload, payload);
  // Same round again (another eager peer): the very same frame.
  assert.equal(enc({ type: 'gossip', id, round: 5, payload: got.payload }), fwd);
  // Another round after it was handed out: a new frame, the first one untouched.
  const before = fwd.slice();
  const other = enc({ type: 'gossip', id, round: 6, payload: got.payload });
  assert.notEqual(other, fwd);
  assert.deepEqual(fwd, before);
  assert.deepEqual(other, fresh(id, 6, payload));
  assert.equal(decodeGossip(fwd).round, 5);
});

test('the forwarding path never applies to another id, a round varint of another length, or a bad round', () => {
  const payload = new Uint8Array(300).fill(7);
  const id = messageIdFor(payload);
  const otherId = messageIdFor(new Uint8Array(1));
  let got = decodeGossip(fresh(id, 127, payload));
  // 127 → 128 changes the varint length: encoded normally, still exact.
  const wide = enc({ type: 'gossip', id, round: 128, payload: got.payload });
  assert.notEqual(wide.buffer, got.payload.buffer);
  assert.deepEqual(wide, fresh(id, 128, payload));
  // Another id with the same payload object: the encoder writes what it is given.
  got = decodeGossip(fresh(id, 1, payload));
  const lie = enc({ type: 'gossip', id: otherId, round: 2, payload: got.payload });
  assert.deepEqual(lie, fresh(otherId, 2, payload));
  assert.equal(decodeFrame(lie).ok, false); // and the receiver rejects it (bad-id)
  // Out-of-bounds rounds are refused exactly as before.
  got = decodeGossip(fresh(id, 0xffff, payload));
  const r = encodeFrame({ type: 'gossip', id, round: 0x10000, payload: got.payload });
  assert.ok(!r.ok && /gossip\.round/.test(r.reason));
  forgetGossip();
  const plain = enc({ type: 'gossip', id, round: 1, payload: got.payload });
  assert.deepEqual(plain, fresh(id, 1, payload));
});

test('a flipped bit in the received frame is rejected and nothing is remembered for it', () => {
  const payload = new Uint8Array(200).fill(3);
  const id = messageIdFor(payload);
  const good = fresh(id, 9, payload);
  const ok = decodeGossip(good);
  for (let bit = 0; bit < good.length * 8; bit += 7) {
    const f = good.slice();
    f[bit >> 3] ^= 1 << (bit & 7);
    assert.equal(decodeFrame(f).ok, false, `flip of bit ${bit} accepted`);
  }
  // The last good frame is still the one forwarded.
  assert.deepEqual(enc({ type: 'gossip', id, round: 10, payload: ok.payload }), fresh(id, 10, payload));
});

test('adopted chunks: gossip payloads are views into a chunk that is nearly all gossip, copies otherwise', () => {
  const payloads = [0, 1, 2, 3].map((k) => new Uint8Array(900).fill(k + 1));
  const frames = payloads.map((p, k) => fresh(messageIdFor(p), k, p));
  // Own ArrayBuffer of exactly these bytes (a socket chunk is one read's bytes).
  const gossipChunk = new Uint8Array(Buffer.concat(frames));
  const decodeAll = (d: FrameDecoder, chunk: Uint8Array): WireMessage[] => {
    d.push(chunk);
    const out: WireMessage[] = [];
    for (let r = d.next(); r !== null; r = d.next()) {
      assert.ok(r.ok);
      out.push(r.msg);
    }
    return out;
  };
  // All gossip: views, and a forwarded frame is rewritten inside the chunk, still exact.
  let msgs = decodeAll(new FrameDecoder(undefined, { adoptChunks: true }), gossipChunk);
  assert.equal(msgs.length, 4);
  for (const [k, m] of msgs.entries()) {
    assert.ok(m.type === 'gossip');
    assert.ok(m.payload.buffer === gossipChunk.buffer, `payload ${k} copied`);
    assert.deepEqual(m.payload, payloads[k]);
  }
  const last = msgs[3] as Gossip;
  const fwd = enc({ type: 'gossip', id: last.id, round: 4, payload: last.payload });
  assert.ok(fwd.buffer === gossipChunk.buffer, 'forwarded frame is not the received bytes');
  assert.deepEqual(fwd, fresh(last.id, 4, payloads[3]));
  // The same bytes inside a larger ArrayBuffer (e.g. Node's 8 KiB Buffer pool): a view would
  // keep the rest alive, so they are copied.
  const pooled = new Uint8Array(new ArrayBuffer(gossipChunk.length * 2), 0, gossipChunk.length);
  pooled.set(Buffer.concat(frames));
  msgs = decodeAll(new FrameDecoder(undefined, { adoptChunks: true }), pooled);
  for (const m of msgs) assert.ok(m.type === 'gossip' && m.payload.buffer !== pooled.buffer);
  // Not adopted: copies, the pushed bytes are never kept nor written.
  const before = Buffer.from(gossipChunk);
  const plain = Buffer.from(before);
  msgs = decodeAll(new FrameDecoder(), plain);
  for (const m of msgs) assert.ok(m.type === 'gossip' && m.payload.buffer !== plain.buffer);
  enc({ type: 'gossip', id: last.id, round: 9, payload: (msgs[3] as Gossip).payload });
  assert.deepEqual(plain, before);
  // Adopted, but more than 1/8 of the chunk is not gossip (a big `direct` frame): copies.
  const direct = enc({ type: 'direct', channel: 'c', data: new Uint8Array(1000) }).slice();
  const mixed = new Uint8Array(Buffer.concat([frames[0], direct, frames[1]]));
  msgs = decodeAll(new FrameDecoder(undefined, { adoptChunks: true }), mixed);
  assert.equal(msgs.length, 3);
  for (const m of msgs) if (m.type === 'gossip') assert.ok(m.payload.buffer !== mixed.buffer);
  // A frame gathered from two chunks is the decoder's own buffer: kept without another copy.
  const d = new FrameDecoder(undefined, { adoptChunks: true });
  const f = frames[2];
  assert.deepEqual(decodeAll(d, f.subarray(0, 100)), []);
  msgs = decodeAll(d, f.subarray(100));
  assert.ok(msgs.length === 1 && msgs[0].type === 'gossip');
  assert.equal(msgs[0].payload.byteLength, 900);
  assert.equal(msgs[0].payload.buffer.byteLength, f.length);
});

test('gossip layout of docs/protocol.md §3.1: id, payload, then round last', () => {
  const payload = new TextEncoder().encode('abc');
  const id = messageIdFor(payload);
  const f = enc({ type: 'gossip', id, round: 5, payload });
  const head = [0, 0, 0, 0x1c, 0x01, 0x20, 0x01, ...Buffer.from(id, 'hex'), 0x03, 0x61, 0x62, 0x63, 0x05];
  assert.deepEqual([...f.subarray(0, head.length)], head);
  assert.equal(f.length, head.length + 4);
  assert.equal(Buffer.from(f).readUInt32BE(head.length), crc32c(Buffer.from(f.subarray(4, head.length))));
});
