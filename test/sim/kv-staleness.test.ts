// `rumor sim kv-staleness` at a small size (src/sim/exp-kv-staleness.ts): the pushed write
// (a flood over the overlay's neighbours) reaches every node without anti-entropy, and
// rumor's staleness p99 is at most half the fixed-interval anti-entropy baseline's at no more
// bytes per node (the target, here at 300 nodes; docs/results.md has 10^3 and 10^4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from '../../src/sim/simulation.js';
import { runOne, stateSpec } from '../../src/sim/exp-kv-staleness.js';
import { DEFAULT_STATE_CONFIG } from '../../src/proto/state/types.js';

test('kv push: one write reaches every node by the neighbour flood alone (anti-entropy every 10^4 s), each node forwarding it once', () => {
  const N = 200;
  const ref: { sim?: Simulation } = {};
  const spec = stateSpec({ ...DEFAULT_STATE_CONFIG, gossipIntervalMs: 10_000_000 }, N, () => ref.sim!.now);
  const sim = (ref.sim = new Simulation({ nodes: N, seed: 5, apps: [spec] }));
  sim.joinAll(5);
  sim.runFor(20_000);
  const before = spec.machines.map((m) => m!.counters.pushes);
  assert.equal(spec.machines[17]!.set('role', new TextEncoder().encode('db'), sim.now).ok, true);
  sim.runFor(1000);
  const missing = spec.machines.map((m, i) => (m!.get(17, 'role') === undefined ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(missing, [], `nodes without the write 1 s after it (virtual): ${missing.join(', ')}`);
  const unpushed = spec.machines.map((m, i) => (i !== 17 && m!.counters.pushes === before[i] ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(unpushed, [], 'every node was sent the write by the flood');
  const received = spec.machines.reduce((n, m, i) => n + m!.counters.pushes - before[i], 0);
  // Every node but the writer stores it once and forwards it once to its other neighbours
  // (active view 5): at most 5 + 199 × 4 pushes in all.
  assert.ok(received >= N - 1 && received <= 5 + (N - 1) * 4, `pushes received: ${received}`);
});

test('kv-staleness: rumor p99 is at most half the anti-entropy baseline at no more bytes per node (300 nodes, seeded)', () => {
  const rumor = runOne('rumor', 300, 30, 3);
  const base = runOne('anti-entropy', 300, 30, 3);
  assert.equal(rumor.writes, 90);
  assert.equal(rumor.unconverged + base.unconverged, 0, 'every write reached every node');
  assert.ok(rumor.staleness_p99_s <= 0.5 * base.staleness_p99_s, `p99 rumor ${rumor.staleness_p99_s} s vs baseline ${base.staleness_p99_s} s`);
  assert.ok(rumor.bytes_per_node_per_s <= base.bytes_per_node_per_s, `bytes/node/s rumor ${rumor.bytes_per_node_per_s} vs baseline ${base.bytes_per_node_per_s}`);
  assert.deepEqual(runOne('rumor', 300, 30, 3), rumor, 'same seed, same row');
});
