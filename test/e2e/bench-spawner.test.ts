/**
 * bench/support/spawner.ts and its C program (bench/support/spawner.c, dist/bench-spawner): a
 * child started through the spawner gets its arguments and environment, writes to its log,
 * and its exit (code or signal) reaches the `SpawnedProcess` as node's `exit` event does; a
 * program that cannot be started rejects with the reason; the spawner's timestamps bracket the
 * request; when the spawner's stdin ends (its client closed or exited), the children still
 * running are killed; `stopAll` (src/cli/cluster.ts) stops spawned children as it stops its own.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAll } from '../../src/cli/cluster.js';
import { Spawner, spawnerPath, type SpawnedProcess } from '../../bench/support/spawner.js';
import { pidAlive, pidGone } from '../support/wait.js';

const SOURCE = new URL('../../bench/support/spawner.c', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-spawner-'));
let spawner: Spawner;

before(() => {
  const bin = spawnerPath();
  if (bin === undefined || statSync(bin).mtimeMs < statSync(SOURCE).mtimeMs) {
    const r = spawnSync(process.execPath, [new URL('../../scripts/build-launcher.mjs', import.meta.url).pathname, '--require'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `dist/bench-spawner could not be built: ${r.stderr}`);
  }
  spawner = new Spawner(spawnerPath()!);
});
after(() => spawner.close());

const exitOf = (p: SpawnedProcess, ms: number): Promise<[number | null, string | null]> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`pid ${p.pid} did not exit within ${ms} ms`)), ms);
    if (p.exitCode !== null || p.signalCode !== null) {
      clearTimeout(t);
      return resolve([p.exitCode, p.signalCode]);
    }
    p.once('exit', (code: number | null, sig: string | null) => {
      clearTimeout(t);
      resolve([code, sig]);
    });
  });

test('a spawned child gets its arguments, environment and log; its exit code arrives as an exit event', async () => {
  const log = join(dir, 'a.log');
  const before = Date.now();
  const p = await spawner.spawn({ file: 'sh', args: ['-c', 'echo "$1 $FOO"; echo err >&2; exit 3', 'sh', 'one two'], env: { FOO: 'bar', PATH: process.env.PATH, GONE: undefined }, logFile: log });
  assert.ok(p.pid > 0);
  assert.ok(p.spawnedAt >= before - 50 && p.spawnReturnedAt >= p.spawnedAt && p.spawnReturnedAt <= Date.now() + 50, `spawn times ${p.spawnedAt}..${p.spawnReturnedAt} outside ${before}..${Date.now()}`);
  assert.deepEqual(await exitOf(p, 10_000), [3, null]);
  assert.equal(readFileSync(log, 'utf8'), 'one two bar\nerr\n');
  assert.equal(p.kill(), false, 'kill after the exit must not signal a reused pid');
});

test('a signal ends the child: signalCode is the signal name; the child has a session of its own', async () => {
  const p = await spawner.spawn({ file: '/bin/sleep', args: ['30'], env: {}, logFile: join(dir, 'b.log') });
  const sid = readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1].split(' ')[3];
  assert.equal(Number(sid), p.pid, 'the child should lead its own session (as detached: true)');
  assert.equal(p.kill('SIGTERM'), true);
  assert.deepEqual(await exitOf(p, 10_000), [null, 'SIGTERM']);
});

test('a program that does not exist: the spawn rejects with ENOENT, and the spawner keeps working', async () => {
  await assert.rejects(spawner.spawn({ file: join(dir, 'no-such-program'), args: [], env: {} }), /ENOENT/);
  const p = await spawner.spawn({ file: 'true', args: [], env: { PATH: process.env.PATH } });
  assert.deepEqual(await exitOf(p, 10_000), [0, null]);
});

test('stopAll stops spawned children', async () => {
  const ps = await Promise.all([1, 2, 3].map(() => spawner.spawn({ file: '/bin/sleep', args: ['30'], env: {} })));
  assert.deepEqual(await stopAll(ps, 5000), ['SIGTERM', 'SIGTERM', 'SIGTERM']);
});

test('when the client closes the spawner, the children still running are killed', async () => {
  const s = new Spawner(spawnerPath()!);
  const p = await s.spawn({ file: '/bin/sleep', args: ['30'], env: {} });
  assert.ok(pidAlive(p.pid));
  s.close();
  await pidGone(p.pid, 10_000, "the spawner's child killed once the spawner's stdin ended");
});

test('when the spawner itself dies, its children are watched by pid: their end still arrives as an exit event', async () => {
  const s = new Spawner(spawnerPath()!);
  const p = await s.spawn({ file: '/bin/sleep', args: ['30'], env: {} });
  process.kill(s.pid!, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(pidAlive(p.pid), 'the child outlives a SIGKILLed spawner (nothing was left to kill it)');
  p.kill('SIGKILL');
  assert.deepEqual(await exitOf(p, 10_000), [null, 'SIGKILL']);
});
