// Deliveries handed to the application (Transport's outbox, reused between sessions): a
// listener that broadcasts from inside a `message` event gets its own message delivered
// exactly once, after the current one, and every node still receives every message once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeAll, connected, startCluster, viewsSymmetric, waitUntil } from './helpers.js';

test('a message listener that broadcasts: every delivery exactly once, in order, on every node', { timeout: 20_000 }, async () => {
  const nodes = await startCluster(4, {}, 700);
  try {
    await waitUntil(() => viewsSymmetric(nodes) && connected(nodes), 10_000, 'symmetric, connected views');
    const got = nodes.map(() => [] as string[]);
    nodes.forEach((n, i) =>
      n.on('message', (d) => {
        const text = Buffer.from(d.data).toString();
        got[i].push(text);
        // Node 1 answers each question from inside the listener (a re-entrant broadcast).
        if (i === 1 && text.startsWith('q')) n.broadcast(`a${text.slice(1)}`);
      }),
    );
    const rounds = 20;
    for (let k = 0; k < rounds; k++) nodes[0].broadcast(`q${k}`);
    const total = 2 * rounds;
    await waitUntil(() => got.every((g) => g.length >= total), 10_000, `${total} deliveries on every node`);
    // Markers sent afterwards from both origins (0 asks, 1 answers) follow the same links as
    // their messages (TCP keeps each link's order): once every node has both, a late
    // duplicate of the 40 would already have been delivered (as cluster.test.ts does).
    nodes[0].broadcast('marker-0');
    nodes[1].broadcast('marker-1');
    await waitUntil(() => got.every((g) => g.includes('marker-0') && g.includes('marker-1')), 10_000, 'both markers on every node');
    for (let i = 0; i < got.length; i++) got[i] = got[i].filter((t) => !t.startsWith('marker-'));
    for (const g of got) {
      assert.equal(g.length, total, 'no duplicate delivery');
      assert.deepEqual(
        [...g].sort(),
        Array.from({ length: rounds }, (_, k) => [`a${k}`, `q${k}`]).flat().sort(),
      );
    }
    // At node 1, each answer is delivered right after the question that caused it.
    const at1 = got[1];
    for (let k = 0; k < rounds; k++) assert.equal(at1[at1.indexOf(`q${k}`) + 1], `a${k}`);
  } finally {
    await closeAll(nodes);
  }
});
