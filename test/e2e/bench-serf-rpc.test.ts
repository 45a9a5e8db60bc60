/**
 * bench/serf.ts `SerfRpc`, the benchmarks' client of Serf's RPC protocol (msgpack over TCP),
 * against a fake Serf RPC server: the handshake, then a `members` answer of 50 members written
 * in three pieces (the decoder must wait for the rest, not fail or return early), with the
 * msgpack types Serf's codec writes (fixmap, array16, fixstr/str8, raw bytes, uint8/16/32) and a
 * few it could (negative and 8/16-bit signed integers, float64, nil, booleans) in an extra map.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { SerfRpc } from '../../bench/serf.js';

/** A msgpack encoder for this test (the subset the fake server writes). */
function enc(v: unknown, out: number[] = []): number[] {
  const u16 = (n: number): void => void out.push(n >> 8, n & 0xff);
  if (v === null) out.push(0xc0);
  else if (typeof v === 'boolean') out.push(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number' && !Number.isInteger(v)) {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(v);
    out.push(0xcb, ...b);
  } else if (typeof v === 'number') {
    if (v >= 0 && v < 128) out.push(v);
    else if (v < 0 && v >= -32) out.push(0x100 + v);
    else if (v < 0 && v >= -128) out.push(0xd0, 0x100 + v);
    else if (v < 0) out.push(0xd1, ((0x10000 + v) >> 8) & 0xff, (0x10000 + v) & 0xff);
    else if (v < 256) out.push(0xcc, v);
    else if (v < 65536) out.push(0xcd, v >> 8, v & 0xff);
    else out.push(0xce, (v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
  } else if (typeof v === 'string') {
    const b = Buffer.from(v);
    if (b.length < 32) out.push(0xa0 | b.length, ...b);
    else out.push(0xd9, b.length, ...b);
  } else if (Buffer.isBuffer(v)) out.push(0xc4, v.length, ...v);
  else if (Array.isArray(v)) {
    if (v.length < 16) out.push(0x90 | v.length);
    else {
      out.push(0xdc);
      u16(v.length);
    }
    for (const x of v) enc(x, out);
  } else {
    const e = Object.entries(v as Record<string, unknown>);
    out.push(0x80 | e.length);
    for (const [k, x] of e) {
      enc(k, out);
      enc(x, out);
    }
  }
  return out;
}

const members = Array.from({ length: 50 }, (_, i) => ({
  Name: `node-with-a-long-name-number-${String(i).padStart(3, '0')}`,
  Addr: Buffer.from([127, 0, 0, 1]),
  Port: 7946 + i * 1000,
  Tags: { role: i % 2 === 0 ? 'web' : 'db' },
  Status: i === 7 ? 'failed' : 'alive',
  ProtocolMin: 1,
  ProtocolMax: 5,
  ProtocolCur: 2,
  DelegateMin: 2,
  DelegateMax: 5,
  DelegateCur: 4,
  Extra: { neg: -1 - i, neg8: -100, neg16: -1000, f: 0.5 + i, none: null, yes: true, no: false },
}));

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

test('SerfRpc: a members answer of 50 members, written in three pieces, decodes to every member and field', async () => {
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    let requests = 0;
    sock.on('data', () => {
      requests++;
      if (requests === 1) sock.write(Buffer.from(enc({ Seq: 0, Error: '' })));
      else {
        const all = Buffer.from([...enc({ Seq: 1, Error: '' }), ...enc({ Members: members })]);
        const cut = [Math.floor(all.length / 3), Math.floor((2 * all.length) / 3)];
        sock.write(all.subarray(0, cut[0]));
        setTimeout(() => sock.write(all.subarray(cut[0], cut[1])), 30);
        setTimeout(() => sock.write(all.subarray(cut[1])), 60);
      }
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const rpc = await SerfRpc.open(port);
  try {
    const got = (await rpc.members()) as unknown as (Omit<(typeof members)[number], 'Addr'> & { Addr: string })[];
    assert.equal(got.length, 50);
    for (const [i, m] of got.entries()) {
      const want = members[i];
      assert.equal(m.Name, want.Name);
      assert.equal(m.Status, want.Status);
      assert.equal(m.Port, want.Port);
      assert.deepEqual(m.Tags, want.Tags);
      assert.equal(m.Addr, '\x7f\x00\x00\x01');
      assert.equal(m.DelegateCur, 4);
      assert.deepEqual(m.Extra, want.Extra);
    }
  } finally {
    rpc.close();
    for (const s of sockets) s.destroy();
  }
});
