// Handshake pipelining (docs/protocol.md §5): a dialer writes its protocol frames right after
// `hello`, without waiting for `welcome`, so a JOIN costs one round trip less.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
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
