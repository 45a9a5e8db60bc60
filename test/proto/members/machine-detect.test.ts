/**
 * The members machine's failure detector, one machine at a time: which ring neighbours it
 * probes and who observes whom, the probe and its indirect stage, suspicion, confirmation
 * by other observers, refutation, the local-health guard and the fast path on a link reset.
 * The member table (reaping, names, sync, join, piggyback, pings to the dead) is in
 * machine-table.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addr, addrs, machine, started } from './harness.js';
import { ALIVE, FAILED, SUSPECT, pack } from '../../../src/proto/members/types.js';
import { hashString, ringPosition } from '../../../src/proto/members/map-store.js';

const A = addrs(8);

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
  const { m, io, store } = started(A[0], A, [A[1]]);
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

test('probe: a tick with the table unchanged probes the ring subjects it walked; a change made straight to the table (no input) is seen at the next tick', () => {
  const { m, io, store } = machine(A[0], A, { rings: 1, quietProbes: 1 });
  m.start(0);
  io.take();
  const r0 = ring(0, A);
  const at = (i: number): string => r0[(r0.indexOf(A[0]) + i) % r0.length];
  let due = 0;
  const tickPings = (): string[] => {
    due += 1000;
    m.handleTimer({ type: 'm-tick', due }, due);
    const pings = io.take().filter((x) => x.msg.type === 'm-ping');
    for (const p of pings) if (p.msg.type === 'm-ping') m.handleMessage(p.to, { type: 'm-ack', seq: p.msg.seq, ids: [], states: [] }, due + 5);
    io.take();
    io.takeTimers();
    return pings.map((x) => x.to);
  };
  const v0 = store.version();
  assert.deepEqual(tickPings(), [at(1)]);
  assert.deepEqual(tickPings(), [at(1)], 'unchanged table: the same subject');
  assert.equal(store.version(), v0, 'probing writes nothing to the table');
  // The subject goes suspect in the table without any input to the machine: the next tick
  // probes it (a suspect before the ring's alive subject) and the next alive member (new).
  store.set(at(1), pack(0, SUSPECT), due);
  assert.ok(store.version() > v0);
  assert.deepEqual(tickPings().sort(), [at(1), at(2)].sort());
  // A walk that met a suspect is not reused: the suspect is probed at every tick.
  assert.deepEqual(tickPings().sort(), [at(1), at(2)].sort());
  // Failed instead: only the next alive one.
  store.set(at(1), pack(0, FAILED), due);
  assert.deepEqual(tickPings(), [at(2)]);
  assert.deepEqual(tickPings(), [at(2)]);
  // Back alive at a higher incarnation (straight into the table): the old subject again, new.
  store.set(at(1), pack(1, ALIVE), due);
  assert.deepEqual(tickPings(), [at(1)]);
  assert.deepEqual(tickPings(), [at(1)]);
});
