// RumorNode.overlaySize: the cluster's size sets the length of the FORWARDJOIN walks the node
// starts (src/proto/hyparview.ts, "Walk length scaled to the overlay's size").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNode } from '../../src/index.js';
import { fakePeer, testOptions, waitUntil, type FakePeer } from './helpers.js';

const walksTo = (p: FakePeer, joiner: string): number[] =>
  p.received.flatMap((m) => (m.type === 'forward-join' && m.peer === joiner ? [m.ttl] : []));

test('overlaySize: a contact told 50 nodes starts 4-hop walks; told 0, the configured 6 again', { timeout: 20_000 }, async () => {
  const a = createNode(testOptions());
  await a.start();
  const fakes: FakePeer[] = [];
  try {
    assert.throws(() => a.overlaySize(-1), /^TypeError: overlaySize: expected a number of nodes >= 0, got -1$/);
    assert.throws(() => a.overlaySize(Number.NaN), /^TypeError: overlaySize: expected a number of nodes >= 0, got NaN$/);
    const join = async (addr: string): Promise<FakePeer> => {
      const f = await fakePeer(a.address, addr);
      fakes.push(f);
      await waitUntil(() => f.received.some((m) => m.type === 'welcome'), 5000, `welcome to ${addr}`);
      f.send({ type: 'join' });
      await waitUntil(() => a.neighbors().includes(addr), 5000, `${addr} becomes a neighbour`);
      return f;
    };
    const f1 = await join('127.0.0.1:9');
    a.overlaySize(50);
    await join('127.0.0.1:10');
    await waitUntil(() => walksTo(f1, '127.0.0.1:10').length > 0, 5000, 'the walk for the second joiner reaches the first');
    assert.deepEqual(walksTo(f1, '127.0.0.1:10'), [4]);
    a.overlaySize(0);
    await join('127.0.0.1:11');
    await waitUntil(() => walksTo(f1, '127.0.0.1:11').length > 0, 5000, 'the walk for the third joiner reaches the first');
    assert.deepEqual(walksTo(f1, '127.0.0.1:11'), [6]);
  } finally {
    for (const f of fakes) f.socket.destroy();
    await a.close();
  }
});
