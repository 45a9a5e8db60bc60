// Plumtree's stream batching of IHAVEs on the TCP runtime (src/proto/plumtree.ts `enqueue`,
// src/net/timers.ts `TimerQueues.replace`): a lazy neighbour of a node that broadcasts a stream
// gets the stream's announcements in one IHAVE, ihaveFlushMs after its last message, once the
// tree has been settled for 10 × ihaveFlushMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/proto/types.js';
import { closeAll, fakePeer, startCluster, waitUntil } from './helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const [maxDelay, expect] of [[5000, 'one IHAVE'], [0, 'two IHAVEs or more']] as const) {
  test(`a stream of 5 broadcasts 100 ms apart reaches a lazy neighbour in ${expect} (ihaveFlushMs 300, ihaveMaxDelayMs ${maxDelay})`, { timeout: 20_000 }, async () => {
    // The fake peer answers no heartbeats: a timeout longer than the test keeps its link.
    const [node] = await startCluster(1, { net: { heartbeatTimeoutMs: 30_000 }, protocol: { plumtree: { ihaveFlushMs: 300, ihaveMaxDelayMs: maxDelay } } }, 71);
    const peer = await fakePeer(node.address, '127.0.0.1:9');
    try {
      peer.send({ type: 'neighbor', priority: 'high' });
      await waitUntil(() => node.neighbors().includes('127.0.0.1:9'), 5000, 'the fake peer is a neighbour');
      peer.send({ type: 'prune' }); // the link is lazy on the node's side
      const pruneBy = performance.now() + 2000;
      while ((node.stats().messagesIn.prune ?? 0) === 0) {
        assert.ok(performance.now() < pruneBy, 'the PRUNE was read within 2 s');
        await sleep(5);
      }
      // The tree counts as settled 10 × ihaveFlushMs after this node last saw it change (seen
      // at a push): one broadcast to see the PRUNE, then 3 s without change.
      const warm = node.broadcast('warm-up');
      await sleep(3100);
      const start = performance.now();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        if (i > 0) await sleep(100);
        ids.push(node.broadcast(`m${i}`));
      }
      // Any gap over ihaveFlushMs (300 ms) would split the stream: the test needs none.
      const span = performance.now() - start;
      assert.ok(span < 300 + 4 * 100, `the stream took ${span.toFixed(0)} ms`);
      const ihaves = (): Extract<Message<string>, { type: 'ihave' }>[] => peer.received.filter((m) => m.type === 'ihave') as Extract<Message<string>, { type: 'ihave' }>[];
      const stream = (): Extract<Message<string>, { type: 'ihave' }>[] => ihaves().filter((m) => m.entries.some((e) => e.id !== warm));
      await waitUntil(() => stream().reduce((a, m) => a + m.entries.length, 0) >= 5, 5000, 'all 5 ids announced');
      await sleep(400); // nothing more follows
      assert.equal(peer.received.filter((m) => m.type === 'gossip').length, 0, 'a lazy neighbour gets no payload');
      assert.deepEqual(ihaves().flatMap((m) => m.entries.map((e) => e.id)), [warm, ...ids]);
      if (maxDelay > 0) assert.deepEqual(stream().map((m) => m.entries.length), [5]);
      else assert.ok(stream().length >= 2, `without stream batching the flush splits the stream (${stream().map((m) => m.entries.length).join(', ')})`);
    } finally {
      peer.socket.destroy();
      await closeAll([node]);
    }
  });
}
