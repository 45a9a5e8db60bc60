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

test('bursts larger than the socket buffer, both ways at once, arrive intact (records reuse no buffer still being written)', { timeout: 60_000 }, async () => {
  const nodes = await startCluster(2, { keyring: { keys: [generateKey()] }, maxQueueBytes: 64 * 1024 * 1024 }, 71);
  try {
    const [a, b] = nodes;
    await waitUntil(() => a.neighbors().includes(b.address) && b.neighbors().includes(a.address), 10_000, 'a and b are neighbours');
    const frames = 240;
    const size = 30 * 1024;
    // Frame i of sender s: bytes derived from (s, i), so a record sealed from a reused buffer
    // that was overwritten while still queued shows up as a wrong byte (or a failed tag).
    const payload = (s: number, i: number): Uint8Array => {
      const d = new Uint8Array(size);
      let x = (s * 7919 + i * 104_729 + 1) >>> 0;
      for (let k = 0; k < size; k++) {
        x = (x * 1_103_515_245 + 12_345) >>> 0;
        d[k] = x >>> 24;
      }
      new DataView(d.buffer).setUint32(0, i);
      return d;
    };
    const got = new Map<RumorNodeName, number[]>([['a', []], ['b', []]]);
    const bad: string[] = [];
    const listen = (n: typeof a, name: RumorNodeName, s: number): void => {
      n.on('direct', (_from, _ch, data) => {
        const i = new DataView(data.buffer, data.byteOffset).getUint32(0);
        if (!Buffer.from(data).equals(Buffer.from(payload(s, i)))) bad.push(`${name} got a corrupted frame ${i}`);
        got.get(name)!.push(i);
      });
    };
    listen(b, 'b', 1);
    listen(a, 'a', 2);
    // 4 bursts of 60 frames (1.8 MB) each way: writes queue up behind the socket's buffer.
    for (let burst = 0; burst < 4; burst++) {
      for (let i = burst * 60; i < (burst + 1) * 60; i++) {
        assert.equal(a.sendTo(b.address, 'big', payload(1, i)), true, `a queued frame ${i}`);
        assert.equal(b.sendTo(a.address, 'big', payload(2, i)), true, `b queued frame ${i}`);
      }
      await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => got.get('a')!.length === frames && got.get('b')!.length === frames, 30_000, `all ${frames} frames arrived both ways (a ${got.get('a')!.length}, b ${got.get('b')!.length})`);
    assert.deepEqual(bad, []);
    assert.deepEqual(got.get('b'), Array.from({ length: frames }, (_, i) => i));
    assert.deepEqual(got.get('a'), Array.from({ length: frames }, (_, i) => i));
  } finally {
    await closeAll(nodes);
  }
});

type RumorNodeName = 'a' | 'b';
