// examples/chat.ts does what its comment says: two chat processes on loopback (alice, and bob
// joining her), every line typed is broadcast and printed by the other with its sender's name;
// /peers shows the views; /stats prints the counters; /quit leaves gracefully (alice sees
// bob's DISCONNECT); a bad option is one line and exit 1.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { exitWithin, waitUntil } from '../support/wait.js';
import { ROOT } from './helpers.js';

const CHAT = join(ROOT, 'examples', 'chat.ts');

interface Chat {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  type: (line: string) => void;
}

const chats: Chat[] = [];
after(() => {
  for (const c of chats) if (c.child.exitCode === null) c.child.kill('SIGKILL');
});

function chat(...args: string[]): Chat {
  const child = spawn(process.execPath, ['--import', 'tsx', CHAT, '--profile', 'local', ...args], { cwd: ROOT, stdio: 'pipe' });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const c: Chat = {
    child,
    out: () => out,
    type: (line) => child.stdin.write(`${line}\n`),
  };
  chats.push(c);
  return c;
}

async function waitFor(c: Chat, re: RegExp, what: string, ms = 20_000): Promise<RegExpMatchArray> {
  await waitUntil(() => re.test(c.out()), ms, () => `${what}; output so far: ${JSON.stringify(c.out())}`);
  return c.out().match(re)!;
}

test('examples/chat.ts: lines typed in one chat are printed by the other with the sender\'s name; /peers, /stats, /quit', { timeout: 60_000 }, async () => {
  const alice = chat('--name', 'alice');
  const [, addr] = await waitFor(alice, /^\* alice listening on (127\.0\.0\.1:\d+) \(cluster rumor\)$/m, 'alice listening');
  const bob = chat('--name', 'bob', '--join', addr);
  const [, bobAddr] = await waitFor(bob, /^\* bob listening on (127\.0\.0\.1:\d+)/m, 'bob listening');
  await waitFor(bob, new RegExp(`^\\* joined through ${addr}$`, 'm'), 'bob joined through alice');
  await waitFor(alice, new RegExp(`\\* neighbour up: ${bobAddr}$`, 'm'), 'alice sees bob as a neighbour');

  bob.type('hello from bob');
  // Incoming lines are written as `\r<name>: <text>` over the prompt.
  await waitFor(alice, /^bob: hello from bob$/m, 'alice prints bob\'s line');
  alice.type('hi bob');
  await waitFor(bob, /^alice: hi bob$/m, 'bob prints alice\'s line');
  assert.doesNotMatch(bob.out(), /bob: hello from bob/, 'a chat does not echo its own lines');

  bob.type('/peers');
  await waitFor(bob, new RegExp(`^(> )*active: ${addr}$`, 'm'), 'bob\'s /peers lists alice as active');

  bob.type('/stats');
  await waitFor(bob, new RegExp(`^  "address": "${bobAddr}",$`, 'm'), 'bob\'s /stats prints its counters as JSON');
  assert.match(bob.out(), /^ {2}"deliveries": [1-9]\d*,$/m, '/stats counts the deliveries');

  bob.type('/quit');
  assert.equal(await exitWithin(bob.child, 15_000, () => `bob to exit after /quit; output: ${bob.out()}`), 0);
  await waitFor(alice, new RegExp(`\\* neighbour down: ${bobAddr} \\(disconnected\\)`, 'm'), 'alice sees bob leave gracefully');
  alice.child.stdin.end();
  alice.child.kill('SIGTERM');
});

test('examples/chat.ts: a bad option is one line on stderr and exit 1', { timeout: 30_000 }, async () => {
  const bad = chat('--port', '70000');
  assert.equal(await exitWithin(bad.child, 20_000, () => `chat --port 70000 to exit; output: ${bad.out()}`), 1);
  assert.equal(bad.out(), 'chat: --port: expected 0..65535, got 70000\n');
});
