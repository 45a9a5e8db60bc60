/**
 * The benchmarks' detection of a start and of a join's end (bench/cluster.ts `--poll log`):
 * support/ports.ts `startOnFreePorts` with `readyLine` asks an agent nothing until its own
 * log, from where it stood at the spawn, holds its ready line, then asks once; one that never
 * prints it times out with a message that names the line and the log's last line; one that
 * loses a port race before its line is started again. support/wait.ts `untilEachHolds` asks
 * only the targets not yet holding, confirms with one round over all, and goes on with any
 * that regressed. `ReadyWatcher` (support/ready-watch.ts, a process of its own) does the same
 * watch and the one members query for bench:cluster, and reports its times and the agent's CPU.
 * The agents here are small `node -e` scripts (fake agents): what is tested
 * is the detection, not an agent.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdtempSync, openSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadyWatcher, startOnFreePorts } from '../../bench/support/ports.js';
import { untilEachHolds } from '../../bench/support/wait.js';
import { freePorts } from '../../src/cli/cluster.js';

const children: ChildProcess[] = [];
let watcher: ReadyWatcher | undefined;
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  watcher?.close();
});

/** A fake agent: runs `code` (node) with stdout and stderr appended to `log`. */
function fake(log: string, code: string): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', fd, fd] });
    children.push(c);
    return c;
  } finally {
    closeSync(fd);
  }
}

/** Resolves when something listens on `port` (one connection attempt); rejects otherwise. */
function connects(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

const READY = /^fake agent \S+ running: /;

test('readyLine: an agent that prints its line late is asked once, after the line (an older line in its log does not count)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-detect-'));
  const log = join(dir, 'late.log');
  // A line left by an earlier run in the same (appended) log must not count for this spawn.
  appendFileSync(log, 'fake agent old running: from before\n');
  const [port] = await freePorts(1);
  const code = `const s = require('net').createServer(); console.log('starting');
    setTimeout(() => s.listen(${port}, '127.0.0.1', () => console.log('fake agent late running: API ${port}')), 400);`;
  let asked = 0;
  const r = await startOnFreePorts({
    what: 'fake late',
    spawn: () => fake(log, code),
    up: async () => {
      asked++;
      await connects(port);
    },
    reassign: () => Promise.reject(new Error('reassign must not be called')),
    logFile: log,
    timeoutMs: 20_000,
    readyLine: READY,
  });
  assert.equal(r.type, 'up', r.type === 'timeout' ? r.reason : '');
  assert.equal(asked, 1, `expected one request after the line, got ${asked}`);
  assert.equal(r.requests, 1);
  assert.equal(r.attempts, 1);
  assert.ok(r.type === 'up' && r.lineAt !== undefined && r.lineAt - r.t0 >= 400, `the line was seen ${r.type === 'up' ? r.lineAt! - r.t0 : NaN} ms after the spawn, before the fake printed it`);
  assert.deepEqual(r.notes, []);
});

test('readyLine: an agent that never prints its line times out with a message naming the line and the log; it is never asked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-detect-'));
  const log = join(dir, 'silent.log');
  let asked = 0;
  const r = await startOnFreePorts({
    what: 'fake silent',
    spawn: () => fake(log, `console.log('starting, but never ready'); setInterval(() => {}, 1000);`),
    up: async () => {
      asked++;
    },
    reassign: () => Promise.reject(new Error('reassign must not be called')),
    logFile: log,
    timeoutMs: 1500,
    readyLine: READY,
  });
  assert.equal(r.type, 'timeout');
  assert.ok(r.type === 'timeout');
  assert.match(r.reason, /did not print a line matching \/\^fake agent .* within 1\.5 s \(log .*silent\.log, last line: starting, but never ready\)/);
  assert.equal(asked, 0);
  assert.equal(r.requests, 0);
});

test('readyLine: an agent that exits on a taken port before its line is started again; the new attempt is asked once its line is out', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-detect-'));
  const log = join(dir, 'race.log');
  const [port] = await freePorts(1);
  let spawns = 0;
  let reassigned = 0;
  const r = await startOnFreePorts({
    what: 'fake race',
    spawn: () =>
      ++spawns === 1
        ? fake(log, `console.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:1'); process.exit(1);`)
        : fake(log, `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('fake agent race running: API ${port}'));`),
    up: () => connects(port),
    reassign: async () => {
      reassigned++;
    },
    logFile: log,
    timeoutMs: 20_000,
    readyLine: READY,
  });
  assert.equal(r.type, 'up', r.type === 'timeout' ? r.reason : '');
  assert.equal(spawns, 2);
  assert.equal(reassigned, 1);
  assert.equal(r.attempts, 2);
  assert.equal(r.requests, 1, 'the attempt that exited was asked nothing');
  assert.match(r.notes[0], /EADDRINUSE/);
});

test('readyLine: an agent that exits for another reason before its line is not retried; the error quotes its log', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-detect-'));
  const log = join(dir, 'bad.log');
  await assert.rejects(
    startOnFreePorts({
      what: 'fake bad',
      spawn: () => fake(log, `console.error('error: unknown profile "nope"'); process.exit(2);`),
      up: () => Promise.reject(new Error('never asked')),
      reassign: () => Promise.reject(new Error('reassign must not be called')),
      logFile: log,
      timeoutMs: 20_000,
      readyLine: READY,
    }),
    /fake bad exited \(exit 2\) before answering: error: unknown profile "nope"/,
  );
});

test('untilEachHolds: asks only the targets not yet holding, confirms over all, and goes on with one that regressed', async () => {
  // Per target, what its k-th answer is (k from 0; past the end: the last one).
  const script: boolean[][] = [
    [true], // holds from its first answer
    [false, false, true], // from its third
    [true, false, true], // holds, then not at the confirming round, then again
  ];
  const asked = [0, 0, 0];
  let t = 0;
  const r = await untilEachHolds(
    [0, 1, 2],
    async (i) => {
      const k = asked[i]++;
      return script[i][Math.min(k, script[i].length - 1)];
    },
    (v) => v,
    { timeoutMs: 10_000, everyMs: 1, clock: () => ++t },
  );
  assert.ok(r !== undefined, 'untilEachHolds gave up');
  // Rounds: {0,1,2} -> 1 missing; {1}; {1} holds; confirm {0,1,2}: 2 regressed; {2} holds; confirm {0,1,2}.
  assert.deepEqual(r.requests, [3, 5, 4]);
  assert.deepEqual(asked, [3, 5, 4]);
  assert.equal(r.regressions, 1);
  // The clock ticks at each holding answer: 0, 2 (round 1); 1 (round 3); 0, 1 (confirm 1); 2 (t = 6); then the last confirm.
  assert.equal(r.at, 6, 'the end is when the last target was seen holding before the final confirming round');
});

test('untilEachHolds: a target that rejects counts as not yet; one that never holds gives undefined at the deadline', async () => {
  let calls = 0;
  const r = await untilEachHolds(
    [0, 1],
    async (i) => {
      calls++;
      if (i === 1) throw new Error('refused');
      return true;
    },
    (v) => v,
    { timeoutMs: 300, everyMs: 20, clock: () => performance.now() },
  );
  assert.equal(r, undefined);
  assert.ok(calls >= 3, `expected target 1 asked again after its rejection, ${calls} calls in all`);
});

/** The file's one watcher process, started by the first test that needs it (closed in `after`). */
async function sharedWatcher(): Promise<ReadyWatcher> {
  watcher ??= new ReadyWatcher();
  await watcher.ready;
  return watcher;
}

/** A fake rumor agent's API: `GET /v1/members` answers 200 once it listens on `port`, after `delayMs`, then prints its line. */
const fakeApi = (port: number, delayMs: number): string =>
  `const s = require('http').createServer((q, r) => { r.end('{"members":[]}'); }); console.log('starting');
   setTimeout(() => s.listen(${port}, '127.0.0.1', () => console.log('fake agent w running: API ${port}')), ${delayMs});`;

test('ReadyWatcher: a late line is seen from the log past its size at the spawn, then one members query answers; times and CPU come back', async () => {
  const w = await sharedWatcher();
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-detect-'));
  const log = join(dir, 'w.log');
  appendFileSync(log, 'fake agent old running: from before\n');
  const [port] = await freePorts(1);
  const r = await startOnFreePorts({
    what: 'fake watched',
    spawn: () => fake(log, fakeApi(port, 400)),
    up: () => Promise.reject(new Error('up must not be called with a watcher')),
    reassign: () => Promise.reject(new Error('reassign must not be called')),
    logFile: log,
    timeoutMs: 20_000,
    watch: (c, from) => w.watch({ pid: c.pid!, log, from, line: READY, sys: 'rumor', port, timeoutMs: 20_000, everyMs: 10 }),
  });
  assert.equal(r.type, 'up', r.type === 'timeout' ? r.reason : '');
  assert.ok(r.type === 'up' && r.watched !== undefined);
  const m = r.watched;
  assert.equal(m.tries, 1, 'the API listens before the line: one query answers');
  assert.ok(m.lineAt - r.t0 >= 400, `the line was seen ${m.lineAt - r.t0} ms after the spawn, before the fake printed it`);
  assert.ok(m.answeredAt >= m.lineAt);
  assert.ok(m.cpuMs > 0 && m.cpuMs >= m.cpuAtLineMs, `CPU at the answer ${m.cpuMs}, at the line ${m.cpuAtLineMs}`);
  assert.equal(r.requests, 1);
});

test('ReadyWatcher: an agent that never prints its line gives a timeout naming the line; one that exits on a taken port is started again', async () => {
  const w = await sharedWatcher();
  const dir = mkdtempSync(join(tmpdir(), 'rumor-bench-detect-'));
  const silent = join(dir, 'silent.log');
  const [port] = await freePorts(1);
  const t = await startOnFreePorts({
    what: 'fake silent',
    spawn: () => fake(silent, `setInterval(() => {}, 1000);`),
    up: () => Promise.reject(new Error('never')),
    reassign: () => Promise.reject(new Error('reassign must not be called')),
    logFile: silent,
    timeoutMs: 1500,
    watch: (c, from) => w.watch({ pid: c.pid!, log: silent, from, line: READY, sys: 'rumor', port, timeoutMs: 1500, everyMs: 10 }),
  });
  assert.equal(t.type, 'timeout');
  assert.ok(t.type === 'timeout');
  assert.match(t.reason, /did not print a line matching \/\^fake agent .* within 1\.5 s/);

  const race = join(dir, 'race.log');
  let spawns = 0;
  const r = await startOnFreePorts({
    what: 'fake race',
    spawn: () => (++spawns === 1 ? fake(race, `console.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:1'); process.exit(1);`) : fake(race, fakeApi(port, 0))),
    up: () => Promise.reject(new Error('never')),
    reassign: async () => undefined,
    logFile: race,
    timeoutMs: 20_000,
    watch: (c, from) => w.watch({ pid: c.pid!, log: race, from, line: READY, sys: 'rumor', port, timeoutMs: 20_000, everyMs: 10 }),
  });
  assert.equal(r.type, 'up', r.type === 'timeout' ? r.reason : '');
  assert.equal(r.attempts, 2);
  assert.match(r.notes[0], /EADDRINUSE/);
});
