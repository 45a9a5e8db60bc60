import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function rumor(...argv: string[]): Promise<Run> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s), isTTY: false },
  });
  return { code, out, err };
}

function assertUsageError(r: Run, line: string): void {
  assert.equal(r.code, 2);
  assert.equal(r.out, '');
  assert.equal(r.err, `rumor: ${line}\n`);
}

test('unknown experiment: exit 2, one line listing what is expected', async () => {
  assertUsageError(
    await rumor('sim', 'nope'),
    'unknown experiment "nope" (expected hyparview-failures, plumtree-redundancy, rounds-vs-n, bootstrap, membership-failures, membership-false-positives, membership-partition, membership-restart, aggregation, kv-staleness, gossip-learning, corruption, byzantine, or a .toml/.json scenario file)',
  );
});

test('bad option values name the option and the expectation', async () => {
  assertUsageError(await rumor('sim', 'rounds-vs-n', '--nodes', '0'), 'option --nodes: expected an integer between 2 and 10000000, got "0"');
  assertUsageError(await rumor('sim', 'rounds-vs-n', '--seed', 'abc'), 'option --seed: expected an integer >= 0, got "abc"');
  assertUsageError(await rumor('sim', 'rounds-vs-n', '--fanout', '2.5'), 'option --fanout: expected an integer between 1 and 1000, got "2.5"');
  assertUsageError(await rumor('sim', 'gossip-learning', '--lr', '0'), 'option --lr: expected a number > 0 and <= 1000, got "0"');
  assertUsageError(await rumor('sim', 'gossip-learning', '--lr-decay', 'x'), 'option --lr-decay: expected a number >= 0 and <= 1000, got "x"');
  assertUsageError(await rumor('sim', 'gossip-learning', '--epochs', '0'), 'option --epochs: expected an integer between 1 and 1000, got "0"');
  assertUsageError(await rumor('sim', 'aggregation', '--lr', '1'), 'option --lr: applies to gossip-learning only');
  assertUsageError(await rumor('sim', 'gossip-learning', '--nodes', '40000'), 'option --nodes: gossip-learning needs an integer in [2, 30000] (2 training examples per node at least), got 40000');
});

test('commander usage errors are one line with exit 2', async () => {
  assertUsageError(await rumor('sim', 'rounds-vs-n', '--bogus'), "unknown option '--bogus'");
  assertUsageError(await rumor('sim'), "missing required argument 'target'");
  assertUsageError(await rumor('frobnicate'), "unknown command 'frobnicate'");
});

test('--help on every verb and --version exit 0', async () => {
  for (const verb of ['sim', 'demo', 'bench-sim']) {
    const r = await rumor(verb, '--help');
    assert.equal(r.code, 0, verb);
    assert.match(r.out, new RegExp(`^Usage: rumor ${verb} `), verb);
  }
  const top = await rumor('--help');
  assert.equal(top.code, 0);
  assert.match(top.out, /\bsim\b/);
  assert.equal(top.out.includes('bench-sim'), false, 'bench-sim is hidden');
  const v = await rumor('--version');
  assert.deepEqual(v, { code: 0, out: `${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`, err: '' });
});

test('a bad scenario file: exit 2 naming the file and the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-cli-'));
  const file = join(dir, 'bad.toml');
  writeFileSync(file, '[[timeline]]\nat = 0\ntype = "join-all"\n[[timeline]]\nat = 1\ntype = "fail"\npercent = 150\n');
  assertUsageError(await rumor('sim', file), `${file}: timeline[1].percent: expected a number between 0 and 100, got 150`);
  assertUsageError(await rumor('sim', join(dir, 'missing.json')), `${join(dir, 'missing.json')}: cannot read scenario file: no such file`);
});

test('--json: same seed gives identical bytes; a different seed differs', async () => {
  const a = await rumor('sim', 'plumtree-redundancy', '--nodes', '300', '--seed', '3', '--json');
  const b = await rumor('sim', 'plumtree-redundancy', '--nodes', '300', '--seed', '3', '--json');
  assert.equal(a.code, 0, a.err);
  assert.equal(a.err, '');
  assert.equal(a.out, b.out);
  const doc = JSON.parse(a.out) as { experiment: string; seed: number; nodes: number; rows: object[] };
  assert.equal(doc.experiment, 'plumtree-redundancy');
  assert.equal(doc.seed, 3);
  assert.equal(doc.nodes, 300);
  assert.ok(Array.isArray(doc.rows) && doc.rows.length > 0);
  assert.equal(/"(wall|elapsed)/i.test(a.out), false, 'no wall-clock figures');
  const c = await rumor('sim', 'plumtree-redundancy', '--nodes', '300', '--seed', '4', '--json');
  assert.equal(c.code, 0, c.err);
  assert.notEqual(c.out, a.out);
});

test('--out writes report.html and result.json (equal to the --json output)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-cli-'));
  const r = await rumor('sim', 'plumtree-redundancy', '--nodes', '200', '--seed', '5', '--json', '--out', dir);
  assert.equal(r.code, 0, r.err);
  assert.equal(readFileSync(join(dir, 'result.json'), 'utf8'), r.out);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.ok(html.includes('<svg'));
  assert.equal(r.err, `wrote ${join(dir, 'report.html')} and ${join(dir, 'result.json')}\n`);
});

test('text output is a table', async () => {
  const r = await rumor('sim', 'plumtree-redundancy', '--nodes', '200', '--seed', '5');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^plumtree-redundancy\n/);
  assert.match(r.out, /\nrows:\n\S.*\n-+ /);
});

test('a scenario file runs and is deterministic', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-cli-'));
  const file = join(dir, 'small.json');
  const timeline = [
    { at: 0, type: 'join-all', intervalMs: 5 },
    { at: 3000, type: 'broadcast', count: 3, intervalMs: 200 },
  ];
  writeFileSync(file, JSON.stringify({ nodes: 100, seed: 2, timeline, endMs: 8000 }));
  const a = await rumor('sim', file, '--json');
  const b = await rumor('sim', file, '--json');
  assert.equal(a.code, 0, a.err);
  assert.equal(a.out, b.out);
  assert.equal(typeof JSON.parse(a.out), 'object');
});

test('the dev entry point exits 2 with one line and no stack trace', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main-entry.ts', 'sim', 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n').length, 2);
  assert.match(r.stderr, /^rumor: unknown experiment "x" /);
});
