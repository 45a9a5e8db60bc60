// User-event validation rules (src/agent/event-rules.ts): config, unit verdicts, and two
// agents where the one with rules refuses (and never forwards) an event that breaks them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Agent } from '../../src/agent/agent.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { startTestAgent } from './support.js';
import { checkEvent, eventVerdict } from '../../src/agent/event-rules.js';
import { encodeUserEvent } from '../../src/agent/user-event.js';
import { waitUntil } from '../net/helpers.js';

test('checkEvent and eventVerdict: name pattern, global and per-name size limits', () => {
  const rules = { eventNamePattern: '^(deploy|ping)$', eventMaxBytes: 10, eventMaxBytesByName: { deploy: 4 } };
  assert.equal(checkEvent(rules, 'ping', 10), null);
  assert.equal(checkEvent(rules, 'ping', 11), 'event "ping" payload of 11 bytes exceeds its limit of 10');
  assert.equal(checkEvent(rules, 'deploy', 5), 'event "deploy" payload of 5 bytes exceeds its limit of 4');
  assert.equal(checkEvent(rules, 'rm', 0), 'event name "rm" does not match eventNamePattern ^(deploy|ping)$');
  assert.equal(eventVerdict(rules, encodeUserEvent({ name: 'ping', payload: new Uint8Array(3), ltime: 1 })), 'accept');
  assert.equal(eventVerdict(rules, encodeUserEvent({ name: 'rm', payload: new Uint8Array(0), ltime: 1 })), 'reject');
  assert.equal(eventVerdict(rules, new TextEncoder().encode('not json')), 'reject');
});

test('config: bad event rules are one-line errors', () => {
  const r = resolveAgentConfig({ flags: { eventNamePattern: '(' }, isTTY: false });
  assert.equal(r.ok, false);
  assert.match((r as { reason: string }).reason, /eventNamePattern: invalid regular expression/);
  const s = resolveAgentConfig({ flags: { eventMaxBytesByName: { deploy: -1 } }, isTTY: false });
  assert.match((s as { reason: string }).reason, /eventMaxBytesByName\.deploy: expected a positive integer/);
});

const agents: Agent[] = [];
after(async () => {
  await Promise.all(agents.map((a) => a.shutdown()));
});

async function startAgent(name: string, flags: Record<string, unknown> = {}): Promise<Agent> {
  const a = await startTestAgent({ name, ...flags });
  agents.push(a);
  return a;
}

test('an agent with rules rejects a forwarded event that breaks them and refuses its own', { timeout: 30_000 }, async () => {
  const a = await startAgent('ra');
  const b = await startAgent('rb', { join: [a.node.address], eventNamePattern: '^ok' });
  await waitUntil(() => b.node.neighbors().length > 0, 10_000, 'b joined a');
  const seen: string[] = [];
  b.subscribe((e) => {
    if (e.type === 'user') seen.push(e.name);
  });
  a.event('bad', new Uint8Array(1));
  a.event('ok1', new Uint8Array(1));
  await waitUntil(() => seen.includes('ok1'), 10_000, 'ok1 delivered at b');
  await waitUntil(() => (b.node.stats().defences?.validation.reject ?? 0) === 1, 5000, 'the bad event rejected at b');
  assert.deepEqual(seen, ['ok1']);
  assert.throws(() => b.event('nope', new Uint8Array(0)), /event: event name "nope" does not match eventNamePattern \^ok/);
});
