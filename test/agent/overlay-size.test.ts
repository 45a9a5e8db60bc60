// The agent tells its node how many members its table holds (RumorNode.overlaySize), so the
// overlay's FORWARDJOIN walks are sized by the cluster (src/proto/hyparview.ts, "Walk length
// scaled to the overlay's size").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentStarter } from './support.js';
import { waitUntil } from '../support/wait.js';

const startAgent = agentStarter();

test('the agent passes its member table size to the node on every member join', { timeout: 20_000 }, async () => {
  const a = await startAgent('wa');
  const sizes: number[] = [];
  const node = a.node;
  const orig = node.overlaySize.bind(node);
  node.overlaySize = (n: number): void => {
    sizes.push(n);
    orig(n);
  };
  const b = await startAgent('wb', { join: [a.node.address] });
  await waitUntil(() => sizes.includes(2), 10_000, 'a told its node 2 members');
  await startAgent('wc', { join: [b.node.address] });
  await waitUntil(() => sizes.includes(3), 10_000, 'a told its node 3 members');
  assert.deepEqual(sizes, [2, 3], 'one call per member join, the table size each time');
});
