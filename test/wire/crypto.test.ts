import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatagramOpener, DatagramSealer, Keyring, StreamOpener, StreamSealer, generateKey, keyFingerprint, parseKey } from '../../src/wire/crypto.js';
import { FrameDecoder, encodeFrame, encodeDatagram, decodeDatagram } from '../../src/wire/index.js';

const K1 = generateKey();
const K2 = generateKey();

function openAll(op: StreamOpener): { data: Buffer[]; error?: string } {
  const data: Buffer[] = [];
  for (;;) {
    const s = op.next();
    if (s.type === 'need') return { data };
    if (s.type === 'error') return { data, error: s.error };
    data.push(s.bytes);
  }
}

test('parseKey and keygen: 32-byte base64 keys only', () => {
  assert.equal(parseKey(K1).ok, true);
  assert.match((parseKey('abc') as { reason: string }).reason, /32 bytes, got 2 bytes/);
  assert.match((parseKey('not base64!') as { reason: string }).reason, /base64/);
  assert.notEqual(K1, K2);
  assert.equal(keyFingerprint(K1).length, 16);
});

test('keyring: install, use, remove (never the primary), modes', () => {
  const k = new Keyring([K1]);
  assert.equal(k.mode, 'enforce');
  assert.deepEqual(k.install(K2), { ok: true, changed: true });
  assert.deepEqual(k.install(K2), { ok: true, changed: false });
  assert.equal(k.list64()[0], K1);
  assert.match((k.remove(K1) as { reason: string }).reason, /primary/);
  assert.deepEqual(k.use(K2), { ok: true, changed: true });
  assert.equal(k.list64()[0], K2);
  assert.deepEqual(k.remove(K1), { ok: true, changed: true });
  assert.deepEqual(k.list64(), [K2]);
  assert.equal(k.use(K1).ok, false);
  const off = new Keyring([], 'accept');
  assert.equal(off.setMode('enforce').ok, false);
  assert.equal(off.sendsEncrypted(), false);
  assert.equal(off.acceptsPlaintext(), true);
});

test('stream: sealed records open in order, with any installed key; another key or cluster fails', () => {
  const tx = new Keyring([K1]);
  const sealer = new StreamSealer(tx, 'c1');
  const frames = ['one', 'two', 'three'].map((s) => {
    const f = encodeFrame({ type: 'direct', channel: 'x', data: new TextEncoder().encode(s) });
    assert.ok(f.ok);
    return f.frame;
  });
  const wire = Buffer.concat(frames.map((f) => sealer.seal(f)));
  for (const s of ['one', 'two', 'three']) assert.equal(wire.includes(Buffer.from(s)), false, 'plaintext on the wire');
  // Received by a node holding K2 (primary) and K1, in odd-sized chunks.
  const op = new StreamOpener(new Keyring([K2, K1]), 'c1', 1 << 20);
  const dec = new FrameDecoder();
  const got: string[] = [];
  for (let i = 0; i < wire.length; i += 7) {
    op.push(wire.subarray(i, i + 7));
    const r = openAll(op);
    assert.equal(r.error, undefined);
    for (const d of r.data) dec.push(d);
    for (let f = dec.next(); f !== null; f = dec.next()) {
      assert.ok(f.ok && f.msg.type === 'direct');
      got.push(new TextDecoder().decode(f.msg.data));
    }
  }
  assert.deepEqual(got, ['one', 'two', 'three']);
  const wrongKey = new StreamOpener(new Keyring([K2]), 'c1', 1 << 20);
  wrongKey.push(wire);
  assert.equal(openAll(wrongKey).error, 'decrypt-failed');
  const wrongCluster = new StreamOpener(new Keyring([K1]), 'c2', 1 << 20);
  wrongCluster.push(wire);
  assert.equal(openAll(wrongCluster).error, 'decrypt-failed');
  // A flipped bit, a dropped record, a replayed record: each fails authentication.
  for (const bad of [flip(wire, 40), Buffer.concat([sealedParts(wire)[0], sealedParts(wire)[2]]), Buffer.concat([wire, sealedParts(wire)[1]])]) {
    const o = new StreamOpener(new Keyring([K1]), 'c1', 1 << 20);
    o.push(bad);
    assert.equal(openAll(o).error, 'decrypt-failed');
  }
});

/** Split a stream of [header][record][record][record] into header+record0, record1, record2. */
function sealedParts(wire: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let p = 19;
  let start = 0;
  while (p < wire.length) {
    const len = wire.readUInt32BE(p);
    out.push(wire.subarray(start, p + 4 + len));
    p += 4 + len;
    start = p;
  }
  return out;
}

function flip(b: Buffer, i: number): Buffer {
  const c = Buffer.from(b);
  c[i] ^= 1;
  return c;
}

test('stream: a new primary starts a new segment; removing the key of an open stream closes it', () => {
  const tx = new Keyring([K1]);
  const rx = new Keyring([K1]);
  const sealer = new StreamSealer(tx, 'c');
  const op = new StreamOpener(rx, 'c', 1 << 20);
  op.push(sealer.seal(Buffer.from('a')));
  assert.equal(openAll(op).data.length, 1);
  tx.install(K2);
  rx.install(K2);
  tx.use(K2);
  const rec = sealer.seal(Buffer.from('b'));
  assert.equal(rec[0], 0xff, 'new segment header after the primary changed');
  op.push(rec);
  assert.equal(openAll(op).data[0].toString(), 'b');
  rx.use(K2);
  rx.remove(K1);
  op.push(sealer.seal(Buffer.from('c')));
  assert.equal(openAll(op).data[0].toString(), 'c', 'K2 stream survives the removal of K1');
  rx.install(K1);
  rx.use(K1);
  rx.remove(K2);
  assert.equal(op.next().type, 'need', 'an idle stream under a removed key stays open');
  op.push(sealer.seal(Buffer.from('d')));
  const r = op.next();
  assert.ok(r.type === 'error' && r.error === 'key-removed', JSON.stringify(r));
});

test('datagrams: sealed alone, opened with any key, replays and other keys refused', () => {
  const enc = encodeDatagram({ type: 'hb-ping', token: '0123456789abcdef', seq: 7 });
  assert.ok(enc.ok);
  const sealer = new DatagramSealer(new Keyring([K1]), 'c');
  const d1 = sealer.seal(enc.frame);
  const d2 = sealer.seal(enc.frame);
  assert.equal(d1.includes(Buffer.from('0123456789abcdef', 'hex')), false);
  const op = new DatagramOpener(new Keyring([K2, K1]), 'c');
  const o1 = op.open(d1);
  assert.ok(o1.ok);
  const back = decodeDatagram(o1.plain);
  assert.ok(back.ok && back.dgram.seq === 7);
  assert.ok(op.open(d2).ok);
  assert.deepEqual(op.open(d1).ok, false);
  assert.equal((op.open(d1) as { error: string }).error, 'replayed');
  assert.equal((new DatagramOpener(new Keyring([K2]), 'c').open(d1) as { error: string }).error, 'decrypt-failed');
  assert.equal((new DatagramOpener(new Keyring([K1]), 'other').open(d1) as { error: string }).error, 'decrypt-failed');
});
