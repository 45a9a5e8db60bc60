/**
 * End-to-end: three agents on loopback (`node bin/rumor.js agent`), driven by `rumor kv` and
 * `rumor tags`: a key set at one agent is read at the others, a watch sees it, a delete and
 * a TTL remove it everywhere, limits are refused in one line; runtime tags reach every
 * agent's `rumor members` and its `--tag` filter. Tests run in order and share the cluster.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAll, waitUntil, type AgentSpec } from '../../src/cli/cluster.js';
import { ensureBuilt, rumor, rumorLive } from './helpers.js';
import { localSpec, startAgents } from '../support/agents.js';

const tmp = mkdtempSync(join(tmpdir(), 'rumor-kv-'));
let specs: AgentSpec[] = [];
const children: ChildProcess[] = [];
let api: string[] = [];
let addr: string[] = [];
const at = (i: number): string[] => ['--api', api[i]];

interface Member {
  name: string;
  status: string;
  tags: Record<string, string>;
}

async function ok(args: string[]): Promise<string> {
  const r = await rumor(args);
  assert.equal(r.code, 0, `rumor ${args.join(' ')}: ${r.err}`);
  return r.out;
}

async function members(i: number, extra: string[] = []): Promise<Member[]> {
  return (JSON.parse(await ok(['members', '--json', ...extra, ...at(i)])) as { members: Member[] }).members;
}

before(async () => {
  ensureBuilt();
  specs = await startAgents(3, children, (i, p) => ({
    ...localSpec('k', tmp, i, p),
    tags: ['role=web'],
  }));
  api = specs.map((s) => `http://127.0.0.1:${s.apiPort}`);
  addr = specs.map((s) => `127.0.0.1:${s.gossipPort}`);
  for (let i = 0; i < 3; i++) {
    await waitUntil(`k${i + 1} to list 3 alive`, 20_000, async () => (await members(i)).filter((m) => m.status === 'alive').length === 3, 100);
  }
});

after(async () => {
  await stopAll(children);
});

test('kv: set at one agent, get/ls at every agent, watch sees it, rm removes it everywhere', async () => {
  const info = (await (await fetch(`${api[0]}/v1/info`)).json()) as { features?: string[] };
  assert.ok(info.features?.includes('state') && info.features.includes('metadata'), JSON.stringify(info.features));
  const watch = rumorLive(['kv', 'watch', 'app.', '--json', ...at(2)]);
  try {
    // The watch is open once it prints a local write of its own agent.
    await waitUntil('the watch stream to print a local write', 15_000, async () => {
      await ok(['kv', 'set', 'app.ready', 'yes', ...at(2)]);
      return watch.out().includes('"key":"app.ready"');
    }, 200);
    // Agent 0's versions: app.version is its first or second key (an agent whose tags leave no
    // room in its membership entry publishes `_rumor.version` there, agent.ts; its start-up tags
    // reach the state at the first tag change).
    const set = await ok(['kv', 'set', 'app.version', '1.2.3', ...at(0)]);
    assert.match(set, /^app\.version = 1\.2\.3 \(version [12]\)\n$/);
    const v = Number(/\(version (\d+)\)/.exec(set)![1]);
    for (const i of [1, 2]) {
      await waitUntil(`k${i + 1} to hold app.version`, 10_000, async () => (await rumor(['kv', 'get', 'app.version', '--node', addr[0], ...at(i)])).out === '1.2.3\n', 50);
    }
    await waitUntil('the watch to print the change', 10_000, async () => watch.out().includes('"key":"app.version"'), 50);
    const change = watch.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((c) => c.key === 'app.version');
    assert.deepEqual(change, { node: addr[0], key: 'app.version', value: '1.2.3', valueBase64: 'MS4yLjM=', version: v, local: false });
    const ls = await ok(['kv', 'ls', '--prefix', 'app.v', ...at(1)]);
    assert.match(ls, new RegExp(`^NODE\\s+KEY\\s+VERSION\\s+VALUE\\n${addr[0].replace(/\./g, '\\.')}\\s+app\\.version\\s+${v}\\s+1\\.2\\.3\\n$`));
    const rm = await ok(['kv', 'rm', 'app.version', ...at(0)]);
    assert.match(rm, /^app\.version deleted \(version \d+\)\n$/);
    assert.ok(Number(/\(version (\d+)\)/.exec(rm)![1]) > v, rm);
    for (const i of [1, 2]) {
      await waitUntil(`k${i + 1} to drop app.version`, 10_000, async () => (await rumor(['kv', 'get', 'app.version', '--node', addr[0], ...at(i)])).code === 1, 50);
    }
    const miss = await rumor(['kv', 'get', 'app.version', '--node', addr[0], ...at(1)]);
    assert.match(miss.err, /^rumor: agent at .*: 404: no key "app.version" at 127\.0\.0\.1:\d+\n$/);
  } finally {
    watch.child.kill('SIGINT');
  }
});

test('kv: a TTL deletes the key everywhere; limits and reserved keys are refused in one line', async () => {
  // Polled through the API (a CLI process per poll is slow on a loaded host): the lease must
  // be seen at k1 during its 4 s of life, then disappear.
  const lease = async (): Promise<number> => (await fetch(`${api[0]}/v1/kv/lease?node=${encodeURIComponent(addr[1])}`)).status;
  await ok(['kv', 'set', 'lease', 'held', '--ttl', '4000', ...at(1)]);
  await waitUntil('k1 to see the lease', 10_000, async () => (await lease()) === 200, 20);
  await waitUntil('the lease to expire at k1', 15_000, async () => (await lease()) === 404, 50);
  const big = await rumor(['kv', 'set', 'blob', 'x'.repeat(5000), ...at(0)]);
  assert.equal(big.code, 1);
  assert.match(big.err, /^rumor: agent at .*: 400: state: value of 5000 bytes is over the limit of 4096\n$/);
  const reserved = await rumor(['kv', 'set', '_rumor.tags', 'x', ...at(0)]);
  assert.match(reserved.err, /400: key: the prefix _rumor\. is reserved for the agent\n$/);
  const badTtl = await rumor(['kv', 'set', 'k', 'v', '--ttl', 'soon', ...at(0)]);
  assert.equal(badTtl.code, 2);
  assert.equal(badTtl.err, 'rumor: option --ttl: expected a positive integer of milliseconds, got "soon"\n');
});

test('tags: --set and --delete at runtime reach every agent\'s members list and --tag filter', async () => {
  assert.equal(await ok(['tags', '--set', 'dc=eu-1', '--set', 'role=db', ...at(2)]), 'dc=eu-1\nrole=db\n');
  for (let i = 0; i < 3; i++) {
    await waitUntil(`k${i + 1} to filter k3 by role=db`, 10_000, async () => JSON.stringify((await members(i, ['--tag', 'role=db'])).map((m) => m.name)) === '["k3"]', 50);
  }
  const k3 = (await members(0)).find((m) => m.name === 'k3')!;
  assert.deepEqual(k3.tags, { dc: 'eu-1', role: 'db' });
  assert.equal(await ok(['tags', '--delete', 'dc', ...at(2)]), 'role=db\n');
  for (let i = 0; i < 3; i++) {
    await waitUntil(`k${i + 1} to see k3 without dc`, 10_000, async () => !('dc' in (await members(i)).find((m) => m.name === 'k3')!.tags), 50);
  }
  assert.deepEqual((await members(1, ['--tag', 'role=web'])).map((m) => m.name).sort(), ['k1', 'k2']);
  const bad = await rumor(['tags', '--set', 'novalue', ...at(0)]);
  assert.equal(bad.code, 2);
  assert.equal(bad.err, 'rumor: option --set: expected key=value, got "novalue"\n');
});
