/**
 * The overlay hint of the pings to the dead (src/proto/members/dead-pings.ts): members that
 * were suspect or failed here coming back alive as a side (2 within 5 probe periods) make the
 * node tell its overlay once (`reconnected`, HyParView then JOINs through that member) if it
 * wins a draw of probability 4 / members (4 hints expected in the cluster); one
 * member coming back alone hints nothing; hints are at most one per 10 probe periods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeadPings } from '../../../src/proto/members/dead-pings.js';
import { MapStore, hashString } from '../../../src/proto/members/map-store.js';
import type { Rng } from '../../../src/proto/types.js';
import { ALIVE, DEFAULT_MEMBERS_CONFIG, FAILED, SUSPECT, pack, type MembersConfig } from '../../../src/proto/members/types.js';

/** `draw`: what the rng returns (0: a node that draws always hints). */
function setup(draw = 0): { pings: DeadPings<string>; hints: string[]; config: MembersConfig } {
  const config = DEFAULT_MEMBERS_CONFIG;
  const store = new MapStore<string>(hashString, config.rings);
  for (const m of ['self', 'a', 'b', 'c', 'd']) store.set(m, pack(1, ALIVE), 0);
  const hints: string[] = [];
  let seq = 0;
  const pings = new DeadPings<string>(
    { self: 'self', datagram: () => {}, timer: () => {}, reconnected: (m) => hints.push(m), nextSeq: () => ++seq },
    config,
    store,
    { next: () => draw, int: (n: number) => Math.floor(draw * n) } as Rng,
  );
  return { pings, hints, config };
}

test('one member back alone: no hint (a host that was cut off repairs its own links)', () => {
  const { pings, hints, config } = setup();
  pings.changed('a', FAILED, 0, false);
  pings.changed('a', ALIVE, 1000, true);
  pings.changed('b', ALIVE, 1000 + 6 * config.probeIntervalMs, true); // outside the window of 5 periods
  assert.deepEqual(hints, []);
});

test('two members back within 5 probe periods (suspect or failed): one hint, through the second', () => {
  const { pings, hints, config } = setup();
  pings.changed('a', SUSPECT, 0, false);
  pings.changed('a', ALIVE, 100, true);
  pings.changed('b', ALIVE, 100 + 4 * config.probeIntervalMs, true);
  assert.deepEqual(hints, ['b']);
  // More of the side comes back: no second hint within 10 probe periods.
  pings.changed('c', ALIVE, 100 + 5 * config.probeIntervalMs, true);
  pings.changed('d', ALIVE, 100 + 6 * config.probeIntervalMs, true);
  assert.deepEqual(hints, ['b']);
  // A later return of a side, 10 periods after the hint: hinted again.
  const t = 100 + 4 * config.probeIntervalMs + 10 * config.probeIntervalMs;
  pings.changed('a', ALIVE, t, true);
  pings.changed('c', ALIVE, t + 1, true);
  assert.deepEqual(hints, ['b', 'c']);
});

test('alive to alive (a newer incarnation, no trouble) is no return', () => {
  const { pings, hints } = setup();
  pings.changed('a', ALIVE, 0, false);
  pings.changed('b', ALIVE, 1, false);
  pings.changed('c', ALIVE, 2, false);
  assert.deepEqual(hints, []);
});

test('a side back but the draw lost (p = 4/5 with 5 members, drawn 0.99): no hint, and no redraw within 10 periods', () => {
  const { pings, hints, config } = setup(0.99);
  pings.changed('a', ALIVE, 0, true);
  pings.changed('b', ALIVE, 1, true);
  pings.changed('c', ALIVE, 2 + 5 * config.probeIntervalMs, true);
  assert.deepEqual(hints, []);
});
