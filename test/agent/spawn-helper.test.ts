import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HandlerRunner, type HandlerResult } from '../../src/agent/handlers.js';
import { createLogger } from '../../src/agent/log.js';
import type { EventHandlerSpec } from '../../src/agent/config.js';
import { encodeJob } from '../../src/agent/spawn-helper.js';
import { pidGone, within } from '../support/wait.js';

const opened: HandlerRunner[] = [];
after(() => opened.forEach((r) => r.close()));

function runner(handlers: EventHandlerSpec[], launcher: 'helper' | 'direct', timeoutMs = 5000) {
  const results: HandlerResult[] = [];
  const lines: string[] = [];
  const r = new HandlerRunner({
    handlers,
    self: () => ({ name: 'n1', addr: '127.0.0.1:7946', tags: { role: 'web' } }),
    timeoutMs,
    concurrency: 4,
    queueSize: 16,
    logger: createLogger({ level: 'debug', format: 'json', destination: { write: (s: string) => lines.push(s) } }),
    onResult: (x) => results.push(x),
    launcher,
  });
  opened.push(r);
  return { r, results, lines };
}

const dir = mkdtempSync(join(tmpdir(), 'rumor-launcher-'));
const script = (name: string, body: string, mode = 0o755): string => {
  const p = join(dir, name);
  writeFileSync(p, body);
  chmodSync(p, mode);
  return p;
};
const enc = new TextEncoder();
const user = (name: string, payload: string, ltime = 1) => ({ type: 'user' as const, id: `i${ltime}`, name, payload: enc.encode(payload), origin: 'o:1', ltime });

test('the launcher and a direct spawn give the same outcomes, environment and stdin', { timeout: 30_000 }, async () => {
  const handlers: EventHandlerSpec[] = [
    { filters: ['user:env'], script: 'printf "%s|%s|%s|" "$RUMOR_EVENT" "$RUMOR_USER_EVENT" "$RUMOR_TAG_ROLE"; cat' },
    { filters: ['user:exit'], script: 'echo oops >&2; exit 3' },
    { filters: ['user:signal'], script: 'kill -TERM $$' },
    { filters: ['user:missing'], script: join(dir, 'no-such-script.sh') },
    { filters: ['user:noexec'], script: script('noexec.sh', '#!/bin/sh\necho x\n', 0o644) },
    { filters: ['user:noshebang'], script: script('noshebang.sh', 'echo "no shebang $RUMOR_USER_EVENT"\n') },
    { filters: ['user:plain'], script: script('plain.sh', '#!/bin/sh\ncat\n') },
  ];
  const outcomes: Record<string, unknown[][]> = {};
  for (const launcher of ['direct', 'helper'] as const) {
    const h = runner(handlers, launcher);
    for (const [k, name] of ['env', 'exit', 'signal', 'missing', 'noexec', 'noshebang', 'plain'].entries()) h.r.dispatch(user(name, `data of ${name}`, k + 1));
    await within(h.r.idle(), 15_000, `the ${launcher} runs to finish`);
    outcomes[launcher] = h.results
      .map((x) => [x.script.split('/').pop(), x.outcome, x.code, x.stdout, x.outcome === 'spawn' ? /permission denied|ENOENT|EACCES/.test(x.stderr) : x.stderr])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  }
  assert.equal(outcomes.helper.length, 7);
  assert.deepEqual(outcomes.helper, outcomes.direct);
  const env = outcomes.helper.find((x) => String(x[0]).startsWith('printf'))!;
  assert.deepEqual(env.slice(1, 4), ['ok', 0, 'user|env|web|data of env']);
});

test('through the launcher a run is not a child of the agent; without perl or when the launcher dies, runs are spawned directly', { timeout: 30_000 }, async () => {
  const h = runner([{ filters: ['user'], script: 'echo $PPID' }], 'helper');
  h.r.dispatch(user('a', ''));
  await within(h.r.idle(), 10_000, 'the first run to finish');
  const launcherPid = Number(h.results[0].stdout.trim());
  assert.ok(launcherPid > 0 && launcherPid !== process.pid, `parent ${launcherPid}, agent ${process.pid}`);
  process.kill(launcherPid, 'SIGKILL');
  await pidGone(launcherPid, 5000, 'the launcher to be gone');
  await within(new Promise<void>((r) => setTimeout(r, 50)), 1000, 'a moment');
  for (let i = 0; i < 3; i++) h.r.dispatch(user('b', '', i + 2));
  await within(h.r.idle(), 10_000, 'the runs after the launcher died to finish');
  assert.deepEqual(h.results.slice(1).map((x) => [x.outcome, Number(x.stdout.trim()) === process.pid]), [['ok', true], ['ok', true], ['ok', true]]);
  assert.ok(h.lines.some((l) => l.includes('handler launcher unavailable')), 'the fallback is logged');
});

test('through the launcher: a query answer is cut at its limit and flagged; a timeout kills the process group', { timeout: 30_000 }, async () => {
  const h = runner([{ filters: ['query:big'], script: 'head -c 100000 /dev/zero | tr "\\0" y' }, { filters: ['user'], script: 'sleep 60 & echo $! > ' + join(dir, 'bg') + '; wait' }], 'helper', 1500);
  const q = await within(h.r.runQuery({ type: 'query', name: 'big', payload: new Uint8Array(), origin: 'o:1' }, 10), 10_000, 'the query run');
  assert.deepEqual([q.outcome, Buffer.from(q.stdout).toString(), q.truncated], ['ok', 'y'.repeat(10), true]);
  h.r.dispatch(user('slow', ''));
  await within(h.r.idle(), 10_000, 'the slow run to be killed at its timeout');
  assert.equal(h.results.at(-1)!.outcome, 'timeout');
  const { readFileSync } = await import('node:fs');
  await pidGone(Number(readFileSync(join(dir, 'bg'), 'utf8').trim()), 5000, "the timed-out run's background child to be killed with it");
});

test('through the launcher: closing the runner kills the runs still going (the launcher kills them, then exits)', { timeout: 30_000 }, async () => {
  const bg = join(dir, 'bg-close');
  const h = runner([{ filters: ['user'], script: `sleep 60 & echo $! > ${bg}; wait` }], 'helper', 20_000);
  h.r.dispatch(user('slow', ''));
  const { existsSync, readFileSync } = await import('node:fs');
  const t0 = Date.now();
  while (!(existsSync(bg) && readFileSync(bg, 'utf8').trim() !== '')) {
    assert.ok(Date.now() - t0 < 10_000, 'the run did not start its background sleep within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  h.r.close();
  await pidGone(Number(readFileSync(bg, 'utf8').trim()), 5000, "a run's background child to be killed when the runner closes");
});

test('through the launcher: empty, small and larger-than-a-pipe stdin arrive whole', { timeout: 30_000 }, async () => {
  const h = runner([{ filters: ['user'], script: 'wc -c' }], 'helper');
  const sizes = [0, 10, 70_000];
  for (const [k, n] of sizes.entries()) h.r.dispatch(user('s', 'x'.repeat(n), k + 1));
  await within(h.r.idle(), 15_000, 'the three runs to finish');
  assert.deepEqual(h.results.map((x) => Number(x.stdout.trim())).sort((a, b) => a - b), sizes);
});

test('a job message is laid out as the module comment says, multi-byte strings counted in bytes', () => {
  const env = Object.create({ INHERITED: 'not sent' }) as Record<string, string>;
  env.RUMOR_SELF_NAME = 'nœud-1';
  env.RUMOR_EVENT = 'query';
  const b = encodeJob(7, { file: '/bin/sh', args: ['-c', 'echo é'], env, stdin: enc.encode('données'), stdoutLimit: 1024 });
  assert.equal(b.readUInt32BE(0), b.length - 4, 'length prefix');
  assert.deepEqual([b.readUInt32BE(4), b[8], b.readUInt32BE(9), b.readUInt32BE(13), b.readUInt32BE(17)], [7, 1, 1024, 2, 2]);
  const strings: string[] = [];
  for (let p = 21; p < b.length; ) {
    const n = b.readUInt32BE(p);
    strings.push(b.subarray(p + 4, p + 4 + n).toString('utf8'));
    p += 4 + n;
  }
  assert.deepEqual(strings, ['/bin/sh', '-c', 'echo é', 'RUMOR_SELF_NAME=nœud-1', 'RUMOR_EVENT=query', 'données'], 'file, args, own variables only, stdin');
  const none = encodeJob(1, { file: 'x', args: [], env: {}, stdin: new Uint8Array(0), stdoutLimit: null });
  assert.deepEqual([none[8], none.readUInt32BE(9), none.readUInt32BE(none.length - 4)], [0, 0, 0], 'no capture, empty stdin');
});
