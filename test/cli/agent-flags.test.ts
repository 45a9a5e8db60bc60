// docs/agent.md's configuration table against the schema and the `rumor agent` command line,
// both ways: every key of the schema is documented with the flag and environment variable
// derived from it, every flag `rumor agent` accepts is documented, and every documented flag,
// given a value, sets its key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_KEYS, envName, flagName, isRepeatableFlag, resolveAgentConfig, type ConfigKey } from '../../src/agent/config.js';
import { buildProgram } from '../../src/cli/main.js';
import { flagsFromOptions, quickAgentOptions } from '../../src/cli/agent.js';
import { packageRoot } from '../../src/cli/ui.js';

interface DocRow {
  key: string;
  flag: string;
  repeatable: boolean;
  env: string;
}

/** The rows of the table whose header starts `| key | flag | env |`. */
function documentedRows(): DocRow[] {
  const md = readFileSync(join(packageRoot(), 'docs', 'agent.md'), 'utf8').split('\n');
  const head = md.findIndex((l) => /^\|\s*key\s*\|\s*flag\s*\|\s*env\s*\|/.test(l));
  assert.ok(head >= 0, 'docs/agent.md has a table with columns key | flag | env');
  const rows: DocRow[] = [];
  for (const line of md.slice(head + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const key = /^`(\w+)`$/.exec(cells[0])?.[1];
    const flag = /^`(--[a-z-]+)/.exec(cells[1])?.[1];
    const env = /^`(RUMOR_[A-Z_]+)`/.exec(cells[2])?.[1];
    assert.ok(key && flag && env, `unparsable row of the table: ${line}`);
    rows.push({ key, flag, env, repeatable: cells[1].includes('(repeatable)') });
  }
  return rows;
}

function agentCommand(): Command {
  const program = buildProgram({ stdout: { write: () => true }, stderr: { write: () => true }, cwd: process.cwd(), exitCode: 0 } as never);
  const cmd = program.commands.find((c) => c.name() === 'agent');
  assert.ok(cmd, 'rumor has an agent verb');
  return cmd;
}

test('docs/agent.md documents every config key with the flag and env variable derived from the schema, and nothing else', () => {
  const rows = documentedRows();
  assert.deepEqual(rows.map((r) => r.key).sort(), [...CONFIG_KEYS].sort(), 'documented keys = schema keys');
  for (const r of rows) {
    const key = r.key as ConfigKey;
    assert.equal(r.flag, `--${flagName(key)}`, `flag of ${key}`);
    assert.equal(r.repeatable, isRepeatableFlag(key), `${key}: documented as repeatable iff its flag is`);
    assert.equal(r.env, envName(key), `environment variable of ${key}`);
  }
});

test('`rumor agent` accepts exactly the documented flags (plus --config), repeatable ones as such', () => {
  const rows = documentedRows();
  const cmd = agentCommand();
  const accepted = cmd.options.map((o) => o.long!).filter((f) => f !== '--config' && f !== '--help');
  assert.deepEqual([...accepted].sort(), rows.map((r) => r.flag).sort(), 'accepted flags = documented flags');
  for (const r of rows) {
    const opt = cmd.options.find((o) => o.long === r.flag)!;
    assert.ok(opt.required, `${r.flag} takes a value`);
    assert.equal(Array.isArray(opt.defaultValue), r.repeatable, `${r.flag}: repeatable iff documented so`);
  }
});

/** An event schema file for `--event-schema-file` (the agent reads it at start). */
const SCHEMA_FILE = join(mkdtempSync(join(tmpdir(), 'rumor-flags-')), 'event-schemas.json');
writeFileSync(SCHEMA_FILE, JSON.stringify({ deploy: { type: 'object' } }));

/** A valid value for each key's flag, and what the resolved config then holds. */
const SAMPLES: Record<ConfigKey, [flagValue: string, expected: unknown]> = {
  name: ['n-42', 'n-42'],
  cluster: ['c-42', 'c-42'],
  bind: ['127.0.0.1:4242', '127.0.0.1:4242'],
  advertise: ['127.0.0.2:4242', '127.0.0.2:4242'],
  join: ['127.0.0.3:4242', ['127.0.0.3:4242']],
  tags: ['role=web', { role: 'web' }],
  profile: ['wan', 'wan'],
  eventHandlers: ['user:deploy=./deploy.sh', [{ filters: ['user:deploy'], script: './deploy.sh' }]],
  aggregates: ['load:avg:5000=cat /proc/loadavg', ['load:avg:5000=cat /proc/loadavg']],
  memberCoalesceMs: ['3000', 3000],
  userCoalesceMs: ['0', 0],
  handlerTimeoutMs: ['4242', 4242],
  handlerConcurrency: ['7', 7],
  handlerQueueSize: ['42', 42],
  apiAddr: ['127.0.0.1:4343', '127.0.0.1:4343'],
  apiToken: ['tok-42', 'tok-42'],
  dataDir: ['/tmp/rumor-42', '/tmp/rumor-42'],
  logLevel: ['debug', 'debug'],
  logFormat: ['text', 'text'],
  syncIntervalMs: ['4444', 4444],
  reapAfterMs: ['55555', 55555],
  eventNamePattern: ['^ok', '^ok'],
  eventMaxBytes: ['4096', 4096],
  eventMaxBytesByName: ['deploy=512,ping=64', { deploy: 512, ping: 64 }],
  eventSchemaFile: [SCHEMA_FILE, SCHEMA_FILE],
  encrypt: ['AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='],
  keyringFile: ['/tmp/rumor-42/keyring.json', '/tmp/rumor-42/keyring.json'],
  encryptMode: ['send', 'send'],
  leaveOnTerminate: ['true', true],
  skipLeaveOnInterrupt: ['yes', true],
  rejoinAfterLeave: ['1', true],
  queryPath: ['broadcast', 'broadcast'],
};

test('every documented flag, given on the command line, sets its key', () => {
  for (const r of documentedRows()) {
    const key = r.key as ConfigKey;
    const [value, expected] = SAMPLES[key] ?? assert.fail(`no sample value for ${key}: add one to SAMPLES`);
    const cmd = agentCommand();
    cmd.parseOptions([r.flag, value]);
    const res = resolveAgentConfig({ flags: flagsFromOptions(cmd.opts()), isTTY: false });
    assert.ok(res.ok, `${r.flag} ${value}: ${res.ok ? '' : res.reason}`);
    assert.deepEqual((res.config as unknown as Record<string, unknown>)[key], expected, `${r.flag} ${value} sets ${key}`);
  }
  // Repeatable flags collect every value.
  const cmd = agentCommand();
  cmd.parseOptions(['--join', '127.0.0.1:1', '--join', '127.0.0.1:2', '--tag', 'a=1', '--tag', 'b=2']);
  const res = resolveAgentConfig({ flags: flagsFromOptions(cmd.opts()), isTTY: false });
  assert.ok(res.ok);
  assert.deepEqual([res.config.join, res.config.tags], [['127.0.0.1:1', '127.0.0.1:2'], { a: '1', b: '2' }]);
});

test('a bad flag value names the flag as typed', () => {
  const cmd = agentCommand();
  cmd.parseOptions(['--event-handler', 'member-jion=./x.sh', '--handler-timeout-ms', '10']);
  const res = resolveAgentConfig({ flags: flagsFromOptions(cmd.opts()), isTTY: false });
  assert.equal(res.ok, false);
  if (!res.ok) assert.match(res.reason, /^flag --event-handler: eventHandlers: unknown event filter "member-jion"/);
  const bad = agentCommand();
  bad.parseOptions(['--handler-timeout-ms', 'soon']);
  const r2 = resolveAgentConfig({ flags: flagsFromOptions(bad.opts()), isTTY: false });
  assert.deepEqual(r2, { ok: false, reason: 'flag --handler-timeout-ms: handlerTimeoutMs: expected a number' });
});

test('boolean keys: true/false (1/0, yes/no) from flags and the environment; anything else is a one-line error naming the source', () => {
  const env = resolveAgentConfig({ env: { RUMOR_LEAVE_ON_TERMINATE: 'TRUE', RUMOR_SKIP_LEAVE_ON_INTERRUPT: 'no' }, isTTY: false });
  assert.ok(env.ok);
  assert.equal(env.config.leaveOnTerminate, true);
  assert.equal(env.config.skipLeaveOnInterrupt, false);
  assert.equal(env.config.rejoinAfterLeave, false, 'Serf default');
  const bad = resolveAgentConfig({ flags: { leaveOnTerminate: 'maybe' }, isTTY: false });
  assert.deepEqual(bad, { ok: false, reason: 'flag --leave-on-terminate: leaveOnTerminate: expected true or false, got "maybe"' });
  const badEnv = resolveAgentConfig({ env: { RUMOR_REJOIN_AFTER_LEAVE: '2' }, isTTY: false });
  assert.deepEqual(badEnv, { ok: false, reason: 'environment RUMOR_REJOIN_AFTER_LEAVE: rejoinAfterLeave: expected true or false, got "2"' });
});

/** Commander's parse of `rumor agent ARGS` (the options its action gets), or its error. */
function commanderParse(args: string[]): Record<string, unknown> | { error: string } {
  const cmd = agentCommand();
  cmd.exitOverride();
  cmd.configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    return { error: (e as Error).message };
  }
  return { ...cmd.opts() };
}

test('quickAgentOptions reads a plain `rumor agent` command line as commander does, and leaves every other one to commander', () => {
  // Every flag with its sample value, in both spellings, and the repeatable ones twice.
  const every: string[] = [];
  const everyEq: string[] = [];
  for (const r of documentedRows()) {
    const [value] = SAMPLES[r.key as ConfigKey];
    every.push(r.flag, value);
    everyEq.push(`${r.flag}=${value}`);
    if (r.repeatable) every.push(r.flag, `${value}-2`);
  }
  const plain = [
    [],
    every,
    everyEq,
    ['--config', '/etc/rumor.toml'],
    ['--name', 'a', '--name', 'b'],
    ['--tag', 'x=1', '--tag=y=2', '--join', '127.0.0.1:1'],
    ['--event-name-pattern', '^a=b$', '--api-addr=127.0.0.1:0'],
  ];
  for (const args of plain) {
    const quick = quickAgentOptions(args);
    assert.ok(quick !== null, `${args.join(' ')}: read without commander`);
    assert.deepEqual(quick, commanderParse(args), `${args.join(' ')}: the same options as commander's`);
    // The line the agent is started with is the one commander accepts: no error from it either.
    assert.ok(!('error' in commanderParse(args)));
  }
  // Help, unknown flags, missing or dash-led values, positional arguments: commander's.
  const others = [['--help'], ['-h'], ['--bogus', 'x'], ['--name'], ['--name', '--bind'], ['--name', '-x'], ['--name='], ['extra'], ['--name', 'a', 'extra'], ['--no-name'], ['-V']];
  for (const args of others) assert.equal(quickAgentOptions(args), null, `${args.join(' ')}: left to commander`);
});
