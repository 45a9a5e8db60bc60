/** The membership change queue's bound in a simulated failure wave: fixed (`maxQueuedChanges`,
 *  with `queueDepthPerMember` 0) and set far below what the wave queues, the queues stay within it at every node, changes are
 *  dropped, and still every survivor marks every crashed node failed (the dropped changes
 *  arrive over other feeders, piggybacks and anti-entropy) and no healthy node is failed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crashAndDetect, settledMembers, MF_NETWORK } from '../../src/sim/exp-membership-failures.js';
import type { MembersSim } from '../../src/sim/members-app.js';

const SEED = Number(process.env.SEED ?? 1);
const BOUND = 16;

type Spread = { pending(): number; droppedChanges: number };
const spread = (ms: MembersSim, x: number): Spread | null => (ms.machines[x] === null ? null : (ms.machines[x] as unknown as { spread: Spread }).spread);

test(`queue bound ${BOUND} at 600 nodes, 50 % crashed: the queues hold the bound, changes are dropped, and every crash is still seen by every survivor`, () => {
  const { ms } = settledMembers(600, SEED, MF_NETWORK, { maxQueuedChanges: BOUND, queueDepthPerMember: 0 });
  const sim = ms.sim;
  let peak = 0;
  const sample = (): void => {
    for (let x = 0; x < sim.n; x++) peak = Math.max(peak, spread(ms, x)?.pending() ?? 0);
    if (sim.now < 200_000) sim.at(sim.now + 50, sample);
  };
  sim.at(sim.now + 50, sample);
  const r = crashAndDetect(ms, 50, 120_000) as { crashed: number; detected: number; detect_p100_s: number | null; stuck_alive: number; false_failed: number };
  let dropped = 0;
  for (let x = 0; x < sim.n; x++) dropped += spread(ms, x)?.droppedChanges ?? 0;
  assert.ok(peak <= BOUND, `a queue held ${peak} changes, over the bound ${BOUND}`);
  assert.ok(dropped > 1000, `the bound dropped only ${dropped} changes: the test does not exercise it`);
  assert.equal(r.detected, r.crashed, `only ${r.detected} of ${r.crashed} crashed nodes were failed everywhere within 120 s`);
  assert.equal(r.stuck_alive, 0, 'crashed nodes still up somewhere');
  assert.equal(r.false_failed, 0, 'healthy nodes marked failed');
});
