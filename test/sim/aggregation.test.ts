import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aggregation, roundsTo } from '../../src/sim/exp-aggregation.js';
import { renderReport } from '../../src/sim/report.js';

const SEED = Number(process.env.SEED ?? 1);

interface Row {
  protocol: string;
  loss: number;
  crash: number;
  rounds_to_1e3: number | null;
  rounds_to_1e6: number | null;
  final_max_rel_error: number | null;
  msgs_per_node_round: number;
}

test('roundsTo: the first round from which the curve stays at or under eps', () => {
  assert.equal(roundsTo([1, 1e-4, 1, 1e-4, 1e-5], 1e-3), 4);
  assert.equal(roundsTo([1, 1], 1e-3), null);
  assert.equal(roundsTo([1e-9], 1e-3), 1);
});

test('aggregation experiment (300 nodes, seeded): push-sum converges without loss and drifts with it; flow updating holds under loss and crashes', () => {
  const r = aggregation({ nodes: 300, seed: SEED });
  const rows = r.rows as Row[];
  assert.equal(rows.length, 10);
  const row = (protocol: string, loss: number, crash = 0): Row => rows.find((x) => x.protocol === protocol && x.loss === loss && x.crash === crash)!;
  const ps0 = row('push-sum', 0);
  assert.ok(ps0.rounds_to_1e6 !== null && ps0.rounds_to_1e6 <= 40, `push-sum without loss reaches 1e-6 by round 40: ${JSON.stringify(ps0)}`);
  assert.ok(Math.abs(ps0.msgs_per_node_round - 2) < 0.1, 'fanout 2: two pushes per node per round');
  const ps30 = row('push-sum', 0.3);
  assert.ok(ps30.final_max_rel_error !== null && ps30.final_max_rel_error > 1e-4, `push-sum at 30 % loss drifts: ${ps30.final_max_rel_error}`);
  const fl10 = row('flow', 0.1);
  assert.ok(fl10.rounds_to_1e3 !== null, `flow updating at 10 % loss reaches 1e-3: ${JSON.stringify(fl10)}`);
  assert.ok(fl10.final_max_rel_error! < ps30.final_max_rel_error!, 'flow updating at 10 % loss ends closer than push-sum at 30 %');
  const flc = row('flow', 0, 0.1);
  assert.ok(flc.final_max_rel_error !== null && flc.final_max_rel_error < 1e-2, `flow updating re-converges to the survivors' average: ${flc.final_max_rel_error}`);
  assert.equal(r.crashed, 30);
  const curves = r.curves as { max_rel_error: (number | null)[] }[];
  assert.equal(curves.length, 10);
  for (const c of curves) assert.equal(c.max_rel_error.length, r.rounds);
});

test('aggregation experiment: same seed, same result; the report charts the curves', () => {
  const r = aggregation({ nodes: 60, seed: SEED + 1 });
  const html = renderReport(r);
  assert.equal(html.match(/<svg/g)?.length, 2);
  assert.match(html, /Max relative error: 10 % of the nodes crash mid-run/);
  assert.ok(!html.includes('NaN'));
  const a = JSON.stringify(r);
  const b = JSON.stringify(aggregation({ nodes: 60, seed: SEED + 1 }));
  assert.equal(a, b);
});
