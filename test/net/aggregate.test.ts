import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/index.js'; // installs RumorNode.prototype.aggregate (the library surface)
import { closeAll, startCluster, waitUntil } from './helpers.js';

test('library: node.aggregate over 4 nodes — avg and max reach the exact values; bad input throws; the async iterator yields estimates', async () => {
  const nodes = await startCluster(4);
  try {
    const avg = nodes.map((n, i) => {
      const h = n.aggregate('load');
      h.set(10 * (i + 1));
      return h;
    });
    const max = nodes.map((n, i) => {
      const h = n.aggregate('peak', { kind: 'max' });
      h.set(i * i);
      return h;
    });
    assert.throws(() => avg[0].set(Number.NaN), TypeError);
    assert.throws(() => nodes[0].aggregate('load', { kind: 'sum' }), /already declared as avg, not sum/);
    assert.throws(() => nodes[0].aggregate('a b'), TypeError);
    assert.throws(() => nodes[0].aggregate('x', { kind: 'median' as 'avg' }), /aggregate kind/);
    const seen: number[] = [];
    const off = avg[1].on('estimate', (e) => seen.push(e.rounds));
    await waitUntil(() => avg.every((h) => Math.abs((h.estimate().value ?? 0) - 25) < 25e-3), 60_000, 'every node to estimate the average 25 within 1e-3');
    await waitUntil(() => max.every((h) => h.estimate().value === 9), 60_000, 'every node to know the max 9');
    off();
    assert.ok(seen.length > 0, 'estimate events were emitted');
    assert.equal(avg[0].estimate().input, 10, 'a refused value changed nothing');
    const it = avg[2][Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    assert.equal(first.value!.name, 'load');
    await it.return!();
  } finally {
    await closeAll(nodes);
  }
});
