// The handler warm-up's timing (agent.ts `warmUpLater`): off the start-up path, brought forward
// by the API's first request, and at WARM_UP_DELAY_MS when no request comes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WARM_UP_AFTER_REQUEST_MS, WARM_UP_DELAY_MS } from '../../src/agent/agent-timing.js';
import { agentStarter } from './support.js';
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
