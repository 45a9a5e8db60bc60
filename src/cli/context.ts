/**
 * What every verb of the `rumor` CLI shares: the output streams (injectable, so tests run
 * `main()` in-process), usage errors, option-value parsers and number formatting.
 *
 * Kept free of heavy imports: every verb's registration loads this file, so `rumor --help`
 * and `rumor agent` do not pay for the simulator's report code (see `sim-output.ts`).
 */

/** A writable text stream (process.stdout or a test buffer). */
export interface TextOut {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** The environment a verb runs in. Verbs write through it, never to `console`. */
export interface CliContext {
  stdout: TextOut;
  stderr: TextOut;
  /** Directory relative paths (e.g. `--out`) resolve against. */
  cwd: string;
  /** Exit code the verb sets (0 unless it fails). */
  exitCode: number;
}

// The installed CLI holds two copies of this module: the bundle (dist/rumor.cjs) and tsc's
// output, which the simulator verbs are imported from. A brand under a global symbol makes
// `instanceof` true for an error thrown by either copy.
const USAGE_BRAND = Symbol.for('rumor.cli.UsageError');
const RUN_BRAND = Symbol.for('rumor.cli.RunError');

function branded(v: unknown, brand: symbol): boolean {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[brand] === true;
}

/** A problem with the command line: printed as one line `rumor: <message>`, exit code 2. */
export class UsageError extends Error {
  readonly [USAGE_BRAND] = true;
  static override [Symbol.hasInstance](v: unknown): boolean {
    return branded(v, USAGE_BRAND);
  }
}

/** A failure while doing the work (I/O error...): `rumor: <message>`, exit code 1. */
export class RunError extends Error {
  readonly [RUN_BRAND] = true;
  static override [Symbol.hasInstance](v: unknown): boolean {
    return branded(v, RUN_BRAND);
  }
}

function bad(option: string, expected: string, raw: string): never {
  throw new UsageError(`option ${option}: expected ${expected}, got ${JSON.stringify(raw)}`);
}

/** Parse a decimal integer option value within [min, max]; a UsageError names the option. */
export function parseIntOption(option: string, raw: string, min: number, max: number): number {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer between ${min} and ${max}`;
  if (!/^\s*-?\d+\s*$/.test(raw)) bad(option, expected, raw);
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min || v > max) bad(option, expected, raw);
  return v;
}

/** Parse a duration option: `500ms`, `5s`, `1m`, or a plain number of milliseconds, from 1 ms up
 *  to `maxMs` (default 10 min). The same syntax for every verb's `--timeout`. */
export function parseDuration(flag: string, raw: string, maxMs = 600_000): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(raw.trim());
  const ms = m === null ? NaN : Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > maxMs) {
    throw new UsageError(`option ${flag}: expected a duration of 1ms..${fmtDuration(maxMs)} such as 500ms, 5s or 2m, got ${JSON.stringify(raw)}`);
  }
  return ms;
}

function fmtDuration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Round a number for display: integers as is, others to 4 decimals. */
export function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  return String(Math.round(v * 10000) / 10000);
}
