// Runs every test file under test/ with Node's own test runner (TypeScript through tsx), one
// process per file, two files at a time, and prints a summary.
//
// Usage: node scripts/test.mjs [filter...]   (filters match substrings of the file path)
//
// Bounds: every test and hook has a default timeout (test/support/default-timeout.mjs,
// RUMOR_TEST_TIMEOUT_MS, default 120 s) unless it sets its own; every file is killed (with its
// process group) after RUMOR_TEST_FILE_TIMEOUT_MS (default 400 s) and counted as a failure.
//
// A skip is not a pass: a skipped or todo test counts as *failed* unless RUMOR_TEST_ALLOW_SKIP=1
// (tests whose requirements are missing fail with the reason, see test/support/requirement.ts).
// With RUMOR_TEST_ALLOW_SKIP=1 they count as skipped and the summary lists each by name.
//
// Results come from the reporter (scripts/test-reporter.mjs, one JSON line per result), not
// from parsing text. The summary lists the failed and skipped tests by name and the slowest
// files; its last line is exactly `N passed, N failed, N skipped` (CI reads it). Exit status
// 0 only when nothing failed.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { ensureBuilt } from './ensure-built.mjs';

const ALLOW_SKIP = process.env.RUMOR_TEST_ALLOW_SKIP === '1';
const CONCURRENCY = positive('RUMOR_TEST_CONCURRENCY', 2);
const FILE_TIMEOUT_MS = positive('RUMOR_TEST_FILE_TIMEOUT_MS', 400_000);
positive('RUMOR_TEST_TIMEOUT_MS', 120_000); // validated here, applied by the preload
// By URL, so the runner works from any directory holding a test/ folder (its own test does that).
const PRELOAD = new URL('../test/support/default-timeout.mjs', import.meta.url).href;
const REPORTER = new URL('./test-reporter.mjs', import.meta.url).href;

function positive(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`test: ${name}: expected a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The web tests (and the agent's dashboard test, which serves /ui) need the built app; build
// it once here (only when missing or stale) so two test files running in parallel never race
// two Vite builds into the same folder.
if (files.some((f) => f.split(/[\\/]/).includes('web') || f.endsWith('agent/dashboard.test.ts'))) {
  const b = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', "await (await import('./src/cli/ui.ts')).ensureWebBuild();"],
    { stdio: 'inherit' },
  );
  if (b.status !== 0) {
    console.error('could not build the web app (see above)');
    process.exit(b.status ?? 1);
  }
}

// The end-to-end tests run the built CLI (dist/, `npm run prepare`); build it once here (only
// when missing or stale) for the same reason. A file needs it when it calls ensureBuilt().
if (files.some((f) => readFileSync(f, 'utf8').includes('ensureBuilt('))) {
  const b = ensureBuilt();
  if (!b.ok) {
    console.error(`could not build the CLI: ${b.reason}`);
    process.exit(1);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'rumor-test-'));
const running = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of running) killGroup(c);
    rmSync(scratch, { recursive: true, force: true });
    process.exit(130);
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** Run one file in its own process (group); resolve with its results and output. */
function runFile(file, index) {
  const results = join(scratch, `${index}.jsonl`);
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', PRELOAD, '--test-force-exit', `--test-reporter=${REPORTER}`, '--test-reporter-destination=stdout', file],
    { env: { ...process.env, RUMOR_TEST_RESULTS: results }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  running.add(child);
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child);
  }, FILE_TIMEOUT_MS);
  return new Promise((resolve) => {
    let exit = null;
    const finish = () => {
      clearTimeout(timer);
      running.delete(child);
      let lines;
      try {
        lines = readFileSync(results, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
      } catch {
        lines = []; // no result written: reported as "no test ran"
      }
      resolve({ file, code: exit?.code ?? null, signal: exit?.signal ?? null, timedOut, out, lines, ms: performance.now() - t0 });
    };
    child.on('close', finish);
    // A leftover grandchild holding the output pipe must not hold the run: 2 s after the
    // file's process exits, whatever is left of its process group is killed.
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      setTimeout(() => {
        if (!running.has(child)) return;
        out += `\n# processes of this file still held its output 2 s after it exited: killed\n`;
        killGroup(child);
      }, 2000).unref();
    });
  });
}

/**
 * The tests of a file from its ordered results: leaves (tests without subtests) count; a
 * suite or parent test counts only when it failed with no failing child (a failed hook).
 */
function testsOf(r) {
  const tests = [];
  const kids = [];
  const kidsFailed = [];
  for (const x of r.lines) {
    const n = x.nesting;
    const hasKids = (kids[n + 1] ?? 0) > 0;
    const failedKids = kidsFailed[n + 1] ?? 0;
    kids.length = n + 1;
    kidsFailed.length = n + 1;
    kids[n] = (kids[n] ?? 0) + 1;
    if (x.status === 'fail') kidsFailed[n] = (kidsFailed[n] ?? 0) + 1;
    const name = [...x.path, x.name].join(' › ');
    if ((!hasKids && !x.suite) || (x.status === 'fail' && failedKids === 0)) tests.push({ ...x, name, file: r.file });
  }
  const problem = (reason) => tests.push({ name: '(the file itself)', file: r.file, status: 'fail', reason, ms: r.ms });
  if (r.timedOut) problem(`killed: the file did not finish within ${FILE_TIMEOUT_MS / 1000} s (RUMOR_TEST_FILE_TIMEOUT_MS)`);
  else if (r.code !== 0 && !tests.some((t) => t.status === 'fail')) problem(`the process exited with ${r.code ?? r.signal} (see its output above)`);
  else if (r.lines.length === 0) problem('no test ran (did the file fail to load?)');
  return tests;
}

const started = performance.now();
const load0 = loadavg();
console.log(`running ${files.length} test files, ${CONCURRENCY} at a time (load average ${load0.map((x) => x.toFixed(2)).join(' ')})`);
const queue = files.map((f, i) => [f, i]);
const done = [];
async function worker() {
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const r = await runFile(...next);
    done.push(r);
    const bad = r.code !== 0 || r.timedOut ? ' ✖' : '';
    process.stdout.write(`\n▶ ${relative('.', r.file)} (${(r.ms / 1000).toFixed(1)} s)${bad}\n${r.out}`);
  }
}
await Promise.all(Array.from({ length: Math.min(CONCURRENCY, files.length) }, worker));
rmSync(scratch, { recursive: true, force: true });

const all = done.flatMap(testsOf);
for (const t of all) {
  if ((t.status === 'skip' || t.status === 'todo') && !ALLOW_SKIP) {
    t.reason = `${t.status === 'skip' ? 'skipped' : 'todo'}${t.reason ? ` (${t.reason})` : ''}, and RUMOR_TEST_ALLOW_SKIP=1 is not set: a skip is not a pass`;
    t.status = 'fail';
  }
}
const passed = all.filter((t) => t.status === 'pass');
const failed = all.filter((t) => t.status === 'fail');
const skipped = all.filter((t) => t.status === 'skip' || t.status === 'todo');
const firstLine = (s) => String(s ?? '').split('\n')[0];

console.log('\n── summary ──');
if (failed.length > 0) {
  console.log(`failed (${failed.length}):`);
  for (const t of failed) console.log(`  ✖ ${t.file} › ${t.name}\n      ${firstLine(t.reason)}`);
}
if (skipped.length > 0) {
  console.log(`skipped (${skipped.length}, allowed by RUMOR_TEST_ALLOW_SKIP=1):`);
  for (const t of skipped) console.log(`  ﹣ ${t.file} › ${t.name}${t.reason ? ` — ${firstLine(t.reason)}` : ''}`);
}
console.log('slowest files:');
for (const r of [...done].sort((a, b) => b.ms - a.ms).slice(0, 8)) console.log(`  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.file}`);
const load1 = loadavg();
console.log(`${files.length} files in ${((performance.now() - started) / 1000).toFixed(1)} s (load average ${load1.map((x) => x.toFixed(2)).join(' ')})`);
console.log(`${passed.length} passed, ${failed.length} failed, ${skipped.length} skipped`);
process.exitCode = failed.length > 0 ? 1 : 0;
