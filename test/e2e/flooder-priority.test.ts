/**
 * bench/support/flooder-priority.ts (the flood benches' `--flooder-priority`): `idle` puts every
 * thread of a running Node process at SCHED_IDLE, the ones it starts afterwards too; `low`
 * renices the main thread only (setpriority(PRIO_PROCESS) on Linux), the reason `idle` is the
 * default; without `chrt` `idle` fails with a one-line reason; a bad flag value exits 2 with
 * the accepted values.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyPriority, idleThreads } from '../../bench/support/flooder-priority.js';
import { requirement } from '../support/requirement.js';

const linux = requirement('Linux /proc and util-linux chrt', process.platform !== 'linux' ? `platform ${process.platform}` : spawnSync('chrt', ['--version']).error ? 'no `chrt` on PATH' : null);
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A Node child that says `ready` once up and starts a worker thread when asked. */
function child(): Promise<ChildProcess> {
  const src = `const { Worker } = require('node:worker_threads');
process.on('message', (m) => { if (m === 'worker') { new Worker('setInterval(() => {}, 1000)', { eval: true }); setTimeout(() => process.send('started'), 200); } });
setInterval(() => {}, 1000); process.send('ready');`;
  const c = spawn(process.execPath, ['-e', src], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(c);
  return reply(c, 'the child started').then(() => c);
}

/** The child's next message, within 10 s. */
function reply(c: ChildProcess, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no reply within 10 s`)), 10_000);
    c.once('message', () => (clearTimeout(t), resolve()));
  });
}

/** Nice value of every thread of `pid` (/proc/<pid>/task/<tid>/stat field 19). */
function nices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((t) => {
    const s = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19 - 3]);
  });
}

test('idle puts every thread at SCHED_IDLE, and threads started later inherit it', { ...linux.options }, async () => {
  linux.check();
  const c = await child();
  const before = idleThreads(c.pid!);
  assert.ok(before !== null && before[1] > 1, `a Node process has helper threads: ${String(before)}`);
  assert.equal(before[0], 0, 'nothing at SCHED_IDLE before');
  assert.deepEqual(applyPriority(c.pid!, 'idle'), { ok: true });
  const [idle, all] = idleThreads(c.pid!)!;
  assert.equal(idle, all, 'every thread at SCHED_IDLE');
  const started = reply(c, 'the worker started');
  c.send('worker');
  await started;
  const [idle2, all2] = idleThreads(c.pid!)!;
  assert.ok(all2 > all, `the worker added threads (${all} → ${all2})`);
  assert.equal(idle2, all2, 'threads started after chrt inherit SCHED_IDLE');
});

test('low renices the main thread only (setpriority on one task): why idle is the default', { ...linux.options }, async () => {
  linux.check();
  const c = await child();
  assert.deepEqual(applyPriority(c.pid!, 'low'), { ok: true });
  const n = nices(c.pid!);
  const main = readdirSync(`/proc/${c.pid!}/task`).indexOf(String(c.pid!));
  assert.equal(n[main], 19, 'the main thread at nice 19');
  assert.ok(
    n.some((x) => x === 0),
    `its other threads keep nice 0: ${n.join(',')}`,
  );
  assert.equal(idleThreads(c.pid!)![0], 0, 'none at SCHED_IDLE');
});

test('idle without chrt: a one-line reason, nothing changed', { ...linux.options }, async () => {
  linux.check();
  const c = await child();
  const dir = mkdtempSync(join(tmpdir(), 'rumor-nochrt-'));
  symlinkSync(process.execPath, join(dir, 'node'));
  const path = process.env.PATH;
  process.env.PATH = dir;
  let r: ReturnType<typeof applyPriority>;
  try {
    r = applyPriority(c.pid!, 'idle');
  } finally {
    process.env.PATH = path;
  }
  assert.equal(r.ok, false);
  assert.ok(!r.ok && /chrt.*not found/.test(r.error) && !r.error.includes('\n'), !r.ok ? r.error : '');
  assert.equal(idleThreads(c.pid!)![0], 0);
});

test('a bad --flooder-priority exits 2 naming the accepted values', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./bench/support/flooder-priority.ts').then((m) => m.flooderPriority(['--flooder-priority', 'nice'], 'bench/flood'))"], { encoding: 'utf8', cwd: new URL('../..', import.meta.url).pathname });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--flooder-priority expects idle, low, normal, got "nice"/);
});
