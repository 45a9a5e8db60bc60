import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SERF_DEFAULTS,
  serfBandwidth,
  serfCurve,
  serfFractionAtRound,
  timeToPct,
  validateSerfInputs,
} from '../../src/web/analytic.js';

test('Serf defaults reach 99.99% at 1.8 s (round 9)', () => {
  const c = serfCurve(SERF_DEFAULTS);
  assert.equal(c.length, 10);
  assert.ok(c[8].pct < 99.99, `round 8 is ${c[8].pct}`);
  assert.ok(c[9].pct >= 99.99, `round 9 is ${c[9].pct}`);
  const t = timeToPct(c, 99.99);
  assert.ok(t !== null && Math.abs(t - 1.8) < 1e-9, `t=${t}`);
  // Round 0: one node of 31 in Serf's formula.
  assert.ok(Math.abs(c[0].pct - 100 / 32) < 1e-9);
});

test('derived figures of protocols.md §3.5 for other sizes', () => {
  const rounds = (nodes: number, lossPct = 0, failedPct = 0): number => {
    const c = serfCurve({ ...SERF_DEFAULTS, nodes, lossPct, failedPct });
    return c.length - 1;
  };
  assert.equal(rounds(1000), 11);
  assert.equal(rounds(10000), 13);
  assert.equal(rounds(10000, 10), 14);
  assert.equal(rounds(10000, 0, 50), 25);
});

test('curve stops at 100 points when it cannot converge', () => {
  const c = serfCurve({ ...SERF_DEFAULTS, fanout: 0.01, nodes: 1000 });
  assert.equal(c.length, 100);
  assert.ok(c[99].pct < 99.99);
  assert.equal(timeToPct(c, 99.99), null);
});

test('bandwidth at defaults: 42,000 B/s = 336 kbit/s = 328.1 Kibit/s', () => {
  const b = serfBandwidth(SERF_DEFAULTS);
  assert.equal(b.bytesPerSec, 42000);
  assert.equal(b.kbitPerSec, 336);
  assert.equal(Math.round(b.kibitPerSec * 10) / 10, 328.1);
});

test('fraction is monotone and bounded', () => {
  let prev = 0;
  for (let x = 0; x < 20; x++) {
    const f = serfFractionAtRound(SERF_DEFAULTS, x);
    assert.ok(f > prev && f < 1);
    prev = f;
  }
});

test('validation follows Serf and names the field', () => {
  assert.deepEqual(validateSerfInputs({}), { ok: true, value: SERF_DEFAULTS });
  assert.deepEqual(validateSerfInputs({ nodes: '100' }), { ok: true, value: { ...SERF_DEFAULTS, nodes: 100 } });
  const bad: [Record<string, unknown>, string][] = [
    [{ interval: 0 }, 'interval:'],
    [{ interval: 'x' }, 'interval:'],
    [{ fanout: -1 }, 'fanout:'],
    [{ nodes: 1 }, 'nodes:'],
    [{ lossPct: 100 }, 'lossPct:'],
    [{ lossPct: -0.1 }, 'lossPct:'],
    [{ failedPct: 100 }, 'failedPct:'],
  ];
  for (const [input, prefix] of bad) {
    const r = validateSerfInputs(input);
    assert.equal(r.ok, false);
    if (!r.ok) assert.ok(r.reason.startsWith(prefix), r.reason);
  }
});
