/**
 * The convergence view's measured run in steps (issue 17): the stepped run gives the same
 * result as the uninterrupted one, reports its progress within a seed, and stops at the first
 * step after a cancel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConvergence, runConvergenceAsync, type ConvergeProgress } from '../../src/web/converge.js';
import type { ConvergeParams } from '../../src/web/protocol.js';

const PLUMTREE: ConvergeParams = { protocol: 'plumtree', interval: 0.2, fanout: 3, nodes: 300, lossPct: 1, failedPct: 10, seeds: 2 };

test('the stepped run gives the same result as one uninterrupted run, with progress in each seed', async () => {
  const want = runConvergence(PLUMTREE, 4);
  const seen: ConvergeProgress[] = [];
  const got = await runConvergenceAsync(PLUMTREE, 4, (p) => seen.push(p), () => false);
  assert.ok(got !== null, 'the run was not cancelled');
  const strip = (r: typeof want): unknown => ({ ...r, wallMs: 0 });
  assert.deepEqual(strip(got), strip(want));
  assert.ok(seen.length >= 2, `expected progress reports, got ${seen.length}`);
  const overall = seen.map((p) => p.done + (p.done < p.total ? p.fraction : 0));
  for (let i = 1; i < overall.length; i++) assert.ok(overall[i] >= overall[i - 1], `progress went back: ${JSON.stringify(seen.slice(i - 1, i + 1))}`);
  assert.deepEqual(seen.at(-1), { done: 2, total: 2, phase: 'spread', fraction: 1 });
});

test('a cancel stops the run at its next step, long before its end', async () => {
  // 20,000 nodes: one seed takes several seconds of wall time; the cancel comes at the first
  // progress report (~0.1 s).
  const big: ConvergeParams = { ...PLUMTREE, nodes: 20_000, seeds: 3 };
  let cancel = false;
  let reports = 0;
  const t0 = performance.now();
  const r = await runConvergenceAsync(big, 1, () => {
    reports++;
    cancel = true;
  }, () => cancel);
  assert.equal(r, null, 'a cancelled run resolves to null');
  assert.equal(reports, 1, 'no progress after the cancel');
  assert.ok(performance.now() - t0 < 60_000, 'stopped within the first seed');
});
