/**
 * Where the paired simulator benchmark writes its result (bench/sim-pair.ts `resultPath`,
 * `parseArgs`): a new file per run, never the previous run's (until 2026-12-07 every run at
 * N nodes wrote `sim-pair-<N>.json` over the last one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, resultPath, writeResult } from '../../bench/sim-pair.js';

const cwd = resolve('/tmp/repo');
const date = new Date('2026-12-07T09:05:41.123Z');

test('sim-pair: the default result name carries the node count and the UTC time', () => {
  const none = (): boolean => false;
  assert.equal(resultPath(cwd, 100000, date, undefined, none), resolve(cwd, 'bench/results/sim-pair-100000-20261207T090541Z.json'));
});

test('sim-pair: a taken default name gets the next free suffix, never the same file', () => {
  const taken = new Set([resolve(cwd, 'bench/results/sim-pair-30000-20261207T090541Z.json'), resolve(cwd, 'bench/results/sim-pair-30000-20261207T090541Z-2.json')]);
  const file = resultPath(cwd, 30000, date, undefined, (p) => taken.has(p));
  assert.equal(file, resolve(cwd, 'bench/results/sim-pair-30000-20261207T090541Z-3.json'));
});

test('sim-pair: --out names the file, resolved against the working directory', () => {
  const args = parseArgs(['--nodes', '1000', '--out', 'runs/a.json']);
  assert.ok(typeof args !== 'string');
  assert.equal(args.out, 'runs/a.json');
  assert.equal(resultPath(cwd, 1000, date, args.out, () => true), resolve(cwd, 'runs/a.json'));
});

test('sim-pair: --out without a path is a clear error', () => {
  assert.match(String(parseArgs(['--out'])), /option --out: expected a file path/);
  assert.match(String(parseArgs(['--out', '--nodes'])), /option --out: expected a file path/);
  assert.match(String(parseArgs(['--bogus', '1'])), /--out FILE/);
});

test('sim-pair: writing a result never replaces an existing file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sim-pair-out-'));
  try {
    const file = join(dir, 'sub', 'r.json');
    writeResult(file, 'first\n');
    assert.throws(() => writeResult(file, 'second\n'), /exists \(a run does not write over an earlier result\)/);
    assert.equal(readFileSync(file, 'utf8'), 'first\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
