/**
 * End-to-end: the event pipeline of one agent (`node bin/rumor.js agent --config file`) to its
 * handler scripts, with a library node in this process as its peer:
 * - the Lamport buffer: the same user event broadcast again under another message id (what a
 *   re-broadcast after the 90 s duplicate window looks like) runs its handler once; an event
 *   older than the buffer's span is refused as stale;
 * - user-event coalescing by name (`userCoalesceMs`): five `deploy` events in a burst run the
 *   handler once, with the latest payload;
 * - SIGHUP: the agent re-reads its config file and the new handlers replace the old (logged).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAll, waitUntil } from '../../src/cli/cluster.js';
import { createNode, type RumorNode } from '../../src/index.js';
import { encodeUserEvent } from '../../src/agent/user-event.js';
import { EVENT_CHANNEL } from '../../src/agent/agent.js';
import { ensureBuilt, RECORD_HANDLER } from './helpers.js';
import { startAgents } from '../support/agents.js';

const tmp = mkdtempSync(join(tmpdir(), 'rumor-events-'));
const out = join(tmp, 'records');
const configFile = join(tmp, 'agent.json');
const log = join(tmp, 'e1.log');
let child: ChildProcess;
let api = '';
let gossip = '';
let peer: RumorNode;

const writeConfig = (handlers: string[]): void => writeFileSync(configFile, JSON.stringify({ eventHandlers: handlers.map((h) => `${h}=${RECORD_HANDLER}`), userCoalesceMs: 1500 }));

/** The user events recorded by the handler: [name, stdin]. */
function records(): [string, string][] {
  return readdirSync(out)
    .filter((f) => f.startsWith('user-') && f.endsWith('.txt'))
    .map((f) => {
      const t = readFileSync(join(out, f), 'utf8');
      return [/^RUMOR_USER_EVENT=(.*)$/m.exec(t)?.[1] ?? '?', t.split('--- stdin\n')[1] ?? ''] as [string, string];
    });
}

async function info(): Promise<{ events: { duplicate: number; stale: number; coalescedUser: number } }> {
  return (await (await fetch(`${api}/v1/info`)).json()) as { events: { duplicate: number; stale: number; coalescedUser: number } };
}

async function handlerRuns(): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  return Number(/^rumor_handler_runs_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

const post = async (name: string, payload: string): Promise<void> => {
  const r = await fetch(`${api}/v1/event`, { method: 'POST', body: JSON.stringify({ name, payload }) });
  assert.equal(r.status, 200, await r.text());
};

before(async () => {
  ensureBuilt();
  mkdirSync(out);
  writeConfig(['user:dup', 'user:deploy', 'user:a']);
  // Started again on new ports when one was taken before it bound it (test/support/agents.ts).
  const started: ChildProcess[] = [];
  try {
    const [spec] = await startAgents(1, started, (_, p) => ({ name: 'e1', gossipPort: p.gossip, apiPort: p.api, profile: 'local', logFile: log, extraArgs: ['--config', configFile], env: { RUMOR_TEST_OUT: out } }));
    api = `http://127.0.0.1:${spec.apiPort}`;
    gossip = `127.0.0.1:${spec.gossipPort}`;
  } finally {
    child = started[0];
  }
  peer = createNode({ name: 'lib', profile: 'local' });
  await peer.start();
  await peer.join([gossip], { timeoutMs: 10_000 });
});

after(async () => {
  await peer?.close();
  await stopAll([child]);
});

test('Lamport buffer: a user event carried again under another id runs once; a stale one never', async () => {
  const body = encodeUserEvent({ name: 'dup', payload: new TextEncoder().encode('once'), ltime: 1000 });
  const id1 = peer.broadcast(body, { channel: EVENT_CHANNEL });
  const id2 = peer.broadcast(body, { channel: EVENT_CHANNEL });
  assert.notEqual(id1, id2, 'two broadcasts: the broadcast layer delivers both');
  peer.broadcast(encodeUserEvent({ name: 'dup', payload: new TextEncoder().encode('ancient'), ltime: 100 }), { channel: EVENT_CHANNEL });
  await waitUntil('e1 to count the duplicate and the stale event', 15_000, async () => {
    const e = (await info()).events;
    return e.duplicate === 1 && e.stale === 1;
  });
  await waitUntil('the dup handler to run', 15_000, async () => records().some(([n]) => n === 'dup'));
  assert.deepEqual(records().filter(([n]) => n === 'dup'), [['dup', 'once']]);
});

test('user-event coalescing: a burst of one name runs its handler once, with the latest payload', async () => {
  for (let i = 1; i <= 5; i++) await post('deploy', String(i));
  await waitUntil('the deploy handler to run', 15_000, async () => records().some(([n]) => n === 'deploy'));
  assert.deepEqual(records().filter(([n]) => n === 'deploy'), [['deploy', '5']]);
  assert.equal((await info()).events.coalescedUser, 4);
});

test('SIGHUP: the agent re-reads its config file; new handlers replace the old, and it is logged', async () => {
  writeConfig(['user:b']);
  child.kill('SIGHUP');
  await waitUntil('e1 to log the reload', 15_000, async () => readFileSync(log, 'utf8').includes('event handlers reloaded'));
  assert.match(readFileSync(log, 'utf8'), /"after":1,"handlers":\["user:b=[^"]+record\.sh"\]/);
  const before = await handlerRuns();
  await post('a', 'old handler');
  await post('b', 'new handler');
  await waitUntil('the b handler to run', 15_000, async () => records().some(([n]) => n === 'b'));
  // `a` was dispatched before `b` (same agent, in order): had it a handler, its run would count.
  assert.equal(await handlerRuns(), before + 1);
  assert.deepEqual(records().filter(([n]) => n === 'a' || n === 'b'), [['b', 'new handler']]);
  // A config that no longer resolves keeps the current handlers (logged as an error).
  writeFileSync(configFile, '{"eventHandlers": 7}');
  child.kill('SIGHUP');
  await waitUntil('e1 to log the failed reload', 15_000, async () => readFileSync(log, 'utf8').includes('reload failed'));
  assert.equal(child.exitCode, null, 'still running');
});
