/**
 * End-to-end key rotation on a live cluster of 5 agents (`rumor agent --encrypt`, the CLI as a
 * user runs it): one agent is down during `rumor keys install / use / remove`, and comes back
 * by the procedure of docs/agent.md (restart it with `--encrypt <current key>`: on its old ports,
 * or on new ones when one was taken meanwhile, test/support/agents.ts `restartAgent`); an agent
 * without the key is refused, and both logs say why.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exited, stopAll, waitUntil, type AgentSpec } from '../../src/cli/cluster.js';
import { AgentClient } from '../../src/agent/client.js';
import { keyFingerprint } from '../../src/wire/crypto.js';
import { waitUntil as waitFor } from '../support/wait.js';
import { localSpec, restartAgent, startAgents, triesLog, type AgentPorts } from '../support/agents.js';
import { ensureBuilt, rumor } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'rumor-e2e-keys-'));
let specs: AgentSpec[] = [];
const children: ChildProcess[] = [];
let K1 = '';
const api = (i: number): string[] => ['--api', `http://127.0.0.1:${specs[i].apiPort}`];
const log = (i: number): string => readFileSync(specs[i].logFile!, 'utf8');

/** The names agent i lists alive, through its HTTP API. Polled in-process: a `rumor members`
 *  process per poll took seconds each at load ~90 (a Node start-up each, on 2 shared cores)
 *  and added to the load that slowed the agents; the CLI itself is exercised by the `keys`
 *  verbs below and by operator.test.ts. */
async function alive(i: number): Promise<string[]> {
  const members = await new AgentClient(`http://127.0.0.1:${specs[i].apiPort}`).members();
  return members.filter((m) => m.status === 'alive').map((m) => m.name);
}

/** Every agent in `idx` lists the 5 names k1..k5 alive (one deadline for all of them). */
async function allListFive(idx: number[], ms: number, when: string): Promise<void> {
  const want = ['k1', 'k2', 'k3', 'k4', 'k5'];
  const last = new Map<number, string[]>();
  await waitFor(
    async () => {
      const lists = await Promise.all(idx.map(async (i) => [i, await alive(i)] as const));
      for (const [i, l] of lists) last.set(i, l);
      return lists.every(([, l]) => want.every((n) => l.includes(n)));
    },
    ms,
    () => `every agent to list k1..k5 alive ${when} (last seen alive: ${[...last].map(([i, l]) => `at k${i + 1} ${l.join(',')}`).join('; ')})`,
    200,
  );
}

before(async () => {
  ensureBuilt();
  const g = await rumor(['keygen']);
  assert.equal(g.code, 0, g.err);
  K1 = g.out.trim();
  // k1..k5 start as the other e2e tests start agents (test/support/agents.ts): one whose port
  // was taken between `freePorts` and its bind is started again on new ports, its failed
  // try's log moved aside.
  const specFor = (i: number, p: AgentPorts): AgentSpec => ({
    ...localSpec('k', tmp, i, p),
    extraArgs: ['--data-dir', join(tmp, `data-k${i + 1}`), '--log-format', 'text'],
    // The key through the environment, as docs/agent.md advises (flags show in `ps`).
    env: { RUMOR_ENCRYPT: K1 },
  });
  specs = await startAgents(5, children, specFor, { timeoutMs: 60_000 });
  // k6's ports are picked when its test starts it; it joins k1 where k1 is now.
  specs[5] = specFor(5, { gossip: 0, api: 0, seed: specs[0].gossipPort });
});

after(async () => {
  await stopAll(children.filter((c) => c !== undefined));
});

// Its bounded steps add up to about 5 minutes in the worst case (waits 60 + 30 + 60 s, six CLI
// runs of up to 30-45 s each); a run takes about 10 s on a quiet machine. The default 120 s
// timed out at load ~90.
test('rotation across 5 live agents, one down during it; it rejoins with --encrypt <current key>', { timeout: 360_000 }, async () => {
  await allListFive([0, 1, 2, 3, 4], 60_000, 'at the start');
  const file = join(tmp, 'data-k1', 'keyring.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  // k5 goes down (kill -9) and the others see it failed.
  children[4].kill('SIGKILL');
  await exited(children[4]);
  await waitUntil('k1 sees k5 not alive', 30_000, async () => !(await alive(0)).includes('k5'), 200);
  const K2 = (await rumor(['keygen'])).out.trim();
  for (const [verb, key] of [['install', K2], ['use', K2], ['remove', K1]] as const) {
    const r = await rumor(['keys', verb, key, ...api(1)], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, `keys ${verb}: ${r.out}${r.err}`);
    assert.match(r.out, new RegExp(`^keys ${verb}: 4/4 nodes ok, 0 failed, 0 without answer`), r.out);
  }
  const list = await rumor(['keys', 'list', ...api(2)]);
  assert.equal(list.code, 0, list.out + list.err);
  assert.match(list.out, new RegExp(`key ${keyFingerprint(K2)} {2}on 4/4 nodes, primary on 4`));
  assert.doesNotMatch(list.out, new RegExp(keyFingerprint(K1)));
  // Removing the primary is refused on every node, per node.
  const bad = await rumor(['keys', 'remove', K2, ...api(0)]);
  assert.equal(bad.code, 1);
  assert.equal(bad.out.split('\n').filter((l) => /^failed: k\d .*is the primary key/.test(l)).length, 4, bad.out);
  // The documented procedure: restart k5 with the current key (its keyring file holds only K1),
  // on its old ports, or on new ones when one was taken while it was down (restartAgent), with
  // its own log file.
  specs[4] = await restartAgent({ ...specs[4], env: { RUMOR_ENCRYPT: K2 }, join: [`127.0.0.1:${specs[0].gossipPort}`], logFile: join(tmp, 'k5-restart.log') }, children, 4, { timeoutMs: 60_000 });
  await allListFive([0, 1, 2, 3, 4], 60_000, 'after k5 rejoined');
  // Whichever try of the restart loaded the keyring first installed K2 (a try that then lost
  // its port race has already saved it to the file, and the next try finds it there).
  assert.match(triesLog(specs[4].logFile!), /installed it as the primary key/);
  // Clean k5's stale K1 with the same (idempotent) cluster-wide remove.
  const again = await rumor(['keys', 'remove', K1, ...api(4)]);
  assert.equal(again.code, 0, again.out);
  const final = await rumor(['keys', 'list', ...api(4)]);
  assert.match(final.out, /^keys list: 5\/5 nodes ok/);
  assert.match(final.out, new RegExp(`key ${keyFingerprint(K2)} {2}on 5/5 nodes, primary on 5\n {2}modes: enforce 5\n$`));
});

test('an agent without the key is refused; both logs say why', async () => {
  // Fresh ports (those picked at the start may have been taken meanwhile), and started again on
  // new ports when one was taken before k6 bound it (test/support/agents.ts).
  const started: ChildProcess[] = [];
  try {
    [specs[5]] = await startAgents(1, started, (_, p) => ({ ...specs[5], gossipPort: p.gossip, apiPort: p.api, env: {} }));
  } finally {
    children[5] = started[0];
  }
  await waitUntil('k6 logs the refusal', 20_000, async () => /peer refused our connection/.test(log(5)), 200);
  assert.match(log(5), /plaintext-refused/);
  assert.ok(/refused connection.*plaintext-refused|plaintext-refused.*refused connection/.test(log(0)), log(0).slice(-2000));
  assert.equal((await alive(0)).includes('k6'), false);
});
