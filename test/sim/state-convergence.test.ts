// Seeded simulation of the key-value state application (src/proto/state) under message
// loss and churn: every live node ends up holding every live owner's latest keys, deleted
// keys stay deleted, and the same seed gives the same run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from '../../src/sim/simulation.js';
import { stateSpec } from '../../src/sim/exp-kv-staleness.js';
import { DEFAULT_STATE_CONFIG } from '../../src/proto/state/types.js';

const N = 60;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Run the scenario; returns a fingerprint of every live node's view and the mismatches. */
function run(seed: number): { fingerprint: string; mismatches: string[]; crashed: number[]; restarted: number[] } {
  const ref: { sim?: Simulation } = {};
  const spec = stateSpec({ ...DEFAULT_STATE_CONFIG, gossipIntervalMs: 2000 }, N, () => ref.sim!.now);
  const sim = (ref.sim = new Simulation({ nodes: N, seed, apps: [spec], network: { loss: 0.1 } }));
  sim.joinAll(5);
  sim.runFor(10_000);
  const write = (round: number): void => {
    for (let i = 0; i < N; i++) {
      if (!sim.isAlive(i)) continue;
      const m = spec.machines[i]!;
      assert.equal(m.set(`k${round % 3}`, enc(`${i}:${round}`), sim.now).ok, true);
      if (round % 4 === 3) m.delete(`k${(round + 1) % 3}`, sim.now);
    }
  };
  // Churn: crash 6 nodes, restart 3 of them (new generation), with writes throughout.
  const crashed = [3, 11, 17, 29, 41, 53];
  const restarted = [3, 29, 53];
  for (let r = 0; r < 8; r++) {
    write(r);
    if (r === 2) sim.crash(crashed);
    if (r === 5) for (const x of restarted) sim.join(x, [0]);
    sim.runFor(1500);
  }
  sim.setLoss(0);
  sim.runFor(30_000);
  const live = sim.liveNodes();
  const mismatches: string[] = [];
  const parts: string[] = [];
  for (const i of live) {
    const m = spec.machines[i]!;
    for (const o of live) {
      const want = JSON.stringify(spec.machines[o]!.entriesOf(o).map((e) => [e.key, e.version, new TextDecoder().decode(e.value!)]).sort());
      const have = JSON.stringify(m.entriesOf(o).map((e) => [e.key, e.version, new TextDecoder().decode(e.value!)]).sort());
      if (want !== have) mismatches.push(`node ${i} holds ${have} of ${o}, which has ${want}`);
      parts.push(have);
    }
  }
  return { fingerprint: parts.join('|'), mismatches, crashed, restarted };
}

test('state sim: under 10 % loss and churn every live node converges to every live owner (seeded)', () => {
  const a = run(42);
  assert.deepEqual(a.mismatches.slice(0, 5), [], `${a.mismatches.length} (observer, owner) pairs differ`);
  assert.ok(a.fingerprint.includes('"k0"'), 'the run wrote keys');
  const b = run(42);
  assert.equal(b.fingerprint, a.fingerprint, 'same seed, same states');
});
