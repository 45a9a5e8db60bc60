// The handler warm-up's timing (agent.ts `warmUpNow`): off the start-up path, brought forward
// by the API's first request, and at WARM_UP_DELAY_MS when no request comes. The receive path's
// warm-up after it (agent-events.ts `warmReceivePath`): only once the agent has a neighbour,
// and nothing delivered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WARM_UP_AFTER_REQUEST_MS, WARM_UP_DELAY_MS } from '../../src/agent/agent-timing.js';
import { agentStarter } from './support.js';
import { warmReceivePath } from '../../src/agent/agent-events.js';
import { DEFAULT_WIRE_LIMITS } from '../../src/wire/index.js';
import { waitFor } from '../support/wait.js';

const startAgent = agentStarter();
const handler = { eventHandlers: ['user=/bin/true'] };

test('warm-up: WARM_UP_AFTER_REQUEST_MS after the first API request, not at start', async () => {
  assert.ok(WARM_UP_AFTER_REQUEST_MS < WARM_UP_DELAY_MS);
  const started = Date.now();
  const a = await startAgent('w1', handler);
  assert.equal(a.warmUpAt, null, 'no warm-up on the start-up path');
  const asked = Date.now();
  const r = await fetch(`${a.apiUrl}/v1/info`);
  assert.equal(r.status, 200);
  await r.arrayBuffer();
  const at = await waitFor(() => a.warmUpAt, WARM_UP_DELAY_MS + 5000, 'the warm-up after the first API request');
  // Timers may fire a millisecond early against Date.now().
  assert.ok(at - asked >= WARM_UP_AFTER_REQUEST_MS - 2, `warm-up ${at - asked} ms after the request`);
  // Brought forward: before the start-up timer would have run it.
  assert.ok(at - started < WARM_UP_DELAY_MS, `warm-up ${at - started} ms after start`);
  // A second request does not start or move it again.
  await (await fetch(`${a.apiUrl}/v1/info`)).arrayBuffer();
  await new Promise((res) => setTimeout(res, WARM_UP_AFTER_REQUEST_MS * 2));
  assert.equal(a.warmUpAt, at);
});

test('warm-up: WARM_UP_DELAY_MS after start when no API request comes', async () => {
  const started = Date.now();
  const a = await startAgent('w2', handler);
  const at = await waitFor(() => a.warmUpAt, WARM_UP_DELAY_MS + 5000, 'the warm-up at WARM_UP_DELAY_MS');
  assert.ok(at - started >= WARM_UP_DELAY_MS - 2, `warm-up ${at - started} ms after start`);
});

test('receive-path warm-up: not for an agent without neighbours; once it has one, after the handler warm-up, nothing delivered', async () => {
  const lone = await startAgent('w3', handler);
  await (await fetch(`${lone.apiUrl}/v1/info`)).arrayBuffer();
  await waitFor(() => lone.warmUpAt, WARM_UP_DELAY_MS + 5000, 'the handler warm-up');
  assert.equal(lone.receiveWarmUp, 'pending', 'an agent without a neighbour waits for one');
  const b = await startAgent('w4', { ...handler, join: [lone.node.address] });
  await waitFor(() => (lone.receiveWarmUp === 'done' ? true : null), 10_000, 'the warm-up at the first neighbour');
  await waitFor(() => (b.receiveWarmUp === 'done' ? true : null), WARM_UP_DELAY_MS + 10_000, 'the joiner warms up after its handler warm-up');
  // One turn for the warm-ups' setImmediate; then nothing was delivered, counted or handled.
  await new Promise((res) => setImmediate(res));
  for (const a of [lone, b]) {
    assert.equal(a.counters.userEventsReceived, 0);
    assert.deepEqual(a.counters.badMessages, {});
    assert.deepEqual(a.info().events, { duplicate: 0, stale: 0, coalescedMember: 0, coalescedUser: 0 });
  }
});

test('warmReceivePath: the synthetic event makes it through every step', () => {
  assert.equal(warmReceivePath('127.0.0.1:7946'), true);
  assert.equal(warmReceivePath('x'.repeat(400)), false, 'an origin longer than the envelope allows');
  assert.equal(warmReceivePath('127.0.0.1:7946', { ...DEFAULT_WIRE_LIMITS, maxFrameBytes: 64 }), false, 'a frame over the limits');
});
