/** Output formats of the client verbs (pure functions, no agent needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { infoLines } from '../../src/cli/info.js';
import { membersTable } from '../../src/cli/members.js';
import { eventLine } from '../../src/cli/monitor.js';
import { main } from '../../src/cli/main.js';

test('membersTable: NAME ADDR STATUS TAGS, sorted by name, tags sorted by key', () => {
  const out = membersTable([
    { name: 'web-2', addr: '10.0.0.2:7946', status: 'failed', tags: {} },
    { name: 'db', addr: '10.0.0.10:7946', status: 'alive', tags: { zone: 'b', role: 'db' } },
  ]);
  assert.equal(
    out,
    'NAME   ADDR            STATUS  TAGS\n' +
      'db     10.0.0.10:7946  alive   role=db,zone=b\n' +
      'web-2  10.0.0.2:7946   failed\n',
  );
  assert.equal(membersTable([]), 'NAME  ADDR  STATUS  TAGS\n');
});

test('eventLine: time, type, fields; member objects flattened; payloadBase64 dropped; one line', () => {
  const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
  assert.equal(
    eventLine({ type: 'user', id: 'a1', name: 'deploy', origin: 'n1', ltime: 3, payload: 'v1\nv2', payloadBase64: 'djEKdjI=' }, now),
    '2026-01-02T03:04:05.006Z user id=a1 name=deploy origin=n1 ltime=3 payload=v1\\nv2',
  );
  assert.equal(
    eventLine({ type: 'member-failed', member: { name: 'n2', addr: '127.0.0.1:7001', status: 'failed', incarnation: 4, tags: {} } }, now),
    '2026-01-02T03:04:05.006Z member-failed member.name=n2 member.addr=127.0.0.1:7001 member.status=failed member.incarnation=4 member.tags={}',
  );
});

test('infoLines: nested keys dotted, lists comma-separated', () => {
  assert.deepEqual(infoLines({ name: 'n1', neighbors: ['a:1', 'b:2'], members: { alive: 3, failed: 0 } }), [
    'name: n1',
    'neighbors: a:1, b:2',
    'members.alive: 3',
    'members.failed: 0',
  ]);
});

test('client verbs: bad --api and bad filters are usage errors (exit 2, one line), checked before any request', async () => {
  const run = async (...argv: string[]): Promise<[number, string]> => {
    let err = '';
    const code = await main(argv, { stdout: { write: () => true }, stderr: { write: (s: string) => (err += s) } });
    return [code, err];
  };
  assert.deepEqual(await run('members', '--api', 'ftp://x'), [2, 'rumor: option --api: expected an http:// or https:// URL, got "ftp://x"\n']);
  assert.deepEqual(await run('members', '--tag', 'novalue'), [2, 'rumor: option --tag: expected key=regex, got "novalue"\n']);
  assert.deepEqual(await run('event', 'bad name!'), [2, 'rumor: event name: expected 1-128 letters, digits, _ . : or -, got "bad name!"\n']);
  assert.deepEqual(await run('event'), [2, "rumor: missing required argument 'name'\n"]);
});
