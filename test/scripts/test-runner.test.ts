// scripts/test.mjs itself, run on fixture test files in a temporary directory: a skip is not
// a pass (skipped and todo tests fail unless RUMOR_TEST_ALLOW_SKIP=1, then they are listed by
// name), a requirement that is missing fails its tests with the reason, a hanging test hits the
// default timeout, a hanging or broken file is a failure, and the last line is exactly
// `N passed, N failed, N skipped`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { packageRoot } from '../../src/cli/ui.js';
import { exitWithin } from '../support/wait.js';

const ROOT = packageRoot();
const REQUIREMENT = join(ROOT, 'test', 'support', 'requirement.ts');

/** An ES-module package with `node_modules` (linked) and `test/<name>` = contents for each file. */
function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-runner-'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(dir, 'test'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'test', name), text);
  return dir;
}

async function runner(dir: string, env: NodeJS.ProcessEnv): Promise<{ code: number | string; out: string; last: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'test.mjs')], {
    cwd: dir,
    env: { ...process.env, RUMOR_TEST_ALLOW_SKIP: '', RUMOR_TEST_TIMEOUT_MS: '1000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const code = await exitWithin(child, 60_000, 'scripts/test.mjs to finish the fixture files');
  const lines = out.trimEnd().split('\n');
  return { code, out, last: lines[lines.length - 1] };
}

const MIXED = `import { test } from 'node:test';
test('passes', () => {});
test('is skipped', { skip: 'not today' }, () => {});
test.todo('is todo');
test('fails', () => { throw new Error('boom'); });
test('hangs', async () => { await new Promise(() => { setInterval(() => {}, 1000); }); });
`;
const NEEDS = `import { test } from 'node:test';
import { requirement } from ${JSON.stringify(REQUIREMENT)};
const lab = requirement('a lab', 'the lab burned down');
test('needs the lab', { ...lab.options }, () => { lab.check(); });
`;

test('without RUMOR_TEST_ALLOW_SKIP a skip, a todo and a missing requirement fail, with their reasons; a hang hits the default timeout', { timeout: 90_000 }, async () => {
  const dir = fixture({ 'mixed.test.ts': MIXED, 'needs.test.ts': NEEDS });
  try {
    const r = await runner(dir, {});
    assert.equal(r.code, 1, r.out);
    assert.equal(r.last, '1 passed, 5 failed, 0 skipped', r.out);
    const summary = r.out.slice(r.out.indexOf('── summary ──'));
    assert.match(summary, /✖ test\/mixed\.test\.ts › is skipped\n\s+skipped \(not today\), and RUMOR_TEST_ALLOW_SKIP=1 is not set/);
    assert.match(summary, /✖ test\/mixed\.test\.ts › is todo\n/);
    assert.match(summary, /✖ test\/mixed\.test\.ts › fails\n\s+boom\n/);
    assert.match(summary, /✖ test\/mixed\.test\.ts › hangs\n\s+test timed out after 1000ms\n/);
    assert.match(summary, /✖ test\/needs\.test\.ts › needs the lab\n\s+cannot run: a lab unavailable: the lab burned down \(set RUMOR_TEST_ALLOW_SKIP=1/);
    assert.match(summary, /slowest files:\n\s+[\d.]+ s {2}test\//);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with RUMOR_TEST_ALLOW_SKIP=1 the skipped tests are counted and listed by name with the reason', { timeout: 90_000 }, async () => {
  const dir = fixture({ 'mixed.test.ts': MIXED, 'needs.test.ts': NEEDS });
  try {
    const r = await runner(dir, { RUMOR_TEST_ALLOW_SKIP: '1' });
    assert.equal(r.code, 1, r.out);
    assert.equal(r.last, '1 passed, 2 failed, 3 skipped', r.out);
    const summary = r.out.slice(r.out.indexOf('── summary ──'));
    assert.match(summary, /skipped \(3, allowed by RUMOR_TEST_ALLOW_SKIP=1\):\n/);
    assert.match(summary, /﹣ test\/mixed\.test\.ts › is skipped — not today\n/);
    assert.match(summary, /﹣ test\/mixed\.test\.ts › is todo\n/);
    assert.match(summary, /﹣ test\/needs\.test\.ts › needs the lab — a lab unavailable: the lab burned down\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file that hangs is killed at the file timeout, one that does not load fails; all passing exits 0', { timeout: 90_000 }, async () => {
  const bad = fixture({
    'hang.test.ts': `await new Promise(() => { setInterval(() => {}, 1000); });\n`,
    'broken.test.ts': `import { test } from 'node:test';\nthrow new Error('cannot load');\ntest('never', () => {});\n`,
  });
  const good = fixture({ 'ok.test.ts': `import { test } from 'node:test';\ntest('one', () => {});\ntest('two', () => {});\n` });
  try {
    const r = await runner(bad, { RUMOR_TEST_FILE_TIMEOUT_MS: '4000' });
    assert.equal(r.code, 1, r.out);
    assert.equal(r.last, '0 passed, 2 failed, 0 skipped', r.out);
    assert.match(r.out, /✖ test\/hang\.test\.ts › \(the file itself\)\n\s+killed: the file did not finish within 4 s/);
    assert.match(r.out, /✖ test\/broken\.test\.ts › \(the file itself\)\n\s+the process exited with 1/);
    const ok = await runner(good, {});
    assert.deepEqual([ok.code, ok.last], [0, '2 passed, 0 failed, 0 skipped'], ok.out);
  } finally {
    rmSync(bad, { recursive: true, force: true });
    rmSync(good, { recursive: true, force: true });
  }
});
