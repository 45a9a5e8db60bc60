// Point-to-point `sendTo` / 'direct' and `probe` over loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadTooLargeError, createNode } from '../../src/index.js';
import { closeAll, startCluster, testOptions, waitUntil } from './helpers.js';

test('sendTo delivers data to a connected neighbour only, once, with the channel', { timeout: 20_000 }, async () => {
  const nodes = await startCluster(3, {}, 31);
  try {
    const [a] = nodes;
    await waitUntil(() => a.neighbors().length >= 1, 10_000, 'a has a neighbour');
    const b = nodes.find((n) => n.address === a.neighbors()[0])!;
    const got: Array<[string, string, string]> = [];
    b.on('direct', (from, channel, data) => got.push([from, channel, Buffer.from(data).toString()]));
    assert.equal(a.sendTo(b.address, 'chan', Buffer.from('hi')), true);
    await waitUntil(() => got.length === 1, 5_000, 'b got the direct message');
    assert.deepEqual(got[0], [a.address, 'chan', 'hi']);
    assert.equal(a.sendTo('127.0.0.1:1', 'chan', Buffer.from('x')), false, 'no connection: nothing sent');
    assert.throws(() => a.sendTo(b.address, 'chan', new Uint8Array(10 * 1024 * 1024)), PayloadTooLargeError);
    assert.equal(a.stats().messagesOut.direct, 1);
  } finally {
    await closeAll(nodes);
  }
});

test('probe: true for a live node, false for a closed port and for another cluster', { timeout: 20_000 }, async () => {
  const a = createNode(testOptions());
  const b = createNode(testOptions());
  const other = createNode(testOptions({ cluster: 'elsewhere' }));
  await Promise.all([a.start(), b.start(), other.start()]);
  try {
    assert.equal(await a.probe(b.address, 2000), true);
    assert.equal(await a.probe(other.address, 2000), false);
    const deadAddr = b.address;
    await b.close();
    assert.equal(await a.probe(deadAddr, 2000), false);
    assert.deepEqual(a.neighbors(), [], 'probing does not create links');
  } finally {
    await closeAll([a, other]);
  }
});
