import { test } from 'node:test';
import assert from 'node:assert/strict';
import { intKey, lineAligned, SharedChangeLog, SharedMembers, stateHash, type StoreView } from '../../src/sim/members-store.js';
import { MapStore } from '../../src/proto/members/map-store.js';
import { BUCKETS, entryHash, pack } from '../../src/proto/members/types.js';
import { Sfc32 } from '../../src/proto/rng.js';

/**
 * The shared table (members-store.ts) must answer, for every live node, exactly what a
 * private `MapStore` with the same writes answers (get, size, bucket hashes), and `agreed`
 * must be a state exactly when every live node holds it. Seeded random writes, crashes
 * (release) and restarts (register), with few members so that versions pile up and collapse.
 */
/** Views `randomWrites` found at the version of their previous check (its last run). */
let lastUnchangedChecks = 0;

function randomWrites(N: number, M: number, seed: number, steps: number, waveEvery = 500): SharedMembers {
  const rng = new Sfc32(seed);
  const shared = new SharedMembers(N, 2, pack(0, 0));
  const views: (StoreView | null)[] = [];
  const models: (MapStore<number> | null)[] = [];
  const fresh = (x: number): void => {
    views[x] = shared.register(x);
    const model = new MapStore<number>(intKey, 2);
    // A (re)started node holds the base: for each member the state every live node agreed on.
    for (let m = 0; m < N; m++) {
      const base = baseOf(m);
      if (base >= 0) model.set(m, base, 0);
    }
    models[x] = model;
    seen[x] = null;
  };
  // Each view's `version` and states at the last check: while the version stays, so must every
  // state (other nodes' writes, collapses into the base, crashes and restarts included).
  const seen: ({ version: number; states: number[] } | null)[] = [];
  let unchangedChecks = 0;
  // The base as the views show it: what every other live view holds when they agree, else
  // the state the table started from for members never collapsed since (tracked below).
  const bases = new Float64Array(N).fill(pack(0, 0));
  const baseOf = (m: number): number => bases[m];
  for (let x = 0; x < N; x++) fresh(x);
  let collapses = 0;
  shared.hooks = {
    onCollapse: (m, s) => {
      bases[m] = s;
      collapses++;
    },
  };
  let checks = 0;
  for (let step = 0; step < steps; step++) {
    const x = rng.int(N);
    const r = rng.int(100);
    if (r < 2 && views[x] !== null) {
      shared.release(x, step);
      views[x] = null;
      models[x] = null;
      continue;
    }
    if (r < 4 && views[x] === null) {
      fresh(x);
      continue;
    }
    if (step % waveEvery === 0) {
      // A change reaches every live node (a finished wave): its version must collapse.
      const m = rng.int(M);
      const state = pack(2, rng.int(4));
      for (let y = 0; y < N; y++) {
        views[y]?.set(m, state, step);
        models[y]?.set(m, state, step);
      }
      assert.equal(shared.agreed(m), state, `member ${m}: every live node holds ${state}`);
    }
    if (views[x] === null) continue;
    const m = rng.int(M);
    // A few states per member (incarnations 0-1, each status, or removed): versions collide.
    const state = rng.int(10) === 0 ? -1 : pack(rng.int(2), rng.int(4));
    views[x]!.set(m, state, step);
    models[x]!.set(m, state, step);
    if (step % 97 !== 0) continue;
    for (let y = 0; y < N; y++) {
      const v = views[y];
      const model = models[y];
      if (v === null || model === null) continue;
      assert.equal(v.size(), model.size(), `node ${y}: size`);
      for (let b = 0; b < BUCKETS; b++) assert.equal(v.bucketHash(b), model.bucketHash(b), `node ${y}: bucket ${b} hash`);
      for (let k = 0; k < M; k++) assert.equal(v.get(k), model.get(k), `node ${y}: member ${k}`);
      const states = Array.from({ length: M }, (_, k) => v.get(k));
      const last = seen[y];
      if (last !== null && last !== undefined && last.version === v.version()) {
        assert.deepEqual(states, last.states, `node ${y}: its view changed at version ${last.version}`);
        unchangedChecks++;
      }
      seen[y] = { version: v.version(), states };
    }
    for (let k = 0; k < M; k++) {
      const held = new Set<number>();
      for (let y = 0; y < N; y++) if (models[y] !== null) held.add(models[y]!.get(k));
      const agreed = shared.agreed(k);
      if (held.size === 1) assert.equal(agreed, [...held][0], `member ${k}: every live node holds one state`);
      else assert.ok(Number.isNaN(agreed), `member ${k}: live nodes differ, yet agreed = ${agreed}`);
    }
    checks++;
  }
  assert.ok(checks > 100, `only ${checks} checks ran`);
  lastUnchangedChecks = unchangedChecks;
  assert.ok(collapses > 10, `only ${collapses} collapses happened: the test did not exercise them`);
  return shared;
}

test('shared member table: each view equals a private MapStore under random writes, crashes and restarts', () => {
  randomWrites(70, 12, 7, 20_000); // 70 nodes: rows and ring of more than 64
  // A view whose version did not move kept every state (the detector's ring walk relies on it).
  assert.ok(lastUnchangedChecks > 100, `only ${lastUnchangedChecks} views were checked at an unchanged version`);
});

test('shared member table: the holder rows grow past their first 64 columns, views still exact', () => {
  // 200 members with a few states each: hundreds of versions in flight at once.
  const shared = randomWrites(200, 200, 11, 30_000, 40);
  assert.ok(shared.holderColumns > 64, `the rows never grew (${shared.holderColumns} columns)`);
});

test('shared member table: columns of collapsed versions are swept before reuse', () => {
  const N = 40;
  const shared = new SharedMembers(N, 1, pack(0, 0));
  const views = Array.from({ length: N }, (_, x) => shared.register(x));
  // One version held by node 0 alone all along: its column must survive every sweep.
  views[0].set(0, pack(9999, 1), 0);
  const prev = new Float64Array(N).fill(pack(0, 0));
  for (let r = 0; r < 1000; r++) {
    const m = 1 + (r % (N - 1));
    const s = pack(r + 1, r % 3);
    for (let x = 0; x < N / 2; x++) views[x].set(m, s, r);
    assert.equal(views[N / 2 - 1].get(m), s, `round ${r}: a node that adopted it`);
    assert.equal(views[N - 1].get(m), prev[m], `round ${r}: a node that did not yet`);
    for (let x = N / 2; x < N; x++) views[x].set(m, s, r);
    assert.equal(shared.agreed(m), s, `round ${r}: every node holds it`);
    prev[m] = s;
  }
  assert.equal(views[0].get(0), pack(9999, 1), 'the long-lived version');
  assert.equal(views[1].get(0), pack(0, 0));
  assert.equal(shared.holderColumns, 64, 'collapsed versions free their columns: the rows need not grow');
  assert.ok(shared.sweeps >= 10, `${shared.sweeps} sweeps of retired columns`);
});

test('shared member table: a member with more versions in flight than slots widens the table; freed bitsets are reused', () => {
  const N = 40;
  const shared = new SharedMembers(N, 1, pack(0, 0));
  const views = Array.from({ length: N }, (_, x) => shared.register(x));
  const slots = shared.versionSlots;
  const k = slots * 2 + 1;
  for (let i = 0; i < k; i++) views[i].set(3, pack(i + 1, 0), 0);
  assert.equal(shared.versionsInFlight(), k);
  assert.ok(shared.versionSlots > slots, `still ${shared.versionSlots} slots per member`);
  for (let i = 0; i < k; i++) assert.equal(views[i].get(3), pack(i + 1, 0), `node ${i}`);
  for (let i = k; i < N; i++) assert.equal(views[i].get(3), pack(0, 0), `node ${i}`);
  for (let i = 0; i < k; i++) views[i].set(3, pack(0, 0), 0);
  assert.equal(shared.versionsInFlight(), 0);
  assert.equal(shared.agreed(3), pack(0, 0));
  for (const v of views) v.set(5, pack(7, 2), 1);
  assert.equal(shared.agreed(5), pack(7, 2), 'a state every node holds collapses into the base');
  assert.equal(shared.versionsInFlight(), 0);
});

test('shared member table: its change log (newest pair in each member block) gives the references of a log of its own, through widening and collapses', () => {
  const N = 24;
  const shared = new SharedMembers(N, 1, pack(0, 0));
  const own = new SharedChangeLog(N);
  const views = Array.from({ length: N }, (_, x) => shared.register(x));
  const rng = new Sfc32(11);
  const slots = shared.versionSlots;
  let widened = false;
  for (let step = 0; step < 4000; step++) {
    const x = rng.int(N);
    const m = rng.int(N);
    // Many states of member 3 at once (more than its version slots: the blocks widen).
    const state = m === 3 && step < 600 ? pack(1 + (step % (slots * 3)), 0) : pack(rng.int(6), rng.int(4));
    views[x].set(m, state, step);
    if (shared.versionSlots > slots) widened = true;
    assert.equal(shared.changeLog.ref(m, state), own.ref(m, state), `step ${step}: member ${m}`);
    // An old pair of the member, found down its chain.
    const old = pack(rng.int(6), rng.int(4));
    assert.equal(shared.changeLog.ref(m, old), own.ref(m, old), `step ${step}: older pair of ${m}`);
  }
  assert.ok(widened, 'the member blocks widened during the run');
  assert.equal(shared.changeLog.size, own.size);
  for (let r = 0; r < own.size; r++) {
    assert.equal(shared.changeLog.member(r), own.member(r));
    assert.equal(shared.changeLog.state(r), own.state(r));
  }
  for (let x = 0; x < N; x++) for (let m = 0; m < N; m++) assert.ok(views[x].get(m) >= 0, 'the newest-pair slot never reads as a state');
});

test('shared member table: lineAligned gives a zeroed array of the length asked, writable', () => {
  for (const len of [1, 16, 16_385, 320_000]) {
    const a = lineAligned(len);
    assert.equal(a.length, len);
    assert.ok(a.every((v) => v === 0));
    a[len - 1] = -7;
    assert.equal(a[len - 1], -7);
  }
});

test('shared member table: its int32 bucket hash equals entryHash for every int32 state, at keys of either sign', () => {
  const rng = new Sfc32(7);
  const keys = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, intKey(3), intKey(99_999)];
  for (let i = 0; i < 200; i++) keys.push(rng.int(2 ** 32));
  const states = [0, 1, 2, 3, pack(1, 0), pack(2 ** 28, 3), 2 ** 31 - 1];
  for (let i = 0; i < 200; i++) states.push(rng.int(2 ** 31));
  for (const k of keys) for (const s of states) assert.equal(stateHash(k, s) >>> 0, entryHash(k, s), `key ${k}, state ${s}`);
});

test('shared member table: a state that is not a 32-bit integer is refused, the table unchanged', () => {
  const shared = new SharedMembers(4, 1, pack(0, 0));
  const v = shared.register(0);
  assert.throws(() => v.set(1, 2 ** 31, 0), /members-store: state 2147483648 is not a 32-bit integer/);
  assert.throws(() => v.set(1, 1.5, 0), RangeError);
  assert.equal(v.get(1), pack(0, 0));
  assert.throws(() => new SharedMembers(4, 1, 2 ** 40), RangeError);
});
