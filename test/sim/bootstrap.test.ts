// Seeded simulations of a fleet that starts at once (issue 18), one per seeding pattern:
// the active-view graph is one component within 5 s and every active view holds at least 4
// peers within 10 s of virtual time, and it is still one component at the end (30 s).
// `SEED=n npm test` reruns them with another seed. Small fleets keep the test fast; the
// 10,000-node rows are `rumor sim bootstrap`'s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapExperiment, bootstrapRun, SEEDINGS } from '../../src/sim/exp-bootstrap.js';
import { renderReport } from '../../src/sim/report.js';

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
