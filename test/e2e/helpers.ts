/**
 * Helpers of the end-to-end tests: they run rumor as a user would, through the built CLI
 * (`node bin/rumor.js`), building `dist/` first (`npm run prepare`) when it is missing or older than `src/`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'rumor.js');
export const RECORD_HANDLER = join(ROOT, 'test', 'fixtures', 'handlers', 'record.sh');

/** Build dist/ (`npm run prepare`: tsc, then the bundle) when it is missing or stale, through
 *  scripts/ensure-built.mjs; under scripts/test.mjs that already ran once, so this only checks. */
export function ensureBuilt(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'ensure-built.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
}

/** Result of one CLI run. */
export interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Run `rumor ...args` to completion (optionally with stdin), bounded by `timeoutMs` (default
 *  45 s: a run against a local agent took 1.4–1.6 s at load 21 on the shared 2-core machine,
 *  and one took over 20 s, the former bound, at load 61, after printing its answer; a hang
 *  still fails, named). */
export function rumor(args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rumor ${args.join(' ')}: no exit within ${opts.timeoutMs ?? 45_000} ms\n${out}${err}`));
    }, opts.timeoutMs ?? 45_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** A long-running `rumor ...` process whose output is collected as it comes. */
export interface Live {
  child: ChildProcess;
  out: () => string;
  err: () => string;
}

/** Start `rumor ...args` in the background. */
export function rumorLive(args: string[], env: NodeJS.ProcessEnv = {}): Live {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return { child, out: () => out, err: () => err };
}
