// fast-check arbitraries for every wire message type (shared by the wire tests).
import fc from 'fast-check';
import { messageIdFor, type WireMessage } from '../../src/wire/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Peer ids: realistic "host:port" and arbitrary Unicode. */
export const peerArb: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(fc.oneof(fc.ipV4(), fc.domain()), fc.integer({ min: 0, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);

/** Message ids: raw-able lowercase hex, uppercase hex and free strings (string form). */
export const idArb: fc.Arbitrary<string> = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map(hex),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => hex(b).toUpperCase()).filter((s) => /[A-F]/.test(s)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((s) => !/^[0-9a-f]{32}$/.test(s)),
);

const round = fc.integer({ min: 0, max: 0xffff });
const ttl = fc.integer({ min: 0, max: 255 });
const version = fc.integer({ min: 1, max: 255 });
const peers = fc.array(peerArb, { maxLength: 12 });

/** One arbitrary per message type tag. */
export const messageArbs: Record<WireMessage['type'], fc.Arbitrary<WireMessage>> = {
  hello: fc
    .record({ a: version, b: version, cluster: fc.string({ unit: 'binary', maxLength: 30 }), id: peerArb, addr: peerArb })
    .map(({ a, b, cluster, id, addr }) => ({ type: 'hello', versionMin: Math.min(a, b), versionMax: Math.max(a, b), cluster, id, addr })),
  welcome: fc.record({ version, id: peerArb, addr: peerArb }).map((r) => ({ type: 'welcome', ...r })),
  refuse: fc.string({ unit: 'binary', maxLength: 60 }).map((reason) => ({ type: 'refuse', reason })),
  ping: fc.integer({ min: 0, max: 0xffffffff }).map((seq) => ({ type: 'ping', seq })),
  pong: fc.integer({ min: 0, max: 0xffffffff }).map((seq) => ({ type: 'pong', seq })),
  direct: fc
    .record({ channel: peerArb, data: fc.uint8Array({ maxLength: 512 }) })
    .map((r) => ({ type: 'direct', ...r })),
  'udp-token': fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => ({ type: 'udp-token', token: hex(b) })),
  join: fc.constant({ type: 'join' }),
  'forward-join': fc.record({ peer: peerArb, ttl }).map((r) => ({ type: 'forward-join', ...r })),
  neighbor: fc.constantFrom('high' as const, 'low' as const).map((priority) => ({ type: 'neighbor', priority })),
  'neighbor-reply': fc.boolean().map((accepted) => ({ type: 'neighbor-reply', accepted })),
  disconnect: fc.boolean().map((alive) => ({ type: 'disconnect', alive })),
  shuffle: fc.record({ origin: peerArb, peers, ttl }).map((r) => ({ type: 'shuffle', ...r })),
  'shuffle-reply': peers.map((p) => ({ type: 'shuffle-reply', peers: p })),
  gossip: fc
    .record({ payload: fc.uint8Array({ maxLength: 2048 }), round })
    .map(({ payload, round: r }) => ({ type: 'gossip', id: messageIdFor(payload), round: r, payload })),
  ihave: fc.array(fc.record({ id: idArb, round }).map((e) => ({ ...e })), { maxLength: 40 }).map((entries) => ({ type: 'ihave', entries })),
  graft: fc.record({ id: fc.option(idArb, { nil: null }), round }).map((r) => ({ type: 'graft', ...r })),
  prune: fc.constant({ type: 'prune' }),
  'cyclon-shuffle': fc
    .array(fc.record({ peer: peerArb, age: round }).map((e) => ({ ...e })), { maxLength: 12 })
    .map((entries) => ({ type: 'cyclon-shuffle', entries })),
  'cyclon-reply': fc
    .array(fc.record({ peer: peerArb, age: round }).map((e) => ({ ...e })), { maxLength: 12 })
    .map((entries) => ({ type: 'cyclon-reply', entries })),
} as Record<WireMessage['type'], fc.Arbitrary<WireMessage>>;

export const anyMessageArb: fc.Arbitrary<WireMessage> = fc.oneof(...Object.values(messageArbs));

/** A fixed set of valid messages, one or more per type, for exhaustive bit-flip tests. */
export function sampleMessages(): WireMessage[] {
  const payload = new Uint8Array(300).map((_, i) => (i * 37) & 0xff);
  return [
    { type: 'hello', versionMin: 1, versionMax: 1, cluster: 'prod', id: '10.0.0.1:7946', addr: '10.0.0.1:7946' },
    { type: 'welcome', version: 1, id: 'b:2', addr: 'b:2' },
    { type: 'refuse', reason: 'cluster mismatch' },
    { type: 'ping', seq: 300 },
    { type: 'pong', seq: 0xfffffffe },
    { type: 'direct', channel: '_rumor.members', data: payload.subarray(0, 40) },
    { type: 'udp-token', token: '00ff7e5a0123cdef' },
    { type: 'join' },
    { type: 'forward-join', peer: 'n1.example.org:9000', ttl: 6 },
    { type: 'neighbor', priority: 'high' },
    { type: 'neighbor-reply', accepted: true },
    { type: 'disconnect', alive: false },
    { type: 'shuffle', origin: 'a:1', peers: ['b:2', 'c:3', 'é:4'], ttl: 5 },
    { type: 'shuffle-reply', peers: ['d:4', 'e:5'] },
    { type: 'gossip', id: messageIdFor(payload), round: 3, payload },
    { type: 'gossip', id: messageIdFor(new Uint8Array(0)), round: 200, payload: new Uint8Array(0) },
    {
      type: 'ihave',
      entries: [
        { id: messageIdFor(payload), round: 1 },
        { id: 'custom-id', round: 70000 % 65536 },
      ],
    },
    { type: 'graft', id: null, round: 2 },
    { type: 'graft', id: messageIdFor(payload), round: 129 },
    { type: 'prune' },
    { type: 'cyclon-shuffle', entries: [{ peer: 'a:1', age: 0 }, { peer: 'b:2', age: 300 }] },
    { type: 'cyclon-reply', entries: [] },
  ];
}
