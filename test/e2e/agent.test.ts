/**
 * End-to-end: three agents on loopback started as a user would (`node bin/rumor.js agent`),
 * driven by the client verbs. The API of every agent requires a token (so 401 is tested on
 * the same cluster). Tests run in order and share the cluster.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, stopAll, waitUntil, type AgentSpec } from '../../src/cli/cluster.js';
import { ensureBuilt, RECORD_HANDLER, rumor, rumorLive } from './helpers.js';
import { exitWithin, within } from '../support/wait.js';
import { localSpec, startAgents } from '../support/agents.js';

const TOKEN = 'e2e-token-7f3a';
const tmp = mkdtempSync(join(tmpdir(), 'rumor-e2e-'));
let specs: AgentSpec[] = [];
const children: ChildProcess[] = [];
let api: string[] = [];
const outDir = (i: number): string => join(tmp, `out-n${i + 1}`);
const auth = (i: number): string[] => ['--api', api[i], '--token', TOKEN];

interface MemberJson {
  name: string;
  status: string;
  tags: Record<string, string>;
}

async function membersOf(i: number): Promise<MemberJson[]> {
  const r = await rumor(['members', '--json', ...auth(i)]);
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out) as { members: MemberJson[] }).members;
}

/** Handler records (RUMOR_* env lines, '--- stdin', stdin) written by agent i so far. */
function records(i: number): string[] {
  return readdirSync(outDir(i))
    .filter((f) => f.endsWith('.txt'))
    .map((f) => readFileSync(join(outDir(i), f), 'utf8'));
}

before(async () => {
  ensureBuilt();
  for (let i = 0; i < 3; i++) mkdirSync(outDir(i));
  // Started again on new ports when one was taken before the agent bound it (test/support/agents.ts).
  specs = await startAgents(3, children, (i, p) => ({
    ...localSpec('n', tmp, i, p),
    tags: [`role=${i === 0 ? 'seed' : 'web'}`],
    handlers: [`user=${RECORD_HANDLER}`],
    token: TOKEN,
    // n2 leaves on SIGTERM (leaveOnTerminate; the default, as Serf's, is to stop without leaving).
    env: { RUMOR_TEST_OUT: outDir(i), ...(i === 1 ? { RUMOR_LEAVE_ON_TERMINATE: 'true' } : {}) },
  }), { answers: (res) => res.status === 401 });
  api = specs.map((s) => `http://127.0.0.1:${s.apiPort}`);
});

after(async () => {
  // stopAll sends SIGTERM, then SIGKILL after 5 s.
  await within(stopAll(children), 15_000, 'every agent to exit');
});

test('members: every agent lists all 3 alive, as a table and as JSON, with filters', async () => {
  for (let i = 0; i < 3; i++) {
    await waitUntil(`n${i + 1} to list 3 alive`, 20_000, async () => (await membersOf(i)).filter((m) => m.status === 'alive').length === 3, 100);
  }
  const table = await rumor(['members', ...auth(1)]);
  assert.equal(table.code, 0, table.err);
  const lines = table.out.trimEnd().split('\n');
  assert.match(lines[0], /^NAME\s+ADDR\s+STATUS\s+TAGS$/);
  assert.equal(lines.length, 4);
  specs.forEach((s, i) => {
    const cells = lines[i + 1].split(/\s+/);
    assert.deepEqual(cells, [s.name, `127.0.0.1:${s.gossipPort}`, 'alive', s.tags![0]]);
  });
  const web = await rumor(['members', '--json', '--tag', 'role=web', ...auth(0)]);
  assert.deepEqual((JSON.parse(web.out) as { members: MemberJson[] }).members.map((m) => m.name).sort(), ['n2', 'n3']);
  const left = await rumor(['members', '--json', '--status', 'left', ...auth(0)]);
  assert.deepEqual((JSON.parse(left.out) as { members: MemberJson[] }).members, []);
});

test('the API refuses requests without the right token (401); the CLI says so in one line, exit 1', async () => {
  assert.equal((await fetch(`${api[0]}/v1/members`)).status, 401);
  assert.equal((await fetch(`${api[0]}/v1/members`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  const r = await rumor(['members', '--api', api[0]], { env: { RUMOR_API_TOKEN: '' } });
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.match(r.err, /^rumor: .*401.*\n$/);
  const viaEnv = await rumor(['info', '--api', api[0]], { env: { RUMOR_API_TOKEN: TOKEN } });
  assert.equal(viaEnv.code, 0, viaEnv.err);
  assert.match(viaEnv.out, /^name: n1$/m);
});

test('event deploy hello: every agent runs its handler with RUMOR_EVENT=user, RUMOR_USER_EVENT=deploy, payload on stdin; monitor sees it', async () => {
  const mon = rumorLive(['monitor', '--type', 'user', ...auth(2)]);
  try {
    // The monitor's stream opens asynchronously: publish warm-ups until it prints one.
    // Generous deadline: on a loaded 2-core CI machine a stalled agent can drop a link (the
    // lan heartbeat timeout is 2.8 s) and take a few seconds to repair it.
    await waitUntil('the monitor stream to open', 30_000, async () => {
      await rumor(['event', 'warmup', 'w', ...auth(0)]);
      return mon.out().includes('name=warmup');
    }, 200).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}; monitor stderr: ${JSON.stringify(mon.err())}, exit: ${mon.child.exitCode}`);
    });
    const r = await rumor(['event', 'deploy', 'hello', ...auth(0)]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^event "deploy" sent \(id \S+\)\n$/);
    for (let i = 0; i < 3; i++) {
      const rec = await waitUntil(`n${i + 1}'s handler to record deploy`, 15_000, async () =>
        records(i).find((t) => t.includes('RUMOR_USER_EVENT=deploy\n')),
      );
      assert.match(rec, /^RUMOR_EVENT=user$/m);
      assert.match(rec, new RegExp(`^RUMOR_SELF_NAME=n${i + 1}$`, 'm'));
      assert.equal(rec.split('--- stdin\n')[1], 'hello');
    }
    await waitUntil('the monitor to print deploy', 10_000, async () => mon.out().includes('name=deploy'));
    assert.match(mon.out(), /^\S+ user .*name=deploy.*payload=hello/m);
  } finally {
    mon.child.kill('SIGINT');
  }
  assert.equal(await exitWithin(mon.child, 10_000, '`rumor monitor` to exit on SIGINT'), 0, mon.err());
});

test('event payload comes from stdin when the argument is absent', async () => {
  const r = await rumor(['event', 'from-stdin', ...auth(1)], { input: 'line one\nline two\n' });
  assert.equal(r.code, 0, r.err);
  for (let i = 0; i < 3; i++) {
    const rec = await waitUntil(`n${i + 1}'s handler to record from-stdin`, 15_000, async () =>
      records(i).find((t) => t.includes('RUMOR_USER_EVENT=from-stdin\n')),
    );
    assert.equal(rec.split('--- stdin\n')[1], 'line one\nline two\n');
  }
});

test('leave: the agent exits 0 and the others list it as left', async () => {
  const r = await rumor(['leave', ...auth(2)]);
  assert.equal(r.code, 0, r.err);
  assert.equal(await exitWithin(children[2], 15_000, 'agent n3 to exit after `rumor leave`'), 0);
  for (const i of [0, 1]) {
    await waitUntil(`n${i + 1} to list n3 as left`, 15_000, async () => (await membersOf(i)).find((m) => m.name === 'n3')?.status === 'left', 100);
  }
});

test('SIGTERM with leaveOnTerminate: the agent leaves and exits 0', async () => {
  children[1].kill('SIGTERM');
  assert.equal(await exitWithin(children[1], 15_000, 'agent n2 to exit after SIGTERM'), 0);
  await waitUntil('n1 to list n2 as left', 15_000, async () => (await membersOf(0)).find((m) => m.name === 'n2')?.status === 'left', 100);
});

test('usage errors are one line and exit 2; an unreachable agent is one line and exit 1', async () => {
  const oneLine = (r: { code: number | null; out: string; err: string }, code: number, re: RegExp): void => {
    assert.equal(r.code, code, r.err);
    assert.equal(r.out, '');
    assert.match(r.err, /^rumor: [^\n]+\n$/);
    assert.match(r.err, re);
  };
  oneLine(await rumor(['agent', '--profile', 'moon']), 2, /profile.*moon|lan, wan or local/);
  const badToml = join(tmp, 'bad.toml');
  writeFileSync(badToml, 'bind = "127.0.0.1:0"\nprofile = "lan"\nnot_a_key = 1\n');
  oneLine(await rumor(['agent', '--config', badToml]), 2, /bad\.toml.*not_a_key|notAKey/);
  const brokenToml = join(tmp, 'broken.toml');
  writeFileSync(brokenToml, 'bind = \n');
  oneLine(await rumor(['agent', '--config', brokenToml]), 2, /broken\.toml/);
  oneLine(await rumor(['agent', '--config', join(tmp, 'missing.toml')]), 2, /missing\.toml/);
  oneLine(await rumor(['members', '--status', 'sleepy']), 2, /--status/);
  oneLine(await rumor(['members', '--api', 'not a url']), 2, /--api/);
  oneLine(await rumor(['monitor', '--type', 'bogus']), 2, /--type/);
  const [closed] = await freePorts(1);
  oneLine(await rumor(['members', '--api', `http://127.0.0.1:${closed}`]), 1, /cannot reach agent.*ECONNREFUSED/);
});

test('--help on every verb exits 0', async () => {
  for (const verb of ['agent', 'members', 'event', 'monitor', 'info', 'leave', 'cluster']) {
    const r = await rumor([verb, '--help']);
    assert.equal(r.code, 0, verb);
    assert.match(r.out, new RegExp(`^Usage: rumor ${verb} `), verb);
    if (verb !== 'agent' && verb !== 'cluster') assert.match(r.out, /--api <url>/);
  }
});
