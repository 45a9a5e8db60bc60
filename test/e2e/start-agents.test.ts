/**
 * test/support/agents.ts: `startAgents`, which the e2e tests use to start agents on free
 * ports, starts an agent whose gossip port was taken (here: held by this test) again on new
 * ports, returns the spec it came up with, and leaves the running attempt in `children`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, stopAll } from '../../src/cli/cluster.js';
import { PortPlan } from '../../bench/support/ports.js';
import { localSpec, restartAgent, startAgents, triesLog, tryLogFile } from '../support/agents.js';
import { ensureBuilt } from './helpers.js';

before(() => ensureBuilt());

const children: ChildProcess[] = [];
let held: Server | undefined;
after(async () => {
  held?.close();
  await stopAll(children);
});

test('startAgents: agent 0 whose gossip port is held starts on new ports; agent 1 joins it there', { timeout: 120_000 }, async () => {
  held = createServer();
  const port = await new Promise<number>((resolve, reject) => {
    held!.once('error', reject);
    held!.listen(0, '127.0.0.1', () => resolve((held!.address() as { port: number }).port));
  });
  const plan = await PortPlan.create(2);
  plan.gossip[0] = port;
  const dir = mkdtempSync(join(tmpdir(), 'rumor-start-agents-'));
  const specs = await startAgents(2, children, (i, p) => ({
    ...localSpec('s', dir, i, p),
  }), { plan, timeoutMs: 60_000 });
  assert.notEqual(specs[0].gossipPort, port, 's1 still has the held port');
  assert.deepEqual(specs[1].join, [`127.0.0.1:${specs[0].gossipPort}`], 's2 joins s1 at its new port');
  assert.match(readFileSync(tryLogFile(join(dir, 's1.log'), 1), 'utf8'), /EADDRINUSE/, 'the first attempt of s1 did not fail on the held port (or its log was not moved to s1.try1.log)');
  assert.doesNotMatch(readFileSync(join(dir, 's1.log'), 'utf8'), /EADDRINUSE/, "s1.log holds the failed try's lines: it should be the running attempt's alone");
  assert.match(triesLog(join(dir, 's1.log')), /EADDRINUSE[^]*\S/, 'triesLog reads the failed try, then the running one');
  for (let i = 0; i < 2; i++) {
    assert.equal(children[i].exitCode, null, `s${i + 1}'s running attempt is not children[${i}]`);
    const res = await fetch(`http://127.0.0.1:${specs[i].apiPort}/v1/info`);
    assert.equal(res.status, 200, `s${i + 1} answers on its returned API port`);
    await res.arrayBuffer();
  }
});

test('restartAgent: a stopped agent comes back on its old ports, or on new ones when its gossip port was taken', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-restart-agent-'));
  const kids: ChildProcess[] = [];
  try {
    const [first] = await startAgents(1, kids, (i, p) => localSpec('r', dir, i, p), { timeoutMs: 60_000 });
    const stop = async (): Promise<void> => {
      kids[0].kill('SIGTERM');
      await exited(kids[0]);
    };
    await stop();
    const same = await restartAgent({ ...first, logFile: join(dir, 'r1-restart1.log') }, kids, 0, { timeoutMs: 60_000 });
    assert.deepEqual([same.gossipPort, same.apiPort], [first.gossipPort, first.apiPort], 'free old ports were not reused');
    assert.equal(kids[0].exitCode, null, 'the restarted agent is not kids[0]');
    await stop();
    const blocker = createServer();
    await new Promise<void>((resolve, reject) => {
      blocker.once('error', reject);
      blocker.listen(first.gossipPort, '127.0.0.1', resolve);
    });
    try {
      const moved = await restartAgent({ ...first, logFile: join(dir, 'r1-restart2.log') }, kids, 0, { timeoutMs: 60_000 });
      assert.notEqual(moved.gossipPort, first.gossipPort, 'restarted on the held port');
      assert.match(readFileSync(join(dir, 'r1-restart2.try1.log'), 'utf8'), /EADDRINUSE/, 'the try on the old port did not fail with EADDRINUSE in its own log');
      assert.doesNotMatch(readFileSync(join(dir, 'r1-restart2.log'), 'utf8'), /EADDRINUSE/, "the running restart's log holds the failed try's lines");
      const res = await fetch(`http://127.0.0.1:${moved.apiPort}/v1/info`);
      assert.equal(res.status, 200, 'the restarted agent does not answer on its returned API port');
      await res.arrayBuffer();
    } finally {
      blocker.close();
    }
  } finally {
    await stopAll(kids.filter((c) => c !== undefined));
  }
});
