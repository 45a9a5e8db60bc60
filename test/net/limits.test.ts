// Unit tests: token buckets, rate alarms, the origin share (src/net/limits.ts) and peer scores
// (src/proto/peer-score.ts), with exact figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OriginLimits, OriginShare, PeerLimits, RateAlarm, TokenBucket, DEFAULT_LIMITS } from '../../src/net/limits.js';
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

/** An origin share with a settable utilization: busy at 0.1, never capped under 1,000/s,
 *  100 ms ticks, lifted at 5,000/s. */
function share(): { s: OriginShare; load: { u: number } } {
  const load = { u: 0 };
  return { s: new OriginShare({ busyElu: 0.1, minPerSec: 1000, tickMs: 100 }, 5000, () => load.u, 0), load };
}

/** Offer `n` frames of `origin` at `now`; how many were admitted. */
function offer(s: OriginShare, origin: string, n: number, now: number, ingress = true): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (s.admit(origin, ingress, now)) k++;
  return k;
}

test('origin share: on a busy node the origin over its fair share is capped at its ingress; the other origin never', () => {
  const { s, load } = share();
  // First tick: 4,500/s of F and 20/s of H, all admitted (no cap yet).
  assert.equal(offer(s, 'F', 450, 50), 450);
  assert.equal(offer(s, 'H', 2, 50), 2);
  // At 100 ms the tick finds the thread at 0.2: capacity 4,520/s × 0.1 / 0.2 = 2,260/s, fair
  // share 2,260 / 2 origins = 1,130/s; F (4,500/s) is capped at 1,130/s = 113 per tick.
  load.u = 0.2;
  assert.equal(offer(s, 'H', 1, 100), 1);
  assert.equal(s.capped('F'), true);
  assert.equal(s.capped('H'), false);
  assert.equal(offer(s, 'F', 450, 150), 113);
  assert.equal(offer(s, 'H', 1, 150), 1);
  // Relayed frames of F (another peer sent them) are never refused.
  assert.equal(offer(s, 'F', 50, 150, false), 50);
  // Seen before decoding: past the cap in this tick, refused unread; H is not capped.
  assert.equal(s.refuseUnread('F', 160), true);
  assert.equal(s.refuseUnread('H', 160), false);

  const snap = s.snapshot();
  assert.deepEqual(snap.capped, { F: 1130 });
  assert.equal(snap.dropped, 338);
  assert.equal(snap.busy, true);
  assert.equal(snap.cuts, 1);
  // A burst over twice the static rate (2 × 5,000/s = 1,000 of F's own frames per tick; 451 so
  // far) is left to the static limits: the next 549 are refused, none past the 1,000th.
  assert.equal(offer(s, 'F', 600, 170), 51);
  assert.equal(s.refuseUnread('F', 180), false);
  assert.equal(s.snapshot().dropped, 338 + 549);
});

test('origin share: a publisher alone on a busy node is never capped; an idle node caps nothing', () => {
  const { s, load } = share();
  load.u = 0.9;
  for (let t = 0; t < 10; t++) assert.equal(offer(s, 'B', 1000, t * 100 + 10), 1000); // 10,000/s alone
  assert.equal(s.snapshot().dropped, 0);
  const idle = share();
  idle.load.u = 0.05; // under busyElu
  for (let t = 0; t < 5; t++) {
    assert.equal(offer(idle.s, 'F', 450, t * 100 + 10), 450);
    assert.equal(offer(idle.s, 'H', 2, t * 100 + 10), 2);
  }
  assert.deepEqual(idle.s.snapshot().capped, {});
});

test('origin share: the cap never goes under minPerSec; it holds between the thresholds, grows a quarter per idle tick and is lifted at the static rate', () => {
  const { s, load } = share();
  offer(s, 'F', 450, 10);
  offer(s, 'H', 2, 10);
  load.u = 0.9; // capacity 4,520 × 0.1 / 0.9 = 502/s, fair 251/s: the floor, 1,000/s, applies
  offer(s, 'H', 1, 100);
  assert.deepEqual(s.snapshot().capped, { F: 1000 });
  load.u = 0.07; // between busyElu / 2 and busyElu: hold
  offer(s, 'H', 1, 200);
  assert.deepEqual(s.snapshot().capped, { F: 1000 });
  load.u = 0.01; // idle: ×1.25 per tick elapsed
  offer(s, 'H', 1, 300);
  assert.deepEqual(s.snapshot().capped, { F: 1250 });
  offer(s, 'H', 1, 500); // two ticks: × 1.5625
  assert.deepEqual(s.snapshot().capped, { F: 1953 });
  offer(s, 'H', 1, 1000); // five ticks: past 5,000/s, lifted
  assert.deepEqual(s.snapshot().capped, {});
  assert.equal(offer(s, 'F', 450, 1050), 450);
  assert.equal(s.refuseUnread('F', 1060), false); // not capped: decode it
});

test('token bucket has / origin limits within: the check spends nothing', () => {
  const b = new TokenBucket(10, 2, 0);
  assert.equal(b.has(2, 0), true);
  assert.equal(b.has(2, 0), true, 'has spent nothing');
  assert.equal(b.take(2, 0), true);
  assert.equal(b.has(1, 0), false);
  assert.equal(b.has(1, 100), true, '100 ms at 10/s = 1 token');
  const o = new OriginLimits({ ...DEFAULT_LIMITS, originPerSec: 1, originBurst: 1 });
  assert.equal(o.within('a', 0), true);
  assert.equal(o.within('a', 0), true);
  assert.equal(o.allow('a', 0), true);
  assert.equal(o.within('a', 0), false, 'the burst spent by allow');
  assert.equal(o.within('b', 0), true, 'another origin has its own bucket');
});
