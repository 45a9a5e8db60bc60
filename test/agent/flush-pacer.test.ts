// The membership's flush pacing in the agent (src/agent/members.ts FlushPacer): the configured
// period, stretched to MEMBERS_BURST_FLUSH_MS only while members join in a burst.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlushPacer, MEMBERS_BURST_FLUSH_MS, MEMBERS_BURST_JOINS, MEMBERS_BURST_WINDOW_MS } from '../../src/agent/members.js';
import { MEMBERS_FLUSH_MS } from '../../src/agent/agent-timing.js';

test('FlushPacer: the configured period unless MEMBERS_BURST_JOINS joins fall within the window', () => {
  let now = 1_000_000;
  const p = new FlushPacer(() => now);
  assert.ok(MEMBERS_BURST_FLUSH_MS > MEMBERS_FLUSH_MS && MEMBERS_BURST_JOINS >= 2);
  assert.equal(p.delay(MEMBERS_FLUSH_MS), MEMBERS_FLUSH_MS, 'no join yet');
  for (let i = 0; i < MEMBERS_BURST_JOINS - 1; i++) {
    p.joined();
    now += 10;
  }
  assert.equal(p.delay(MEMBERS_FLUSH_MS), MEMBERS_FLUSH_MS, 'one join short of a burst');
  p.joined();
  assert.equal(p.delay(MEMBERS_FLUSH_MS), MEMBERS_BURST_FLUSH_MS, 'a burst');
  // A longer configured period is kept.
  assert.equal(p.delay(MEMBERS_BURST_FLUSH_MS * 2), MEMBERS_BURST_FLUSH_MS * 2);
  // The burst ends when its oldest join leaves the window.
  now += MEMBERS_BURST_WINDOW_MS - (MEMBERS_BURST_JOINS - 1) * 10;
  assert.equal(p.delay(MEMBERS_FLUSH_MS), MEMBERS_BURST_FLUSH_MS, 'oldest join at the window edge');
  now += 1;
  assert.equal(p.delay(MEMBERS_FLUSH_MS), MEMBERS_FLUSH_MS, 'the burst is over');
  // Joins spread wider than the window never make a burst.
  for (let i = 0; i < 10; i++) {
    now += MEMBERS_BURST_WINDOW_MS / (MEMBERS_BURST_JOINS - 1) + 1;
    p.joined();
    assert.equal(p.delay(MEMBERS_FLUSH_MS), MEMBERS_FLUSH_MS, `spread join ${i}`);
  }
});
