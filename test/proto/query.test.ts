// Unit tests of the query machine (src/proto/query/machine.ts): exact inputs, exact outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QueryMachine, type AskRequest } from '../../src/proto/query/machine.js';
import { DEFAULT_QUERY_CONFIG, PING_QUERY, matchesFilter, type QueryEvent, type QueryMessage, type QueryTimer } from '../../src/proto/query/types.js';
import { Sfc32 } from '../../src/proto/rng.js';

type Out =
  | { kind: 'send'; to: number; msg: QueryMessage<number> }
  | { kind: 'broadcast'; msg: QueryMessage<number> }
  | { kind: 'timer'; delay: number; t: QueryTimer }
  | { kind: 'event'; e: QueryEvent<number> };

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function node(self: number, tags: Record<string, string> = {}, peers: number[] = [], config = DEFAULT_QUERY_CONFIG): { m: QueryMachine<number>; out: Out[] } {
  const out: Out[] = [];
  const m = new QueryMachine<number>(
    self,
    config,
    new Sfc32(self + 1),
    {
      send: (to, msg) => out.push({ kind: 'send', to, msg }),
      broadcast: (msg) => out.push({ kind: 'broadcast', msg }),
      timer: (delay, t) => out.push({ kind: 'timer', delay, t }),
      event: (e) => out.push({ kind: 'event', e }),
    },
    { self: () => ({ name: `n${self}`, tags }), relayPeers: () => peers, key: (p) => String(p) },
  );
  return { m, out };
}

// The broadcast path unless a test says otherwise (the direct path's tests: the end of the file).
const ask = (over: Partial<AskRequest<number>> = {}): AskRequest<number> => ({ name: 'uptime', payload: enc('hi'), filter: { nodes: [], tags: [] }, timeoutMs: 1000, ack: true, relayFactor: 0, expect: [1, 2], path: 'broadcast', ...over });

function take<K extends Out['kind']>(out: Out[], kind: K): Extract<Out, { kind: K }>[] {
  const r = out.filter((o) => o.kind === kind) as Extract<Out, { kind: K }>[];
  out.length = 0;
  return r;
}

test('query: asker broadcasts, arms its deadline, and finishes as soon as every expected member answered', () => {
  const a = node(0);
  const r = a.m.ask(ask(), 100);
  assert.ok(r.ok);
  const id = r.value;
  const q = a.out.find((o) => o.kind === 'broadcast') as Extract<Out, { kind: 'broadcast' }>;
  assert.deepEqual(q.msg, { type: 'q-query', id, origin: 0, name: 'uptime', payload: enc('hi'), filter: { nodes: [], tags: [] }, timeoutMs: 1000, ack: true, relayFactor: 0 });
  assert.deepEqual(a.out.find((o) => o.kind === 'timer'), { kind: 'timer', delay: 1000, t: { type: 'q-deadline', id } });
  // The asker (node 0) matches too: it acks itself and sees the query, but is not expected.
  const ev = take(a.out, 'event');
  assert.deepEqual(ev.map((e) => e.e.type), ['query-ack', 'query']);

  // Node 1 receives the query: acks, hands it to its user, who responds.
  const b = node(1);
  b.m.handleBroadcast(q.msg, 110);
  const bq = b.out.find((o) => o.kind === 'event')!.e as Extract<QueryEvent<number>, { type: 'query' }>;
  assert.deepEqual(bq, { type: 'query', key: `0/${id}`, id, origin: 0, name: 'uptime', payload: enc('hi'), direct: false });
  assert.deepEqual(take(b.out, 'send'), [{ kind: 'send', to: 0, msg: { type: 'q-ack', id, responder: 1, rname: 'n1', final: false } }]);
  assert.deepEqual(b.m.respond(bq.key, enc('up 3 days'), '', 120), { ok: true, value: undefined });
  const resp = take(b.out, 'send');
  assert.deepEqual(resp, [{ kind: 'send', to: 0, msg: { type: 'q-response', id, responder: 1, rname: 'n1', payload: enc('up 3 days'), error: '' } }]);
  // Answering twice is refused; a second copy of the query is ignored.
  assert.equal(b.m.respond(bq.key, enc('x'), '', 121).ok, false);
  b.m.handleBroadcast(q.msg, 122);
  assert.deepEqual(b.out, []);

  a.m.handleMessage(1, { type: 'q-ack', id, responder: 1, rname: 'n1', final: false }, 130);
  a.m.handleMessage(1, resp[0].msg, 131);
  assert.deepEqual(take(a.out, 'event').map((e) => e.e.type), ['query-ack', 'query-response']);
  // Node 2 has no handler: it declines, which ends the query before its timeout.
  a.m.handleMessage(2, { type: 'q-ack', id, responder: 2, rname: 'n2', final: true }, 140);
  const evs = take(a.out, 'event').map((e) => e.e);
  assert.deepEqual(evs, [
    { type: 'query-ack', id, from: 2, name: 'n2', final: true },
    { type: 'query-done', summary: { id, name: 'uptime', reason: 'complete', answered: [1], ackedOnly: [0, 2], missing: [], durationMs: 40 } },
  ]);
  assert.equal(a.m.inFlight, 0);
  // A duplicate (e.g. relayed) response after the end is counted as late and dropped.
  a.m.handleMessage(3, resp[0].msg, 150);
  assert.deepEqual(a.out, []);
  assert.equal(a.m.counters.lateResponses, 1);
});

test('query: at the deadline the summary names who acked only and who said nothing', () => {
  const a = node(0);
  const r = a.m.ask(ask({ expect: [1, 2, 3], filter: { nodes: ['n1', 'n2', 'n3'], tags: [] } }), 0);
  assert.ok(r.ok);
  a.out.length = 0; // node 0 does not match the node filter: no self answer
  a.m.handleMessage(1, { type: 'q-response', id: r.value, responder: 1, rname: 'n1', payload: enc('ok'), error: '' }, 10);
  a.m.handleMessage(2, { type: 'q-ack', id: r.value, responder: 2, rname: 'n2', final: false }, 20);
  a.out.length = 0;
  a.m.handleTimer({ type: 'q-deadline', id: r.value }, 996); // a host timer firing early: waits for the rest
  assert.deepEqual(a.out, [{ kind: 'timer', delay: 4, t: { type: 'q-deadline', id: r.value } }]);
  a.out.length = 0;
  a.m.handleTimer({ type: 'q-deadline', id: r.value }, 1000);
  assert.deepEqual(take(a.out, 'event').map((e) => e.e), [{ type: 'query-done', summary: { id: r.value, name: 'uptime', reason: 'timeout', answered: [1], ackedOnly: [2], missing: [3], durationMs: 1000 } }]);
});

test('query: filters by node name and anchored tag patterns; a non-matching node stays silent', () => {
  const f = { nodes: [], tags: [{ key: 'role', pattern: 'web|api' }] };
  assert.equal(matchesFilter(f, 'x', { role: 'web' }), true);
  assert.equal(matchesFilter(f, 'x', { role: 'webserver' }), false, 'anchored');
  assert.equal(matchesFilter(f, 'x', {}), false);
  assert.equal(matchesFilter({ nodes: [], tags: [{ key: 'dc', pattern: '' }] }, 'x', {}), true, 'a missing tag matches as ""');
  assert.equal(matchesFilter({ nodes: ['a', 'b'], tags: [] }, 'c', {}), false);
  const b = node(1, { role: 'db' });
  b.m.handleBroadcast({ type: 'q-query', id: 7, origin: 0, name: 'x', payload: enc(''), filter: f, timeoutMs: 100, ack: true, relayFactor: 0 }, 0);
  assert.deepEqual(b.out, []);
});

test('query: the built-in ping is answered by the machine itself, never shown to the user', () => {
  const b = node(1);
  b.m.handleBroadcast({ type: 'q-query', id: 9, origin: 0, name: PING_QUERY, payload: enc(''), filter: { nodes: [], tags: [] }, timeoutMs: 100, ack: true, relayFactor: 0 }, 0);
  assert.deepEqual(b.out, [
    { kind: 'send', to: 0, msg: { type: 'q-ack', id: 9, responder: 1, rname: 'n1', final: false } },
    { kind: 'send', to: 0, msg: { type: 'q-response', id: 9, responder: 1, rname: 'n1', payload: new Uint8Array(0), error: '' } },
  ]);
});

test('query: relay factor sends the response through distinct random members, which forward it once', () => {
  const b = node(1, {}, [0, 1, 2, 3, 4]);
  b.m.handleBroadcast({ type: 'q-query', id: 5, origin: 0, name: 'x', payload: enc(''), filter: { nodes: [], tags: [] }, timeoutMs: 100, ack: false, relayFactor: 2 }, 0);
  b.out.length = 0;
  b.m.respond('0/5', enc('r'), '', 1);
  const sends = take(b.out, 'send');
  assert.equal(sends.length, 3);
  assert.equal(sends[0].to, 0);
  const relays = sends.slice(1);
  assert.ok(relays.every((s) => s.msg.type === 'q-relay' && s.to !== 0 && s.to !== 1), 'never through the asker or itself');
  assert.notEqual(relays[0].to, relays[1].to);
  const c = node(2);
  c.m.handleMessage(1, relays[0].msg, 2);
  assert.deepEqual(c.out, [{ kind: 'send', to: 0, msg: { type: 'q-response', id: 5, responder: 1, rname: 'n1', payload: enc('r'), error: '' } }]);
  // The asker keeps the first copy only.
  const a = node(0);
  const r = a.m.ask(ask({ expect: [1, 9] }), 0);
  assert.ok(r.ok);
  const resp = { type: 'q-response' as const, id: r.value, responder: 1, rname: 'n1', payload: enc('r'), error: '' };
  a.m.handleMessage(1, resp, 1);
  a.m.handleMessage(2, resp, 2);
  assert.equal(a.m.counters.duplicateResponses, 1);
});

test('query: limits are refused at the call with a typed reason; an oversize response is cut and flagged', () => {
  const small = { ...DEFAULT_QUERY_CONFIG, maxConcurrent: 1, maxResponseBytes: 4 };
  const a = node(0, {}, [], small);
  const big = a.m.ask(ask({ payload: new Uint8Array(1025) }), 0);
  assert.deepEqual(big, { ok: false, error: { type: 'payload-too-large', message: 'query payload of 1025 bytes exceeds the limit of 1024' } });
  assert.equal((a.m.ask(ask({ relayFactor: 6 }), 0) as { error: { type: string } }).error.type, 'bad-request');
  assert.equal((a.m.ask(ask({ timeoutMs: 0 }), 0) as { error: { type: string } }).error.type, 'bad-request');
  assert.match((a.m.ask(ask({ filter: { nodes: [], tags: [{ key: 'k', pattern: '(' }] } }), 0) as { error: { message: string } }).error.message, /not a valid regular expression/);
  assert.ok(a.m.ask(ask(), 0).ok);
  assert.equal((a.m.ask(ask(), 0) as { error: { type: string } }).error.type, 'too-many');
  const b = node(1, {}, [], small);
  b.m.handleBroadcast({ type: 'q-query', id: 3, origin: 0, name: 'x', payload: enc(''), filter: { nodes: [], tags: [] }, timeoutMs: 100, ack: false, relayFactor: 0 }, 0);
  b.out.length = 0;
  b.m.respond('0/3', enc('123456'), '', 1);
  assert.deepEqual(take(b.out, 'send')[0].msg, { type: 'q-response', id: 3, responder: 1, rname: 'n1', payload: enc('1234'), error: 'response of 6 bytes cut to the limit of 4' });
  // Past its timeout a query is not answered.
  b.m.handleBroadcast({ type: 'q-query', id: 4, origin: 0, name: 'x', payload: enc(''), filter: { nodes: [], tags: [] }, timeoutMs: 100, ack: false, relayFactor: 0 }, 0);
  b.out.length = 0;
  assert.equal(b.m.respond('0/4', enc('late'), '', 101).ok, false);
  assert.deepEqual(b.out, []);
});

test('query: the asker answers itself locally; stop ends its queries as stopped', () => {
  const a = node(0);
  const r = a.m.ask(ask({ expect: [0, 1] }), 0);
  assert.ok(r.ok);
  const q = a.out.find((o) => o.kind === 'event' && o.e.type === 'query') as { e: { key: string } };
  a.out.length = 0;
  a.m.respond(q.e.key, enc(dec(enc('me'))), '', 5);
  assert.deepEqual(a.out.filter((o) => o.kind === 'send'), [], 'nothing sent to itself');
  assert.equal((a.out[0] as { e: QueryEvent<number> }).e.type, 'query-response');
  a.out.length = 0;
  a.m.stop(6);
  const done = (a.out[0] as { e: Extract<QueryEvent<number>, { type: 'query-done' }> }).e.summary;
  assert.deepEqual({ reason: done.reason, answered: done.answered, missing: done.missing }, { reason: 'stopped', answered: [0], missing: [1] });
  assert.equal(a.m.ask(ask(), 7).ok, false);
});

test('query: a response sent by another process — the template is the response with an empty payload; answeredElsewhere counts it and ends the query here', () => {
  const a = node(0);
  const r = a.m.ask(ask({ timeoutMs: 500 }), 100);
  assert.ok(r.ok);
  const q = a.out.find((o) => o.kind === 'broadcast') as Extract<Out, { kind: 'broadcast' }>;
  const b = node(1);
  b.m.handleBroadcast(q.msg, 110);
  const key = `0/${r.value}`;
  assert.deepEqual(b.m.responseTemplate(key, 120), { to: 0, msg: { type: 'q-response', id: r.value, responder: 1, rname: 'n1', payload: new Uint8Array(0), error: '' }, leftMs: 490 });
  assert.equal(b.m.responseTemplate(key, 611), null, 'past the deadline');
  assert.equal(b.m.responseTemplate('0/999', 120), null, 'unknown');
  take(b.out, 'send');
  assert.deepEqual(b.m.answeredElsewhere(key), { ok: true, value: undefined });
  assert.deepEqual([b.m.counters.answered, b.m.counters.answeredElsewhere], [1, 1]);
  assert.deepEqual(b.out, [], 'nothing sent by the machine');
  assert.equal(b.m.responseTemplate(key, 130), null, 'answered');
  assert.equal(b.m.answeredElsewhere(key).ok, false);
  assert.equal(b.m.respond(key, enc('again'), '', 130).ok, false, 'answered once');
  assert.deepEqual(b.out, []);

  // Relays asked for, or the asker itself: the machine answers (no template).
  const c = node(2, {}, [0, 1, 3]);
  const r2 = a.m.ask(ask({ relayFactor: 1 }), 200);
  assert.ok(r2.ok);
  const q2 = a.out.filter((o) => o.kind === 'broadcast').pop() as Extract<Out, { kind: 'broadcast' }>;
  c.m.handleBroadcast(q2.msg, 210);
  assert.equal(c.m.responseTemplate(`0/${r2.value}`, 220), null, 'relay factor 1');
  assert.equal(a.m.responseTemplate(`0/${r2.value}`, 220), null, 'the asker');
});

// The direct path (machine.ts, "A direct query for a small expected set").

test('query direct: a small expected set gets the query as one message each, no broadcast, acks as asked', () => {
  const a = node(0);
  const r = a.m.ask(ask({ path: 'auto', expect: [0, 1, 2], ack: false }), 100);
  assert.ok(r.ok);
  const id = r.value;
  const sends = take(a.out.slice(), 'send');
  const wire = { type: 'q-query', id, origin: 0, name: 'uptime', payload: enc('hi'), filter: { nodes: [], tags: [] }, timeoutMs: 1000, ack: false, relayFactor: 0 };
  assert.deepEqual(sends, [{ kind: 'send', to: 1, msg: wire }, { kind: 'send', to: 2, msg: wire }], 'to every expected member but the asker');
  assert.equal(a.out.filter((o) => o.kind === 'broadcast').length, 0);
  assert.deepEqual(a.out.filter((o) => o.kind === 'timer').map((o) => (o as { t: QueryTimer }).t), [{ type: 'q-deadline', id }, { type: 'q-fallback', id }]);
  assert.equal((a.out.find((o) => o.kind === 'timer' && o.t.type === 'q-fallback') as { delay: number }).delay, DEFAULT_QUERY_CONFIG.directFallbackMs);
  assert.deepEqual(take(a.out, 'event').map((e) => e.e.type), ['query']);
  assert.deepEqual([a.m.counters.direct, a.m.counters.directSent], [1, 2]);

  // Node 1 takes it from the asker (no ack: none asked) and answers.
  const b = node(1);
  b.m.handleMessage(0, wire as QueryMessage<number>, 105);
  const bq = take(b.out, 'event')[0].e as Extract<QueryEvent<number>, { type: 'query' }>;
  assert.deepEqual([bq.key, bq.direct], [`0/${id}`, true]);
  assert.deepEqual(b.out, []);
  assert.deepEqual([b.m.counters.received, b.m.counters.receivedDirect], [1, 1]);
  // A later broadcast copy is the same query: ignored.
  b.m.handleBroadcast(wire as QueryMessage<number>, 106);
  assert.deepEqual(b.out, []);
  b.m.respond(bq.key, enc('up'), '', 110);
  const resp = take(b.out, 'send')[0].msg;

  a.m.handleMessage(1, resp, 111);
  a.m.respond(`0/${id}`, enc('me'), '', 112);
  a.m.handleMessage(2, { type: 'q-ack', id, responder: 2, rname: 'n2', final: true }, 113);
  const done = take(a.out, 'event').map((e) => e.e).find((e) => e.type === 'query-done') as Extract<QueryEvent<number>, { type: 'query-done' }>;
  assert.deepEqual([done.summary.reason, done.summary.answered, done.summary.ackedOnly, done.summary.missing], ['complete', [1, 0], [2], []]);
  // The fallback timer of a finished query does nothing.
  a.m.handleTimer({ type: 'q-fallback', id }, 100 + DEFAULT_QUERY_CONFIG.directFallbackMs);
  assert.deepEqual(a.out, []);
  assert.equal(a.m.counters.directFallbacks, 0);
});

test('query direct: a lost datagram — the silent member gets the query by broadcast at the fallback, and every member answers once', () => {
  const a = node(0);
  const r = a.m.ask(ask({ path: 'auto', expect: [1, 2, 3] }), 0);
  assert.ok(r.ok);
  const id = r.value;
  const sends = take(a.out, 'send');
  assert.deepEqual(sends.map((s) => s.to), [1, 2, 3]);
  const wire = sends[0].msg;
  // The copy to node 3 is lost. Nodes 1 and 2 ack at once; node 2's handler is slow (it has
  // acked: no fallback on its account).
  const peers = [1, 2, 3].map((i) => node(i));
  for (const i of [0, 1]) peers[i].m.handleMessage(0, wire, 5);
  a.m.handleMessage(1, { type: 'q-ack', id, responder: 1, rname: 'n1', final: false }, 6);
  a.m.handleMessage(2, { type: 'q-ack', id, responder: 2, rname: 'n2', final: false }, 6);
  const k1 = (peers[0].out.find((o) => o.kind === 'event')!.e as { key: string }).key;
  peers[0].m.respond(k1, enc('one'), '', 20);
  a.m.handleMessage(1, take(peers[0].out, 'send').pop()!.msg, 21);
  take(a.out, 'event');

  // The fallback: node 3 said nothing: the same query is broadcast, once.
  a.m.handleTimer({ type: 'q-fallback', id }, 250);
  assert.deepEqual(take(a.out, 'broadcast'), [{ kind: 'broadcast', msg: wire }]);
  a.m.handleTimer({ type: 'q-fallback', id }, 251);
  assert.deepEqual(a.out, []);
  assert.equal(a.m.counters.directFallbacks, 1);

  // Every node hears the broadcast; 1 and 2 had it already (nothing new), 3 answers.
  for (const p of peers) p.m.handleBroadcast(wire, 260);
  assert.deepEqual(peers[0].out, [], 'answered once');
  assert.equal(peers[1].out.filter((o) => o.kind === 'event').length, 1, 'node 2 saw the query once');
  const k3 = (peers[2].out.find((o) => o.kind === 'event')!.e as { key: string }).key;
  assert.deepEqual([peers[2].m.counters.received, peers[2].m.counters.receivedDirect], [1, 0]);
  peers[2].m.respond(k3, enc('three'), '', 270);
  for (const s of take(peers[2].out, 'send')) a.m.handleMessage(3, s.msg, 271);
  const k2 = (peers[1].out.find((o) => o.kind === 'event')!.e as { key: string }).key;
  peers[1].m.respond(k2, enc('two'), '', 300);
  a.m.handleMessage(2, take(peers[1].out, 'send').pop()!.msg, 301);
  const done = take(a.out, 'event').map((e) => e.e).find((e) => e.type === 'query-done') as Extract<QueryEvent<number>, { type: 'query-done' }>;
  assert.deepEqual([done.summary.reason, done.summary.answered, done.summary.missing], ['complete', [1, 3, 2], []]);
});

test('query direct: above the threshold, without an expect list, or forced: the path chosen; a short timeout falls back at half of it', () => {
  const small = { ...DEFAULT_QUERY_CONFIG, directMaxMembers: 2 };
  const a = node(0, {}, [], small);
  const kinds = (): string[] => {
    const k = a.out.filter((o) => o.kind === 'send' || o.kind === 'broadcast').map((o) => o.kind);
    a.out.length = 0;
    return k;
  };
  a.m.ask(ask({ path: 'auto', expect: [0, 1, 2] }), 0);
  assert.deepEqual(kinds(), ['send', 'send'], '2 others: direct');
  a.m.ask(ask({ path: 'auto', expect: [1, 2, 3] }), 0);
  assert.deepEqual(kinds(), ['broadcast'], '3 others: broadcast');
  a.m.ask(ask({ path: 'direct', expect: [1, 2, 3] }), 0);
  assert.deepEqual(kinds(), ['send', 'send', 'send'], 'forced direct');
  a.m.ask(ask({ path: 'broadcast', expect: [1] }), 0);
  assert.deepEqual(kinds(), ['broadcast'], 'forced broadcast');
  a.m.ask(ask({ path: 'direct', expect: null }), 0);
  assert.deepEqual(kinds(), ['broadcast'], 'no expect list: broadcast');
  assert.deepEqual([a.m.counters.direct, a.m.counters.directSent], [2, 5]);
  a.m.ask(ask({ path: 'auto', expect: [1], timeoutMs: 100 }), 0);
  assert.deepEqual(a.out.filter((o) => o.kind === 'timer').map((o) => (o as { delay: number }).delay), [100, 50]);
  a.out.length = 0;
  // Only this node expected: nothing to send, no fallback timer.
  a.m.ask(ask({ path: 'direct', expect: [0] }), 0);
  assert.deepEqual(a.out.filter((o) => o.kind !== 'event').map((o) => o.kind), ['timer']);
  const bad = a.m.ask(ask({ path: 'sideways' as 'auto' }), 0);
  assert.deepEqual(bad.ok ? null : bad.error.type, 'bad-request');
});

test('query direct: a receiver takes it only from its origin, and applies the filter itself', () => {
  const wire: QueryMessage<number> = { type: 'q-query', id: 7, origin: 0, name: 'uptime', payload: enc(''), filter: { nodes: [], tags: [{ key: 'role', pattern: 'db' }] }, timeoutMs: 1000, ack: true, relayFactor: 0 };
  const web = node(1, { role: 'web' });
  web.m.handleMessage(0, wire, 1);
  assert.deepEqual(web.out, [], 'the filter does not match: silent');
  const db = node(2, { role: 'db' });
  db.m.handleMessage(5, wire, 1);
  assert.equal(db.out.length, 0, 'not from its origin: dropped');
  assert.deepEqual([db.m.counters.foreignDirect, db.m.counters.received], [1, 0]);
  db.m.handleMessage(0, wire, 2);
  assert.deepEqual(db.out.map((o) => o.kind), ['send', 'event']);
});

test('query direct: members that acked but have not answered yet (slow handlers) cause no fallback; without acks only an answer counts', () => {
  const a = node(0);
  const r = a.m.ask(ask({ path: 'auto', expect: [1, 2] }), 0);
  assert.ok(r.ok);
  for (const p of [1, 2]) a.m.handleMessage(p, { type: 'q-ack', id: r.value, responder: p, rname: `n${p}`, final: false }, 5);
  a.out.length = 0;
  a.m.handleTimer({ type: 'q-fallback', id: r.value }, 250);
  assert.equal(a.out.length, 0);
  const n = a.m.ask(ask({ path: 'auto', expect: [1, 2], ack: false }), 0);
  assert.ok(n.ok);
  a.m.handleMessage(1, { type: 'q-response', id: n.value, responder: 1, rname: 'n1', payload: enc('x'), error: '' }, 5);
  a.out.length = 0;
  a.m.handleTimer({ type: 'q-fallback', id: n.value }, 250);
  assert.deepEqual(a.out.map((o) => o.kind), ['broadcast'], 'node 2 has not answered');
  assert.equal(a.m.counters.directFallbacks, 1);
});
