// Unit tests of the runtime helpers: address parsing, log rate limiting, FIFO consumption, profile timings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter, consumeFifo, formatAddr, parseAddr } from '../../src/net/util.js';
import { PROFILES, checkTickMs, resolveTimings } from '../../src/net/profiles.js';

test('parseAddr accepts host:port and [v6]:port and names the problem otherwise', () => {
  assert.deepEqual(parseAddr('127.0.0.1:7000'), { ok: true, value: { host: '127.0.0.1', port: 7000 } });
  assert.deepEqual(parseAddr('[::1]:80'), { ok: true, value: { host: '::1', port: 80 } });
  assert.deepEqual(parseAddr('node-a.example:1'), { ok: true, value: { host: 'node-a.example', port: 1 } });
  assert.deepEqual(parseAddr('nope'), { ok: false, reason: 'address "nope": expected "host:port"' });
  assert.deepEqual(parseAddr('h:0'), { ok: false, reason: 'address "h:0": port must be 1..65535' });
  assert.deepEqual(parseAddr('h:65536'), { ok: false, reason: 'address "h:65536": port must be 1..65535' });
  assert.deepEqual(parseAddr('::1:80'), { ok: false, reason: 'address "::1:80": IPv6 hosts must be in brackets' });
  assert.equal(formatAddr('::1', 80), '[::1]:80');
  assert.equal(formatAddr('10.0.0.1', 80), '10.0.0.1:80');
});

test('RateLimiter allows one event per key per interval and reports the suppressed count', () => {
  const r = new RateLimiter(60_000);
  assert.equal(r.allow('a', 0), 0);
  assert.equal(r.allow('a', 10), -1);
  assert.equal(r.allow('a', 59_999), -1);
  assert.equal(r.allow('b', 20), 0, 'keys are independent');
  assert.equal(r.allow('a', 60_000), 2, 'two were suppressed in the first minute');
  assert.equal(r.allow('a', 60_001), -1);
});

test('profiles: lan detects a silent peer within 3 s; bad overrides are named', () => {
  const lan = PROFILES.lan.net;
  assert.ok(lan.heartbeatTimeoutMs + checkTickMs(lan) <= 3000, 'timeout plus one check tick ≤ 3 s');
  for (const p of ['lan', 'wan', 'local'] as const) {
    const r = resolveTimings(p);
    assert.equal(r.ok, true, p);
  }
  assert.deepEqual(resolveTimings('lan', { heartbeatTimeoutMs: 100 }), {
    ok: false,
    reason: 'net.heartbeatTimeoutMs: must be greater than net.heartbeatIntervalMs',
  });
  assert.deepEqual(resolveTimings('lan', { connectTimeoutMs: 0 }), {
    ok: false,
    reason: 'net.connectTimeoutMs: expected a positive number of milliseconds, got 0',
  });
  assert.equal(resolveTimings('moon' as 'lan').ok, false);
});

test('consumeFifo: blanks consumed slots, empties when all consumed, shifts a long consumed prefix in place', () => {
  const refs = ['a', 'b', 'c', 'd'];
  const nums = [1, 2, 3, 4];
  assert.equal(consumeFifo([refs, nums], 0, 2, null), 2);
  assert.deepEqual([refs, nums], [[null, null, 'c', 'd'], [1, 2, 3, 4]]);
  assert.equal(consumeFifo([refs, nums], 2, 4, null), 0);
  assert.deepEqual([refs, nums], [[], []]);
  const n = 3000;
  const a = Array.from({ length: n }, (_, k) => `f${k}`);
  const b = Array.from({ length: n }, (_, k) => k);
  assert.equal(consumeFifo([a, b], 0, 1024, null), 1024); // not yet past 1024 entries
  assert.equal(consumeFifo([a, b], 1024, 2000, null), 0); // > 1024 and over half: shifted
  assert.deepEqual([a.length, a[0], a[999], b[0], b[999]], [1000, 'f2000', 'f2999', 2000, 2999]);
});
