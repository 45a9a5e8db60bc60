// Unit tests: token buckets, rate alarms (src/net/limits.ts) and peer scores
// (src/proto/peer-score.ts), with exact figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerLimits, RateAlarm, TokenBucket, DEFAULT_LIMITS } from '../../src/net/limits.js';
import { PeerScores, DEFAULT_SCORING } from '../../src/proto/peer-score.js';

test('token bucket: burst, refill at rate, never above burst', () => {
  const b = new TokenBucket(10, 5, 0);
  for (let i = 0; i < 5; i++) assert.equal(b.take(1, 0), true);
  assert.equal(b.take(1, 0), false);
  assert.equal(b.take(1, 100), true); // 100 ms at 10/s = 1 token
  assert.equal(b.take(1, 100), false);
  assert.equal(b.take(5, 10_000), true); // refilled to the burst only
  assert.equal(b.take(1, 10_000), false);
});

test('per-peer limits: frames then bytes', () => {
  const l = new PeerLimits({ ...DEFAULT_LIMITS, framesPerSec: 1, frameBurst: 2, bytesPerSec: 1, byteBurst: 100 });
  assert.equal(l.check('p', 60, 0), 'ok');
  assert.equal(l.check('p', 60, 0), 'bytes');
  assert.equal(l.check('p', 1, 0), 'frames');
  assert.equal(l.check('q', 1, 0), 'ok'); // another peer has its own buckets
});

test('rate alarm: EWMA baseline, alarm above factor × baseline after warm-up, floor respected', () => {
  const a = new RateAlarm({ factor: 4, alpha: 0.5, minRate: 100, warmup: 3 });
  for (let i = 0; i < 3; i++) assert.equal(a.sample(100), false);
  assert.equal(a.baseline, 100);
  assert.equal(a.sample(399), false); // under 4×
  assert.equal(a.baseline, 249.5);
  assert.equal(a.sample(1000), true); // 1000 > 4 × 249.5 = 998: alarm
});

test('rate alarm: a climb alarms and does not move the baseline; below minRate never alarms', () => {
  const a = new RateAlarm({ factor: 4, alpha: 0.1, minRate: 100, warmup: 2 });
  a.sample(10);
  a.sample(10);
  assert.equal(a.sample(90), false); // 9× but below the floor
  const base = a.baseline;
  assert.equal(a.sample(1000), true);
  assert.equal(a.sample(5000), true);
  assert.equal(a.baseline, base);
  assert.equal(a.alarms, 2);
  assert.equal(a.active, true);
});

test('peer scores: threshold, decay, exponential capped quarantine', () => {
  const s = new PeerScores({ ...DEFAULT_SCORING, threshold: -50, halfLifeMs: 1000, quarantineBaseMs: 100, quarantineMaxMs: 250 });
  for (let i = 0; i < 4; i++) assert.equal(s.penalize('p', 'rejected', 0), 0);
  assert.equal(s.score('p', 0), -40);
  assert.equal(s.score('p', 1000), -20); // one half-life
  assert.equal(s.penalize('p', 'rejected', 1000), 0); // −30
  assert.equal(s.penalize('p', 'rejected', 1000), 0); // −40
  assert.equal(s.penalize('p', 'rejected', 1000), 0); // −50: at the threshold, not below
  assert.equal(s.penalize('p', 'bad-frame', 1000), 100); // −55: quarantined 100 ms
  assert.equal(s.quarantined('p', 1099), true);
  assert.equal(s.quarantined('p', 1100), false);
  for (let i = 0; i < 6; i++) s.penalize('p', 'rejected', 2000);
  assert.equal(s.snapshot(2000).p.quarantinedForMs, 200); // second: 2 × 100
  for (let i = 0; i < 6; i++) s.penalize('p', 'rejected', 3000);
  assert.equal(s.snapshot(3000).p.quarantinedForMs, 250); // third: 400, capped at 250
  assert.deepEqual(s.snapshot(3000).p.counts, { 'bad-frame': 1, 'decrypt-fail': 0, rejected: 19, duplicate: 0, 'rate-excess': 0 });
});
