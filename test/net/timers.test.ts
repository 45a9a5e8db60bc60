// Timer queues and the event-loop lag signal of the TCP runtime (src/net/timers.ts), and the
// write coalescing of busy links (src/net/connection.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Timer } from '../../src/proto/types.js';
import { HeldTimers, LAG_MS, LOOP_LAG, LoopLag, TimerQueues } from '../../src/net/timers.js';
import { closeAll, fakePeer, startCluster, waitUntil } from './helpers.js';

const missing = (id: string, due: number): Timer<string> => ({ type: 'pt-missing', id, due });

test('LoopLag: behind for 100 ms after a firing later than LAG_MS', () => {
  const l = new LoopLag();
  assert.equal(l.lagging(0), false, 'no sample yet');
  l.sample(100, 100 + LAG_MS);
  assert.equal(l.lagging(105), false, 'exactly LAG_MS late is on time');
  l.sample(100, 100 + LAG_MS + 1);
  assert.equal(l.lagging(106), true);
  l.sample(150, 150);
  assert.equal(l.lagging(150), true, 'one on-time firing does not end it');
  assert.equal(l.lagging(106 + 100), true, 'still behind 100 ms later');
  assert.equal(l.lagging(106 + 101), false, 'on time after 100 ms without a late firing');
  l.sample(300, 299);
  assert.equal(l.lagging(299), false, 'an early firing is not lag');
});

test('TimerQueues: each timer fires once, not before its due time, in due order per delay', { timeout: 10_000 }, async () => {
  const fired: Array<{ id: string; at: number; due: number }> = [];
  const q = new TimerQueues<string>(
    () => performance.now(),
    (ts, dues) => ts.forEach((t, i) => fired.push({ id: (t as { id: string }).id, at: performance.now(), due: dues[i] })),
  );
  const t0 = performance.now();
  const plan: Array<[string, number]> = [['a', 30], ['b', 5], ['c', 30], ['d', 0], ['e', 5], ['f', 60]];
  for (const [id, d] of plan) q.add(d, t0 + d, missing(id, t0 + d));
  assert.equal(q.size(), 6);
  await waitUntil(() => fired.length === 6, 5000, 'all six timers fired');
  assert.deepEqual(fired.map((f) => f.id).sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
  for (const f of fired) assert.ok(f.at >= f.due - 1, `${f.id} fired ${(f.due - f.at).toFixed(2)} ms early (tolerance 1 ms)`);
  const order = fired.map((f) => f.id);
  assert.ok(order.indexOf('b') < order.indexOf('e') && order.indexOf('a') < order.indexOf('c'), `FIFO per delay: ${order.join('')}`);
  assert.ok(order.indexOf('e') < order.indexOf('a') && order.indexOf('c') < order.indexOf('f'), `shorter delays first: ${order.join('')}`);
  assert.equal(q.size(), 0);
});

test('TimerQueues: a firing before anything is due waits again, with no empty batch', { timeout: 10_000 }, async () => {
  // The queue's clock is set back 3 ms after the timer is armed, so Node's timer fires 3 ms
  // before the timer is due by that clock (as a cached loop clock can make it fire early).
  let skew = 0;
  const batches: string[][] = [];
  const q = new TimerQueues<string>(
    () => performance.now() - skew,
    (ts) => batches.push(ts.map((t) => (t as { id: string }).id)),
  );
  q.add(5, performance.now() + 5, missing('x', 0));
  skew = 3;
  await waitUntil(() => batches.length > 0, 5000, 'the timer fired');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(batches, [['x']]);
  assert.equal(q.size(), 0);
});

test('TimerQueues: timers set from a firing are kept; close() drops the rest', { timeout: 10_000 }, async () => {
  let n = 0;
  const q: TimerQueues<string> = new TimerQueues<string>(
    () => performance.now(),
    (ts) => {
      n += ts.length;
      if (n < 3) q.add(2, performance.now() + 2, missing(`again${n}`, 0));
    },
  );
  q.add(2, performance.now() + 2, missing('first', 0));
  await waitUntil(() => n === 3, 5000, 'three chained firings');
  q.add(20, performance.now() + 20, missing('late', 0));
  q.close();
  assert.equal(q.size(), 0);
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(n, 3, 'nothing fires after close()');
});

test('HeldTimers: a held timer is checked every 10 ms, not every loop turn, and released once the loop is on time', { timeout: 10_000 }, async () => {
  let checks = 0;
  const released: string[][] = [];
  const h = new HeldTimers<string>(
    () => {
      checks++; // `now` is read once per check
      return performance.now();
    },
    5000,
    (ts) => released.push(ts.map((t) => (t as { id: string }).id)),
  );
  const t0 = performance.now();
  LOOP_LAG.sample(t0 - 2 * LAG_MS, t0); // a firing late just now: the loop is behind for 100 ms
  assert.equal(h.hold({ type: 'pt-missing', id: 'x', due: t0 }, t0), true);
  await waitUntil(() => released.length > 0, 5000, 'the held timer was released');
  const elapsed = performance.now() - t0;
  assert.deepEqual(released, [['x']]);
  assert.ok(elapsed >= 100, `held while the loop counted as behind (released after ${elapsed.toFixed(1)} ms)`);
  // One check per loop turn (a 1 ms timer) would have made ~elapsed checks.
  assert.ok(checks <= elapsed / 10 + 2, `${checks} checks in ${elapsed.toFixed(1)} ms`);
  h.close();
});

test('busy links coalesce writes without losing or reordering frames', { timeout: 20_000 }, async () => {
  const nodes = await startCluster(2, {}, 41);
  try {
    const [a, b] = nodes;
    await waitUntil(() => a.neighbors().includes(b.address), 10_000, 'a and b are neighbours');
    const got: number[] = [];
    b.on('direct', (_from, _ch, data) => got.push(new DataView(data.buffer, data.byteOffset).getUint32(0)));
    // 2,000 frames in 20 bursts: later bursts find the link written < COALESCE_MS ago.
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 100; i++) {
        const d = new Uint8Array(512);
        new DataView(d.buffer).setUint32(0, burst * 100 + i);
        assert.equal(a.sendTo(b.address, 'seq', d), true);
      }
      await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => got.length === 2000, 10_000, 'all 2,000 frames arrived');
    assert.deepEqual(got, Array.from({ length: 2000 }, (_, i) => i));
    assert.ok(a.stats().messagesOut.direct === 2000);
  } finally {
    await closeAll(nodes);
  }
});

/** Block the event loop for `ms` at every turn until `until`, so that timers fire late. */
async function lagLoop(ms: number, until: number): Promise<void> {
  while (performance.now() < until) {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // busy: the loop is behind, as under overload
    }
    await new Promise((r) => setImmediate(r));
  }
}

test('a GRAFT is held while the event loop lags, then sent once it catches up', { timeout: 20_000 }, async () => {
  const [node] = await startCluster(1, {}, 51);
  const peer = await fakePeer(node.address, '127.0.0.1:9');
  try {
    peer.send({ type: 'neighbor', priority: 'high' });
    await waitUntil(() => node.neighbors().includes('127.0.0.1:9'), 5000, 'the fake peer is a neighbour');
    // Let the link age past timeout1 (local profile: 100 ms), so that the IHAVE waits for it.
    await new Promise((r) => setTimeout(r, 150));
    const id = 'ab'.repeat(16);
    peer.send({ type: 'ihave', entries: [{ id, round: 0 }] });
    // Polled in the check phase (setImmediate), which runs right after the poll phase that read
    // the IHAVE and before any timer phase: the stall below begins before timeout1 can fire,
    // however late this process gets the CPU (a 20 ms poll could miss timeout1's 100 ms).
    const readBy = performance.now() + 2000;
    while ((node.stats().messagesIn.ihave ?? 0) === 0) {
      assert.ok(performance.now() < readBy, 'the IHAVE was read within 2 s');
      await new Promise((r) => setImmediate(r));
    }
    // One 200 ms stall spans timeout1's due time (it fires ~100 ms late), then 300 ms of
    // 15 ms stalls per turn: the loop stays behind, and the GRAFT must wait.
    await lagLoop(200, performance.now() + 1);
    await lagLoop(15, performance.now() + 300);
    const grafts = (): number => peer.received.filter((m) => m.type === 'graft' && m.id === id).length;
    assert.equal(grafts(), 0, `no GRAFT while the loop lags (held ${node.stats().graftsHeld})`);
    assert.ok(node.stats().graftsHeld >= 1, `graftsHeld ${node.stats().graftsHeld}`);
    await waitUntil(() => grafts() === 1, 2000, 'the GRAFT is sent once the loop is on time');
  } finally {
    peer.socket.destroy();
    await closeAll([node]);
  }
});
