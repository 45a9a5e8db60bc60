// A process that did not run for a while (stopped, a long GC or synchronous call, a machine too
// loaded to schedule it) must not declare its live peers dead when it runs again: Node runs the
// connection sweep's timer before it reads the bytes peers sent meanwhile (src/net/sweep.ts,
// "Stalls"). Seen as flakes on a loaded 2-core machine: a neighbour of a leaving node reported
// `link-failed` instead of `disconnected` (the DISCONNECT was in its socket buffer), and an
// aggregate's flows were dropped. Here the stall is this process's own event loop, blocked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DownReason, RumorNode } from '../../src/index.js';
import { StallClock } from '../../src/net/sweep.js';
import { PROFILES } from '../../src/net/profiles.js';
import { closeAll, connected, startCluster, viewsSymmetric, waitUntil } from './helpers.js';

/** Block this process's event loop for `ms` (nothing is read, no timer runs). */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the stall under test
  }
}

/** Heartbeat-timeout closes counted by each of `nodes`. */
const hbTimeouts = (nodes: RumorNode[]): number[] => nodes.map((n) => n.stats().closes['heartbeat-timeout'] ?? 0);

// Longer than the `local` profile's heartbeat timeout (1 s): judged on the wall clock, every link
// would be silent for longer than it.
const STALL_MS = PROFILES.local.net.heartbeatTimeoutMs + 800;

test('StallClock: a sweep more than two ticks late records the gap less one tick; awake time leaves it out', () => {
  const c = new StallClock(40, 1000);
  c.sweep(0);
  c.sweep(40);
  c.sweep(119); // 79 ms: under two ticks, not a stall
  assert.equal(c.stalledSince(0), 0);
  c.sweep(2000); // 1881 ms gap: stalled from 159 to 2000
  assert.equal(c.stalledSince(0), 1841);
  assert.equal(c.stalledSince(1000), 1000);
  assert.equal(c.stalledSince(2000), 0);
  assert.equal(c.awake(100, 2040), 2040 - 100 - 1841);
  c.sweep(2040);
  // Forgotten once it ended longer ago than the longest deadline judged (1000 ms).
  c.sweep(2990);
  assert.equal(c.stalledSince(0), 1841 + (2990 - 2080));
  c.sweep(4100);
  assert.equal(c.stalledSince(0), 4100 - 3030, 'only the stall ended within 1000 ms is kept');
});

test('after a stall longer than the heartbeat timeout, the links of a process stay up', { timeout: 30_000 }, async () => {
  const nodes = await startCluster(4, {}, 700);
  try {
    await waitUntil(() => connected(nodes) && viewsSymmetric(nodes), 15_000, 'connected overlay with symmetric views');
    const downs: string[] = [];
    for (const n of nodes) n.on('neighborDown', (peer, reason) => downs.push(`${n.address}→${peer} ${reason}`));
    const before = hbTimeouts(nodes);
    block(STALL_MS);
    // Several heartbeat timeouts of running again: time for any link to be judged dead.
    const until = performance.now() + 3 * PROFILES.local.net.heartbeatTimeoutMs;
    await waitUntil(() => performance.now() > until || downs.length > 0, 10_000, 'three heartbeat timeouts to pass');
    assert.deepEqual(downs, [], 'no link went down');
    assert.deepEqual(hbTimeouts(nodes), before, 'no heartbeat-timeout close');
  } finally {
    await closeAll(nodes);
  }
});

test("a neighbour that stalls while a node leaves reads the DISCONNECT: 'disconnected', not 'link-failed'", { timeout: 30_000 }, async () => {
  // The leaver waits for its neighbours' FINs (they come only once they run again).
  const nodes = await startCluster(5, { net: { leaveFlushMs: 10_000 } }, 800);
  try {
    await waitUntil(() => connected(nodes) && viewsSymmetric(nodes), 15_000, 'connected overlay with symmetric views');
    const downs: { at: string; peer: string; reason: DownReason }[] = [];
    for (const n of nodes) n.on('neighborDown', (peer, reason) => downs.push({ at: n.address, peer, reason }));
    const leaver = nodes[0];
    const former = leaver.neighbors();
    assert.ok(former.length >= 1, 'the leaver has neighbours');
    // leave() writes the DISCONNECTs and FINs before its first await; the neighbours then stall.
    const left = leaver.leave();
    block(STALL_MS);
    await left;
    await waitUntil(
      () => former.every((p) => downs.some((d) => d.at === p && d.peer === leaver.address)),
      10_000,
      () => `every former neighbour to see neighborDown (seen: ${JSON.stringify(downs)})`,
    );
    for (const p of former) assert.equal(downs.find((d) => d.at === p && d.peer === leaver.address)!.reason, 'disconnected', `${p}: ${JSON.stringify(downs)}`);
  } finally {
    await closeAll(nodes);
  }
});
