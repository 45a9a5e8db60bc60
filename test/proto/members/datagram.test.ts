/** How the detector's messages travel when the driver has datagrams (`AppIo.sendDatagram`):
 *  ordinary probes by datagram, answers the way their question came, the TCP fast path and
 *  the fallback ping over `send`, and acks taken only from the member pinged or a relay. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rec, addr, config } from './harness.js';
import { Sfc32 } from '../../../src/proto/rng.js';
import { Members } from '../../../src/proto/members/machine.js';
import { MapStore, hashString } from '../../../src/proto/members/map-store.js';
import { ALIVE, SUSPECT, pack, type MembersConfig, type MembersMessage } from '../../../src/proto/members/types.js';

const A = Array.from({ length: 8 }, (_, i) => addr(i + 1));

/** A recording sink with datagrams: `sent` entries get `via`. */
class DgramRec extends Rec {
  via: ('send' | 'datagram')[] = [];
  override send(to: string, msg: MembersMessage<string>): void {
    super.send(to, msg);
    this.via.push('send');
  }
  sendDatagram(to: string, msg: MembersMessage<string>): void {
    super.send(to, msg);
    this.via.push('datagram');
  }
  /** The outputs since the last call, each with how it went. */
  takeVia(): { to: string; type: string; via: string }[] {
    const out = this.take().map((s, i) => ({ to: s.to, type: s.msg.type, via: this.via[i] }));
    this.via = [];
    return out;
  }
}

function setup(over: Partial<MembersConfig> = {}) {
  const cfg = config({ piggybackPerMessage: 0, rings: 1, ...over });
  const store = new MapStore<string>(hashString, cfg.rings);
  for (const x of A) {
    store.set(x, pack(0, ALIVE), 0);
    store.setMeta(x, { name: `node-${x}`, tags: {} });
  }
  const io = new DgramRec();
  const m = new Members<string>(A[0], { name: 'me', tags: {} }, cfg, new Sfc32(1), io, store);
  m.start(0);
  m.handleTimer({ type: 'm-flush', due: 0 }, 0);
  io.takeVia();
  io.timers = [];
  return { m, io, store };
}

test('datagrams: an ordinary probe pings by datagram; the indirect stage (relays and one more ping) goes over send', () => {
  const { m, io, store } = setup();
  m.handleTimer({ type: 'm-tick', due: 100 }, 100);
  const subject = m.detector.subjects()[0];
  assert.deepEqual(io.takeVia(), [{ to: subject, type: 'm-ping', via: 'datagram' }]);
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 600, indirect: false }, 600);
  const out = io.takeVia();
  assert.deepEqual(out.map((o) => `${o.type}/${o.via}`), ['m-ping-req/send', 'm-ping-req/send', 'm-ping-req/send', 'm-ping/send']);
  assert.equal(out[3].to, subject);
  // An ack from a member that is neither the subject nor a relay we asked is not taken.
  const relays = out.slice(0, 3).map((o) => o.to);
  const stranger = A.find((x) => x !== A[0] && x !== subject && !relays.includes(x))!;
  m.handleMessage(stranger, { type: 'm-ack', seq: 1, ids: [], states: [] }, 700, true);
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 1100, indirect: true }, 1100);
  assert.equal(store.get(subject), pack(0, SUSPECT), 'a stranger\'s ack ended the probe');
});

test('datagrams: an ack relayed by a relay we asked ends the probe', () => {
  const { m, io, store } = setup();
  m.handleTimer({ type: 'm-tick', due: 100 }, 100);
  const subject = m.detector.subjects()[0];
  io.takeVia();
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 600, indirect: false }, 600);
  const relay = io.takeVia()[0].to;
  m.handleMessage(relay, { type: 'm-ack', seq: 1, ids: [], states: [] }, 700, true);
  m.handleTimer({ type: 'm-probe-timeout', seq: 1, due: 1100, indirect: true }, 1100);
  assert.equal(store.get(subject), pack(0, ALIVE));
  assert.deepEqual(io.takeVia(), []);
});

test('datagrams: a ping is answered the way it came', () => {
  const { m, io } = setup();
  m.handleMessage(A[3], { type: 'm-ping', seq: 7, ids: [], states: [] }, 10, true);
  m.handleMessage(A[4], { type: 'm-ping', seq: 8, ids: [], states: [] }, 11, false);
  assert.deepEqual(io.takeVia(), [
    { to: A[3], type: 'm-ack', via: 'datagram' },
    { to: A[4], type: 'm-ack', via: 'send' },
  ]);
});

test('datagrams: a relay pings the way the request came, forwards only the target\'s ack, and answers the same way', () => {
  const { m, io } = setup();
  m.handleMessage(A[2], { type: 'm-ping-req', seq: 40, target: A[5] }, 10, true);
  assert.deepEqual(io.takeVia(), [{ to: A[5], type: 'm-ping', via: 'datagram' }]);
  // Our relay seq is 1: an ack for it from someone other than the target is not forwarded.
  m.handleMessage(A[6], { type: 'm-ack', seq: 1, ids: [], states: [] }, 12, true);
  assert.deepEqual(io.takeVia(), []);
  m.handleMessage(A[5], { type: 'm-ack', seq: 1, ids: [], states: [] }, 13, true);
  assert.deepEqual(io.takeVia(), [{ to: A[2], type: 'm-ack', via: 'datagram' }]);
  // A request over send is answered over send (here with a nack at the relay timeout).
  m.handleMessage(A[2], { type: 'm-ping-req', seq: 41, target: A[6] }, 20, false);
  assert.deepEqual(io.takeVia(), [{ to: A[6], type: 'm-ping', via: 'send' }]);
  m.handleTimer({ type: 'm-relay-timeout', seq: 2, due: 420 }, 420);
  assert.deepEqual(io.takeVia(), [{ to: A[2], type: 'm-nack', via: 'send' }]);
});

test('datagrams: the TCP fast path (a link reset) probes over send, so a refused dial is evidence', () => {
  const { m, io } = setup();
  m.neighborUp(A[1], 0);
  io.takeVia();
  m.neighborDown(A[1], 'link-failed', 1000);
  const out = io.takeVia();
  assert.equal(out[0].type, 'm-ping');
  assert.ok(out.length > 1);
  assert.ok(out.every((o) => o.via === 'send'), JSON.stringify(out));
});

test('datagrams: a meta request and its answer go by datagram (over send when the request came over TCP); a batch goes by datagram to a ring subject that is not a neighbour, over send to a neighbour', () => {
  const { m, io, store } = setup();
  // A member learned without its meta (piggybacked state only): asked at the next flush.
  const X = addr(50);
  m.handleMessage(A[1], { type: 'm-ack', seq: 99, ids: [X], states: [pack(0, ALIVE)] }, 10, true);
  m.handleTimer({ type: 'm-flush', due: 0 }, 200);
  assert.deepEqual(io.takeVia().filter((o) => o.type === 'm-meta-req'), [{ to: X, type: 'm-meta-req', via: 'datagram' }]);
  // Its answers: the way the request came.
  m.handleMessage(A[2], { type: 'm-meta-req', ids: [A[0]] }, 300, true);
  assert.deepEqual(io.takeVia(), [{ to: A[2], type: 'm-changes', via: 'datagram' }]);
  m.handleMessage(A[2], { type: 'm-meta-req', ids: [A[0]] }, 301, false);
  assert.deepEqual(io.takeVia(), [{ to: A[2], type: 'm-changes', via: 'send' }]);
  // A flushed batch: over send to the neighbour, by datagram to the ring subject.
  io.timers = [];
  const subject = m.detector.subjects()[0];
  const nbr = A.find((x) => x !== A[0] && x !== subject)!;
  m.neighborUp(nbr, 400);
  io.takeVia();
  m.handleMessage(A[3] === nbr ? A[4] : A[3], { type: 'm-changes', ids: [addr(60)], states: [pack(0, ALIVE)], metas: [{ name: 'sixty', tags: {} }], sync: false }, 410);
  io.takeVia();
  m.handleTimer({ type: 'm-flush', due: 0 }, 600);
  const batches = io.takeVia().filter((o) => o.type === 'm-changes');
  assert.ok(batches.some((o) => o.to === nbr && o.via === 'send'), `the neighbour's batch over send: ${JSON.stringify(batches)}`);
  assert.ok(batches.some((o) => o.to === subject && o.via === 'datagram'), `the ring subject's batch by datagram: ${JSON.stringify(batches)}`);
  assert.ok(store.get(addr(60)) >= 0);
});
