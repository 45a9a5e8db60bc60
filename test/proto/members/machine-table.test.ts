/**
 * The members machine's table: reaping failed and left members, names and meta, anti-entropy
 * sync, join, piggybacked changes, pings to the dead, config validation, and a crash and a
 * partition on a small in-memory network. The failure detector (probe, suspicion,
 * refutation) is in machine-detect.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MiniNet, addr, addrs, machine } from './harness.js';
import { ALIVE, FAILED, LEFT, pack, resolveMembersConfig, statusOf } from '../../../src/proto/members/types.js';
import { MapStore, hashString } from '../../../src/proto/members/map-store.js';

const A = addrs(8);

test('reap: failed after reconnectTimeout, left after tombstoneTimeout; a stale rumour cannot resurrect', () => {
  const { m, io, store } = machine(A[0], A, { reconnectTimeoutMs: 10_000, tombstoneTimeoutMs: 20_000 });
  m.start(0);
  io.timers = [];
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[2], A[3]], states: [pack(0, FAILED), pack(0, LEFT)], metas: null, sync: false }, 1000);
  assert.deepEqual(io.events.filter((e) => e.type !== 'member-join'), [
    { type: 'member-failed', member: A[2], incarnation: 0 },
    { type: 'member-leave', member: A[3], incarnation: 0 },
  ]);
  io.events = [];
  m.handleTimer({ type: 'm-reap-tick', due: 11_000 }, 11_000);
  assert.deepEqual(io.events, [{ type: 'member-reap', member: A[2], status: 'failed' }]);
  assert.equal(store.get(A[2]), -1);
  assert.equal(store.get(A[3]), pack(0, LEFT));
  m.handleTimer({ type: 'm-reap-tick', due: 21_000 }, 21_000);
  assert.deepEqual(io.events.slice(1), [{ type: 'member-reap', member: A[3], status: 'left' }]);
  // Stale rumours (alive or failed at the reaped incarnation) are refused …
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[2], A[3]], states: [pack(0, ALIVE), pack(0, FAILED)], metas: null, sync: true }, 22_000);
  assert.equal(store.get(A[2]), -1);
  assert.equal(store.get(A[3]), -1);
  // … but the member itself comes back with a higher incarnation.
  m.handleMessage(A[2], { type: 'm-changes', ids: [A[2]], states: [pack(1, ALIVE)], metas: null, sync: false }, 23_000);
  assert.equal(store.get(A[2]), pack(1, ALIVE));
});

test('names: a restart under a new address replaces the old entry; two live claims are a conflict', () => {
  const { m, io, store } = machine(A[0], A);
  m.start(0);
  const meta = (name: string) => ({ name, tags: {} });
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[4], A[5]], states: [pack(1, ALIVE), pack(1, ALIVE)], metas: [meta(`node-${A[4]}`), meta(`node-${A[5]}`)], sync: false }, 5);
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[4]], states: [pack(1, FAILED)], metas: null, sync: false }, 10);
  // A[4]'s name reappears at a new address: the failed twin goes.
  m.handleMessage(A[1], { type: 'm-changes', ids: ['10.0.1.4:7946'], states: [pack(0, ALIVE)], metas: [meta(`node-${A[4]}`)], sync: false }, 20);
  assert.equal(store.get(A[4]), -1);
  assert.equal(store.get('10.0.1.4:7946'), pack(0, ALIVE));
  // A live member's name claimed by another live address: a conflict, the smaller address wins.
  io.events = [];
  m.handleMessage(A[1], { type: 'm-changes', ids: ['10.0.0.9:7946'], states: [pack(0, ALIVE)], metas: [meta(`node-${A[5]}`)], sync: false }, 30);
  assert.deepEqual(io.events.filter((e) => e.type === 'member-conflict'), [
    { type: 'member-conflict', name: `node-${A[5]}`, winner: A[5], loser: '10.0.0.9:7946', self: false },
  ]);
});

test('anti-entropy: equal tables exchange one sync; a differing one reconciles failed versus left', () => {
  const net = new MiniNet();
  const names = A.slice(0, 5);
  for (const n of names) net.add(n, names, { syncIntervalMs: 1000, reconnectIntervalMs: 100_000 });
  for (const [, x] of net.nodes) x.m.start(0);
  net.nodes.get(names[0])!.store.set(names[4], pack(0, LEFT), 0);
  net.nodes.get(names[1])!.store.set(names[4], pack(0, FAILED), 0);
  net.down.add(names[4]);
  net.runUntil(5000);
  for (const n of names.slice(0, 4)) assert.equal(net.nodes.get(n)!.store.get(names[4]), pack(0, LEFT), `${n} holds left`);
});

test('join: a node knowing only itself gets the whole table with names', () => {
  const net = new MiniNet();
  const names = A.slice(0, 4);
  for (const n of names) net.add(n, names);
  const j = net.add(addr(50), []);
  for (const [, x] of net.nodes) x.m.start(0);
  j.neighborUp(names[0], 10);
  net.runUntil(1000);
  assert.equal(net.nodes.get(addr(50))!.store.size(), 5);
  assert.deepEqual(net.nodes.get(addr(50))!.store.meta(names[2]), { name: names[2], tags: {} });
  // … and its own entry spreads back through the neighbour.
  net.nodes.get(names[0])!.m.neighborUp(addr(50), 10);
  net.runUntil(2000);
  assert.equal(net.nodes.get(names[0])!.store.get(addr(50)), pack(0, ALIVE));
});

test('names: a member learned from a piggyback is asked for its meta; a late meta with a known state is recorded', () => {
  const { m, io, store } = machine(A[0], A.slice(0, 4), { rings: 1 });
  const X = addr(60);
  m.start(0);
  m.handleTimer({ type: 'm-flush', due: 0 }, 0); // our own join goes out first
  io.take();
  io.takeTimers();
  // X joins, heard of only on a ping's piggyback: no name, no tags.
  m.handleMessage(A[1], { type: 'm-ping', seq: 7, ids: [X], states: [pack(3, ALIVE)] }, 100);
  assert.deepEqual(io.take(), [{ to: A[1], msg: { type: 'm-ack', seq: 7, ids: [], states: [] } }]);
  assert.equal(store.get(X), pack(3, ALIVE));
  assert.equal(store.meta(X), undefined);
  // The next flush asks X itself (and floods the join, without a meta it does not have).
  const flush = io.takeTimers('m-flush');
  assert.deepEqual(flush, [{ delay: 200, t: { type: 'm-flush', due: 0 } }]);
  m.handleTimer(flush[0].t, 300);
  const change = { type: 'm-changes', ids: [X], states: [pack(3, ALIVE)], metas: null, sync: false } as const;
  const subjects = m.detector.subjects();
  assert.deepEqual(io.take(), [
    { to: X, msg: { type: 'm-meta-req', ids: [X] } },
    ...subjects.map((to) => ({ to, msg: change })),
  ]);
  // X answers with its state (which we hold) and meta: recorded, no event, nothing re-sent.
  m.handleMessage(X, { type: 'm-changes', ids: [X], states: [pack(3, ALIVE)], metas: [{ name: 'x', tags: { dc: 'a' } }], sync: true }, 320);
  assert.deepEqual(store.meta(X), { name: 'x', tags: { dc: 'a' } });
  assert.equal(store.get(X), pack(3, ALIVE));
  assert.deepEqual(io.take(), []);
  assert.deepEqual(io.events, [{ type: 'member-join', member: X, incarnation: 3 }]);
  // Not asked again once known (the sync tick re-asks only members still without meta).
  m.handleTimer({ type: 'm-sync-tick', due: 30_000 }, 30_000);
  assert.deepEqual(io.take().filter((x) => x.msg.type === 'm-meta-req'), []);
});

test('names: a meta request is answered with the state and meta of each listed member known with one', () => {
  const { m, io } = machine(A[0], A.slice(0, 4));
  m.start(0);
  io.take();
  m.handleMessage(A[2], { type: 'm-meta-req', ids: [A[0], A[1], addr(99)] }, 10);
  assert.deepEqual(io.take(), [
    {
      to: A[2],
      msg: {
        type: 'm-changes',
        ids: [A[0], A[1]],
        states: [pack(0, ALIVE), pack(0, ALIVE)],
        metas: [{ name: `node-${A[0]}`, tags: {} }, { name: `node-${A[1]}`, tags: {} }],
        sync: true,
      },
    },
  ]);
});

test('names: a meta request lost is asked again at the sync tick while the meta is missing', () => {
  const { m, io } = machine(A[0], A.slice(0, 4), { rings: 1 });
  const X = addr(61);
  m.start(0);
  m.handleMessage(A[1], { type: 'm-ack', seq: 1, ids: [X], states: [pack(0, ALIVE)] }, 100);
  m.handleTimer({ type: 'm-flush', due: 0 }, 300);
  assert.equal(io.take().filter((x) => x.msg.type === 'm-meta-req').length, 1);
  io.takeTimers();
  m.handleTimer({ type: 'm-sync-tick', due: 30_000 }, 30_000);
  assert.deepEqual(io.take().filter((x) => x.msg.type === 'm-meta-req'), [{ to: X, msg: { type: 'm-meta-req', ids: [X] } }]);
});

test('a crashed member is failed by every survivor, and a partition that outlived every timeout merges', () => {
  const net = new MiniNet();
  const names = Array.from({ length: 12 }, (_, i) => addr(i + 1));
  const cfg = { reconnectIntervalMs: 2000, syncIntervalMs: 5000 };
  names.forEach((n, i) => net.add(n, names, cfg, i + 1));
  for (const [, x] of net.nodes) x.m.start(0);
  // Full mesh of neighbours (dissemination).
  for (const a of names) for (const b of names) if (a !== b) net.nodes.get(a)!.m.neighborUp(b, 0);
  net.down.add(names[11]);
  net.runUntil(20_000);
  for (const n of names.slice(0, 11)) assert.equal(net.nodes.get(n)!.store.get(names[11]) % 4, FAILED, `${n} failed the crashed node`);
  // Split the survivors 6 / 5 for 60 s, then heal.
  const left = names.slice(0, 6);
  const right = names.slice(6, 11);
  for (const a of left) for (const b of right) net.cut.add(`${a}|${b}`);
  net.runUntil(80_000);
  assert.equal(net.nodes.get(left[0])!.store.get(right[0]) % 4, FAILED);
  net.cut.clear();
  net.runUntil(100_000);
  for (const a of names.slice(0, 11)) for (const b of names.slice(0, 11)) {
    assert.equal(net.nodes.get(a)!.store.get(b) % 4, ALIVE, `${a} sees ${b} alive after the heal`);
  }
});

test('piggyback: pings and acks carry recent changes, each sent retransmitMult · ⌈log10(n+1)⌉ times', () => {
  const { m, io } = machine(A[0], A, { rings: 1, piggybackPerMessage: 2, retransmitMult: 1 });
  m.start(0);
  io.take();
  // Limit here: 1 · ⌈log10(9)⌉ = 1 transmission per change.
  m.handleMessage(A[1], { type: 'm-ping', seq: 7, ids: [A[3], A[4]], states: [pack(2, ALIVE), pack(0, LEFT)] }, 10);
  assert.deepEqual(io.take(), [{ to: A[1], msg: { type: 'm-ack', seq: 7, ids: [A[0], A[4]], states: [pack(0, ALIVE), pack(0, LEFT)] } }]);
  m.handleMessage(A[2], { type: 'm-ping', seq: 8, ids: [], states: [] }, 20);
  assert.deepEqual(io.take(), [{ to: A[2], msg: { type: 'm-ack', seq: 8, ids: [A[3]], states: [pack(2, ALIVE)] } }]);
  m.handleMessage(A[2], { type: 'm-ping', seq: 9, ids: [], states: [] }, 30);
  assert.deepEqual(io.take(), [{ to: A[2], msg: { type: 'm-ack', seq: 9, ids: [], states: [] } }]);
});

test('config: defaults validate; bad values get a one-line reason', () => {
  assert.equal(resolveMembersConfig().ok, true);
  assert.deepEqual(resolveMembersConfig({ rings: 0 }), { ok: false, reason: 'rings: expected an integer in [1, 16], got 0' });
  assert.deepEqual(resolveMembersConfig({ probeTimeoutMs: 1000 }), { ok: false, reason: 'probeTimeoutMs: must be below probeIntervalMs (1000), got 1000' });
  const s = new MapStore<string>(hashString, 2);
  assert.equal(s.ringStep(0, 'x', 1), undefined);
});

test('pings to the dead: a failed member is pinged every half probe period with its failed entry and ours, for reconnectIntervalMs, then every 2 probe periods up to 10 reconnect intervals after the verdict; no suspicion follows', () => {
  const { m, io, store } = machine(A[0], A, { rings: 4, reconnectIntervalMs: 3000 });
  m.start(0);
  io.take();
  io.takeTimers();
  const dead = A[5];
  m.handleMessage(A[7], { type: 'm-changes', ids: [dead], states: [pack(0, FAILED)], metas: null, sync: false }, 100);
  io.take();
  const deadPings: number[] = [];
  // Drive the dead-ping timer it armed (and nothing else) until it is no longer armed.
  for (let rounds = 0; rounds < 100; rounds++) {
    const armed = io.takeTimers('m-dead-tick');
    io.takeTimers();
    if (armed.length === 0) break;
    assert.equal(armed.length, 1, 'one dead-ping timer at a time');
    const at = armed[0].t.due;
    m.handleTimer(armed[0].t, at);
    for (const x of io.take()) {
      // Nothing waits for the answer: no indirect probe, no alert about it.
      assert.ok(!(x.msg.type === 'm-ping-req' && x.msg.target === dead) && !(x.msg.type === 'm-alert' && x.msg.subject === dead), `no probe follows: ${JSON.stringify(x)}`);
      if (x.to !== dead || x.msg.type !== 'm-ping') continue;
      deadPings.push(at);
      assert.deepEqual({ ids: x.msg.ids, states: x.msg.states }, { ids: [dead, A[0]], states: [pack(0, FAILED), pack(0, ALIVE)] }, 'its own failed entry, and ours');
    }
  }
  const slow = Array.from({ length: 14 }, (_, i) => 3600 + 2000 * i);
  assert.deepEqual(deadPings, [600, 1100, 1600, 2100, 2600, 3100, ...slow], 'every 500 ms until reconnectIntervalMs after the verdict, then every 2 s (the reconnect loop never tried it) until 10 × reconnectIntervalMs after it (30,100), then the timer stops');
  assert.equal(statusOf(store.get(dead)), FAILED);
  // Probe ticks send none (the timer does).
  m.handleMessage(A[7], { type: 'm-changes', ids: [A[6]], states: [pack(0, FAILED)], metas: null, sync: false }, 4000);
  io.take();
  io.takeTimers();
  m.handleTimer({ type: 'm-tick', due: 4100 }, 4100);
  assert.ok(!io.take().some((x) => x.to === A[6] && x.msg.type === 'm-ping'), 'no ping to the dead on a probe tick');
  // The member refutes (alive at a higher incarnation): no more pings to it.
  m.handleMessage(dead, { type: 'm-ack', seq: 999, ids: [dead], states: [pack(1, ALIVE)] }, 4300);
  assert.equal(store.get(dead), pack(1, ALIVE));
});

test('pings to the dead: the slow phase ends for a member once the reconnect loop has tried it; a member that comes back leaves it', () => {
  // Three members (us, B, C): the reconnect loop's random pick finds a failed one at once.
  const [self, b, c] = A;
  const { m, io } = machine(self, [self, b, c], { rings: 1, reconnectIntervalMs: 3000 });
  m.start(0);
  io.take();
  io.takeTimers();
  m.handleMessage(b, { type: 'm-changes', ids: [c], states: [pack(0, FAILED)], metas: null, sync: false }, 100);
  io.take();
  /** Run the dead-ping timers up to `until`: the times of the pings to C. */
  const run = (until: number): number[] => {
    const at: number[] = [];
    for (let rounds = 0; rounds < 100; rounds++) {
      const armed = io.takeTimers('m-dead-tick');
      io.takeTimers();
      if (armed.length === 0) break;
      const due = armed[0].t.due;
      if (due > until) {
        io.timers.push(armed[0]);
        break;
      }
      m.handleTimer(armed[0].t, due);
      for (const x of io.take()) if (x.to === c && x.msg.type === 'm-ping') at.push(due);
    }
    return at;
  };
  assert.deepEqual(run(8000), [600, 1100, 1600, 2100, 2600, 3100, 3600, 5600, 7600], 'fast, then slow');
  // The reconnect loop tries C (an m-sync): no slow pings after that.
  m.handleTimer({ type: 'm-reconnect-tick', due: 8500 }, 8500);
  const sync = io.take().filter((x) => x.to === c && x.msg.type === 'm-sync');
  assert.equal(sync.length, 1, 'the reconnect loop tried C');
  io.takeTimers('m-reconnect-tick');
  assert.deepEqual(run(40_000), [], 'no ping to C once the reconnect loop tried it');
  // B fails, reaches the slow phase, and comes back: it leaves the slow list (no more pings).
  m.handleMessage(c, { type: 'm-changes', ids: [b], states: [pack(0, FAILED)], metas: null, sync: false }, 41_000);
  io.take();
  const pings = (): number => io.take().filter((x) => x.to === b && x.msg.type === 'm-ping').length;
  let slowPings = 0;
  for (let rounds = 0; rounds < 40; rounds++) {
    const armed = io.takeTimers('m-dead-tick');
    if (armed.length === 0 || armed[0].t.due > 50_000) break;
    m.handleTimer(armed[0].t, armed[0].t.due);
    const n = pings();
    if (armed[0].t.due > 44_100) slowPings += n;
  }
  assert.ok(slowPings >= 2, `B was pinged ${slowPings} times in its slow phase`);
  m.handleMessage(b, { type: 'm-ack', seq: 999, ids: [b], states: [pack(1, ALIVE)] }, 50_500);
  io.take();
  io.takeTimers();
  m.handleTimer({ type: 'm-dead-tick', due: 52_000 }, 52_000);
  assert.equal(pings(), 0, 'no ping to a member back alive');
  assert.deepEqual(io.takeTimers('m-dead-tick'), [], 'nothing left to ping: the timer stops');
});

test('pings to the dead: a ping from a member held failed is answered with its failed entry and ours; it refutes', () => {
  const a = machine(A[0], A, { rings: 4 });
  const b = machine(A[1], A, { rings: 4 });
  for (const x of [a, b]) {
    x.m.start(0);
    x.io.take();
    x.io.takeTimers();
  }
  // A holds B failed (B was cut off); B pings A.
  a.m.handleMessage(A[7], { type: 'm-changes', ids: [A[1]], states: [pack(0, FAILED)], metas: null, sync: false }, 10);
  a.io.take();
  a.m.handleMessage(A[1], { type: 'm-ping', seq: 3, ids: [], states: [] }, 20, true);
  const ack = a.io.take().find((x) => x.to === A[1] && x.msg.type === 'm-ack');
  assert.ok(ack !== undefined && ack.msg.type === 'm-ack');
  assert.deepEqual({ ids: ack.msg.ids, states: ack.msg.states }, { ids: [A[1], A[0]], states: [pack(0, FAILED), pack(0, ALIVE)] });
  // B hears it is failed: it refutes at incarnation 1, which A then takes.
  b.m.handleMessage(A[0], ack.msg, 25, true);
  assert.equal(b.store.get(A[1]), pack(1, ALIVE));
  a.m.handleMessage(A[1], { type: 'm-ack', seq: 4, ids: [A[1]], states: [b.store.get(A[1])] }, 30, true);
  assert.equal(statusOf(a.store.get(A[1])), ALIVE);
});

test('names: a restarted member whose new state came first without its meta gets its new tags when the meta follows', () => {
  const { m, io, store } = machine(A[0], A);
  m.start(0);
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[4]], states: [pack(1, ALIVE)], metas: [{ name: 'k', tags: { role: 'web' } }], sync: false }, 5);
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[4]], states: [pack(1, FAILED)], metas: null, sync: false }, 10);
  // Back at a higher incarnation, first heard without a meta (an ack's entry, a piggyback).
  m.handleMessage(A[4], { type: 'm-changes', ids: [A[4]], states: [pack(2, ALIVE)], metas: null, sync: false }, 20);
  assert.equal(store.get(A[4]), pack(2, ALIVE));
  io.events = [];
  // Its own announcement of that same state carries the tags of the new run.
  m.handleMessage(A[2], { type: 'm-changes', ids: [A[4]], states: [pack(2, ALIVE)], metas: [{ name: 'k', tags: { role: 'web', zone: 'b' } }], sync: false }, 30);
  assert.deepEqual(store.meta(A[4]), { name: 'k', tags: { role: 'web', zone: 'b' } });
  assert.deepEqual(io.events, [{ type: 'member-update', member: A[4], incarnation: 2 }]);
  // A meta with an older state changes nothing.
  m.handleMessage(A[2], { type: 'm-changes', ids: [A[4]], states: [pack(1, ALIVE)], metas: [{ name: 'k', tags: { role: 'old' } }], sync: false }, 40);
  assert.deepEqual(store.meta(A[4]), { name: 'k', tags: { role: 'web', zone: 'b' } });
});

test('pings to the dead: told on an ack that it is failed, a node refutes and sends its new entry straight back; told on a ping, its ack carries it', () => {
  const { m, io, store } = machine(A[1], A, { rings: 4, piggybackPerMessage: 4 });
  m.start(0);
  io.take();
  io.takeTimers();
  // The ack to our ping to the dead A[0]: we are failed there (we were cut off).
  m.handleMessage(A[0], { type: 'm-ack', seq: 77, ids: [A[1], A[0]], states: [pack(0, FAILED), pack(0, ALIVE)] }, 50, true);
  assert.equal(store.get(A[1]), pack(1, ALIVE));
  const back = io.take().filter((x) => x.to === A[0]);
  assert.deepEqual(back.map((x) => x.msg.type), ['m-ping'], 'one message straight back to the acker');
  const ping = back[0].msg;
  assert.ok(ping.type === 'm-ping');
  assert.deepEqual({ ids: ping.ids, states: ping.states }, { ids: [A[1]], states: [pack(1, ALIVE)] });
  // Told on a ping instead (at the new incarnation): only the ack goes back, and it carries the refutation.
  m.handleMessage(A[2], { type: 'm-ping', seq: 5, ids: [A[1]], states: [pack(1, FAILED)] }, 60, true);
  const toA2 = io.take().filter((x) => x.to === A[2]);
  assert.deepEqual(toA2.map((x) => x.msg.type), ['m-ack']);
  const ack = toA2[0].msg;
  assert.ok(ack.type === 'm-ack');
  assert.ok(ack.ids.some((id, i) => id === A[1] && ack.states[i] === pack(2, ALIVE)), `the refutation rides on the ack: ${JSON.stringify(ack)}`);
});

test('pings to the dead: a member failed here that comes back sets off pings to the others failed here (8 at most, once per probe period)', () => {
  const B = Array.from({ length: 14 }, (_, i) => addr(40 + i));
  const { m, io } = machine(B[0], B, { rings: 4 });
  m.start(0);
  io.take();
  io.takeTimers();
  // A partition: twelve members failed here (one batch).
  const dead = B.slice(2);
  m.handleMessage(B[1], { type: 'm-changes', ids: dead, states: dead.map(() => pack(0, FAILED)), metas: null, sync: false }, 100);
  io.take();
  io.takeTimers();
  const pingsTo = (): string[] => io.take().filter((x) => x.msg.type === 'm-ping').map((x) => x.to);
  // One of them refutes (on the ack of one of our pings to the dead).
  m.handleMessage(B[2], { type: 'm-ack', seq: 999, ids: [B[2]], states: [pack(1, ALIVE)] }, 200);
  const burst = pingsTo();
  assert.equal(burst.length, 8, 'RETURN_BURST members pinged at once');
  assert.equal(new Set(burst).size, 8);
  for (const p of burst) assert.ok(dead.includes(p) && p !== B[2], `${p} is one of the other failed members`);
  // Another comes back within the probe period: no second burst.
  m.handleMessage(B[3], { type: 'm-changes', ids: [B[3]], states: [pack(1, ALIVE)], metas: null, sync: false }, 700);
  assert.deepEqual(pingsTo(), []);
  // One probe period after the first burst: the next return sets off the next round robin.
  m.handleMessage(B[4], { type: 'm-changes', ids: [B[4]], states: [pack(1, ALIVE)], metas: null, sync: false }, 1200);
  const next = pingsTo();
  assert.equal(next.length, 8);
  for (const p of next) assert.ok(![B[2], B[3], B[4]].includes(p), `${p} is still failed here`);
  assert.ok(dead.filter((d) => ![B[2], B[3], B[4]].includes(d)).every((d) => burst.includes(d) || next.includes(d)), 'every member still failed was pinged by the two bursts');
});
