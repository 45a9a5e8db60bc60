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
import { stopAll } from '../../src/cli/cluster.js';
import { PortPlan } from '../../bench/support/ports.js';
import { localSpec, startAgents } from '../support/agents.js';
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
  assert.match(readFileSync(join(dir, 's1.log'), 'utf8'), /EADDRINUSE/, 'the first attempt of s1 did not fail on the held port');
  for (let i = 0; i < 2; i++) {
    assert.equal(children[i].exitCode, null, `s${i + 1}'s running attempt is not children[${i}]`);
    const res = await fetch(`http://127.0.0.1:${specs[i].apiPort}/v1/info`);
    assert.equal(res.status, 200, `s${i + 1} answers on its returned API port`);
    await res.arrayBuffer();
  }
});
