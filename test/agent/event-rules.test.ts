// User-event validation rules (src/agent/event-rules.ts): config, unit verdicts, and two
// agents where the one with rules refuses (and never forwards) an event that breaks them;
// JSON schemas of payloads by event name (eventSchemaFile).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { agentStarter } from './support.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventRejectedError, checkEvent, eventVerdict, loadEventSchemas } from '../../src/agent/event-rules.js';
import { encodeUserEvent } from '../../src/agent/user-event.js';
import { waitUntil } from '../net/helpers.js';

test('checkEvent and eventVerdict: name pattern, global and per-name size limits', () => {
  const rules = { eventNamePattern: '^(deploy|ping)$', eventMaxBytes: 10, eventMaxBytesByName: { deploy: 4 } };
  assert.equal(checkEvent(rules, 'ping', new Uint8Array(10)), null);
  assert.equal(checkEvent(rules, 'ping', new Uint8Array(11)), 'event "ping" payload of 11 bytes exceeds its limit of 10');
  assert.equal(checkEvent(rules, 'deploy', new Uint8Array(5)), 'event "deploy" payload of 5 bytes exceeds its limit of 4');
  assert.equal(checkEvent(rules, 'rm', new Uint8Array(0)), 'event name "rm" does not match eventNamePattern ^(deploy|ping)$');
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

const startAgent = agentStarter();

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

const dir = mkdtempSync(join(tmpdir(), 'rumor-schemas-'));
function schemaFile(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
const SCHEMAS = schemaFile(
  'ok.json',
  JSON.stringify({
    deploy: { type: 'object', required: ['service', 'version'], properties: { service: { type: 'string' }, version: { type: 'string', pattern: '^v[0-9]+' } }, additionalProperties: false },
    ping: { type: 'null' },
    mail: { type: 'string', format: 'email' },
  }),
);
const enc = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

test('eventSchemaFile: payloads checked against the schema of their event name', () => {
  const rules = { eventSchemaFile: SCHEMAS };
  assert.equal(checkEvent(rules, 'deploy', enc({ service: 'api', version: 'v2' })), null);
  assert.equal(checkEvent(rules, 'deploy', enc({ service: 'api' })), `event "deploy" payload does not match its schema: payload must have required property 'version'`);
  assert.equal(checkEvent(rules, 'deploy', enc({ service: 'api', version: '2' })), 'event "deploy" payload does not match its schema: payload/version must match pattern "^v[0-9]+"');
  assert.match(checkEvent(rules, 'deploy', enc('{"service":')) ?? '', /^event "deploy" payload is not UTF-8 JSON/);
  assert.match(checkEvent(rules, 'deploy', new Uint8Array([0x7b, 0xff, 0x7d])) ?? '', /not UTF-8 JSON/);
  assert.equal(checkEvent(rules, 'ping', enc('null')), null);
  assert.equal(checkEvent(rules, 'mail', enc('"ops@example.com"')), null);
  assert.match(checkEvent(rules, 'mail', enc('"not mail"')) ?? '', /payload must match format "email"/);
  // Names without a schema are not checked (not even for JSON).
  assert.equal(checkEvent(rules, 'other', enc('raw bytes')), null);
  assert.equal(eventVerdict(rules, encodeUserEvent({ name: 'ping', payload: enc('1'), ltime: 1 })), 'reject');
  assert.equal(eventVerdict(rules, encodeUserEvent({ name: 'ping', payload: enc('null'), ltime: 1 })), 'accept');
  // Size rules apply first.
  assert.equal(checkEvent({ ...rules, eventMaxBytes: 4 }, 'ping', enc('null ')), 'event "ping" payload of 5 bytes exceeds its limit of 4');
});

test('config: a bad schema file is a one-line error naming the source, the event and the problem', () => {
  const reason = (file: string): string => {
    const r = resolveAgentConfig({ flags: { eventSchemaFile: file }, isTTY: false });
    assert.equal(r.ok, false, file);
    const text = (r as { reason: string }).reason;
    assert.ok(!text.includes('\n'), `one line: ${text}`);
    return text;
  };
  assert.match(reason(join(dir, 'missing.json')), /^flag --event-schema-file: eventSchemaFile: .*missing\.json: cannot read: ENOENT$/);
  assert.match(reason(schemaFile('syntax.json', '{"deploy": ')), /eventSchemaFile: .*syntax\.json: .*JSON/);
  assert.match(reason(schemaFile('array.json', '[]')), /array\.json: expected a JSON object \{ "<event name>": <JSON schema>, \.\.\. \}$/);
  assert.match(reason(schemaFile('num.json', '{"deploy": 3}')), /num\.json: "deploy": a JSON schema must be an object or a boolean$/);
  assert.match(reason(schemaFile('typo.json', '{"deploy": {"type": "object", "requird": ["a"]}}')), /typo\.json: "deploy": invalid JSON schema: strict mode: unknown keyword: "requird"$/);
  assert.match(reason(schemaFile('type.json', '{"deploy": {"type": "objekt"}}')), /type\.json: "deploy": invalid JSON schema: schema is invalid: /);
  assert.match(reason(schemaFile('fmt.json', '{"deploy": {"type": "string", "format": "no-such"}}')), /fmt\.json: "deploy": invalid JSON schema: unknown format "no-such"/);
  const env = resolveAgentConfig({ env: { RUMOR_EVENT_SCHEMA_FILE: join(dir, 'missing.json') }, isTTY: false });
  assert.match((env as { reason: string }).reason, /^environment RUMOR_EVENT_SCHEMA_FILE: eventSchemaFile: /);
  assert.ok(loadEventSchemas(SCHEMAS).ok);
});

test('an agent with event schemas drops a forwarded event whose payload breaks them and refuses its own with a typed error', { timeout: 30_000 }, async () => {
  const a = await startAgent('sa');
  const b = await startAgent('sb', { join: [a.node.address], eventSchemaFile: SCHEMAS });
  await waitUntil(() => b.node.neighbors().length > 0, 10_000, 'b joined a');
  const seen: string[] = [];
  b.subscribe((e) => {
    if (e.type === 'user') seen.push(`${e.name}:${e.payload}`);
  });
  const rejectsBefore = b.node.stats().defences?.validation.reject ?? 0;
  a.event('deploy', enc({ service: 'api' }));
  a.event('deploy', enc({ service: 'api', version: 'v7' }));
  await waitUntil(() => seen.length > 0, 10_000, 'the valid deploy delivered at b');
  await waitUntil(() => (b.node.stats().defences?.validation.reject ?? 0) === rejectsBefore + 1, 5000, 'the invalid deploy rejected (counted) at b');
  assert.deepEqual(seen, ['deploy:{"service":"api","version":"v7"}']);
  assert.throws(
    () => b.event('deploy', enc({ service: 'api', version: 'latest' })),
    (err: unknown) => err instanceof EventRejectedError && err.eventName === 'deploy' && /payload\/version must match pattern/.test(err.reason) && err.message.startsWith('event: '),
  );
  assert.ok(typeof b.event('deploy', enc({ service: 'web', version: 'v1' })) === 'string', 'a valid event is sent');
});
