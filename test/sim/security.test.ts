// Seeded simulation tests for issue 13 §3 (src/sim/exp-corruption.ts): the S3 corruption
// replay and Byzantine black holes, at small sizes (seconds).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECURITY_EXPERIMENTS } from '../../src/sim/exp-corruption.js';

type CRow = { defences: string; corruption: string; nodes_affected_peak: number; nodes_affected_end: number; clean_after_s: number | null; good_value_end: number };

test('corruption: off spreads to all, checksum stops the wire flip only, validation + reset stops both', { timeout: 120_000 }, () => {
  const n = 300;
  const r = SECURITY_EXPERIMENTS.corruption({ nodes: n, seed: 7 });
  const row = (d: string, c: string): CRow => (r.rows as CRow[]).find((x) => x.defences === d && x.corruption === c)!;
  // Defences off: the wire-corrupted copy reaches every other node and stays.
  assert.equal(row('off', 'wire').nodes_affected_peak, n - 1);
  assert.equal(row('off', 'wire').clean_after_s, null);
  // Checksum: the wire flip never gets through; the memory flip reaches everyone.
  assert.equal(row('checksum', 'wire').nodes_affected_peak, 0);
  assert.equal(row('checksum', 'memory').nodes_affected_end, n);
  assert.equal(row('checksum', 'memory').clean_after_s, null);
  // Checksum + reset: what got through is cleared by the reset (issued 10 s after t0).
  const cr = row('checksum+reset', 'memory');
  assert.equal(cr.nodes_affected_peak, n);
  assert.equal(cr.nodes_affected_end, 0);
  assert.ok(cr.clean_after_s !== null && cr.clean_after_s >= 10 && cr.clean_after_s < 15, String(cr.clean_after_s));
  assert.equal(cr.good_value_end, n);
  // Checksum + validation + reset: only C's own memory was ever corrupt; all clean, good value everywhere.
  const full = row('checksum+validation+reset', 'memory');
  assert.equal(full.nodes_affected_peak, 1);
  assert.equal(full.nodes_affected_end, 0);
  assert.equal(full.good_value_end, n);
  assert.equal(row('checksum+validation+reset', 'wire').nodes_affected_peak, 0);
});

test('corruption is deterministic for a seed', { timeout: 120_000 }, () => {
  const a = SECURITY_EXPERIMENTS.corruption({ nodes: 100, seed: 3 });
  const b = SECURITY_EXPERIMENTS.corruption({ nodes: 100, seed: 3 });
  assert.deepEqual(a, b);
});

type BRow = { attack: string; percent: number; scoring: string; reliability_min: number; latency_p99_ms: number | null; quarantines: number };

test('byzantine: 10 % black holes leave every broadcast at >= 99.9 % of honest nodes; flooders are quarantined', { timeout: 180_000 }, () => {
  const r = SECURITY_EXPERIMENTS.byzantine({ nodes: 300, seed: 5 });
  const rows = r.rows as BRow[];
  assert.equal(rows.length, 12);
  for (const x of rows.filter((y) => y.attack === 'blackhole' && y.percent === 10)) {
    assert.ok(x.reliability_min >= 0.999, JSON.stringify(x));
  }
  for (const x of rows.filter((y) => y.attack === 'flood')) {
    if (x.scoring === 'on') assert.ok(x.quarantines > 0, JSON.stringify(x));
    else assert.equal(x.quarantines, 0);
  }
});
