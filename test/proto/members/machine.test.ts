import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MiniNet, addr, machine } from './harness.js';
import { ALIVE, FAILED, LEFT, SUSPECT, pack, resolveMembersConfig, statusOf } from '../../../src/proto/members/types.js';
import { MapStore, hashString, ringPosition } from '../../../src/proto/members/map-store.js';

const A = Array.from({ length: 8 }, (_, i) => addr(i + 1));

/** Ring k in the order the store builds it (sorted by the ring hash of each address). */
function ring(k: number, members: string[]): string[] {
  return [...members].sort((a, b) => ringPosition(hashString(a), k) - ringPosition(hashString(b), k));
}

test('observer choice: subjects are the first up successor in each ring; observers the first up predecessor', () => {
  const { m, store } = machine(A[0], A, { rings: 3 });
  const expectSubjects: string[] = [];
  for (let k = 0; k < 3; k++) {
    const r = ring(k, A);
    const s = r[(r.indexOf(A[0]) + 1) % r.length];
    if (!expectSubjects.includes(s)) expectSubjects.push(s);
  }
  assert.deepEqual(m.detector.subjects(), expectSubjects);
  const r0 = ring(0, A);
  const succ = r0[(r0.indexOf(A[0]) + 1) % r0.length];
  // The subject is marked failed: the next one on the ring takes its place (recomputed).
  store.set(succ, pack(0, FAILED), 0);
  const next = r0[(r0.indexOf(A[0]) + 2) % r0.length];
  assert.equal(m.detector.subjects()[0], next);
  const obs: string[] = [];
  for (let k = 0; k < 3; k++) {
    const r = ring(k, A).filter((x) => x !== succ);
    const o = r[(r.indexOf(A[3]) - 1 + r.length) % r.length];
    if (!obs.includes(o)) obs.push(o);
  }
  assert.deepEqual(m.detector.observersOf(A[3]), obs);
});

test('probe: tick pings the ring subject; an ack ends the probe, no suspicion', () => {
  const { m, io } = machine(A[0], A, { rings: 1 });
  m.start(0);
  io.take();
  const tick = io.takeTimers('m-tick')[0];
  m.handleTimer(tick.t, tick.delay);
  const subject = m.detector.subjects()[0];
  const sent = io.take();
  assert.deepEqual(sent, [{ to: subject, msg: { type: 'm-ping', seq: 1, ids: [], states: [] } }]);
  const to = io.takeTimers('m-probe-timeout')[0];
  assert.deepEqual(to.t, { type: 'm-probe-timeout', seq: 1, due: tick.delay + 500, indirect: false });
  m.handleMessage(subject, { type: 'm-ack', seq: 1, ids: [], states: [] }, tick.delay + 20);
  m.handleTimer(to.t, tick.delay + 500);
  assert.deepEqual(io.take(), []);
  assert.equal(m.store.get(subject), pack(0, ALIVE));
});

test('probe: in a quiet cluster two ring subjects per probe period, the K rings in turn; every subject while members fail', () => {
  const { m, io } = machine(A[0], A, { rings: 4 });
  m.start(0);
  io.take();
  let tick = io.takeTimers('m-tick')[0];
  let seq = 0;
  for (let k = 0; k < 4; k++) {
    const at = tick.t.type === 'm-tick' ? tick.t.due : 0;
    m.handleTimer(tick.t, at);
    const sent = io.take();
    const r = ring(k, A);
    const subject = r[(r.indexOf(A[0]) + 1) % r.length];
    seq++;
    assert.deepEqual(sent, [{ to: subject, msg: { type: 'm-ping', seq, ids: [], states: [] } }]);
    m.handleMessage(subject, { type: 'm-ack', seq, ids: [], states: [] }, at + 5);
    let next = io.takeTimers('m-tick');
    assert.deepEqual(next.map((x) => x.delay), [250]);
    io.takeTimers();
    // The tick in between probes no one (no suspect anywhere).
    m.handleTimer(next[0].t, at + 250);
    assert.deepEqual(io.take(), []);
    next = io.takeTimers('m-tick');
    tick = next[0];
    io.takeTimers();
  }
  // A failure reaches our table: every tick probes the next ring's subject.
  const at = tick.t.type === 'm-tick' ? tick.t.due : 0;
  m.handleMessage(A[7], { type: 'm-changes', ids: [addr(70)], states: [pack(0, FAILED)], metas: null, sync: false }, at - 1);
  io.take();
  io.takeTimers();
  for (let j = 0; j < 2; j++) {
    const due = at + 250 * j;
    m.handleTimer({ type: 'm-tick', due }, due);
    const pings = io.take().filter((x) => x.msg.type === 'm-ping');
    assert.deepEqual(pings.filter((x) => x.to !== addr(70)).length, 1, `tick ${j} probes`);
    // The failed member's pings to the dead have their own timer (m-dead-tick), not the ticks.
    assert.equal(pings.filter((x) => x.to === addr(70)).length, 0, `tick ${j}: no ping to the dead`);
    io.takeTimers();
  }
});

test('suspicion: no ack → ping-req through neighbours first → no answer → suspect, alerts, batched change', () => {
  const { m, io, store } = machine(A[0], A, { rings: 2 });
  m.start(0);
  m.neighborUp(A[5], 0);
  m.neighborUp(A[6], 0);
  m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  io.take();
  io.timers = [];
  const subject = m.detector.subjects()[0];
  const tickT = { type: 'm-tick' as const, due: 100 };
  m.handleTimer(tickT, 100);
  assert.deepEqual(io.take(), [{ to: subject, msg: { type: 'm-ping', seq: 1, ids: [], states: [] } }]);
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 600, indirect: false }, 600);
  const out = io.take();
  // Three ping-reqs, then one more direct ping (memberlist's fallback ping).
  assert.deepEqual(out[3], { to: subject, msg: { type: 'm-ping', seq: 1, ids: [], states: [] } });
  const reqs = out.slice(0, 3);
  const relays = reqs.map((s) => s.to);
  const nb = [A[5], A[6]].filter((x) => x !== subject);
  assert.deepEqual(relays.slice(0, nb.length), nb);
  for (const r of reqs) assert.deepEqual(r.msg, { type: 'm-ping-req', seq: 1, target: subject });
  // One relay nacks (so our own network works: local health stays 0), none acks.
  m.handleMessage(relays[0], { type: 'm-nack', seq: 1 }, 1000);
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 1100, indirect: true }, 1100);
  assert.equal(store.get(subject), pack(0, SUSPECT));
  assert.equal(m.health, 0);
  const alerts = io.take();
  const observers = m.detector.observersOf(subject).filter((o) => o !== A[0]);
  const alert = { type: 'm-alert', subject, state: pack(0, SUSPECT) };
  // Alerts to the other observers and the subject, then a probe of each other observer (one
  // that crashed with the subject will never confirm: we must learn that it is down).
  assert.deepEqual(alerts, [
    ...[...observers, subject].map((o) => ({ to: o, msg: alert })),
    ...observers.map((o, i) => ({ to: o, msg: { type: 'm-ping', seq: 2 + i, ids: [], states: [] } })),
  ]);
  // A suspicion is not flooded (only piggybacked): no flush.
  assert.equal(io.takeTimers('m-flush').length, 0);
  // Suspicion timeout with no confirmation: max = 6 · min, min = 1 · log10(8) → 1 · 1 s.
  const st = io.takeTimers('m-suspect-timeout');
  assert.deepEqual(st.map((x) => x.t), [{ type: 'm-suspect-timeout', subject, due: 1100 + 6000 }]);
});

test('suspicion: a co-observer that does not answer our probe is suspected, and no longer awaited as a confirmation', () => {
  const { m, io, store } = machine(A[0], A, { rings: 2 });
  m.start(0);
  io.take();
  io.timers = [];
  const subject = m.detector.subjects()[0];
  m.handleTimer({ type: 'm-tick', due: 100 }, 100);
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 600, indirect: false }, 600);
  io.take();
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 1100, indirect: true }, 1100);
  assert.equal(store.get(subject), pack(0, SUSPECT));
  const co = m.detector.observersOf(subject).filter((o) => o !== A[0]);
  assert.equal(co.length, 1, 'two rings: one other observer');
  const pings = io.take().filter((x) => x.msg.type === 'm-ping');
  assert.deepEqual(pings, [{ to: co[0], msg: { type: 'm-ping', seq: 2, ids: [], states: [] } }]);
  // No confirmation expected yet from the silent co-observer: max = 6 s.
  assert.deepEqual(io.takeTimers('m-suspect-timeout').map((x) => x.t), [{ type: 'm-suspect-timeout', subject, due: 1100 + 6000 }]);
  // The co-observer answers neither our ping nor the ping-reqs: we suspect it.
  m.handleTimer({ type: 'm-probe-timeout', seq: 2, due: 1600, indirect: false }, 1600);
  m.handleTimer({ type: 'm-probe-timeout', seq: 2, due: 2100, indirect: true }, 2100);
  assert.equal(store.get(co[0]), pack(0, SUSPECT));
  // Next tick: no other observer is expected to confirm, the subject's timeout falls to
  // min = 1 s, already spent: it expires now, and the subject is failed.
  io.takeTimers('m-suspect-timeout');
  m.handleTimer({ type: 'm-tick', due: 2200 }, 2200);
  const due = io.takeTimers('m-suspect-timeout').filter((x) => x.t.type === 'm-suspect-timeout' && x.t.subject === subject).map((x) => x.t.due);
  assert.deepEqual(due, [2200]);
  m.handleTimer({ type: 'm-suspect-timeout', subject, due: 2200 }, 2200);
  assert.equal(store.get(subject), pack(0, FAILED));
});

test('confirmation: alerts from other observers shorten the suspicion (Lifeguard), then failed', () => {
  const { m, io, store } = machine(A[0], A, { rings: 4 });
  m.start(0);
  io.take();
  io.timers = [];
  const subject = A[4];
  // Another observer alerts us: we probe it ourselves and time the suspicion (C = 0).
  m.handleMessage(A[2], { type: 'm-alert', subject, state: pack(0, SUSPECT) }, 1000);
  assert.equal(store.get(subject), pack(0, SUSPECT));
  assert.deepEqual(io.take()[0], { to: subject, msg: { type: 'm-ping', seq: 1, ids: [], states: [] } });
  let st = io.takeTimers('m-suspect-timeout').map((x) => x.t.due);
  assert.deepEqual(st, [1000 + 6000]);
  // Second accuser: C = 1 of k = 3: 6000 − 5000·log 2 / log 4 = 3500.
  m.handleMessage(A[3], { type: 'm-alert', subject, state: pack(0, SUSPECT) }, 1100);
  st = io.takeTimers('m-suspect-timeout').map((x) => x.t.due);
  assert.deepEqual(st, [1000 + 3500]);
  // Third: C = 2: 6000 − 5000·log 3 / log 4 ≈ 2038.
  m.handleMessage(A[5], { type: 'm-alert', subject, state: pack(0, SUSPECT) }, 1200);
  st = io.takeTimers('m-suspect-timeout').map((x) => x.t.due);
  assert.deepEqual(st, [1000 + Math.round(6000 - (5000 * Math.log(3)) / Math.log(4))]);
  // The earlier timer fires: stale (due differs), ignored; the current one declares failure.
  m.handleTimer({ type: 'm-suspect-timeout', subject, due: 7000 }, 7000);
  m.handleTimer({ type: 'm-suspect-timeout', subject, due: st[0] }, st[0]);
  assert.equal(store.get(subject), pack(0, FAILED));
  assert.deepEqual(io.events.filter((e) => e.type === 'member-failed'), [{ type: 'member-failed', member: subject, incarnation: 0 }]);
});

test('refutation: a node told it is suspect answers alive at a higher incarnation', () => {
  const { m, io, store } = machine(A[0], A);
  m.start(0);
  m.neighborUp(A[1], 0);
  m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  io.take();
  io.timers = [];
  m.handleMessage(A[1], { type: 'm-changes', ids: [A[0]], states: [pack(0, SUSPECT)], metas: null, sync: false }, 500);
  assert.equal(m.currentIncarnation, 1);
  assert.equal(store.get(A[0]), pack(1, ALIVE));
  assert.equal(m.health, 1, 'a refutation counts against local health');
  m.handleTimer(io.takeTimers('m-flush')[0].t, 700);
  const refute = { type: 'm-changes', ids: [A[0]], states: [pack(1, ALIVE)], metas: [{ name: `node-${A[0]}`, tags: {} }], sync: false };
  const to = [A[1], ...m.detector.subjects().filter((x) => x !== A[1])];
  assert.deepEqual(io.take(), to.map((t) => ({ to: t, msg: refute })));
  // An alert about ourselves is refuted the same way.
  m.handleMessage(A[3], { type: 'm-alert', subject: A[0], state: pack(1, SUSPECT) }, 800);
  assert.equal(m.currentIncarnation, 2);
  // The suspect's refutation overrides the rumour everywhere: at an observer, it ends the suspicion.
  const o = machine(A[2], A);
  o.m.start(0);
  o.m.handleMessage(A[3], { type: 'm-alert', subject: A[0], state: pack(0, SUSPECT) }, 100);
  assert.equal(o.m.detector.suspicionCount(), 1);
  o.m.handleMessage(A[1], { type: 'm-changes', ids: [A[0]], states: [pack(1, ALIVE)], metas: null, sync: false }, 200);
  assert.equal(o.m.detector.suspicionCount(), 0);
  assert.equal(o.store.get(A[0]), pack(1, ALIVE));
});

test('local health: a probe timer firing late after a stall accuses no one', () => {
  const { m, io, store } = machine(A[0], A, { rings: 1 });
  m.start(0);
  io.take();
  io.timers = [];
  m.handleTimer({ type: 'm-tick', due: 100 }, 100);
  const subject = m.detector.subjects()[0];
  io.take();
  // The process was stopped for 5 s: the timeout fires 5 s late.
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 600, indirect: false }, 5600);
  assert.deepEqual(io.take(), [], 'no ping-req, no suspicion right after waking');
  assert.equal(m.health, 5);
  const again = io.takeTimers('m-probe-timeout')[0].t;
  // The ack that waited in our input arrives: the probe succeeds.
  m.handleMessage(subject, { type: 'm-ack', seq: 1, ids: [], states: [] }, 5601);
  m.handleTimer(again, 6100);
  assert.equal(store.get(subject), pack(0, ALIVE));
  assert.equal(m.health, 4);
  // A late tick skips its probe; the next period is stretched by the health score.
  m.handleTimer({ type: 'm-tick', due: 1100 }, 9000);
  assert.deepEqual(io.take(), []);
  assert.equal(io.takeTimers('m-tick').pop()!.delay, 1000 * (m.health + 1));
});

test('fast path: a link reset probes at once, and a silent peer is failed after the short suspicion', () => {
  const { m, io, store } = machine(A[0], A, { rings: 2 });
  m.start(0);
  m.neighborUp(A[1], 0);
  m.neighborUp(A[2], 0);
  io.take();
  io.timers = [];
  m.neighborDown(A[1], 'link-failed', 1000);
  const out = io.take();
  assert.deepEqual(out[0], { to: A[1], msg: { type: 'm-ping', seq: 1, ids: [], states: [] } });
  assert.deepEqual(out.slice(1).map((s) => s.msg.type), ['m-ping-req', 'm-ping-req', 'm-ping-req']);
  assert.equal(out[1].to, A[2], 'the live neighbour relays first');
  m.handleMessage(A[2], { type: 'm-nack', seq: 1 }, 1400);
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 1500, indirect: true }, 1500);
  assert.equal(store.get(A[1]), pack(0, SUSPECT));
  const st = io.takeTimers('m-suspect-timeout').map((x) => x.t);
  assert.deepEqual(st, [{ type: 'm-suspect-timeout', subject: A[1], due: 1700 }]);
  m.handleTimer(st[0], 1700);
  assert.equal(store.get(A[1]), pack(0, FAILED));
  // Connection refused during a probe accuses at once.
  m.handleTimer({ type: 'm-tick', due: 2000 }, 2000);
  const probed = io.take().find((s) => s.msg.type === 'm-ping')!.to;
  m.handleUnreachable(probed, 2001);
  assert.equal(store.get(probed), pack(0, SUSPECT));
});

test('fast path: a link reset then a refused dial marks the member failed at once, sent without waiting for a flush', () => {
  const { m, io, store } = machine(A[0], A, { rings: 2 });
  m.start(0);
  m.neighborUp(A[1], 0);
  m.neighborUp(A[2], 0);
  m.handleTimer({ type: 'm-flush', due: 0 }, 0); // our own join goes out first
  io.take();
  io.timers = [];
  m.neighborDown(A[1], 'link-failed', 1000);
  io.take(); // the fast probe: a ping and ping-reqs (previous test)
  // The probe's dial to A1's advertised address is refused: the process is gone.
  m.handleUnreachable(A[1], 1003);
  assert.equal(store.get(A[1]), pack(0, FAILED));
  assert.deepEqual(io.events.filter((e) => e.type === 'member-failed'), [{ type: 'member-failed', member: A[1], incarnation: 0 }]);
  const verdict = { type: 'm-changes', ids: [A[1]], states: [pack(0, FAILED)], metas: null, sync: false } as const;
  // The ring subjects: only the subject of ring (bucket of A1) mod K gets A1's verdict.
  const ring = m.detector.subjectsByRing()[store.bucketOf(A[1]) % 2];
  const subjects = ring === undefined || ring === A[2] ? [] : [ring];
  assert.deepEqual(io.take(), [{ to: A[2], msg: verdict }, ...subjects.map((to) => ({ to, msg: verdict }))]);
  assert.deepEqual(io.takeTimers('m-suspect-timeout'), [], 'no suspicion to time');
  assert.equal(m.detector.suspicionCount(), 0);
  // If A1 is in fact alive, it refutes with a higher incarnation, which overrides.
  m.handleMessage(A[2], { type: 'm-changes', ids: [A[1]], states: [pack(1, ALIVE)], metas: null, sync: false }, 1100);
  assert.equal(store.get(A[1]), pack(1, ALIVE));
});

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

test('pings to the dead: a failed member is pinged every half probe period with its failed entry and ours, for reconnectIntervalMs; no suspicion follows', () => {
  const { m, io, store } = machine(A[0], A, { rings: 4, reconnectIntervalMs: 3000 });
  m.start(0);
  io.take();
  io.takeTimers();
  const dead = A[5];
  m.handleMessage(A[7], { type: 'm-changes', ids: [dead], states: [pack(0, FAILED)], metas: null, sync: false }, 100);
  io.take();
  const deadPings: number[] = [];
  // Drive the dead-ping timer it armed (and nothing else) until it is no longer armed.
  for (let rounds = 0; rounds < 20; rounds++) {
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
  assert.deepEqual(deadPings, [600, 1100, 1600, 2100, 2600, 3100], 'every 500 ms until reconnectIntervalMs after the verdict, then the timer stops');
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

test('indirectBothWays: the indirect stage and the alert to the suspect go over send and as datagrams', () => {
  const sent: { to: string; type: string; dgram: boolean }[] = [];
  const { m, io } = machine(A[0], A, { rings: 2, indirectBothWays: true });
  // A driver with datagrams: record which path each message took.
  Object.assign(io, { sendDatagram: (to: string, msg: { type: string }) => sent.push({ to, type: msg.type, dgram: true }) });
  const send = io.send.bind(io);
  io.send = (to, msg) => (sent.push({ to, type: msg.type, dgram: false }), send(to, msg));
  m.start(0);
  io.take();
  io.timers = [];
  const subject = m.detector.subjects()[0];
  m.handleTimer({ type: 'm-tick', due: 100 }, 100);
  assert.deepEqual(sent.splice(0), [{ to: subject, type: 'm-ping', dgram: true }], 'the first ping: a datagram only');
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 600, indirect: false }, 600);
  const stage = sent.splice(0);
  const reqs = stage.filter((x) => x.type === 'm-ping-req');
  assert.equal(reqs.length, 6, 'three ping-reqs, each both ways');
  for (const to of new Set(reqs.map((x) => x.to))) assert.deepEqual(reqs.filter((x) => x.to === to).map((x) => x.dgram).sort(), [false, true]);
  assert.deepEqual(stage.filter((x) => x.type === 'm-ping').map((x) => [x.to, x.dgram]), [[subject, false], [subject, true]], 'the extra direct ping both ways');
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 1100, indirect: true }, 1100);
  const alerts = sent.splice(0).filter((x) => x.type === 'm-alert' && x.to === subject);
  assert.deepEqual(alerts.map((x) => x.dgram).sort(), [false, true], 'the suspect hears it both ways');
});
