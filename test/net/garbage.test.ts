// Loopback integration: hostile and slow clients. Garbage is dropped, counted and
// disconnected while the node keeps serving broadcasts; a peer that cannot keep up is
// disconnected instead of being buffered without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createNode } from '../../src/index.js';
import { broadcastReachesAll, closeAll, connected, fakePeer, rawSocket, startCluster, testOptions, waitUntil } from './helpers.js';

function sum(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}

test('garbage clients are disconnected and counted while the node keeps serving', { timeout: 30_000 }, async () => {
  const nodes = await startCluster(4, { net: { handshakeTimeoutMs: 500 } }, 400);
  try {
    await waitUntil(() => connected(nodes), 15_000, 'connected overlay');
    const target = nodes[0];
    const before = target.stats();

    // 1. Random bytes.
    const junk = await rawSocket(target.address);
    junk.write(randomBytes(4096));
    await waitUntil(() => junk.closedFlag(), 5000, 'random-bytes client disconnected');

    // 2. A valid-looking header announcing a huge frame (never allocated).
    const huge = await rawSocket(target.address);
    const hdr = Buffer.alloc(16);
    hdr.writeUInt32BE(0xfffffff0, 0);
    huge.write(hdr);
    await waitUntil(() => huge.closedFlag(), 5000, 'huge-length client disconnected');

    // 3. Slowloris: connects and never completes the handshake.
    const silent = await rawSocket(target.address);
    await waitUntil(() => silent.closedFlag(), 5000, 'silent client disconnected after the handshake timeout');

    const after = target.stats();
    assert.ok(sum(after.droppedFrames) >= sum(before.droppedFrames) + 2, 'bad frames counted');
    assert.ok((after.droppedFrames['frame-too-large'] ?? 0) >= 1, JSON.stringify(after.droppedFrames));
    assert.equal(after.closes['handshake-timeout'], 1);
    assert.ok((after.closes['bad-frame'] ?? 0) >= 2);
    const peers = Object.keys(after.droppedFramesByPeer);
    assert.ok(peers.length >= 2 && peers.every((p) => p.startsWith('127.0.0.1:')), peers.join(','));
    assert.ok(target.neighbors().length >= 1, 'the node kept its neighbours');
    await broadcastReachesAll(nodes, target, 'still-serving');
    await broadcastReachesAll(nodes, nodes[3], 'still-serving-2');
  } finally {
    await closeAll(nodes);
  }
});

test('a neighbour that stops reading is disconnected when its queue passes the hard limit', { timeout: 30_000 }, async () => {
  const node = createNode(
    testOptions({
      name: 'bp',
      maxQueueBytes: 256 * 1024,
      // Heartbeats slow enough that only backpressure can explain the disconnect.
      net: { heartbeatIntervalMs: 20_000, heartbeatTimeoutMs: 60_000 },
    }),
  );
  await node.start();
  try {
    const downs: string[] = [];
    node.on('neighborDown', (p, reason) => downs.push(`${p} ${reason}`));
    const fake = await fakePeer(node.address, '127.0.0.1:9');
    await waitUntil(() => fake.received.some((m) => m.type === 'welcome'), 5000, 'welcome');
    fake.send({ type: 'join' });
    await waitUntil(() => node.neighbors().includes('127.0.0.1:9'), 5000, 'fake peer is a neighbour');
    fake.socket.pause();
    const chunk = new Uint8Array(60 * 1024);
    let sent = 0;
    // Broadcast until the runtime gives up on the peer; bounded so the test cannot spin forever.
    for (let i = 0; i < 2000 && downs.length === 0; i++) {
      node.broadcast(chunk);
      sent++;
      if (i % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => downs.length > 0, 5000, 'neighborDown for the slow peer');
    assert.deepEqual(downs, ['127.0.0.1:9 link-failed']);
    await waitUntil(() => node.stats().closes['slow-peer'] !== undefined, 5000, 'slow-peer close counted');
    const st = node.stats();
    assert.equal(st.closes['slow-peer'], 1);
    assert.ok(sent * chunk.length > 256 * 1024, 'more was offered than the hard limit');
    for (const q of Object.values(st.queueBytes)) assert.ok(q <= 256 * 1024, `queue ${q} bytes stays bounded`);
    fake.socket.destroy();
  } finally {
    await node.close();
  }
});
