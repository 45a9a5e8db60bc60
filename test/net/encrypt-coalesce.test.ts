// A busy encrypted link puts several frames in one sealed record (src/net/connection.ts
// `SEALED_COALESCE_MS`, docs/protocol.md §10.1): each record costs a cipher set-up at both
// ends, so frames queued on successive event-loop turns must share records, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKey, recordCounts } from '../../src/wire/crypto.js';
import { closeAll, startCluster, waitUntil } from './helpers.js';

test('frames sent on successive turns of a busy encrypted link share sealed records, in order', { timeout: 30_000 }, async () => {
  const nodes = await startCluster(2, { keyring: { keys: [generateKey()] } }, 61);
  try {
    const [a, b] = nodes;
    await waitUntil(() => a.neighbors().includes(b.address) && b.neighbors().includes(a.address), 10_000, 'a and b are neighbours');
    const got: number[] = [];
    b.on('direct', (_from, _ch, data) => got.push(new DataView(data.buffer, data.byteOffset).getUint32(0)));
    const sealed0 = recordCounts.sealed;
    const frames = 500;
    // One frame per turn: without coalescing every turn's flush would seal its own record.
    for (let i = 0; i < frames; i++) {
      const d = new Uint8Array(1024);
      new DataView(d.buffer).setUint32(0, i);
      assert.equal(a.sendTo(b.address, 'seq', d), true);
      await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => got.length === frames, 10_000, `all ${frames} frames arrived (got ${got.length})`);
    assert.deepEqual(got, Array.from({ length: frames }, (_, i) => i));
    const sealed = recordCounts.sealed - sealed0;
    // Both nodes are in this process: the count includes b's few heartbeat and protocol records.
    assert.ok(sealed <= frames / 2, `${sealed} records sealed for ${frames} frames sent one per turn (expected ≤ ${frames / 2})`);
  } finally {
    await closeAll(nodes);
  }
});
