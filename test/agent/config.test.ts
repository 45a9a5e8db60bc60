import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_DEFAULTS, parseEventHandler, resolveAgentConfig } from '../../src/agent/config.js';

const dir = mkdtempSync(join(tmpdir(), 'rumor-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function reason(r: ReturnType<typeof resolveAgentConfig>): string {
  assert.equal(r.ok, false);
  return r.ok ? '' : r.reason;
}

test('defaults, and log format follows the terminal', () => {
  const r = resolveAgentConfig({ isTTY: false });
  assert.ok(r.ok);
  assert.equal(r.config.bind, '127.0.0.1:7946');
  assert.equal(r.config.apiAddr, '127.0.0.1:7373');
  assert.equal(r.config.profile, 'lan');
  assert.equal(r.config.logFormat, 'json');
  assert.equal(r.config.name, undefined);
  assert.equal(r.config.handlerTimeoutMs, AGENT_DEFAULTS.handlerTimeoutMs);
  const t = resolveAgentConfig({ isTTY: true });
  assert.ok(t.ok);
  assert.equal(t.config.logFormat, 'text');
});

test('precedence: flag > env > file > default, for every file format', () => {
  const toml = file('a.toml', 'name = "file"\nbind = "127.0.0.1:8000"\nprofile = "wan"\njoin = ["10.0.0.1:7946"]\n[tags]\nrole = "db"\n');
  const yaml = file('a.yaml', 'name: file\nbind: 127.0.0.1:8000\nprofile: wan\njoin: 10.0.0.1:7946\ntags:\n  role: db\nevent_handlers:\n  - member-join=./x.sh\n');
  const json = file('a.json', JSON.stringify({ name: 'file', bind: '127.0.0.1:8000', profile: 'wan', tags: { role: 'db' } }));
  for (const f of [toml, yaml, json]) {
    const r = resolveAgentConfig({
      file: f,
      env: { RUMOR_BIND: '127.0.0.1:9000', RUMOR_PROFILE: 'local', RUMOR_TAGS: 'role=web,dc=eu' },
      flags: { profile: 'lan' },
      isTTY: false,
    });
    assert.ok(r.ok, r.ok ? '' : r.reason);
    assert.equal(r.config.name, 'file');
    assert.equal(r.config.bind, '127.0.0.1:9000');
    assert.equal(r.config.profile, 'lan');
    assert.deepEqual(r.config.tags, { role: 'web', dc: 'eu' });
  }
  const y = resolveAgentConfig({ file: yaml, isTTY: false });
  assert.ok(y.ok);
  assert.deepEqual(y.config.join, ['10.0.0.1:7946']);
  assert.deepEqual(y.config.eventHandlers, [{ filters: ['member-join'], script: './x.sh' }]);
  const fl = resolveAgentConfig({ flags: { join: ['a:1', 'b:2'], tags: ['k=v'], eventHandlers: ['user:deploy,member-leave=./d.sh', './all.sh'], handlerTimeoutMs: '500' }, isTTY: false });
  assert.ok(fl.ok, fl.ok ? '' : fl.reason);
  assert.deepEqual(fl.config.join, ['a:1', 'b:2']);
  assert.deepEqual(fl.config.tags, { k: 'v' });
  assert.equal(fl.config.handlerTimeoutMs, 500);
  assert.deepEqual(fl.config.eventHandlers, [
    { filters: ['user:deploy', 'member-leave'], script: './d.sh' },
    { filters: ['*'], script: './all.sh' },
  ]);
});

test('each error is one line naming source and key', () => {
  const bad = file('bad.toml', '[tags]\nrole = 3\n');
  assert.equal(reason(resolveAgentConfig({ file: bad })), `config file ${bad}: tags.role: expected a string`);
  const unk = file('unk.json', '{"nmae": "x"}');
  assert.equal(reason(resolveAgentConfig({ file: unk })), `config file ${unk}: unknown key "nmae"`);
  const broken = file('broken.json', '{');
  assert.match(reason(resolveAgentConfig({ file: broken })), new RegExp(`^config file ${broken}: [^\\n]+$`));
  const ext = file('a.ini', 'x=1');
  assert.equal(reason(resolveAgentConfig({ file: ext })), `config file ${ext}: unknown extension ".ini" (use .toml, .yaml, .yml or .json)`);
  assert.equal(reason(resolveAgentConfig({ file: join(dir, 'missing.toml') })), `config file ${join(dir, 'missing.toml')}: cannot read: ENOENT`);
  assert.equal(reason(resolveAgentConfig({ env: { RUMOR_PROFILE: 'moon' } })), 'environment RUMOR_PROFILE: profile: expected lan, wan or local');
  assert.equal(reason(resolveAgentConfig({ env: { RUMOR_TAGS: 'role' } })), 'environment RUMOR_TAGS: tags: expected key=value, got "role"');
  assert.equal(reason(resolveAgentConfig({ flags: { bind: 'nope' } })), 'flag --bind: bind: expected "host:port" (port 0 = any free port)');
  assert.equal(reason(resolveAgentConfig({ flags: { handlerConcurrency: 0 } })), 'flag --handler-concurrency: handlerConcurrency: expected a positive number');
  assert.equal(reason(resolveAgentConfig({ flags: { bogus: 1 } })), 'flag --bogus: unknown key "bogus"');
  assert.equal(
    reason(resolveAgentConfig({ env: { RUMOR_API_ADDR: '0.0.0.0:7373' } })),
    'environment RUMOR_API_ADDR: apiToken: required when apiAddr 0.0.0.0:7373 is not a loopback address',
  );
  assert.ok(resolveAgentConfig({ env: { RUMOR_API_ADDR: '0.0.0.0:7373', RUMOR_API_TOKEN: 's3cret' } }).ok);
  assert.equal(reason(resolveAgentConfig({ flags: { bind: '0.0.0.0:7946' } })), 'flag --bind: advertise: required when bind is the wildcard 0.0.0.0');
  assert.equal(
    reason(resolveAgentConfig({ flags: { eventHandlers: ['member-jion=./x.sh'] } })),
    'flag --event-handler: eventHandlers: unknown event filter "member-jion" (expected *, user, user:NAME, query, query:NAME, member-join, member-leave, member-failed or member-update)',
  );
});

test('event handler parsing: a prefix that is not a filter belongs to the script', () => {
  assert.deepEqual(parseEventHandler('FOO=1 ./x.sh'), { ok: true, spec: { filters: ['*'], script: 'FOO=1 ./x.sh' } });
  assert.deepEqual(parseEventHandler('*=./x.sh'), { ok: true, spec: { filters: ['*'], script: './x.sh' } });
  assert.deepEqual(parseEventHandler('user='), { ok: false, reason: 'empty script in "user="' });
});

test('every validator: type, emptiness, bounds and list element errors name the path', () => {
  const f = (flags: Record<string, unknown>): string => reason(resolveAgentConfig({ flags, isTTY: false }));
  assert.equal(f({ name: '' }), 'flag --name: name: expected a non-empty string');
  assert.equal(f({ name: 'x'.repeat(257) }), 'flag --name: name: at most 256 characters');
  assert.equal(f({ join: ['a:1', 'nope'] }), 'flag --join: join.1: expected "host:port"');
  assert.equal(f({ handlerTimeoutMs: 1.5 }), 'flag --handler-timeout-ms: handlerTimeoutMs: expected an integer');
  assert.equal(f({ handlerTimeoutMs: 'soon' }), 'flag --handler-timeout-ms: handlerTimeoutMs: expected a number');
  assert.equal(f({ logLevel: 'loud' }), 'flag --log-level: logLevel: expected trace, debug, info, warn, error or silent');
  assert.equal(f({ logFormat: 'xml' }), 'flag --log-format: logFormat: expected json or text');
  assert.equal(f({ advertise: 'x' }), 'flag --advertise: advertise: expected "host:port"');
  assert.equal(f({ apiToken: '' }), 'flag --api-token: apiToken: expected a non-empty string');
  const tags = file('tags.json', JSON.stringify({ tags: ['a'] }));
  assert.equal(reason(resolveAgentConfig({ file: tags })), `config file ${tags}: tags: expected a table of key = "value"`);
  const hs = file('hs.json', JSON.stringify({ event_handlers: [3] }));
  assert.equal(reason(resolveAgentConfig({ file: hs })), `config file ${hs}: eventHandlers.0: expected a string`);
  const ok = resolveAgentConfig({ flags: { name: 'n', join: ['a:1'], tags: ['k=v'], apiAddr: '127.0.0.1:0', bind: '127.0.0.1:0' }, isTTY: false });
  assert.ok(ok.ok, ok.ok ? '' : ok.reason);
  assert.notEqual(ok.config.join, AGENT_DEFAULTS.join, 'lists are copies, not the defaults');
});
