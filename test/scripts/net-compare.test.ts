// bench/net.ts --compare: the ratios of encrypted to plaintext runs (bench/net-compare.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePair, formatPairs, median, summarize, type NetRun } from '../../bench/net-compare.js';

const step = (rate: number, cpuUsPerMsg: number, p99 = 50, complete = 1000): NetRun['ramp'][number] => ({ rate, complete, count: 1000, p99, cpuUsPerMsg });
const run = (encrypt: boolean, throughput: number, ramp: NetRun['ramp']): NetRun => ({ encrypt, loadavg_1m_at_end: 1.5, throughput_msgs_per_s: throughput, latency_p50_ms: 1, latency_p99_ms: 5, ramp });

test('comparePair: throughput ratio, and CPU ratios only at rates where both runs delivered every message', () => {
  const plain = run(false, 10_000, [step(5000, 8), step(7500, 7.5), step(10_000, 7.3), step(11_000, 9, 900)]);
  // The encrypted run lost messages at 7,500/s (not compared) and missed p99 at 10,000/s
  // (compared: every message arrived, its CPU per message was measured).
  const enc = run(true, 5000, [step(5000, 10), step(7500, 9, 50, 999), step(10_000, 9.5, 250)]);
  const p = comparePair(1, 'plain', plain, enc);
  assert.equal(p.throughput.ratio, 0.5);
  assert.deepEqual(p.cpu, [
    { rate: 5000, plain: 8, encrypt: 10, ratio: 0.8 },
    { rate: 10_000, plain: 7.3, encrypt: 9.5, ratio: 0.768 },
  ]);
  assert.equal(p.cpu_ratio_top, 0.768);
});

test('comparePair: no common rate and no plaintext throughput give nulls, not numbers', () => {
  const p = comparePair(2, 'encrypt', run(false, 0, [step(250, 40, 300, 990)]), run(true, 0, [step(250, 50)]));
  assert.equal(p.throughput.ratio, null);
  assert.deepEqual(p.cpu, []);
  assert.equal(p.cpu_ratio_top, null);
});

test('median and summary over pairs', () => {
  assert.equal(median([0.9, null, 0.7, 0.8]), 0.8);
  assert.equal(median([0.6, 0.8]), 0.7);
  assert.equal(median([null]), null);
  const pairs = [0.72, 0.65, 0.81].map((r, i) => comparePair(i + 1, 'plain', run(false, 10_000, [step(1000, 10)]), run(true, 10_000 * r, [step(1000, 10 / r)])));
  const s = summarize(pairs);
  assert.equal(s.throughput_ratio_median, 0.72);
  assert.equal(s.cpu_ratio_top_median, 0.72);
  assert.match(formatPairs(pairs).at(-1)!, /median throughput ratio 72 %, median CPU ratio at the top common rate 72 %/);
});
