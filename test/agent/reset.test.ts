// The reset switch (issue 13 §2) on 5 loopback agents: `POST /v1/reset` (token required)
// reaches every agent, each starts the new epoch, and messages from the old epoch are refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from '../../src/agent/agent.js';
import { AgentClient } from '../../src/agent/client.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { createLogger } from '../../src/agent/log.js';
import { encodeEnvelope, messageIdFor } from '../../src/wire/index.js';
import { fakePeer, waitUntil } from '../net/helpers.js';

async function startAgent(name: string, flags: Record<string, unknown> = {}): Promise<Agent> {
  const r = resolveAgentConfig({ flags: { name, bind: '127.0.0.1:0', apiAddr: '127.0.0.1:0', profile: 'local', ...flags }, isTTY: false });
  if (!r.ok) throw new Error(r.reason);
  return Agent.start(r.config, { logger: createLogger({ level: 'error', format: 'json', destination: { write: () => {} } }) });
}

const agents: Agent[] = [];
after(async () => {
  await Promise.all(agents.map((a) => a.shutdown()));
});

test('rumor reset: 5 agents reset a channel, new epoch everywhere, old-epoch messages refused', { timeout: 60_000 }, async () => {
  agents.push(await startAgent('r0', { apiToken: 'tok' }));
  for (let i = 1; i < 5; i++) agents.push(await startAgent(`r${i}`, { join: [agents[0].node.address] }));
  await waitUntil(() => agents.every((a) => a.node.neighbors().length > 0), 15_000, 'every agent has a neighbour');

  await assert.rejects(new AgentClient(agents[0].apiUrl).reset('jobs'), /401/);
  await assert.rejects(new AgentClient(agents[0].apiUrl, 'tok').reset('_rumor.event'), /400/);

  const resetAt = new Map<string, number>();
  for (const a of agents) a.node.on('reset', (ch, ep) => resetAt.set(a.node.address, ep));
  const t0 = performance.now();
  const epoch = await new AgentClient(agents[0].apiUrl, 'tok').reset('jobs');
  assert.equal(epoch, 1);
  await waitUntil(() => resetAt.size === 5, 10_000, 'all 5 agents applied the reset');
  const ms = performance.now() - t0;
  assert.deepEqual([...resetAt.values()], [1, 1, 1, 1, 1]);
  for (const a of agents) assert.equal(a.node.epoch('jobs'), 1);
  console.log(`# reset reached 5 agents in ${ms.toFixed(1)} ms (loopback, profile local)`);

  // A message of the old epoch (sent before the reset), injected by a peer, is refused.
  const target = agents[2].node;
  const fake = await fakePeer(target.address, '127.0.0.1:19');
  await waitUntil(() => fake.received.some((m) => m.type === 'welcome'), 5000, 'welcome');
  const old = encodeEnvelope({ origin: '127.0.0.1:19', seq: 0, channel: 'jobs', timestamp: Date.now() - 60_000, data: new TextEncoder().encode('stale') });
  const fresh = encodeEnvelope({ origin: '127.0.0.1:19', seq: 1, channel: 'jobs', timestamp: Date.now() + 1, data: new TextEncoder().encode('fresh') });
  const got: string[] = [];
  target.on('message', (d) => got.push(new TextDecoder().decode(d.data)));
  const before = target.stats().defences!.validation.ignore;
  fake.send({ type: 'gossip', id: messageIdFor(old), round: 0, payload: old });
  fake.send({ type: 'gossip', id: messageIdFor(fresh), round: 0, payload: fresh });
  await waitUntil(() => got.includes('fresh'), 5000, 'new-epoch message delivered');
  assert.ok(!got.includes('stale'), 'old-epoch message refused');
  assert.equal(target.stats().defences!.validation.ignore, before + 1);
  fake.socket.destroy();
});
