import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandOf, HandlerRunner, matchesFilter, WARM_UP_RUNS, WARM_UP_RUNS_LAUNCHER, type HandlerResult } from '../../src/agent/handlers.js';
import { createLogger } from '../../src/agent/log.js';
import type { EventHandlerSpec } from '../../src/agent/config.js';
import { pidGone, within } from '../support/wait.js';

type RunnerOpts = { timeoutMs?: number; concurrency?: number; queueSize?: number; captureStdout?: boolean; scratchDir?: string };

const opened: HandlerRunner[] = [];

/** Wait, bounded, until `r` has no run queued or running. */
function idle(r: HandlerRunner): Promise<void> {
  return within(r.idle(), 15_000, 'every queued and running handler to finish');
}
after(() => opened.forEach((r) => r.close()));

async function warmRunner(handlers: EventHandlerSpec[], opts: RunnerOpts) {
  const h = runner(handlers, opts);
  opened.push(h.r);
  return h;
}

function runner(handlers: EventHandlerSpec[], opts: RunnerOpts = {}) {
  const results: HandlerResult[] = [];
  const lines: string[] = [];
  let dropped = 0;
  const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (s: string) => lines.push(s) } });
  const r = new HandlerRunner({
    handlers,
    self: () => ({ name: 'n1', addr: '127.0.0.1:7946', tags: { role: 'web', 'dc-zone': 'eu' } }),
    timeoutMs: opts.timeoutMs ?? 5000,
    concurrency: opts.concurrency ?? 4,
    queueSize: opts.queueSize ?? 16,
    logger,
    onResult: (x) => results.push(x),
    onDropped: () => dropped++,
    captureStdout: opts.captureStdout,
    scratchDir: opts.scratchDir,
  });
  return { r, results, lines, dropped: () => dropped };
}

const member = { name: 'n2', addr: '127.0.0.1:7947', status: 'alive' as const, incarnation: 1, tags: { role: 'db', x: 'y' }, updatedAt: 0 };

test('filters like Serf', () => {
  assert.equal(matchesFilter('*', 'member-join'), true);
  assert.equal(matchesFilter('user', 'user', 'deploy'), true);
  assert.equal(matchesFilter('user:deploy', 'user', 'deploy'), true);
  assert.equal(matchesFilter('user:deploy', 'user', 'other'), false);
  assert.equal(matchesFilter('member-join', 'member-leave'), false);
});

test(`env and stdin of a user event and a member event`, async () => {
  const h = await warmRunner([
    { filters: ['user:deploy'], script: 'printf "%s|%s|%s|%s|%s|%s|" "$RUMOR_EVENT" "$RUMOR_USER_EVENT" "$RUMOR_SELF_NAME" "$RUMOR_SELF_ADDR" "$RUMOR_TAG_ROLE" "$RUMOR_TAG_DC_ZONE"; cat' },
    { filters: ['member-join'], script: 'echo "$RUMOR_EVENT"; cat' },
  ], {});
  h.r.dispatch({ type: 'user', id: 'x', name: 'deploy', payload: new TextEncoder().encode('v1.2'), origin: 'o:1', ltime: 3 });
  h.r.dispatch({ type: 'user', id: 'y', name: 'other', payload: new Uint8Array(), origin: 'o:1', ltime: 4 });
  h.r.dispatch({ type: 'member-join', members: [member] });
  await idle(h.r);
  const byEvent = new Map(h.results.map((x) => [x.event, x]));
  assert.equal(h.results.length, 2);
  assert.equal(byEvent.get('user')!.stdout, 'user|deploy|n1|127.0.0.1:7946|web|eu|v1.2');
  assert.equal(byEvent.get('member-join')!.stdout, 'member-join\nn2\t127.0.0.1:7947\talive\trole=db,x=y\n');
  assert.ok(h.results.every((x) => x.outcome === 'ok'));
});

test(`captureStdout false: stdout goes nowhere, stdin and stderr still work`, async () => {
  const h = await warmRunner([{ filters: ['user'], script: 'cat; cat >&2 <<EOF\nerr\nEOF\nexit 3' }], { captureStdout: false });
  h.r.dispatch({ type: 'user', id: 'x', name: 'deploy', payload: new TextEncoder().encode('payload'), origin: 'o:1', ltime: 1 });
  await idle(h.r);
  assert.deepEqual(h.results.map((x) => [x.outcome, x.code, x.stdout, x.stderr]), [['exit', 3, '', 'err\n']]);
});

test(`timeout kills the script (and its children); failure is logged`, async () => {
  // The script starts a background child and records both pids, then waits forever.
  const pids = join(mkdtempSync(join(tmpdir(), 'rumor-h-')), 'pids');
  const h = await warmRunner([{ filters: ['*'], script: `sleep 60 & echo $! > ${pids}.tmp; echo $$ >> ${pids}.tmp; mv ${pids}.tmp ${pids}; wait; echo never` }], { timeoutMs: 1500 });
  h.r.dispatch({ type: 'member-failed', members: [member] });
  await within(h.r.idle(), 10_000, 'the runner to report the timed-out run');
  assert.equal(h.results.length, 1);
  assert.equal(h.results[0].outcome, 'timeout');
  assert.equal(h.results[0].stdout, '');
  assert.ok(h.lines.some((l) => l.includes('event handler timed out')));
  assert.ok(existsSync(pids), 'the script wrote its pids within the 1.5 s timeout');
  const [child, shell] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  assert.ok(child > 0 && shell > 0 && child !== shell, `pids ${child}, ${shell}`);
  await pidGone(shell, 5000, 'the timed-out script to be gone');
  await pidGone(child, 5000, "the timed-out script's background child to be killed with it");
});

test(`non-zero exit is a logged failure, never a crash`, async () => {
  const h = await warmRunner([{ filters: ['*'], script: 'echo oops >&2; exit 3' }], {});
  h.r.dispatch({ type: 'member-leave', members: [member] });
  await idle(h.r);
  assert.deepEqual([h.results[0].outcome, h.results[0].code, h.results[0].stderr], ['exit', 3, 'oops\n']);
  const line = JSON.parse(h.lines.find((l) => l.includes('event handler failed'))!) as Record<string, unknown>;
  assert.equal(line.code, 3);
  assert.equal(line.stderr, 'oops');
});

test(`concurrency bound and bounded queue: overflow dropped and counted`, async () => {
  // Each run appends "start" then "end" to a shared file; with concurrency 2 at most 2 overlap.
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const f = join(mkdtempSync(join(tmpdir(), 'rumor-h-')), 'log');
  const h = await warmRunner([{ filters: ['*'], script: `echo s >> ${f}; sleep 0.2; echo e >> ${f}` }], { concurrency: 2, queueSize: 3 });
  for (let i = 0; i < 8; i++) h.r.dispatch({ type: 'member-update', members: [member] });
  assert.equal(h.dropped(), 3, '2 running + 3 queued, 3 dropped');
  await idle(h.r);
  assert.equal(h.results.length, 5);
  let live = 0;
  let peak = 0;
  for (const c of readFileSync(f, 'utf8').trim().split('\n')) {
    live += c === 's' ? 1 : -1;
    peak = Math.max(peak, live);
  }
  assert.equal(peak, 2);
});

test(`a plain path runs without a shell; anything else with /bin/sh -c`, async () => {
  assert.deepEqual(commandOf('/usr/local/bin/on-deploy.sh'), ['/usr/local/bin/on-deploy.sh', []]);
  assert.deepEqual(commandOf('./h_1-2.sh'), ['./h_1-2.sh', []]);
  assert.deepEqual(commandOf('./x.sh arg'), ['/bin/sh', ['-c', './x.sh arg']]);
  assert.deepEqual(commandOf('~/x.sh'), ['/bin/sh', ['-c', '~/x.sh']]);
  assert.deepEqual(commandOf('$HOME/x.sh'), ['/bin/sh', ['-c', '$HOME/x.sh']]);
  assert.deepEqual(commandOf('true'), ['/bin/sh', ['-c', 'true']], 'no slash: a shell word (builtins, PATH)');
  const dir = mkdtempSync(join(tmpdir(), 'rumor-direct-'));
  const withShebang = join(dir, 'a.sh');
  writeFileSync(withShebang, '#!/bin/sh\nprintf "%s:" "$RUMOR_EVENT" "$0"; cat\n');
  chmodSync(withShebang, 0o755);
  const noShebang = join(dir, 'b');
  writeFileSync(noShebang, 'printf "plain:"; cat\n');
  chmodSync(noShebang, 0o755);
  const notExec = join(dir, 'c.sh');
  writeFileSync(notExec, 'echo never\n');
  const h = await warmRunner([{ filters: ['user'], script: withShebang }, { filters: ['member-join'], script: noShebang }, { filters: ['member-leave'], script: notExec }], {});
  h.r.dispatch({ type: 'user', id: 'x', name: 'deploy', payload: new TextEncoder().encode('v2'), origin: 'o:1', ltime: 1 });
  h.r.dispatch({ type: 'member-join', members: [member] });
  h.r.dispatch({ type: 'member-leave', members: [member] });
  await idle(h.r);
  const by = new Map(h.results.map((x) => [x.event, x]));
  assert.equal(by.get('user')!.stdout, `user:${withShebang}:v2`, '$0 is the script itself: no sh -c in between');
  assert.equal(by.get('member-join')!.stdout, 'plain:n2\t127.0.0.1:7947\talive\trole=db,x=y\n', 'no #! line: run by /bin/sh');
  assert.deepEqual([by.get('member-leave')!.outcome, by.get('member-leave')!.stderr], ['spawn', `cannot run ${notExec}: permission denied (not executable?)`]);
});

test('warmUp: uncounted, unreported no-op runs when handlers exist (WARM_UP_RUNS_LAUNCHER through the launcher, WARM_UP_RUNS spawned directly); none otherwise', async () => {
  let starts = 0;
  const h = runner([{ filters: ['user'], script: 'cat' }]);
  const warmOnly = (launcher: 'helper' | 'direct'): HandlerRunner =>
    new HandlerRunner({
      handlers: [{ filters: ['user'], script: 'cat' }],
      self: () => ({ name: 'n1', addr: 'a:1', tags: {} }),
      timeoutMs: 5000,
      concurrency: 1,
      queueSize: 4,
      logger: createLogger({ level: 'error', format: 'json', destination: { write: () => {} } }),
      onStart: () => starts++,
      onResult: () => assert.fail('a warm-up run was reported'),
      launcher,
    });
  assert.ok(WARM_UP_RUNS >= 3 && WARM_UP_RUNS_LAUNCHER >= 2);
  for (const [launcher, runs] of [['helper', WARM_UP_RUNS_LAUNCHER], ['direct', WARM_UP_RUNS]] as const) {
    const r = warmOnly(launcher);
    assert.equal(await r.warmUp(), runs, launcher);
    assert.equal(starts, 0);
    r.close();
  }
  // A real event after the warm-up runs and is reported as usual.
  h.r.dispatch({ type: 'user', id: 'x', name: 'e', payload: new TextEncoder().encode('p'), origin: 'o:1', ltime: 1 });
  assert.equal(await h.r.warmUp(), WARM_UP_RUNS_LAUNCHER);
  await idle(h.r);
  assert.deepEqual(h.results.map((x) => [x.outcome, x.stdout]), [['ok', 'p']]);
  const none = runner([]);
  assert.equal(await none.r.warmUp(), 0);
});

test('stderr: kept to its first 4096 bytes, also from a run that succeeds; no file descriptor left open', async () => {
  const fds = (): number => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
  const h = await warmRunner([
    { filters: ['member-join'], script: 'head -c 10000 /dev/zero | tr "\\0" x >&2; exit 1' },
    { filters: ['member-leave'], script: 'echo note >&2' },
  ], { captureStdout: false });
  await h.r.warmUp();
  const before = fds();
  for (let i = 0; i < 5; i++) h.r.dispatch({ type: 'member-join', members: [member] });
  h.r.dispatch({ type: 'member-leave', members: [member] });
  await idle(h.r);
  const joins = h.results.filter((x) => x.event === 'member-join');
  assert.deepEqual(joins.map((x) => [x.outcome, x.stderr]), Array.from({ length: 5 }, () => ['exit', 'x'.repeat(4096)]));
  assert.deepEqual(h.results.filter((x) => x.event === 'member-leave').map((x) => [x.outcome, x.stderr]), [['ok', 'note\n']]);
  assert.equal(fds(), before, 'every scratch file and pipe closed');
});

test('stdin without a usable scratch directory: a pipe, same results', async () => {
  const h = await warmRunner([{ filters: ['*'], script: 'cat >&2; exit 2' }], { scratchDir: join(tmpdir(), 'rumor-no-such-dir', 'x') });
  h.r.dispatch({ type: 'user', id: 'x', name: 'e', payload: new TextEncoder().encode('via pipe'), origin: 'o:1', ltime: 1 });
  await idle(h.r);
  assert.deepEqual(h.results.map((x) => [x.outcome, x.code, x.stderr]), [['exit', 2, 'via pipe']]);
});

test('a variable spawn refuses (NUL byte in an event name): a failed run, not a crash', async () => {
  const h = await warmRunner([{ filters: ['user'], script: 'cat' }], {});
  h.r.dispatch({ type: 'user', id: 'x', name: 'a\u0000b', payload: new Uint8Array(), origin: 'o:1', ltime: 1 });
  h.r.dispatch({ type: 'user', id: 'y', name: 'fine', payload: new TextEncoder().encode('after'), origin: 'o:1', ltime: 2 });
  await idle(h.r);
  assert.deepEqual(h.results.map((x) => [x.outcome, x.stdout]), [['spawn', ''], ['ok', 'after']]);
  assert.match(h.results[0].stderr, /null bytes/);
  assert.ok(h.lines.some((l) => l.includes('event handler failed')));
});

test('stdin: a payload larger than a pipe buffer arrives whole, from its first byte', async () => {
  const h = await warmRunner([{ filters: ['user'], script: 'cat | wc -c' }], {});
  const payload = new Uint8Array(200_000).fill(0x61);
  payload.set([0x62, 0x63], 0);
  h.r.dispatch({ type: 'user', id: 'x', name: 'big', payload, origin: 'o:1', ltime: 1 });
  await idle(h.r);
  assert.deepEqual(h.results.map((x) => [x.outcome, x.stdout.trim()]), [['ok', '200000']]);
  const again = await warmRunner([{ filters: ['user'], script: 'head -c 3' }], {});
  again.r.dispatch({ type: 'user', id: 'x', name: 'big', payload, origin: 'o:1', ltime: 1 });
  await idle(again.r);
  assert.deepEqual(again.results.map((x) => x.stdout), ['bca']);
});
