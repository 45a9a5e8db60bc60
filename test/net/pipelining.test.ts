// Handshake pipelining (docs/protocol.md §5): a dialer writes its protocol frames right after
// `hello`, without waiting for `welcome`, so a JOIN costs one round trip less.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Socket } from 'node:net';
import { createNode } from '../../src/index.js';
import { FrameDecoder } from '../../src/wire/index.js';
import { testOptions, waitUntil } from './helpers.js';
import { within } from '../support/wait.js';

test('a JOIN follows hello before any welcome (the acceptor has answered nothing)', { timeout: 20_000 }, async () => {
  const types: string[] = [];
  const sockets: Socket[] = [];
  // A silent acceptor: it records what arrives and never answers.
  const server = createServer((s) => {
    sockets.push(s);
    const dec = new FrameDecoder();
    s.on('data', (chunk) => {
      dec.push(chunk);
      for (let r = dec.next(); r !== null; r = dec.next()) {
        if (!r.ok) {
          types.push(`bad:${r.error}`);
          return;
        }
        types.push(r.msg.type);
      }
    });
    s.on('error', () => {});
  });
  await within(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 5000, 'the fake peer to listen');
  const port = (server.address() as { port: number }).port;
  const node = createNode(testOptions({ name: 'dialer' }));
  await node.start();
  try {
    void node.join([`127.0.0.1:${port}`], { timeoutMs: 3000 }).catch(() => {});
    await waitUntil(() => types.includes('join'), 5000, 'a JOIN at the silent acceptor');
    assert.deepEqual(types.slice(0, 2), ['hello', 'join']);
  } finally {
    await node.close();
    for (const s of sockets) s.destroy();
    await within(new Promise<void>((resolve) => server.close(() => resolve())), 5000, 'the fake peer to close (every connection ended)');
  }
});

test('frames pipelined after a refused hello are ignored: the refusing node stays clean', { timeout: 20_000 }, async () => {
  const a = createNode(testOptions({ name: 'a', cluster: 'one' }));
  const b = createNode(testOptions({ name: 'b', cluster: 'two' }));
  await a.start();
  await b.start();
  try {
    await assert.rejects(b.join([a.address], { timeoutMs: 1500 }));
    const sa = a.stats();
    assert.ok((sa.handshakes.refusedIn['cluster-mismatch'] ?? 0) >= 1, 'a refused b');
    assert.deepEqual(a.neighbors(), [], 'the JOIN that followed the refused hello was not processed');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('hello and the JOIN it was dialed for leave in one write (one segment), not two', { timeout: 20_000 }, async () => {
  // Every write the process hands to libuv on a socket to the fake peer, as the list of
  // buffers of that one call (`_write`: one buffer, `_writev`: the corked ones together).
  const calls: Buffer[][] = [];
  let port = -1;
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', (...a: unknown[]) => unknown>;
  const origWrite = proto._write;
  const origWritev = proto._writev;
  proto._write = function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    if (this.remotePort === port) calls.push([Buffer.from(chunk as Uint8Array)]);
    return origWrite.call(this, chunk, ...rest);
  };
  proto._writev = function (this: Socket, chunks: unknown, ...rest: unknown[]) {
    if (this.remotePort === port) calls.push((chunks as { chunk: Uint8Array }[]).map((c) => Buffer.from(c.chunk)));
    return origWritev.call(this, chunks, ...rest);
  };
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  const node = createNode(testOptions({ name: 'dialer' }));
  try {
    await within(new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)), 5000, 'the fake peer to listen');
    port = (server.address() as { port: number }).port;
    await node.start();
    void node.join([`127.0.0.1:${port}`], { timeoutMs: 3000 }).catch(() => {});
    await waitUntil(() => calls.length > 0, 5000, 'a write to the silent acceptor');
    const dec = new FrameDecoder();
    for (const b of calls[0]) dec.push(b);
    const types: string[] = [];
    for (let r = dec.next(); r !== null; r = dec.next()) types.push(r.ok ? r.msg.type : `bad:${r.error}`);
    assert.deepEqual(types, ['hello', 'join'], 'the first write carried hello and the JOIN');
  } finally {
    proto._write = origWrite;
    proto._writev = origWritev;
    await node.close();
    for (const s of sockets) s.destroy();
    await within(new Promise<void>((resolve) => server.close(() => resolve())), 5000, 'the fake peer to close (every connection ended)');
  }
});
