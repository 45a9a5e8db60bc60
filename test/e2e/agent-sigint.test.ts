// `rumor agent` (the built CLI, a child process) gets SIGINT, as from Ctrl-C: it floods `left`,
// leaves the overlay gracefully and exits 0; the other agents list it `left`, not `failed`
// (docs/agent.md: "`rumor leave` and SIGINT flood `left`; SIGTERM too with leaveOnTerminate").
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent/agent.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { createLogger } from '../../src/agent/log.js';
import { exitWithin, waitUntil } from '../support/wait.js';
import { ensureBuilt } from './helpers.js';
import { startAgents } from '../support/agents.js';

const children: ChildProcess[] = [];
const agents: Agent[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(agents.map((a) => a.shutdown()));
});

// Building dist/ (when src/ is newer) takes tsc's time, several times more on a loaded machine.
before(() => ensureBuilt(), { timeout: 300_000 });

test('SIGINT: the agent leaves gracefully and exits 0; the others list it left', { timeout: 60_000 }, async () => {
  const r = resolveAgentConfig({ flags: { name: 'stay', bind: '127.0.0.1:0', apiAddr: '127.0.0.1:0', profile: 'local' }, isTTY: false });
  if (!r.ok) throw new Error(r.reason);
  const seed = await Agent.start(r.config, { logger: createLogger({ level: 'silent', format: 'json' }) });
  agents.push(seed);
  const logFile = join(mkdtempSync(join(tmpdir(), 'rumor-sigint-')), 'agent.log');
  // Started again on new ports when one was taken before it bound it (test/support/agents.ts).
  const [spec] = await startAgents(1, children, (_, p) => ({ name: 'ctrl-c', gossipPort: p.gossip, apiPort: p.api, profile: 'local', join: [seed.node.address], logFile }));
  const child = children[0];
  const addr = `127.0.0.1:${spec.gossipPort}`;
  const status = (): string => seed.members().find((m) => m.addr === addr)?.status ?? 'absent';
  await waitUntil(() => status() === 'alive', 20_000, () => `the seed to list ctrl-c alive (it is ${status()}); agent log: ${readFileSync(logFile, 'utf8')}`);
  await waitUntil(() => seed.node.neighbors().includes(addr), 10_000, 'ctrl-c to be a neighbour of the seed');

  child.kill('SIGINT');
  assert.equal(await exitWithin(child, 15_000, 'the agent after SIGINT'), 0, readFileSync(logFile, 'utf8'));
  await waitUntil(() => status() === 'left', 10_000, () => `the seed to list ctrl-c left (it is ${status()})`);
  const log = readFileSync(logFile, 'utf8');
  assert.match(log, /"signal":"SIGINT".*"msg":"signal: leaving"/);
  assert.match(log, /"msg":"leaving the cluster"/);
  assert.match(log, /"msg":"agent stopped"/);
});
