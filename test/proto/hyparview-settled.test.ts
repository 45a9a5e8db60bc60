import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MiniNet } from './hyparview-mininet.js';
import { DEFAULT_HYPARVIEW_CONFIG } from '../../src/proto/hyparview-config.js';

/**
 * A small settled cluster must keep its overlay: every active-view change breaks a Plumtree
 * tree edge, and a broadcast that needed that edge is recovered only by GRAFT (issue 3).
 * 20 nodes (fewer than the views hold, so every node knows nearly every other) join through
 * one seed, as in bench/net.ts. Settling may take a few shuffle periods (a node two short of a
 * full view escalates once, evicting someone); from 120 s on nothing may change for 10 minutes
 * when `escalateSettledAfter` is large. With the default (2, which heals the islands of a
 * 10^6-node fast join in time) the one-short gap wanders: measured 0–50 link-down events in
 * those 10 minutes over seeds 1–8 (10 s shuffle period).
 */
const STILL = { ...DEFAULT_HYPARVIEW_CONFIG, escalateSettledAfter: 1_000 };
for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`20 nodes through one seed (seed ${seed}), escalateSettledAfter 1000: no active-view change after settling`, () => {
    const net = new MiniNet(20, seed, STILL);
    net.nodes[0].join([], 0);
    for (let i = 1; i < 20; i++) {
      net.nodes[i].join([0], net.now);
      net.drain();
    }
    net.runUntil(120_000);
    const mean = net.check(5);
    assert.ok(mean >= 4.5, `mean active view ${mean}`);
    const before = net.downs;
    net.runUntil(720_000);
    net.check(5);
    assert.equal(net.downs - before, 0, `active-view changes between 120 s and 720 s: ${JSON.stringify(net.downLog)}`);
  });
}

/**
 * The default (`escalateSettledAfter` 2) is kept: it is what heals the islands of a 10^6-node
 * fast join in time (see hyparview-config.ts). What it guarantees a small settled cluster is
 * weaker than stillness, and tested here: sampled every 10 s from 120 s to 720 s, views stay
 * symmetric, bounded and connected, at most one link short in total (mean ≥ 4.9 over 20
 * nodes), and the wandering gap costs at most one link-down per shuffle period (60 in the 10
 * minutes; measured 0–50 over seeds 1–16).
 */
function connected(net: MiniNet): boolean {
  const seen = new Set<number>([0]);
  const todo = [0];
  while (todo.length > 0) {
    for (const p of net.nodes[todo.pop()!].activeView()) {
      if (!seen.has(p)) {
        seen.add(p);
        todo.push(p);
      }
    }
  }
  return seen.size === net.nodes.length;
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`20 nodes through one seed (seed ${seed}), default config: connected, full to within one link, at most one change per shuffle period`, () => {
    const net = new MiniNet(20, seed, DEFAULT_HYPARVIEW_CONFIG);
    net.nodes[0].join([], 0);
    for (let i = 1; i < 20; i++) {
      net.nodes[i].join([0], net.now);
      net.drain();
    }
    net.runUntil(120_000);
    const before = net.downs;
    for (let t = 120_000; t <= 720_000; t += 10_000) {
      net.runUntil(t);
      const mean = net.check(5);
      assert.ok(mean >= 4.9, `at ${t / 1000} s: mean active view ${mean}`);
      assert.ok(connected(net), `at ${t / 1000} s: overlay split`);
    }
    const periods = 600_000 / DEFAULT_HYPARVIEW_CONFIG.shuffleIntervalMs;
    assert.ok(net.downs - before <= periods, `${net.downs - before} link-downs in ${periods} shuffle periods: ${JSON.stringify(net.downLog)}`);
  });
}
