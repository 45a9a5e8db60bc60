import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StateMachine, type StateIo } from '../../src/proto/state/kv.js';
import { deltasFor, OwnerState } from '../../src/proto/state/store.js';
import { DEFAULT_STATE_CONFIG, stringIdBytes, type StateConfig, type StateEvent, type StateMessage, type StateTimer } from '../../src/proto/state/types.js';
import { Sfc32 } from '../../src/proto/rng.js';
import { decodeStateMessage, encodeStateMessage } from '../../src/wire/state.js';
import { stateMessageSize } from '../../src/proto/state/types.js';

type Out = ['send', string, StateMessage<string>] | ['broadcast', StateMessage<string>] | ['timer', number, StateTimer] | ['event', StateEvent<string>];

class Rec implements StateIo<string> {
  log: Out[] = [];
  send(to: string, msg: StateMessage<string>): void {
    this.log.push(['send', to, msg]);
  }
  broadcast(msg: StateMessage<string>): void {
    this.log.push(['broadcast', msg]);
  }
  timer(delayMs: number, t: StateTimer): void {
    this.log.push(['timer', delayMs, t]);
  }
  event(e: StateEvent<string>): void {
    this.log.push(['event', e]);
  }
  take(): Out[] {
    const l = this.log;
    this.log = [];
    return l;
  }
}

const enc = new TextEncoder();
const v = (s: string): Uint8Array => enc.encode(s);
const text = (b: Uint8Array | null | undefined): string | null => (b == null ? null : new TextDecoder().decode(b));

function machine(self: string, gen = 1, cfg: Partial<StateConfig<string>> = {}): { m: StateMachine<string>; io: Rec } {
  const io = new Rec();
  const m = new StateMachine<string>(self, gen, { ...DEFAULT_STATE_CONFIG, ...cfg }, new Sfc32(7), io, stringIdBytes);
  m.start(0);
  io.take();
  return { m, io };
}

/** Run a full syn → ack → delta exchange from `a` to `b` by hand; returns the messages. */
function exchange(a: StateMachine<string>, aio: Rec, b: StateMachine<string>, bio: Rec, now: number): StateMessage<string>[] {
  const msgs: StateMessage<string>[] = [];
  const syn: StateMessage<string> = { type: 'syn', digest: a.digest() };
  msgs.push(syn);
  b.handleMessage(a.self, syn, now);
  const ack = bio.take().find((o) => o[0] === 'send')![2] as StateMessage<string>;
  msgs.push(ack);
  a.handleMessage(b.self, ack, now);
  const d = aio.take().find((o) => o[0] === 'send');
  if (d !== undefined) {
    msgs.push(d[2] as StateMessage<string>);
    b.handleMessage(a.self, d[2] as StateMessage<string>, now);
  }
  bio.take();
  return msgs;
}

test('state: a local set bumps the version, emits an update and pushes a one-entry delta to the neighbours', () => {
  const { m, io } = machine('a:1', 100);
  m.neighborUp('b:1');
  m.neighborUp('c:1');
  assert.deepEqual(io.take(), [['send', 'b:1', { type: 'syn', digest: [{ node: 'a:1', generation: 100, maxVersion: 0 }] }], ['send', 'c:1', { type: 'syn', digest: [{ node: 'a:1', generation: 100, maxVersion: 0 }] }]], 'a new neighbour is reconciled with at once');
  assert.deepEqual(m.set('role', v('db'), 10), { ok: true, version: 1 });
  assert.deepEqual(m.set('zone', v('eu'), 11), { ok: true, version: 2 });
  const out = io.take();
  const push: StateMessage<string> = { type: 'push', deltas: [{ node: 'a:1', generation: 100, fromVersion: 1, toVersion: 2, reset: false, lastGcVersion: 0, entries: [{ key: 'zone', value: v('eu'), version: 2 }] }] };
  assert.deepEqual(out.slice(3), [['event', { type: 'update', node: 'a:1', key: 'zone', value: v('eu'), version: 2, local: true }], ['send', 'b:1', push], ['send', 'c:1', push]]);
  assert.equal(out.filter((o) => o[0] === 'broadcast').length, 0, 'no Plumtree broadcast by default');
  assert.equal(text(m.get('a:1', 'role')?.value), 'db');
  // pushWrites: the same delta also goes out by broadcast.
  const p = machine('a:1', 100, { pushWrites: true, pushNeighbors: false });
  p.m.set('role', v('db'), 10);
  assert.deepEqual(p.io.take().filter((o) => o[0] !== 'event'), [['broadcast', { type: 'delta', deltas: [{ node: 'a:1', generation: 100, fromVersion: 0, toVersion: 1, reset: false, lastGcVersion: 0, entries: [{ key: 'role', value: v('db'), version: 1 }] }] }]]);
});

test('state: a push is forwarded once, to the neighbours but its sender, and only when it was news', () => {
  const { m, io } = machine('b:1');
  for (const n of ['a:1', 'c:1', 'd:1', 'e:1']) m.neighborUp(n);
  m.neighborDown('e:1', 'link-failed');
  io.take();
  const push = (version: number): StateMessage<string> => ({ type: 'push', deltas: [{ node: 'o:1', generation: 5, fromVersion: version - 1, toVersion: version, reset: false, lastGcVersion: 0, entries: [{ key: 'k', value: v(`v${version}`), version }] }] });
  m.handleMessage('c:1', push(1), 20);
  const sent = io.take().filter((o) => o[0] === 'send');
  assert.deepEqual(sent.map((o) => o[1]).sort(), ['a:1', 'd:1'], 'to every neighbour but the sender (and not to one that went down)');
  assert.deepEqual(sent[0][2], push(1), 'the delta as received');
  assert.equal(text(m.get('o:1', 'k')?.value), 'v1');
  m.handleMessage('a:1', push(1), 21);
  assert.deepEqual(io.take().filter((o) => o[0] === 'send'), [], 'a duplicate is not forwarded');
  m.set('mine', v('x'), 22);
  io.take();
  m.handleMessage('a:1', { type: 'push', deltas: [{ node: 'b:1', generation: 1, fromVersion: 0, toVersion: 9, reset: false, lastGcVersion: 0, entries: [{ key: 'mine', value: v('forged'), version: 9 }] }] }, 23);
  assert.deepEqual(io.take(), [], 'a push of this node\'s own keys is neither stored nor forwarded');
  assert.equal(text(m.get('b:1', 'mine')?.value), 'x');
  assert.equal(m.counters.pushes, 3);
});

test('state: writes made before the first neighbour are pushed when it comes up, once', () => {
  const { m, io } = machine('a:1', 100);
  m.set('tag.role', v('db'), 1);
  m.set('_rumor.tags', v('1'), 2);
  m.set('tag.role', v('web'), 3);
  assert.deepEqual(io.take().filter((o) => o[0] === 'send'), [], 'no neighbour, no peer: nothing sent');
  m.neighborUp('b:1');
  const push: StateMessage<string> = { type: 'push', deltas: [{ node: 'a:1', generation: 100, fromVersion: 0, toVersion: 3, reset: false, lastGcVersion: 0, entries: [{ key: '_rumor.tags', value: v('1'), version: 2 }, { key: 'tag.role', value: v('web'), version: 3 }] }] };
  assert.deepEqual(io.take(), [['send', 'b:1', push], ['send', 'b:1', { type: 'syn', digest: [{ node: 'a:1', generation: 100, maxVersion: 3 }] }]]);
  m.neighborUp('c:1');
  assert.deepEqual(io.take(), [['send', 'c:1', { type: 'syn', digest: [{ node: 'a:1', generation: 100, maxVersion: 3 }] }]], 'pushed once only');
  // A receiver holding nothing of a:1 stores the pushed state and raises its watermark.
  const b = machine('b:1', 1);
  b.m.handleMessage('a:1', push, 5);
  assert.equal(b.m.ownerInfo('a:1')?.maxVersion, 3);
  assert.equal(text(b.m.get('a:1', 'tag.role')?.value), 'web');
});

test('state: pushFanout pushes to that many distinct random peers, never itself nor the sender', () => {
  const peers = ['a:1', 'b:1', 'c:1', 'd:1', 'e:1', 'f:1'];
  const { m, io } = machine('a:1', 1, { pushNeighbors: false, pushFanout: 3, samplePeer: (r) => peers[Math.floor(r * peers.length)] });
  m.set('k', v('1'), 1);
  const to = io.take().filter((o) => o[0] === 'send').map((o) => o[1]);
  assert.equal(to.length, 3);
  assert.equal(new Set(to).size, 3, 'distinct');
  assert.ok(!to.includes('a:1'), 'not itself');
  m.handleMessage('b:1', { type: 'push', deltas: [{ node: 'z:1', generation: 1, fromVersion: 0, toVersion: 1, reset: false, lastGcVersion: 0, entries: [{ key: 'k', value: v('z'), version: 1 }] }] }, 2);
  const fwd = io.take().filter((o) => o[0] === 'send').map((o) => o[1]);
  assert.equal(fwd.length, 3);
  assert.ok(!fwd.includes('b:1') && !fwd.includes('a:1'), `forwarded to ${fwd.join(', ')}: not the sender nor itself`);
  // No peers known and no sampler: nothing is sent, nothing throws.
  const lone = machine('l:1', 1, { pushNeighbors: false, pushFanout: 3 });
  lone.m.set('k', v('1'), 1);
  assert.deepEqual(lone.io.take().filter((o) => o[0] === 'send'), []);
});

test('state: anti-entropy sends only newer entries, owners freshest first, versions ascending', () => {
  const a = machine('a:1', 1, { pushWrites: false });
  const b = machine('b:1', 2, { pushWrites: false });
  a.m.set('k1', v('x'), 1);
  a.m.set('k2', v('y'), 2);
  a.m.set('k1', v('z'), 3); // k1 now at version 3; version 1 superseded
  exchange(a.m, a.io, b.m, b.io, 5);
  assert.equal(text(b.m.get('a:1', 'k1')?.value), 'z');
  assert.deepEqual(b.m.ownerInfo('a:1'), { generation: 1, maxVersion: 3, lastGcVersion: 0, keys: 2, bytes: 6 });
  // b now holds a's state at version 3: only the newer k3 travels, and nothing back.
  a.m.set('k3', v('w'), 6);
  const msgs = exchange(b.m, b.io, a.m, a.io, 7);
  assert.equal(msgs.length, 2, 'b has nothing a lacks: no third leg');
  const ack = msgs[1] as Extract<StateMessage<string>, { type: 'ack' }>;
  assert.deepEqual(ack.deltas, [{ node: 'a:1', generation: 1, fromVersion: 3, toVersion: 4, reset: false, lastGcVersion: 0, entries: [{ key: 'k3', value: v('w'), version: 4 }] }]);
  assert.deepEqual(exchange(a.m, a.io, b.m, b.io, 8).length, 2, 'in sync: the ack carries no delta and no third leg');
  assert.deepEqual((exchange(a.m, a.io, b.m, b.io, 8)[1] as { deltas: readonly unknown[] }).deltas, []);
});

test('state: deltas are ordered freshest owner first and cut to the size bound with a prefix watermark', () => {
  const owners = new Map<string, OwnerState>();
  const old = new OwnerState(1);
  old.put({ key: 'a', value: v('1'), version: 1 }, 10);
  old.put({ key: 'b', value: v('2'), version: 2 }, 11);
  old.maxVersion = 2;
  const fresh = new OwnerState(1);
  fresh.put({ key: 'c', value: v('3'), version: 5 }, 50);
  fresh.maxVersion = 5;
  owners.set('old:1', old).set('fresh:1', fresh);
  const all = deltasFor(owners, [], 10_000, stringIdBytes);
  assert.deepEqual(all.map((d) => d.node), ['fresh:1', 'old:1']);
  assert.deepEqual(all[1].entries.map((e) => e.version), [1, 2]);
  // 40 bytes: the fresh owner (14 + 6) and the old one's header (12) and first entry (6) fit.
  const cut = deltasFor(owners, [], 40, stringIdBytes);
  assert.deepEqual(cut.map((d) => [d.node, d.toVersion, d.entries.map((e) => e.key)]), [['fresh:1', 5, ['c']], ['old:1', 0, ['a']]]);
  // A receiver that applies the cut delta holds old:1 up to version 1 only.
  const b = machine('b:1');
  b.m.handleMessage('x:1', { type: 'delta', deltas: cut }, 60);
  assert.equal(b.m.ownerInfo('old:1')?.maxVersion, 1);
  assert.equal(b.m.ownerInfo('fresh:1')?.maxVersion, 5);
});

test('state: a delete is a tombstone that propagates; get hides it', () => {
  const a = machine('a:1', 1, { pushWrites: false });
  const b = machine('b:1', 1, { pushWrites: false });
  a.m.set('k', v('x'), 1);
  exchange(a.m, a.io, b.m, b.io, 2);
  assert.deepEqual(a.m.delete('k', 3), { ok: true, version: 2 });
  assert.deepEqual(a.m.delete('k', 3), { ok: true, version: 0 }, 'deleting a deleted key is a no-op');
  exchange(a.m, a.io, b.m, b.io, 4);
  assert.equal(b.m.get('a:1', 'k'), undefined);
  assert.deepEqual(b.m.ownerInfo('a:1'), { generation: 1, maxVersion: 2, lastGcVersion: 0, keys: 1, bytes: 1 });
});

test('state: tombstones are collected after the grace period and a stale peer cannot resurrect the key', () => {
  const cfg = { pushWrites: false, tombstoneGraceMs: 10_000 };
  const a = machine('a:1', 1, cfg);
  const b = machine('b:1', 1, cfg);
  const stale = machine('s:1', 1, cfg);
  a.m.set('k', v('old'), 0);
  a.m.set('j', v('keep'), 0);
  exchange(a.m, a.io, b.m, b.io, 1);
  exchange(a.m, a.io, stale.m, stale.io, 1); // stale holds k=old at version 1
  a.m.delete('k', 2);
  exchange(a.m, a.io, b.m, b.io, 3);
  a.m.handleTimer({ type: 'gc' }, 20_000);
  b.m.handleTimer({ type: 'gc' }, 20_000);
  assert.deepEqual(b.m.ownerInfo('a:1'), { generation: 1, maxVersion: 3, lastGcVersion: 3, keys: 1, bytes: 5 });
  assert.equal(a.m.counters.collected + b.m.counters.collected, 2);
  // The stale peer gossips with b: it offers k=old (version 1): b refuses it (1 ≤ watermark 3).
  b.m.handleMessage('s:1', { type: 'delta', deltas: [{ node: 'a:1', generation: 1, fromVersion: 0, toVersion: 2, reset: false, lastGcVersion: 0, entries: [{ key: 'k', value: v('old'), version: 1 }] }] }, 20_001);
  assert.equal(b.m.get('a:1', 'k'), undefined, 'no resurrection');
  // b answers the stale peer's digest (a:1 at version 2 < lastGcVersion 3) with a reset.
  const msgs = exchange(stale.m, stale.io, b.m, b.io, 20_002);
  const ack = msgs[1] as Extract<StateMessage<string>, { type: 'ack' }>;
  assert.deepEqual(ack.deltas.find((d) => d.node === 'a:1'), { node: 'a:1', generation: 1, fromVersion: 0, toVersion: 3, reset: true, lastGcVersion: 3, entries: [{ key: 'j', value: v('keep'), version: 2 }] });
  assert.equal(stale.m.get('a:1', 'k'), undefined, 'the reset dropped k');
  assert.equal(text(stale.m.get('a:1', 'j')?.value), 'keep');
  assert.equal(stale.m.counters.resets, 1);
});

test('state: limits refuse with a typed error and keep what is stored', () => {
  const { m } = machine('a:1', 1, { limits: { maxKeyBytes: 4, maxValueBytes: 8, maxKeys: 2, maxBytes: 14 } });
  assert.equal(m.set('k1', v('12345678'), 1).ok, true);
  const r = (x: ReturnType<typeof m.set>): string => (x.ok ? 'ok' : x.error.type);
  assert.equal(r(m.set('', v('x'), 1)), 'bad-key');
  assert.equal(r(m.set('\ud800', v('x'), 1)), 'bad-key');
  assert.equal(r(m.set('toolong', v('x'), 1)), 'key-too-large');
  assert.equal(r(m.set('k2', v('123456789'), 1)), 'value-too-large');
  assert.equal(r(m.set('k2', v('12345'), 1)), 'node-too-large');
  assert.equal(r(m.set('k2', v('1'), 1, 0)), 'bad-ttl');
  assert.equal(r(m.set('k2', v('1'), 1)), 'ok');
  assert.equal(r(m.set('k3', v('1'), 1)), 'too-many-keys');
  const e = m.set('k1', v('123456789'), 1);
  assert.deepEqual(e, { ok: false, error: { type: 'value-too-large', message: 'state: value of 9 bytes is over the limit of 8' } });
  assert.equal(text(m.get('a:1', 'k1')?.value), '12345678', 'the stored value survives a refused write');
  assert.deepEqual(m.ownerInfo('a:1'), { generation: 1, maxVersion: 2, lastGcVersion: 0, keys: 2, bytes: 13 });
});

test('state: a TTL deletes the key at its owner only if not rewritten', () => {
  const { m, io } = machine('a:1', 1, { pushWrites: false });
  m.set('t', v('1'), 0, 500);
  assert.deepEqual(io.take().at(-1), ['timer', 500, { type: 'ttl', key: 't', version: 1 }]);
  m.set('u', v('1'), 0, 500);
  m.set('u', v('2'), 100); // rewritten without a TTL
  m.handleTimer({ type: 'ttl', key: 't', version: 1 }, 500);
  m.handleTimer({ type: 'ttl', key: 'u', version: 2 }, 500);
  assert.equal(m.get('a:1', 't'), undefined);
  assert.equal(text(m.get('a:1', 'u')?.value), '2');
});

test('state: a new generation replaces the old; forgetNode drops and refuses the old one', () => {
  const b = machine('b:1');
  const d = (gen: number, key: string): StateMessage<string> => ({ type: 'delta', deltas: [{ node: 'a:1', generation: gen, fromVersion: 0, toVersion: 1, reset: false, lastGcVersion: 0, entries: [{ key, value: v('x'), version: 1 }] }] });
  b.m.handleMessage('a:1', d(1, 'old'), 1);
  b.m.handleMessage('a:1', d(2, 'new'), 2);
  assert.deepEqual(b.m.entriesOf('a:1').map((e) => e.key), ['new']);
  b.m.handleMessage('a:1', d(1, 'older'), 3);
  assert.deepEqual(b.m.entriesOf('a:1').map((e) => e.key), ['new'], 'an older generation is ignored');
  b.io.take();
  b.m.forgetNode('a:1', 10);
  assert.deepEqual(b.io.take(), [['event', { type: 'update', node: 'a:1', key: 'new', value: v('x'), version: 1, local: false }], ['event', { type: 'node-dropped', node: 'a:1', reason: 'forgotten' }]].map((x, i) => (i === 0 ? ['event', { ...(x[1] as object), value: null }] : x)));
  b.m.handleMessage('c:1', d(2, 'new'), 11);
  assert.equal(b.m.ownerInfo('a:1'), undefined, 'refused during the forget grace');
  b.m.handleMessage('c:1', d(3, 'again'), 12);
  assert.deepEqual(b.m.entriesOf('a:1').map((e) => e.key), ['again'], 'a restarted owner is accepted');
});

test('state: a pushed entry after a missed one is stored but does not raise the watermark', () => {
  const b = machine('b:1');
  const push = (from: number, to: number, key: string): StateMessage<string> => ({ type: 'delta', deltas: [{ node: 'a:1', generation: 1, fromVersion: from, toVersion: to, reset: false, lastGcVersion: 0, entries: [{ key, value: v(key), version: to }] }] });
  b.m.handleBroadcast(push(0, 1, 'one'), 1);
  b.m.handleBroadcast(push(2, 3, 'three'), 2); // version 2 missed
  assert.equal(b.m.ownerInfo('a:1')?.maxVersion, 1);
  assert.equal(text(b.m.get('a:1', 'three')?.value), 'three');
  b.m.handleMessage('a:1', push(1, 2, 'two'), 3);
  b.m.handleBroadcast(push(2, 3, 'three'), 4);
  assert.equal(b.m.ownerInfo('a:1')?.maxVersion, 3);
});

test('state codec: round trip, exact size, and bad input refused with a reason', () => {
  const msg: StateMessage<string> = {
    type: 'ack',
    digest: [{ node: 'a:1', generation: 1_700_000_000_000, maxVersion: 300 }],
    deltas: [{ node: 'b:2', generation: 5, fromVersion: 2, toVersion: 9, reset: true, lastGcVersion: 1, entries: [{ key: 'tag.role', value: v('db'), version: 3 }, { key: 'gone', value: null, version: 9 }] }],
  };
  const e = encodeStateMessage(msg);
  assert.ok(e.ok);
  assert.equal(e.value.byteLength, stateMessageSize(msg, stringIdBytes));
  assert.deepEqual(decodeStateMessage(e.value), { ok: true, value: msg });
  const push: StateMessage<string> = { type: 'push', deltas: [{ ...msg.deltas[0], reset: false }] };
  const pe = encodeStateMessage(push);
  assert.ok(pe.ok);
  assert.equal(pe.value.byteLength, stateMessageSize(push, stringIdBytes));
  assert.equal(pe.value[1], 4, 'push is type 4');
  assert.deepEqual(decodeStateMessage(pe.value), { ok: true, value: push });
  const flipped = e.value.slice();
  flipped[8] ^= 1;
  assert.deepEqual(decodeStateMessage(flipped), { ok: false, reason: 'state message: bad checksum' });
  assert.deepEqual(decodeStateMessage(new Uint8Array(3)), { ok: false, reason: 'state message: truncated' });
  const unordered: StateMessage<string> = { type: 'delta', deltas: [{ ...msg.deltas[0], entries: [...msg.deltas[0].entries].reverse() }] };
  const u = encodeStateMessage(unordered);
  assert.ok(u.ok);
  assert.deepEqual(decodeStateMessage(u.value), { ok: false, reason: 'state message: entry versions must ascend above fromVersion (3 after 9)' });
  const big = encodeStateMessage({ type: 'delta', deltas: [{ ...msg.deltas[0], entries: [{ key: 'k', value: new Uint8Array(5000), version: 3 }] }] });
  assert.ok(big.ok);
  assert.match((decodeStateMessage(big.value) as { reason: string }).reason, /value.*5000 exceeds 4096/);
  for (let i = 0; i < 200; i++) {
    const junk: Uint8Array = e.value.slice(0, 1 + (i % (e.value.length - 1)));
    assert.equal(decodeStateMessage(junk).ok, false);
  }
});

test('state: a remote owner over the limits has the offending entries refused and counted, the rest stored', () => {
  const b = machine('b:1', 1, { limits: { maxKeyBytes: 8, maxValueBytes: 4, maxKeys: 2, maxBytes: 64 } });
  const entries = [
    { key: 'ok', value: v('1234'), version: 1 },
    { key: 'big', value: v('12345'), version: 2 },
    { key: 'two', value: v('x'), version: 3 },
    { key: 'three', value: v('y'), version: 4 },
  ];
  b.m.handleMessage('a:1', { type: 'delta', deltas: [{ node: 'a:1', generation: 1, fromVersion: 0, toVersion: 4, reset: false, lastGcVersion: 0, entries }] }, 1);
  assert.deepEqual(b.m.entriesOf('a:1').map((e) => e.key), ['ok', 'two']);
  assert.equal(b.m.counters.refused, 2);
  assert.equal(b.m.ownerInfo('a:1')?.maxVersion, 4, 'the watermark moves on: a hostile owner cannot stall the others');
});

test('state: an ack lists only the owners the initiator is ahead on (or the responder lacks); fullAckDigest lists all', () => {
  for (const full of [false, true]) {
    const a = machine('a:1', 1, { pushWrites: false, fullAckDigest: full });
    const b = machine('b:1', 1, { pushWrites: false, fullAckDigest: full });
    a.m.set('k', v('x'), 1);
    b.m.set('j', v('y'), 1);
    exchange(a.m, a.io, b.m, b.io, 2);
    const synced = exchange(a.m, a.io, b.m, b.io, 3)[1] as Extract<StateMessage<string>, { type: 'ack' }>;
    assert.deepEqual(synced.digest, full ? b.m.digest() : [], `in sync, full=${full}`);
    a.m.set('k', v('z'), 4);
    const ahead = exchange(a.m, a.io, b.m, b.io, 5)[1] as Extract<StateMessage<string>, { type: 'ack' }>;
    assert.deepEqual(ahead.digest, full ? b.m.digest().map((d) => (d.node === 'a:1' ? { ...d, maxVersion: 1 } : d)) : [{ node: 'a:1', generation: 1, maxVersion: 1 }]);
    assert.equal(text(b.m.get('a:1', 'k')?.value), 'z');
  }
});

test('state: a periodic round sends the digest sum; a peer in sync answers nothing, one out of sync starts the full exchange back', () => {
  const a = machine('a:1', 10);
  const b = machine('b:1', 20);
  a.m.neighborUp('b:1');
  b.m.neighborUp('a:1');
  a.m.set('x', v('1'), 0);
  b.m.set('y', v('2'), 0);
  // Bring both in sync by hand (the pushes and greetings are dropped here).
  a.io.take();
  b.io.take();
  exchange(a.m, a.io, b.m, b.io, 1);
  assert.deepEqual(a.m.digest().sort((p, q) => (p.node < q.node ? -1 : 1)), b.m.digest().sort((p, q) => (p.node < q.node ? -1 : 1)), 'in sync');
  assert.deepEqual(a.m.sum(), b.m.sum(), 'equal digests, equal sums (map order does not matter)');
  a.m.handleTimer({ type: 'gossip' }, 5000);
  const round = a.io.take().filter((o) => o[0] === 'send');
  assert.equal(round.length, 1);
  const sum = round[0][2];
  assert.deepEqual(sum, { type: 'sum', owners: 2, ...pick(a.m.sum()) });
  b.m.handleMessage('a:1', sum, 5000);
  assert.deepEqual(b.io.take(), [], 'in sync: no answer');
  assert.equal(b.m.counters.sumsMatched, 1);
  // b writes while a misses the push: the sums differ and b answers with a full syn.
  b.m.set('y', v('3'), 6000);
  b.io.take();
  b.m.handleMessage('a:1', sum, 6000);
  const back = b.io.take();
  assert.deepEqual(back, [['send', 'a:1', { type: 'syn', digest: b.m.digest() }]]);
  a.m.handleMessage('b:1', back[0][2] as StateMessage<string>, 6000);
  const ack = a.io.take().find((o) => o[0] === 'send')![2] as StateMessage<string>;
  assert.equal(ack.type, 'ack');
  b.m.handleMessage('a:1', ack, 6000);
  const delta = b.io.take().find((o) => o[0] === 'send')![2] as StateMessage<string>;
  a.m.handleMessage('b:1', delta, 6000);
  assert.equal(text(a.m.get('b:1', 'y')?.value), '3', 'repaired by the exchange the sum started');
  assert.deepEqual(a.m.sum(), b.m.sum(), 'in sync again');
  // Owners held with nothing (version 0) are not summed; generation and version both count.
  const c = machine('c:1', 30);
  assert.deepEqual(c.m.sum(), { owners: 0, lo: 0, hi: 0 });
  const d1 = machine('d:1', 1);
  const d2 = machine('d:1', 2);
  d1.m.set('k', v('1'), 0);
  d2.m.set('k', v('1'), 0);
  assert.notDeepEqual(d1.m.sum(), d2.m.sum(), 'another generation, another sum');
  d2.m.set('k', v('1'), 0);
  const d3 = machine('d:1', 1);
  d3.m.set('k', v('1'), 0);
  assert.deepEqual(d1.m.sum(), d3.m.sum());
  d3.m.set('k', v('2'), 0);
  assert.notDeepEqual(d1.m.sum(), d3.m.sum(), 'another version, another sum');
});

test('state: digestSums false sends the full digest every round (the paper\'s exchange)', () => {
  const a = machine('a:1', 10, { digestSums: false });
  a.m.neighborUp('b:1');
  a.m.set('x', v('1'), 0);
  a.io.take();
  a.m.handleTimer({ type: 'gossip' }, 5000);
  assert.deepEqual(a.io.take().filter((o) => o[0] === 'send'), [['send', 'b:1', { type: 'syn', digest: a.m.digest() }]]);
});

test('state codec: a sum round-trips at its exact size (type 5); bad lanes are refused at encode', () => {
  const msg: StateMessage<string> = { type: 'sum', owners: 300, lo: 0xfedcba98, hi: 1 };
  const e = encodeStateMessage(msg);
  assert.ok(e.ok);
  assert.equal(e.value.byteLength, stateMessageSize(msg, stringIdBytes));
  assert.equal(e.value.byteLength, 16);
  assert.equal(e.value[1], 5, 'sum is type 5');
  assert.deepEqual(decodeStateMessage(e.value), { ok: true, value: msg });
  for (let i = 1; i < e.value.length; i++) assert.equal(decodeStateMessage(e.value.slice(0, i)).ok, false, `truncated at ${i}`);
  assert.equal(encodeStateMessage({ type: 'sum', owners: 1, lo: -1, hi: 0 }).ok, false);
  assert.equal(encodeStateMessage({ type: 'sum', owners: 1, lo: 0, hi: 2 ** 32 }).ok, false);
});

function pick(s: { lo: number; hi: number }): { lo: number; hi: number } {
  return { lo: s.lo, hi: s.hi };
}
