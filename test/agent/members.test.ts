// The agent's membership (src/agent/members.ts over the members-v2 machine): incarnation
// persisted in the data dir and raised on restart; garbage on the membership channel dropped
// and counted per peer (and in /metrics), the agent keeps its list.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.js';
import { startTestAgent } from './support.js';
import { MEMBERS_CHANNEL } from '../../src/agent/members.js';
import { createNode } from '../../src/index.js';

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function startAgent(name: string, flags: Record<string, unknown> = {}): Promise<Agent> {
  const a = await startTestAgent({ name, ...flags });
  agents.push(a);
  return a;
}

const agents: Agent[] = [];
after(async () => {
  await Promise.all(agents.map((a) => a.shutdown()));
});

test('data dir: the incarnation is saved, and a restart starts above it', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-members-'));
  const a = await startAgent('persist', { dataDir: dir });
  const first = a.members().find((m) => m.name === 'persist')!.incarnation;
  assert.ok(first >= Math.floor(Date.now() / 1000) - 60, `first incarnation ${first} is at least the epoch seconds`);
  const saved = JSON.parse(readFileSync(join(dir, 'node.json'), 'utf8')) as { name: string; incarnation: number };
  assert.deepEqual(saved, { name: 'persist', incarnation: first });
  await a.shutdown();
  const b = await startAgent('persist', { dataDir: dir });
  const second = b.members().find((m) => m.name === 'persist')!.incarnation;
  assert.ok(second > first, `restart incarnation ${second} > ${first}`);
});

test('garbage on the membership channel is dropped and counted per peer; the list is intact', { timeout: 20_000 }, async () => {
  const a = await startAgent('ga');
  const b = await startAgent('gb', { join: [a.node.address] });
  await waitUntil(() => [a, b].every((x) => x.members().filter((m) => m.status === 'alive').length === 2), 10_000, 'both list 2 alive');
  const evil = createNode({ profile: 'local' });
  await evil.start();
  try {
    await evil.join([a.node.address]);
    await waitUntil(() => evil.neighbors().includes(a.node.address), 5000, 'evil is a neighbour of a');
    for (const bytes of [[0], [1, 99], [1, 1, 255, 255, 255, 255, 255, 255]]) assert.equal(evil.sendTo(a.node.address, MEMBERS_CHANNEL, new Uint8Array(bytes)), true);
    const m = await (async () => {
      for (let i = 0; i < 100; i++) {
        const body = (await a.metrics()).body;
        if (/rumor_bad_messages_total\{channel="_rumor\.m"\} 3/.test(body)) return body;
        await new Promise((r) => setTimeout(r, 50));
      }
      return (await a.metrics()).body;
    })();
    assert.match(m, /rumor_bad_messages_total\{channel="_rumor\.m"\} 3/);
    assert.match(m, /rumor_members_local_health \d/);
    assert.deepEqual(a.members().filter((x) => x.status === 'alive').map((x) => x.name).sort(), ['ga', 'gb']);
  } finally {
    await evil.close();
  }
});
