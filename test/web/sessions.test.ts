import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SpreadSession, validateSpreadParams, memberlistRetransmits } from '../../src/web/spread.js';
import { OverlaySession, clusteringCoefficient, components } from '../../src/web/overlay.js';
import { band, meanTimeTo, runConvergence, validateConvergeParams, type SeedRun } from '../../src/web/converge.js';

function runToEnd(s: SpreadSession): void {
  for (let i = 0; i < 1000 && !s.stats().done; i++) s.step(1);
  assert.ok(s.stats().done, 'spread finished');
}

test('plumtree spread on 40 nodes reaches everyone; second rumor uses the pruned tree', () => {
  const s = new SpreadSession({ protocol: 'plumtree', nodes: 40, fanout: 3, seed: 1, loss: 0 });
  s.start(0);
  assert.equal(s.stats().round, 0);
  assert.equal(s.stats().infected, 1);
  s.step(1);
  const r1 = s.stats();
  assert.equal(r1.round, 1);
  assert.ok(r1.infected > 1 && r1.infected <= 6, `hop 1 reaches the origin's active view: ${r1.infected}`);
  runToEnd(s);
  const first = s.stats();
  assert.equal(first.infected, 40);
  assert.equal(first.alive, 40);
  // 1 + 5 + 20 + 80 ≥ 40 needs three hops when each node forwards to ≤ 4 new peers.
  assert.ok(first.round >= 3, `round ${first.round}`);
  const st = s.state(1);
  assert.equal(st.edges.length, 2 * 39, 'one carrying link per infected node but the origin');
  s.start(5);
  runToEnd(s);
  const second = s.stats();
  assert.equal(second.rumor, 2);
  assert.equal(second.infected, 40);
  assert.ok(second.rmr < first.rmr, `tree RMR ${second.rmr} < flood RMR ${first.rmr}`);
});

test('spread is deterministic for a seed', () => {
  const a = new SpreadSession({ protocol: 'fanout', nodes: 100, fanout: 3, seed: 7, loss: 0 });
  const b = new SpreadSession({ protocol: 'fanout', nodes: 100, fanout: 3, seed: 7, loss: 0 });
  a.start(3);
  b.start(3);
  runToEnd(a);
  runToEnd(b);
  assert.deepEqual(a.stats(), b.stats());
  assert.deepEqual(a.state(1).hop, b.state(1).hop);
});

test('crashed nodes are excluded; cut links repair; bad input is refused by field', () => {
  const s = new SpreadSession({ protocol: 'flood', nodes: 60, fanout: 3, seed: 2, loss: 0 });
  s.crash([1, 2, 3]);
  const links = s.links();
  assert.ok(links.length > 0);
  s.cut(links[0], links[1]);
  // Origin far from the crashed early joiners (node 0's view was {1, 2}: a rumor sent into
  // links whose failure is not yet detected is lost, as flooding never retransmits).
  s.start(30);
  runToEnd(s);
  const st = s.stats();
  assert.equal(st.alive, 57);
  // Node 0 lost both neighbours (1, 2) and may still be repairing its view: ≥ 56 of 57.
  assert.ok(st.infected >= 56 && st.infected <= 57, `infected ${st.infected}`);
  const hop = s.state(1).hop;
  assert.deepEqual([hop[1], hop[2], hop[3]], [-1, -1, -1]);
  assert.throws(() => s.start(1), /origin: node 1 has failed/);
  assert.throws(() => new SpreadSession({ protocol: 'fanout', nodes: 5, fanout: 3, seed: 1, loss: 0 }), /^RangeError: nodes:/);
  const f = new SpreadSession({ protocol: 'fanout', nodes: 20, fanout: 3, seed: 1, loss: 0 });
  assert.throws(() => f.cut(0, 1), /^RangeError: link:/);
  assert.throws(() => f.step(1), /^RangeError: rumor:/);
  assert.equal(validateSpreadParams({ protocol: 'fanout', nodes: 10, fanout: 1, seed: 0, loss: 1 }), 'loss: must be ≥ 0 and < 1');
  assert.equal(memberlistRetransmits(30), 8);
  assert.equal(memberlistRetransmits(10000), 20);
});

test('overlay session: one component, histogram sums to live nodes, failures repair', () => {
  const o = new OverlaySession({ nodes: 200, seed: 1 });
  const s0 = o.state(1);
  assert.equal(s0.components, 1);
  assert.equal(s0.inDegreeHist.reduce((a, b) => a + b, 0), 200);
  assert.ok(s0.clustering >= 0 && s0.clustering < 0.2, `clustering ${s0.clustering}`);
  o.failPercent(30);
  const s1 = o.state(2);
  assert.equal(s1.inDegreeHist.reduce((a, b) => a + b, 0), 140);
  o.advance(10000);
  const s2 = o.state(3);
  assert.ok(s2.notFull < s1.notFull, `views repair: ${s1.notFull} → ${s2.notFull}`);
  assert.equal(s2.components, 1);
});

test('graph metrics on small graphs', () => {
  const alive = new Uint8Array([1, 1, 1, 1, 1]);
  // Triangle 0-1-2 plus an isolated edge 3-4.
  const views = [[1, 2], [0, 2], [0, 1], [4], [3]];
  assert.equal(components(views, alive), 2);
  // Nodes 0,1,2: coefficient 1; nodes 3,4: degree 1 → 0. Mean 3/5.
  assert.equal(clusteringCoefficient(views, alive), 0.6);
});

test('measured convergence: Serf defaults, fanout gossip reaches every live node', () => {
  const r = runConvergence({ protocol: 'fanout', interval: 0.2, fanout: 3, nodes: 30, lossPct: 0, failedPct: 0, seeds: 3 }, 9);
  assert.equal(r.seq, 9);
  assert.ok(r.t100 !== null && r.t99 !== null && r.t99 <= r.t100);
  const m = r.measured;
  assert.equal(m.mean[m.mean.length - 1], 100);
  for (let i = 0; i < m.t.length; i++) assert.ok(m.p5[i] <= m.mean[i] + 1e-9 && m.mean[i] <= m.p95[i] + 1e-9);
  assert.ok(r.bytesPerNode > 1400, 'at least one 1400-byte payload per node');
  assert.equal(validateConvergeParams({ ...r.params, nodes: 100001 }), 'nodes: must be an integer from 2 to 100,000');
  assert.equal(validateConvergeParams({ ...r.params, lossPct: 100 }), 'lossPct: packet loss must be ≥ 0 and < 100');
});

test('band and meanTimeTo on hand-made runs', () => {
  const runs: SeedRun[] = [
    { times: [0, 1, 2, 3], live: 4, bytes: 0, durationS: 3 },
    { times: [0, 1, 1, 1], live: 4, bytes: 0, durationS: 1 },
  ];
  assert.equal(meanTimeTo(runs, 100), 2);
  assert.equal(meanTimeTo(runs, 50), 1);
  const b = band(runs, 3);
  assert.deepEqual(b.t, [0, 1, 2, 3]);
  assert.deepEqual(b.mean, [25, 75, 87.5, 100]);
  assert.equal(meanTimeTo([{ times: [0], live: 4, bytes: 0, durationS: 0 }], 100), null);
});
