// Scenario timeline events are executed, each with an effect on the run that the result shows
// (src/sim/run-scenario.ts): partition / heal (the shipped scenarios/partition-heal.toml, at
// 200 nodes), churn, slow and loss. Deterministic for a seed; SEED=n changes the seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenario, parseScenario } from '../../src/sim/scenario-schema.js';
import { runScenario, type ScenarioResult } from '../../src/sim/run-scenario.js';
import type { Scenario } from '../../src/sim/scenario-types.js';

const SEED = Number(process.env.SEED ?? 1);
const NODES = 200;

/** A scenario from a JSON document (validated as a file would be). */
function scenario(doc: Record<string, unknown>): Scenario {
  const r = parseScenario(JSON.stringify({ nodes: NODES, seed: SEED, ...doc }), 'test.json');
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.scenario;
}

// 10 ms apart, as the shipped scenarios join. Measured: for some seeds a few of the 200 nodes
// are still outside the main component 15 s later (reliability 0.91..0.985 for seeds 4 and 6,
// 5 ms apart was worse), so the assertions below compare with thresholds, not with 1.
const JOIN = { at: 0, type: 'join-all', intervalMs: 10 };

function logOf(r: ScenarioResult, type: string): ScenarioResult['log'] {
  return r.log.filter((l) => l.type === type);
}

test('partition-heal.toml: broadcasts during the partition reach only the sender\'s side until the heal, then everyone', { timeout: 30_000 }, async () => {
  const loaded = await loadScenario('scenarios/partition-heal.toml');
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.reason);
  const s = { ...loaded.scenario, nodes: NODES, seed: SEED };
  // The same run stopped just before the heal (at 35 s) and run to its end.
  const cut = runScenario({ ...s, endMs: 34_000 });
  const r = runScenario(s);
  assert.deepEqual(logOf(r, 'partition'), [{ atMs: 20_000, type: 'partition', detail: '2 groups' }]);
  assert.deepEqual(logOf(r, 'heal').map((l) => l.atMs), [35_000]);
  assert.deepEqual(logOf(cut, 'heal'), []);
  assert.equal(r.broadcasts.length, 11, 'three before, three during, five after');
  const before = cut.broadcasts.map((b) => b.reliability);
  for (const i of [0, 1, 2]) assert.equal(before[i], 1, `broadcast ${i} before the partition: ${before.join(' ')}`);
  // Two random groups of equal size: until the heal, a broadcast sent during the partition
  // has reached the sender's side only (about half of the live nodes).
  for (const i of [3, 4, 5]) assert.ok(before[i] > 0.3 && before[i] < 0.7, `broadcast ${i} during the partition reached ${before[i]} before the heal: ${before.join(' ')}`);
  // After the heal, the reconnected links' IHAVE sync brings them to the other side too
  // (their last delivery comes after the heal), and new broadcasts reach everyone.
  for (const i of [3, 4, 5]) {
    const b = r.broadcasts[i];
    assert.equal(b.reliability, 1, `broadcast ${i} once healed`);
    assert.ok(b.latencyMs !== null && b.startMs + b.latencyMs.p100 > 35_000, `broadcast ${i} completed only after the heal: ${JSON.stringify(b.latencyMs)}`);
  }
  for (const i of [6, 7, 8, 9, 10]) assert.equal(r.broadcasts[i].reliability, 1, `broadcast ${i} after the heal`);
  assert.deepEqual(r.snapshots.map((x) => x.label), ['partitioned', 'healed']);
});

test('churn: nodes crash (leavePerSec) and come back (joinPerSec) while broadcasts still reach most live nodes', { timeout: 30_000 }, () => {
  const leaveOnly = runScenario(
    scenario({
      timeline: [JOIN, { at: 10_000, type: 'churn', durationMs: 5000, joinPerSec: 0, leavePerSec: 10 }, { at: 20_000, type: 'broadcast', count: 1, intervalMs: 1000 }],
    }),
  );
  assert.deepEqual(logOf(leaveOnly, 'churn'), [{ atMs: 10_000, type: 'churn', detail: 'churn for 5000 ms: +0/s −10/s' }]);
  // A Poisson process of rate 10/s over 5 s: 50 crashes expected (±6σ ≈ ±42 would still pass 8..92).
  const gone = NODES - leaveOnly.liveNodesAtEnd;
  assert.ok(gone >= 20 && gone <= 80, `crashed by churn: ${gone} (expected about 50)`);
  // Measured: 0.93..1 over seeds 1..6 (a few survivors are still repairing views whose every
  // entry crashed); the claim tested here is that the churn happened, not a repair time.
  assert.ok(leaveOnly.broadcasts[0].reliability >= 0.8, `broadcast after the churn: ${leaveOnly.broadcasts[0].reliability}`);

  const back = runScenario(
    scenario({
      timeline: [
        JOIN,
        { at: 10_000, type: 'fail', percent: 40 },
        { at: 11_000, type: 'churn', durationMs: 5000, joinPerSec: 10, leavePerSec: 0 },
        { at: 25_000, type: 'broadcast', count: 1, intervalMs: 1000 },
      ],
    }),
  );
  const rejoined = back.liveNodesAtEnd - NODES * 0.6;
  assert.ok(rejoined >= 20 && rejoined <= 80, `restarted by churn: ${rejoined} (expected about 50)`);
  assert.ok(back.broadcasts[0].reliability >= 0.8, `the restarted nodes joined the overlay: reliability ${back.broadcasts[0].reliability}`);
});

test('slow: every message to a slow node waits delayMs, so the slow half of the cluster delivers that much later', { timeout: 30_000 }, () => {
  const base = {
    network: { latency: { kind: 'constant', ms: 10 } },
    // From node 0, the first to join (every other node joins through an earlier one).
    timeline: [JOIN, { at: 15_000, type: 'broadcast', count: 1, intervalMs: 1000, from: 0 }],
  };
  const fast = runScenario(scenario(base));
  // 500 ms: below HyParView's 1 s neighbour timeout, so the overlay is the same one.
  const slow = runScenario(scenario({ ...base, timeline: [...base.timeline, { at: 5000, type: 'slow', percent: 50, delayMs: 500 }] }));
  assert.deepEqual(logOf(slow, 'slow'), [{ atMs: 5000, type: 'slow', detail: '100 slow nodes (+500 ms)' }]);
  const f = fast.broadcasts[0];
  const s = slow.broadcasts[0];
  assert.ok(f.latencyMs !== null && s.latencyMs !== null);
  assert.ok(s.deliveredLive >= NODES / 2, `slow is not lost: ${s.deliveredLive} delivered`);
  // Measured over seeds 1..25: p50 50..205 ms without slow nodes; p99 ≥ 1050 ms with them.
  assert.ok(f.latencyMs.p50 < 500, `without slow nodes half the deliveries take ${f.latencyMs.p50} ms`);
  assert.ok(s.latencyMs.p99 >= 500, `with half the nodes slow by 500 ms, p99 is ${s.latencyMs.p99} ms`);
});

test('loss: at rate 1 nothing but the origin delivers; back at 0 broadcasts spread again', { timeout: 30_000 }, () => {
  const timeline = [
    JOIN,
    { at: 15_000, type: 'broadcast', count: 1, intervalMs: 1000 },
    { at: 18_000, type: 'loss', rate: 1 },
    { at: 19_000, type: 'broadcast', count: 1, intervalMs: 1000 },
    { at: 22_000, type: 'loss', rate: 0 },
    { at: 23_000, type: 'broadcast', count: 1, intervalMs: 1000 },
  ];
  const during = runScenario(scenario({ timeline, endMs: 21_500 }));
  assert.deepEqual(logOf(during, 'loss').map((l) => [l.atMs, l.detail]), [[18_000, 'loss rate 1']]);
  // Without loss a broadcast spreads (not always to all 200: see the note at JOIN).
  assert.ok(during.broadcasts[0].reliability >= 0.8, `before the loss: ${during.broadcasts[0].reliability}`);
  assert.equal(during.broadcasts[1].deliveredLive, 1, 'only the origin delivered the broadcast sent at loss 1');
  assert.ok(during.broadcasts[1].payloadMessages > 0, 'it was sent (and lost)');

  const r = runScenario(scenario({ timeline }));
  assert.deepEqual(logOf(r, 'loss').map((l) => [l.atMs, l.detail]), [[18_000, 'loss rate 1'], [22_000, 'loss rate 0']]);
  const after = r.broadcasts[2];
  assert.ok(after.reliability >= 0.8, `a broadcast after the loss: ${after.reliability}`);
  assert.ok(after.latencyMs !== null && after.latencyMs.p50 < 1000, `a broadcast after the loss spreads at link speed again (p50): ${JSON.stringify(after.latencyMs)}`);
});
