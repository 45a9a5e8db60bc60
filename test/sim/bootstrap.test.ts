// Seeded simulations of a fleet that starts at once (issue 18), one per seeding pattern:
// the active-view graph is one component within 5 s and every active view holds at least 4
// peers within 10 s of virtual time, and it is still one component at the end (30 s).
// `SEED=n npm test` reruns them with another seed. Small fleets keep the test fast; the
// 10,000-node rows are `rumor sim bootstrap`'s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapExperiment, bootstrapRun, SEEDINGS } from '../../src/sim/exp-bootstrap.js';
import { renderReport } from '../../src/sim/report.js';
import { Simulation } from '../../src/sim/simulation.js';

const SEED = Number(process.env.SEED ?? 1);
const SIZES = [20, 200];

for (const seeding of SEEDINGS) {
  test(`bootstrap, ${seeding}: one component by 5 s, every active view >= 4 by 10 s (seed ${SEED})`, { timeout: 60_000 }, () => {
    for (const n of SIZES) {
      const r = bootstrapRun(seeding, n, SEED * 1000 + n);
      const what = `${seeding}, ${n} nodes, seed ${SEED}: ${JSON.stringify(r)}`;
      assert.ok(r.one_component_s !== null && r.one_component_s <= 5, `one component by 5 s — ${what}`);
      assert.ok(r.full_views_s !== null && r.full_views_s <= 10, `every active view >= 4 by 10 s — ${what}`);
      assert.equal(r.components_end, 1, `one component at the end — ${what}`);
    }
  });
}

test('bootstrap runs are deterministic: same seed, same row', () => {
  assert.deepEqual(bootstrapRun('ring', 50, 7), bootstrapRun('ring', 50, 7));
});

test('bootstrap experiment: --nodes runs every pattern once at that size; the report charts both times', () => {
  const r = bootstrapExperiment({ seed: SEED, nodes: 20 });
  assert.equal(r.experiment, 'bootstrap');
  assert.deepEqual(r.rows.map((x) => x.seeding), [...SEEDINGS]);
  assert.ok(r.rows.every((x) => x.nodes === 20));
  const html = renderReport(r);
  assert.ok(html.includes('Seconds until the active-view graph is one component'));
  assert.ok(html.includes('Seconds until every active view holds at least 4 peers'));
  assert.throws(() => bootstrapExperiment({ seed: 1, nodes: 1 }), /nodes: expected an integer >= 2, got 1/);
});

test('bootstrap, all-to-all at 1,000 nodes: one component by 5 s, every active view >= 4 by 10 s', { timeout: 120_000 }, () => {
  // The pattern the island rule used to slow down (a node still joining refused every JOIN:
  // 4.6-5.5 s to one component for seeds 1-3); held JOINs from a node's own contacts fix it.
  const r = bootstrapRun('all-to-all', 1000, SEED * 1000 + 1000);
  const what = `all-to-all, 1000 nodes, seed ${SEED}: ${JSON.stringify(r)}`;
  assert.ok(r.one_component_s !== null && r.one_component_s <= 5, `one component by 5 s — ${what}`);
  assert.ok(r.full_views_s !== null && r.full_views_s <= 10, `every active view >= 4 by 10 s — ${what}`);
  assert.equal(r.components_end, 1, `one component at the end — ${what}`);
});

/** True when the active-view graph over `ids` (alive nodes of `sim`) is one component. */
function oneComponent(sim: Simulation, ids: number[]): boolean {
  const seen = new Set([ids[0]]);
  const stack = [ids[0]];
  while (stack.length > 0) {
    for (const v of sim.node(stack.pop()!).activeView()) {
      if (ids.includes(v) && !seen.has(v)) {
        seen.add(v);
        stack.push(v);
      }
    }
  }
  return seen.size === ids.length;
}

test('island rule: six nodes joined at once as a tree, one crashed 400 ms after they connect: survivors reconnect (<= 3 of 300 seeds apart)', { timeout: 120_000 }, () => {
  // test/net/failure.test.ts "close (RST)" in the simulator: node i joins through node
  // (7(i-1)) mod i, all at the same instant; node 2 crashes 400 ms after the overlay first is
  // one component. A survivor pair that knows nobody else (its only contact was node 2) can
  // never reconnect. Fleets left apart, seeds 1001-1300 (SEED=1) / 1-300: 0 / 1 with the
  // island rule as it is, 0 / 0 with every JOIN refused while joining (before issue 18),
  // 10 / 9 with every JOIN accepted while joining (the rule dropped). Crashed at the first
  // instant of connectivity instead, ~36 % of the fleets in every variant: no protocol can
  // tell a pair about nodes it never heard of.
  const apart: number[] = [];
  for (let k = 1; k <= 300; k++) {
    const seed = SEED * 1000 + k;
    const sim = new Simulation({ nodes: 6, seed });
    sim.join(0, []);
    for (let i = 1; i < 6; i++) sim.join(i, [((i - 1) * 7) % i]);
    const all = [0, 1, 2, 3, 4, 5];
    let t = 0;
    while (!oneComponent(sim, all) && t < 10_000) sim.runUntil((t += 5));
    assert.ok(oneComponent(sim, all), `seed ${seed}: one component within 10 s`);
    sim.runUntil((t += 400));
    sim.crash([2]);
    sim.runUntil(t + 15_000);
    if (!oneComponent(sim, [0, 1, 3, 4, 5])) apart.push(seed);
  }
  assert.ok(apart.length <= 3, `survivors still apart 15 s after the crash in ${apart.length} of 300 fleets (seeds ${apart.join(', ')})`);
});
