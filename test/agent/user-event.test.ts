import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUserEvent, encodeUserEvent } from '../../src/agent/user-event.js';

const enc = (o: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(o));

test('user event: encode then decode gives the same event', () => {
  const e = { name: 'deploy', payload: new Uint8Array([0, 1, 2, 250, 255]), ltime: 42 };
  assert.deepEqual(decodeUserEvent(encodeUserEvent(e)), { ok: true, event: e });
  const empty = { name: 'x', payload: new Uint8Array(), ltime: 0 };
  assert.deepEqual(decodeUserEvent(encodeUserEvent(empty)), { ok: true, event: empty });
});

test('user event: bad input is a reason, never an exception (the decoder is reused after a failure)', () => {
  const reason = (b: Uint8Array): string => {
    const r = decodeUserEvent(b);
    assert.equal(r.ok, false);
    return (r as { reason: string }).reason;
  };
  assert.equal(reason(new Uint8Array([0x7b, 0xff, 0x7d])), 'not UTF-8 JSON');
  assert.equal(reason(new TextEncoder().encode('{"name":')), 'not UTF-8 JSON');
  assert.equal(reason(enc([1])), 'expected an object');
  assert.equal(reason(enc({ name: '', payload: '', ltime: 1 })), 'name: expected a string of 1..128 chars, no control characters');
  assert.equal(reason(enc({ name: 'a\u0000b', payload: '', ltime: 1 })), 'name: expected a string of 1..128 chars, no control characters');
  assert.equal(reason(enc({ name: 'a\nb', payload: '', ltime: 1 })), 'name: expected a string of 1..128 chars, no control characters');
  assert.equal(reason(enc({ name: 'x'.repeat(129), payload: '', ltime: 1 })), 'name: expected a string of 1..128 chars, no control characters');
  assert.equal(reason(enc({ name: 'a', payload: 'no spaces!', ltime: 1 })), 'payload: expected base64');
  assert.equal(reason(enc({ name: 'a', payload: '', ltime: -1 })), 'ltime: expected a non-negative integer');
  assert.equal(reason(enc({ name: 'a', payload: '', ltime: 1.5 })), 'ltime: expected a non-negative integer');
  // A valid event right after a decoding failure: the shared decoder kept no state.
  assert.deepEqual(decodeUserEvent(enc({ name: 'ünï', payload: 'aGk=', ltime: 7 })), { ok: true, event: { name: 'ünï', payload: new Uint8Array([0x68, 0x69]), ltime: 7 } });
});
