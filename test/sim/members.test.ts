import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MembersSim, PEER_BYTES } from '../../src/sim/members-app.js';
import { membersSize } from '../../src/wire/members.js';
import { crashAndDetect, settledMembers, MF_NETWORK } from '../../src/sim/exp-membership-failures.js';
import { FAILED, SUSPECT, statusOf } from '../../src/proto/members/types.js';

const SEED = Number(process.env.SEED ?? 1);

/** Run until `cond` holds, one virtual second at a time, at most `maxS` seconds. */
function runUntil(ms: MembersSim, cond: () => boolean, maxS: number): boolean {
  for (let i = 0; i < maxS; i++) {
    if (cond()) return true;
    ms.sim.runFor(1000);
  }
  return cond();
}

function falseFailed(ms: MembersSim, except: Set<number>): number[] {
  const out: number[] = [];
  for (let m = 0; m < ms.sim.n; m++) if (!except.has(m) && !Number.isNaN(ms.firstFailed[m])) out.push(m);
  return out;
}

test('correlated failure: a node crashing with every overlay neighbour is still failed by every survivor', () => {
  const { ms } = settledMembers(300, SEED, MF_NETWORK);
  const sim = ms.sim;
  const v = sim.liveNodes().find((x) => sim.node(x).activeView().length >= 2)!;
  const group = [v, ...sim.node(v).activeView()];
  ms.watchFrom = sim.now;
  sim.crash(group, { silent: true });
  const ok = runUntil(ms, () => group.every((m) => !Number.isNaN(ms.allFailed[m])), 60);
  assert.ok(ok, `not every survivor marked ${group.join(',')} failed within 60 s`);
  assert.equal(ms.stuckAlive(group), 0);
  assert.deepEqual(falseFailed(ms, new Set(group)), [], 'no survivor marked failed');
});

test('stalled observer: a node stopped for 5 s accuses no healthy node when it wakes', () => {
  const { ms } = settledMembers(300, SEED, MF_NETWORK);
  const sim = ms.sim;
  const o = 7;
  assert.equal(ms.machines[o]!.health, 0);
  ms.watchFrom = sim.now;
  sim.stall(o, 5000);
  sim.runFor(5100);
  assert.ok(ms.machines[o]!.health > 0, 'its late timers raised its local health score');
  sim.runFor(25_000);
  assert.deepEqual(falseFailed(ms, new Set([o])), [], 'no healthy node marked failed by anyone');
  // The stalled node itself is alive again everywhere (it refuted whatever was said of it).
  assert.equal(ms.notAliveSomewhere(), 0);
});

test('stalled observer: it wakes holding an expired suspicion of a node that refuted meanwhile, and reads the refutation before declaring it failed', () => {
  let tried = 0;
  for (let s = 0; s < 5; s++) {
    const { ms } = settledMembers(300, SEED, MF_NETWORK);
    const sim = ms.sim;
    const o = ms.machines[0]!.detector.observersOf(s)[0];
    ms.watchFrom = sim.now;
    sim.stall(s, 3000);
    let suspected = false;
    for (let i = 0; i < 40 && !suspected; i++) {
      sim.runFor(100);
      suspected = statusOf(ms.shared.get(o, s)) === SUSPECT;
    }
    if (!suspected) continue;
    tried++;
    // The observer stops while it suspects s; s wakes and refutes while the observer sleeps.
    sim.stall(o, 6000);
    sim.runFor(12_000);
    assert.ok(Number.isNaN(ms.firstFailed[s]), `node ${s} (refuted during observer ${o}'s stall) was marked failed`);
    assert.deepEqual(falseFailed(ms, new Set([o])), [], 'no node but the stalled observer marked failed');
  }
  assert.ok(tried >= 3, `only ${tried} of 5 subjects were suspected by their observer during their own stall`);
});

test('90 % of the nodes crash at once: every survivor eventually fails every crashed node', () => {
  const { ms } = settledMembers(200, SEED, MF_NETWORK);
  const r = crashAndDetect(ms, 90, 300_000) as { crashed: number; detected: number; stuck_alive: number; false_failed: number };
  assert.equal(r.crashed, 180);
  assert.equal(r.detected, 180, 'every crashed node failed everywhere');
  assert.equal(r.stuck_alive, 0);
  assert.equal(r.false_failed, 0);
  for (const x of ms.sim.liveNodes()) assert.notEqual(statusOf(ms.shared.get(x, x)), FAILED);
});

test('membership simulation: same seed, identical detection times', () => {
  const run = () => {
    const { ms } = settledMembers(150, SEED, MF_NETWORK);
    return JSON.stringify(crashAndDetect(ms, 30, 60_000));
  };
  assert.equal(run(), run());
});

test('a flooded batch is charged the codec size of the entries each link gets, and counted as sent', () => {
  const ms = new MembersSim({ nodes: 10, seed: SEED });
  // A batch of 100 changes (states of varied varint sizes) and links leaving out various entries.
  const ids = Array.from({ length: 100 }, (_, i) => i % 10);
  const states = Array.from({ length: 100 }, (_, i) => i * 977 * 4 + (i % 4));
  const skips: (number[] | null)[] = [null, [0, 0, 0, 0], [1, 0, 0, 0], [0xffffffff, 0xffffffff, 0xffffffff, 0xf], [0x80000001, 0x12345678, 0, 0x8], [0xfffffffe, 0, 0, 0]];
  let entries = 0;
  for (const skip of skips) {
    const msg = { type: 'm-changes' as const, ids, states, metas: null, sync: false, skip };
    const before = ms.floodEntries;
    const got = ms.messageSize(msg);
    let kept = 0;
    for (let i = 0; i < 100; i++) if (skip === null || (skip[i >>> 5] & (1 << (i & 31))) === 0) kept++;
    assert.equal(got, membersSize(msg, () => PEER_BYTES), `skip ${JSON.stringify(skip)}`);
    assert.equal(ms.floodEntries - before, kept);
    entries += kept;
  }
  // A second batch (a new flush) is sized afresh, not from the first one's entries.
  const other = { type: 'm-changes' as const, ids: ids.slice(0, 40), states: states.slice(60), metas: null, sync: false, skip: [1, 0] };
  assert.equal(ms.messageSize(other), membersSize(other, () => PEER_BYTES));
  assert.equal(ms.floodEntries, entries + 39);
});
