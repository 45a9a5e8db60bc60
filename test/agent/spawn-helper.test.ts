import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HandlerRunner, type HandlerResult } from '../../src/agent/handlers.js';
import { createLogger } from '../../src/agent/log.js';
import type { EventHandlerSpec } from '../../src/agent/config.js';
import { encodeJob, type LauncherProgram } from '../../src/agent/spawn-helper.js';
import { pidGone, within } from '../support/wait.js';
import { ensureNativeLauncher } from '../support/launcher.js';

const opened: HandlerRunner[] = [];
after(() => opened.forEach((r) => r.close()));

/** Both launchers are tested: the native one (built here when missing or older than its source;
 *  a failed build fails its tests with the compiler's reason) and perl. */
const PROGRAMS = ['native', 'perl'] as const;
before(ensureNativeLauncher);

function runner(handlers: EventHandlerSpec[], launcher: 'helper' | 'direct', timeoutMs = 5000, launcherProgram: LauncherProgram = 'auto') {
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
    launcherProgram,
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

test('both launchers and a direct spawn give the same outcomes, $0, session, environment and stdin', { timeout: 30_000 }, async () => {
  const handlers: EventHandlerSpec[] = [
    { filters: ['user:env'], script: 'printf "%s|%s|%s|" "$RUMOR_EVENT" "$RUMOR_USER_EVENT" "$RUMOR_TAG_ROLE"; cat' },
    { filters: ['user:exit'], script: 'echo oops >&2; exit 3' },
    { filters: ['user:signal'], script: 'kill -TERM $$' },
    { filters: ['user:missing'], script: join(dir, 'no-such-script.sh') },
    { filters: ['user:noexec'], script: script('noexec.sh', '#!/bin/sh\necho x\n', 0o644) },
    { filters: ['user:noshebang'], script: script('noshebang.sh', 'echo "no shebang $RUMOR_USER_EVENT"\n') },
    { filters: ['user:plain'], script: script('plain.sh', '#!/bin/sh\ncat\n') },
    // $0, and whether the run leads its own process group and session (fields 5 and 6 of stat).
    { filters: ['user:who'], script: script('who.sh', '#!/bin/sh\nset -- $(cut -d" " -f5,6 /proc/$$/stat)\necho "${0##*/} pgrp=$(($1 == $$)) sid=$(($2 == $$))"\n') },
  ];
  const outcomes: Record<string, unknown[][]> = {};
  for (const [key, launcher, program] of [['direct', 'direct', 'auto'], ['native', 'helper', 'native'], ['perl', 'helper', 'perl']] as const) {
    const h = runner(handlers, launcher, 5000, program);
    for (const [k, name] of ['env', 'exit', 'signal', 'missing', 'noexec', 'noshebang', 'plain', 'who'].entries()) h.r.dispatch(user(name, `data of ${name}`, k + 1));
    await within(h.r.idle(), 15_000, `the ${key} runs to finish`);
    outcomes[key] = h.results
      .map((x) => [x.script.split('/').pop(), x.outcome, x.code, x.stdout, x.outcome === 'spawn' ? /permission denied|ENOENT|EACCES/.test(x.stderr) : x.stderr])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  }
  assert.equal(outcomes.direct.length, 8);
  assert.deepEqual(outcomes.native, outcomes.direct, 'native launcher');
  assert.deepEqual(outcomes.perl, outcomes.direct, 'perl launcher');
  const env = outcomes.native.find((x) => String(x[0]).startsWith('printf'))!;
  assert.deepEqual(env.slice(1, 4), ['ok', 0, 'user|env|web|data of env']);
  assert.deepEqual(outcomes.native.find((x) => x[0] === 'who.sh')!.slice(1, 4), ['ok', 0, 'who.sh pgrp=1 sid=1\n']);
});

for (const program of PROGRAMS) {
test(`${program} launcher: a run is not a child of the agent; when the launcher dies, runs are spawned directly`, { timeout: 30_000 }, async () => {
  const h = runner([{ filters: ['user'], script: 'echo $PPID' }], 'helper', 5000, program);
  h.r.dispatch(user('a', ''));
  await within(h.r.idle(), 10_000, 'the first run to finish');
  const launcherPid = Number(h.results[0].stdout.trim());
  assert.ok(launcherPid > 0 && launcherPid !== process.pid, `parent ${launcherPid}, agent ${process.pid}`);
  assert.equal(readFileSync(`/proc/${launcherPid}/comm`, 'utf8').trim(), program === 'native' ? 'rumor-launcher' : 'perl', 'the launcher asked for runs');
  process.kill(launcherPid, 'SIGKILL');
  await pidGone(launcherPid, 5000, 'the launcher to be gone');
  await within(new Promise<void>((r) => setTimeout(r, 50)), 1000, 'a moment');
  for (let i = 0; i < 3; i++) h.r.dispatch(user('b', '', i + 2));
  await within(h.r.idle(), 10_000, 'the runs after the launcher died to finish');
  assert.deepEqual(h.results.slice(1).map((x) => [x.outcome, Number(x.stdout.trim()) === process.pid]), [['ok', true], ['ok', true], ['ok', true]]);
  assert.ok(h.lines.some((l) => l.includes('handler launcher unavailable')), 'the fallback is logged');
});

test(`${program} launcher: a query answer is cut at its limit and flagged; a timeout kills the process group`, { timeout: 30_000 }, async () => {
  const h = runner([{ filters: ['query:big'], script: 'head -c 100000 /dev/zero | tr "\\0" y' }, { filters: ['user'], script: 'sleep 60 & echo $! > ' + join(dir, `bg-${program}`) + '; wait' }], 'helper', 1500, program);
  const q = await within(h.r.runQuery({ type: 'query', name: 'big', payload: new Uint8Array(), origin: 'o:1' }, 10), 10_000, 'the query run');
  assert.deepEqual([q.outcome, Buffer.from(q.stdout).toString(), q.truncated], ['ok', 'y'.repeat(10), true]);
  h.r.dispatch(user('slow', ''));
  await within(h.r.idle(), 10_000, 'the slow run to be killed at its timeout');
  assert.equal(h.results.at(-1)!.outcome, 'timeout');
  await pidGone(Number(readFileSync(join(dir, `bg-${program}`), 'utf8').trim()), 5000, "the timed-out run's background child to be killed with it");
});

test(`${program} launcher: closing the runner kills the runs still going (the launcher kills them, then exits)`, { timeout: 30_000 }, async () => {
  const bg = join(dir, `bg-close-${program}`);
  const h = runner([{ filters: ['user'], script: `sleep 60 & echo $! > ${bg}; wait` }], 'helper', 20_000, program);
  h.r.dispatch(user('slow', ''));
  const { existsSync } = await import('node:fs');
  const t0 = Date.now();
  while (!(existsSync(bg) && readFileSync(bg, 'utf8').trim() !== '')) {
    assert.ok(Date.now() - t0 < 10_000, 'the run did not start its background sleep within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  h.r.close();
  await pidGone(Number(readFileSync(bg, 'utf8').trim()), 5000, "a run's background child to be killed when the runner closes");
});

test(`${program} launcher: a run's output is read whole (kept to its limit) whether its pipes close at its exit, after it (a background child holds them), or fill up before it`, { timeout: 30_000 }, async () => {
  const h = runner(
    [
      { filters: ['user:late'], script: '(sleep 0.3; echo late) & echo early' },
      { filters: ['user:full'], script: 'head -c 150000 /dev/zero | tr "\\0" y; echo done >&2' },
      { filters: ['user:quick'], script: 'echo quick' },
    ],
    'helper',
    5000,
    program,
  );
  for (const [k, name] of ['late', 'full', 'quick'].entries()) h.r.dispatch(user(name, '', k + 1));
  await within(h.r.idle(), 10_000, 'the three runs to finish');
  const got = h.results.map((x) => [x.outcome, x.stdout, x.stderr]).sort();
  assert.deepEqual(got, [['ok', 'early\nlate\n', ''], ['ok', 'quick\n', ''], ['ok', 'y'.repeat(4096), 'done\n']].sort());
});

test(`${program} launcher: empty, small and larger-than-a-pipe stdin arrive whole`, { timeout: 30_000 }, async () => {
  const h = runner([{ filters: ['user'], script: 'wc -c' }], 'helper', 5000, program);
  const sizes = [0, 10, 70_000];
  for (const [k, n] of sizes.entries()) h.r.dispatch(user('s', 'x'.repeat(n), k + 1));
  await within(h.r.idle(), 15_000, 'the three runs to finish');
  assert.deepEqual(h.results.map((x) => Number(x.stdout.trim())).sort((a, b) => a - b), sizes);
});
}

test('auto: a native launcher that cannot run is replaced by perl (the run handed to it is spawned directly)', { timeout: 30_000 }, async () => {
  const results: HandlerResult[] = [];
  const lines: string[] = [];
  const r = new HandlerRunner({
    handlers: [{ filters: ['user'], script: 'echo $PPID' }],
    self: () => ({ name: 'n1', addr: '127.0.0.1:7946', tags: {} }),
    timeoutMs: 5000,
    concurrency: 1,
    queueSize: 16,
    logger: createLogger({ level: 'warn', format: 'json', destination: { write: (s: string) => lines.push(s) } }),
    onResult: (x) => results.push(x),
    nativeLauncherPath: join(dir, 'no-such-launcher'),
  });
  opened.push(r);
  for (let i = 0; i < 3; i++) r.dispatch(user('a', '', i + 1));
  await within(r.idle(), 10_000, 'the three runs to finish');
  const parents = results.map((x) => Number(x.stdout.trim()));
  assert.deepEqual(results.map((x) => x.outcome), ['ok', 'ok', 'ok']);
  assert.equal(parents[0], process.pid, 'the run handed to the native launcher is spawned by the agent');
  assert.deepEqual(parents.slice(1).map((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim()), ['perl', 'perl'], 'the next runs start through perl');
  assert.ok(lines.some((l) => l.includes('native handler launcher cannot run here')), 'the switch is logged');
});

test('auto picks the native launcher when it was built', { timeout: 30_000 }, async () => {
  const h = runner([{ filters: ['user'], script: 'echo $PPID' }], 'helper');
  h.r.dispatch(user('a', ''));
  await within(h.r.idle(), 10_000, 'the run to finish');
  assert.equal(readFileSync(`/proc/${Number(h.results[0].stdout.trim())}/comm`, 'utf8').trim(), 'rumor-launcher');
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
