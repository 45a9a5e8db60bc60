import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulation } from '../../src/sim/simulation.js';
import { runScenario } from '../../src/sim/run-scenario.js';
import { EXPERIMENTS } from '../../src/sim/experiments.js';
import type { Scenario } from '../../src/sim/scenario-types.js';
import type { BroadcastKind } from '../../src/proto/node.js';

const SEED = Number(process.env.SEED ?? 1);

function scenario(seed: number): Scenario {
  return {
    name: 'det',
    nodes: 300,
    seed,
    protocol: {},
    network: { latency: { kind: 'lognormal', medianMs: 15, sigma: 0.5 }, loss: 0.01, failureDetection: { kind: 'rst' }, connectTimeoutMs: 1000 },
    timeline: [
      { at: 0, type: 'join-all', intervalMs: 2 },
      { at: 20_000, type: 'broadcast', count: 3, intervalMs: 500 },
      { at: 22_000, type: 'fail', percent: 30 },
      { at: 22_000, type: 'broadcast', count: 3, intervalMs: 1000 },
      { at: 26_000, type: 'snapshot', label: 'after' },
    ],
  };
}

test('same seed gives byte-identical results; another seed differs', () => {
  const a = JSON.stringify(runScenario(scenario(SEED)));
  const b = JSON.stringify(runScenario(scenario(SEED)));
  assert.equal(a, b);
  const c = JSON.stringify(runScenario(scenario(SEED + 1)));
  assert.notEqual(a, c);
  const r = JSON.parse(a);
  assert.equal(r.broadcasts.length, 6);
  assert.equal(r.snapshots.length, 1);
  assert.ok(r.events > 10_000);
});

test('concurrent joins (10 per ms, as in bench/sim.ts) are deterministic and reach every node', () => {
  const s: Scenario = {
    name: 'fast-join',
    nodes: 2000,
    seed: SEED,
    protocol: {},
    network: { latency: { kind: 'uniform', minMs: 5, maxMs: 25 }, loss: 0, failureDetection: { kind: 'rst' }, connectTimeoutMs: 1000 },
    timeline: [
      { at: 0, type: 'join-all', intervalMs: 0.1 },
      { at: 30_200, type: 'broadcast', count: 3, intervalMs: 1000 },
    ],
    endMs: 37_200,
  };
  const a = JSON.stringify(runScenario(s));
  assert.equal(JSON.stringify(runScenario(s)), a);
  const r = JSON.parse(a) as { broadcasts: { reliability: number }[]; log: { atMs: number }[] };
  assert.equal(r.broadcasts.length, 3);
  for (const b of r.broadcasts) assert.equal(b.reliability, 1, JSON.stringify(b));
});

/** 1,000 nodes, joined one per ms, 60 s to settle, 3 warm-up broadcasts. */
function overlay(broadcast: BroadcastKind): Simulation {
  const sim = new Simulation({ nodes: 1000, seed: SEED, protocol: { broadcast } });
  sim.joinAll(1);
  sim.runFor(61_000);
  for (let i = 0; i < 3; i++) {
    sim.broadcast();
    sim.runFor(1000);
  }
  return sim;
}

function series(sim: Simulation, count: number): ReturnType<Simulation['broadcastStats']>[] {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(sim.broadcast());
    sim.runFor(1000);
  }
  sim.runUntilQuiet(10_000);
  return ids.map((id) => sim.broadcastStats(id));
}

test('HyParView overlay at 1,000 nodes: symmetric, connected, in-degree near the active size', () => {
  const sim = overlay('plumtree');
  const o = sim.overlayStats(20);
  assert.equal(o.components, 1, JSON.stringify(o));
  // Views change while NEIGHBOR / DISCONNECT messages are in flight: near-symmetric at any instant.
  assert.ok(o.symmetry >= 0.99, `symmetry ${o.symmetry}`);
  assert.ok(o.meanOutDegree > 4.5 && o.meanOutDegree <= 5, `degree ${o.meanOutDegree}`);
  assert.ok(o.avgPathLength > 3 && o.avgPathLength < 8, `path ${o.avgPathLength}`);
});

test('Plumtree at 1,000 nodes: reliability 1.0, steady RMR <= 0.05; >= 0.99 by the 3rd broadcast after 50% fail', () => {
  const sim = overlay('plumtree');
  for (const s of series(sim, 5)) {
    assert.equal(s.reliability, 1, `broadcast ${s.id}: ${JSON.stringify(s)}`);
    assert.ok(s.rmr !== null && s.rmr <= 0.05, `rmr ${s.rmr}`);
    assert.ok(s.ldh >= 5, `ldh ${s.ldh}`);
  }
  const failed = sim.failPercent(50);
  assert.equal(failed.length, 500);
  const after = series(sim, 5);
  for (const s of after.slice(2)) assert.ok(s.reliability >= 0.99, `after failure ${s.id}: ${s.reliability}`);
});

// Flooding sends to every active member but the sender: ~4 payloads per node, RMR ~ 3 = f - 1
// (protocols.md §2.4, f = active size - 1 = 4).
test('flooding at 1,000 nodes: reliability 1.0 and RMR close to f - 1 = 3', () => {
  const sim = overlay('flood');
  for (const s of series(sim, 3)) {
    assert.equal(s.reliability, 1);
    assert.ok(s.rmr !== null && s.rmr > 2.7 && s.rmr < 3.05, `rmr ${s.rmr}`);
  }
});

test('rounds-vs-n: fanout-3 infect-and-die rounds grow with n and stay near log_{4} n + ln n / 3', () => {
  const small = EXPERIMENTS['rounds-vs-n']({ seed: SEED, nodes: 100 }).rows[0] as Record<string, number>;
  const big = EXPERIMENTS['rounds-vs-n']({ seed: SEED, nodes: 10_000 }).rows[0] as Record<string, number>;
  assert.ok(big.rounds_mean > small.rounds_mean);
  const pred = Math.log(10_000) / Math.log(4) + Math.log(10_000) / 3; // 9.7 (protocols.md §8)
  assert.ok(big.rounds_mean > pred * 0.8 && big.rounds_mean < pred * 2, `rounds ${big.rounds_mean} vs ${pred}`);
  // Infect-and-die residue with fanout 3: s = e^{-3(1-s)} = 0.0595.
  assert.ok(big.reliability > 0.92 && big.reliability < 0.96, `reliability ${big.reliability}`);
});

test('cutLink: both ends see the link fail, drop each other, and the overlay stays whole', () => {
  const sim = new Simulation({ nodes: 200, seed: SEED });
  sim.joinAll(1);
  sim.runFor(40_000);
  const a = 17;
  const b = sim.node(a).activeView()[0];
  const downs: number[][] = [];
  sim.observer = { onLinkDown: (x, y) => downs.push([x, y]) };
  sim.cutLink(a, b);
  sim.runFor(200);
  assert.ok(downs.some(([x, y]) => x === a && y === b) && downs.some(([x, y]) => x === b && y === a), JSON.stringify(downs));
  assert.ok(!sim.node(a).activeView().includes(b));
  assert.ok(!sim.node(b).activeView().includes(a));
  sim.runFor(10_000);
  assert.equal(sim.overlayStats().components, 1);
});
