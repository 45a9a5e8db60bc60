/**
 * Simulator output digests (issue 17): every speed change to src/sim must leave each run
 * bit-identical per seed. Each case runs a fixed scenario or experiment and compares the
 * SHA-256 of its JSON output with the committed digest in `fixtures/sim-digests.json`.
 *
 * A mismatch means the simulation's output changed: the same seed no longer gives the same
 * events, deliveries or figures. Regenerate a digest (paste the printed value into the
 * fixture) only when the change is intended, with the reason in the commit message.
 *
 * Cases: the `bench:sim` scenario at 10^4 nodes (joins over 10 s, 30 s of shuffles, 10
 * Plumtree broadcasts: the path the benchmark measures), `rumor sim plumtree-redundancy
 * --nodes 1000 --seed 3` (overlays built and broken repeatedly, `runUntilQuiet`), and a
 * 600-node scenario with log-normal latency, loss, churn, a partition and its heal, slow
 * nodes and a snapshot (the driver's other paths: link failures, refused and timed-out
 * connects, restarts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { benchScenario } from '../../bench/sim.js';
import { EXPERIMENTS } from '../../src/sim/experiments.js';
import { runScenario } from '../../src/sim/run-scenario.js';
import type { Scenario } from '../../src/sim/scenario-types.js';

const FIXTURE = new URL('./fixtures/sim-digests.json', import.meta.url);
const expected = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, string>;

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function check(name: string, json: string): void {
  const want = expected[name];
  assert.ok(typeof want === 'string', `test/sim/fixtures/sim-digests.json: no digest for case ${JSON.stringify(name)}`);
  const got = sha256(json);
  assert.equal(got, want, `case ${name}: the simulator's output changed for the same seed (sha256 ${got}, expected ${want}); if intended, update the fixture and say why in the commit message`);
}

/** Failures, restarts, a partition, loss and slow nodes on a small overlay. */
function faultsScenario(): Scenario {
  return {
    name: 'digest-faults',
    nodes: 600,
    seed: 5,
    protocol: {},
    network: { latency: { kind: 'lognormal', medianMs: 15, sigma: 0.5 }, loss: 0.01, failureDetection: { kind: 'rst' }, connectTimeoutMs: 1000 },
    timeline: [
      { at: 0, type: 'join-all', intervalMs: 5 },
      { at: 10_000, type: 'broadcast', count: 3, intervalMs: 500 },
      { at: 12_000, type: 'fail', percent: 20 },
      { at: 12_000, type: 'churn', durationMs: 6000, joinPerSec: 5, leavePerSec: 5 },
      { at: 13_000, type: 'slow', percent: 10, delayMs: 200 },
      { at: 14_000, type: 'broadcast', count: 3, intervalMs: 1000 },
      { at: 18_000, type: 'partition', groups: 2 },
      { at: 19_000, type: 'broadcast', count: 2, intervalMs: 500 },
      { at: 21_000, type: 'heal' },
      { at: 21_000, type: 'loss', rate: 0.05 },
      { at: 30_000, type: 'broadcast', count: 3, intervalMs: 500 },
      { at: 33_000, type: 'snapshot', label: 'end' },
    ],
  };
}

test('bench:sim scenario at 10^4 nodes (seed 1) gives the committed output', () => {
  const r = runScenario(benchScenario(10_000, 1));
  assert.ok(r.events > 1_000_000, `expected over 10^6 events, got ${r.events}`);
  check('bench-10000-seed-1', JSON.stringify(r));
});

test('rumor sim plumtree-redundancy --nodes 1000 --seed 3 gives the committed output', () => {
  check('plumtree-redundancy-1000-seed-3', JSON.stringify(EXPERIMENTS['plumtree-redundancy']({ seed: 3, nodes: 1000 })));
});

test('a 600-node run with loss, churn, a partition and slow nodes gives the committed output', () => {
  const r = runScenario(faultsScenario());
  assert.equal(r.broadcasts.length, 11);
  check('faults-600-seed-5', JSON.stringify(r));
});
