// The query application's codec (src/wire/query.ts): round trips at the exact size, and every
// malformed or over-bound message refused with a reason, never an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeQueryMessage, encodeQueryMessage } from '../../src/wire/query.js';
import { DEFAULT_QUERY_CONFIG, queryMessageSize, type QueryMessage } from '../../src/proto/query/types.js';
import { stringIdBytes } from '../../src/proto/state/types.js';
import { crcView } from '../../src/wire/crc.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const response = { type: 'q-response' as const, id: 2 ** 48 - 1, responder: '10.0.0.2:7946', rname: 'web-2', payload: enc('up 3 days'), error: '' };
const samples: QueryMessage<string>[] = [
  { type: 'q-query', id: 123456789, origin: '127.0.0.1:7946', name: 'uptime', payload: enc('p'), filter: { nodes: ['a', 'ünï'], tags: [{ key: 'role', pattern: 'web|api' }, { key: 'dc', pattern: '' }] }, timeoutMs: 5000, ack: true, relayFactor: 3 },
  { type: 'q-query', id: 0, origin: '[::1]:1', name: '_rumor.ping', payload: new Uint8Array(0), filter: { nodes: [], tags: [] }, timeoutMs: 1, ack: false, relayFactor: 0 },
  { type: 'q-ack', id: 5, responder: '10.0.0.2:7946', rname: 'web-2', final: true },
  response,
  { ...response, payload: new Uint8Array(1024).fill(7), error: 'handler timed out after 1000 ms' },
  { type: 'q-relay', origin: '10.0.0.1:7946', inner: response },
];

/** Re-seal `b` (after an edit) with a correct checksum. */
function reseal(b: Uint8Array): Uint8Array {
  const c = crcView(b.subarray(0, b.length - 4));
  new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, c);
  return b;
}

test('query codec: every message type round-trips at exactly queryMessageSize bytes', () => {
  for (const m of samples) {
    const e = encodeQueryMessage(m);
    assert.ok(e.ok, `${m.type}: ${e.ok ? '' : e.reason}`);
    assert.equal(e.value.byteLength, queryMessageSize(m, stringIdBytes), m.type);
    const d = decodeQueryMessage(e.value);
    assert.ok(d.ok, d.ok ? '' : d.reason);
    assert.deepEqual(d.value, m);
  }
});

test('query codec: corrupt, truncated, trailing, unknown and over-bound messages are refused with a reason', () => {
  const good = encodeQueryMessage(samples[0]);
  assert.ok(good.ok);
  const flip = good.value.slice();
  flip[10] ^= 1;
  assert.deepEqual(decodeQueryMessage(flip), { ok: false, reason: 'query message: bad checksum' });
  assert.deepEqual(decodeQueryMessage(good.value.subarray(0, 3)), { ok: false, reason: 'query message: truncated' });
  const v2 = good.value.slice();
  v2[0] = 2;
  assert.deepEqual(decodeQueryMessage(reseal(v2)), { ok: false, reason: 'query message: unsupported version 2' });
  const t9 = good.value.slice();
  t9[1] = 9;
  assert.deepEqual(decodeQueryMessage(reseal(t9)), { ok: false, reason: 'query message: unknown type 9' });
  const longer = new Uint8Array(good.value.length + 1);
  longer.set(good.value.subarray(0, good.value.length - 4));
  assert.match(String((decodeQueryMessage(reseal(longer)) as { reason: string }).reason), /trailing bytes|truncated|malformed|expected/);
  // Bounds are the receiver's: a payload, relay factor or filter above them is refused.
  const strict = { ...DEFAULT_QUERY_CONFIG, maxPayloadBytes: 0 };
  assert.match(String((decodeQueryMessage(good.value, strict) as { reason: string }).reason), /payload length: 1 exceeds 0/);
  assert.match(String((decodeQueryMessage(good.value, { ...DEFAULT_QUERY_CONFIG, maxRelayFactor: 2 }) as { reason: string }).reason), /relayFactor: 3 exceeds 2/);
  assert.match(String((decodeQueryMessage(good.value, { ...DEFAULT_QUERY_CONFIG, maxFilterTags: 1 }) as { reason: string }).reason), /tag count: 2 exceeds 1/);
  const bigResp = encodeQueryMessage(samples[4]);
  assert.ok(bigResp.ok);
  assert.match(String((decodeQueryMessage(bigResp.value, { ...DEFAULT_QUERY_CONFIG, maxResponseBytes: 1023 }) as { reason: string }).reason), /payload length: 1024 exceeds 1023/);
});

test('query codec: the encoder refuses what no decoder would take', () => {
  const r = encodeQueryMessage({ ...response, responder: 'x'.repeat(256) });
  assert.deepEqual(r, { ok: false, reason: 'responder of 256 bytes (expected 1..255)' });
  assert.equal(encodeQueryMessage({ ...samples[0], name: '' } as QueryMessage<string>).ok, false);
});

test('query codec: random bytes never throw', () => {
  let seed = 7;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const base = encodeQueryMessage(samples[0]);
  assert.ok(base.ok);
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    const b = base.value.slice();
    for (let k = 0; k < 1 + (i % 4); k++) b[rnd() % b.length] = rnd();
    const d = decodeQueryMessage(i % 2 === 0 ? reseal(b) : b);
    if (!d.ok) refused++;
  }
  assert.ok(refused > 0);
});
