// A healed partition of a small cluster (scenarios/partition-heal-small.toml): each half of six
// nodes closes into a clique with the other half only in its passive view. Before the closed-
// clique rule in hyparview.ts `checkIsolated`, 11 of seeds 1–30 stayed two components for good
// (seeds 3, 8, 9, 12, 21, 25–30); each of those must be one overlay again 30 s after the heal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseScenario } from '../../src/sim/scenario-schema.js';
import { runScenario } from '../../src/sim/run-scenario.js';

const PATH = 'scenarios/partition-heal-small.toml';

test('a 6/6 partition of 12 nodes heals into one overlay within 30 s (the seeds that stayed split before)', () => {
  const parsed = parseScenario(readFileSync(PATH, 'utf8'), PATH);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  for (const seed of [3, 8, 9, 12, 21, 25, 26, 27, 28, 29, 30]) {
    const r = runScenario({ ...parsed.scenario, seed });
    const snaps = r.snapshots.map((s) => `${s.label}: ${s.components}`).join(', ');
    assert.ok(r.snapshots.length === 2 && r.snapshots.every((s) => s.components === 1), `seed ${seed}: ${snaps}`);
  }
});
