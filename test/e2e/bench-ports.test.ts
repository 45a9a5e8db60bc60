/**
 * bench/support/ports.ts: an agent whose gossip port is taken between `freePorts` and its own
 * bind (here: held by this test on purpose) exits with EADDRINUSE; `startOnFreePorts` gives it
 * new ports and starts it again, and it answers. An agent that exits for another reason is
 * not retried: the error names the log's last line. `startFleet` does the same for each agent
 * of a `PortPlan`, and leaves the attempt that came up in the caller's array.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AgentClient } from '../../src/agent/client.js';
import { freePorts, spawnAgent, stopAll } from '../../src/cli/cluster.js';
import { PortPlan, startFleet, startOnFreePorts } from '../../bench/support/ports.js';
import { RUMOR_READY_LINE } from '../../bench/support/cluster-drivers.js';
import { ensureBuilt } from './helpers.js';

before(() => ensureBuilt());

const children: ChildProcess[] = [];
after(() => stopAll(children));

function hold(): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });
}

test('startOnFreePorts: a gossip port taken before the agent binds it -> started again on new ports, and it answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-ports-'));
  const held = await hold();
  try {
    const ports = { gossip: held.port, api: (await freePorts(1))[0] };
    let spawns = 0;
    const r = await startOnFreePorts({
      what: 'agent p1',
      spawn: () => {
        spawns++;
        const c = spawnAgent({ name: 'p1', gossipPort: ports.gossip, apiPort: ports.api, profile: 'local', logFile: join(dir, 'p1.log') });
        children.push(c);
        return c;
      },
      up: async () => {
        if ((await new AgentClient(`http://127.0.0.1:${ports.api}`).info()) === undefined) throw new Error('no answer');
      },
      reassign: async () => {
        const [g, a] = await freePorts(2);
        ports.gossip = g;
        ports.api = a;
      },
      logFile: join(dir, 'p1.log'),
      timeoutMs: 60_000,
    });
    assert.equal(r.type, 'up', 'the agent on new ports did not answer within 60 s');
    assert.equal(spawns, 2, `expected one failed start (port held) and one good one, got ${spawns} spawns`);
    assert.notEqual(ports.gossip, held.port);
    assert.equal(r.notes.length, 1);
    assert.match(r.notes[0], /EADDRINUSE/);
  } finally {
    held.server.close();
  }
});

test('startOnFreePorts: an agent that exits for another reason is not retried; the error quotes its log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-ports-'));
  const [g, a] = await freePorts(2);
  let spawns = 0;
  await assert.rejects(
    startOnFreePorts({
      what: 'agent p2',
      spawn: () => {
        spawns++;
        const c = spawnAgent({ name: 'p2', gossipPort: g, apiPort: a, logFile: join(dir, 'p2.log'), extraArgs: ['--profile', 'no-such-profile'] });
        children.push(c);
        return c;
      },
      up: () => Promise.reject(new Error('never up')),
      reassign: () => Promise.reject(new Error('reassign must not be called')),
      logFile: join(dir, 'p2.log'),
      timeoutMs: 60_000,
    }),
    /agent p2 exited \(exit \d+\) before answering: .*profile/,
  );
  assert.equal(spawns, 1);
});

test('startFleet: agent 1 of 2 loses its gossip port -> it alone is started again on new plan ports; children[1] is the live attempt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-ports-'));
  const held = await hold();
  try {
    const plan = await PortPlan.create(2);
    plan.gossip[1] = held.port;
    const kids: ChildProcess[] = [];
    const spawns = [0, 0];
    const started = await startFleet(plan, 2, kids, {
      what: 'agent',
      spawn: (i) => {
        spawns[i]++;
        const c = spawnAgent({ name: `f${i}`, gossipPort: plan.gossip[i], apiPort: plan.api[i], profile: 'local', join: i === 0 ? [] : [`127.0.0.1:${plan.gossip[0]}`], logFile: join(dir, `f${i}.log`) });
        children.push(c);
        return c;
      },
      up: async (i) => {
        if ((await new AgentClient(`http://127.0.0.1:${plan.api[i]}`).info()) === undefined) throw new Error('no answer');
      },
      logFile: (i) => join(dir, `f${i}.log`),
      timeoutMs: 60_000,
    });
    assert.deepEqual(spawns, [1, 2], 'expected agent 0 started once, agent 1 twice (its first gossip port held)');
    assert.notEqual(plan.gossip[1], held.port, 'agent 1 was not given a new gossip port');
    assert.deepEqual(started.map((r) => [r.type, r.attempts]), [['up', 1], ['up', 2]]);
    assert.equal(kids[1], started[1].child, 'children[1] is not the attempt that came up');
    assert.equal(kids[1].exitCode, null, 'the attempt of agent 1 that came up is not running');
  } finally {
    held.server.close();
  }
});

test('startFleet with readyLine: two rumor agents print the line bench:cluster waits for; each is asked once, and answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-ports-'));
  const plan = await PortPlan.create(2);
  const kids: ChildProcess[] = [];
  const asked = [0, 0];
  const started = await startFleet(plan, 2, kids, {
    what: 'agent',
    spawn: (i) => {
      const c = spawnAgent({ name: `r${i}`, gossipPort: plan.gossip[i], apiPort: plan.api[i], profile: 'local', join: i === 0 ? [] : [`127.0.0.1:${plan.gossip[0]}`], logFile: join(dir, `r${i}.log`), extraArgs: ['--log-level', 'warn'] });
      children.push(c);
      return c;
    },
    up: async (i) => {
      asked[i]++;
      if ((await new AgentClient(`http://127.0.0.1:${plan.api[i]}`).info()) === undefined) throw new Error('no answer');
    },
    logFile: (i) => join(dir, `r${i}.log`),
    timeoutMs: 60_000,
    readyLine: RUMOR_READY_LINE,
  });
  assert.deepEqual(started.map((r) => [r.type, r.requests]), [['up', 1], ['up', 1]]);
  assert.deepEqual(asked, [1, 1], 'an agent was asked before its ready line, or more than once');
});
