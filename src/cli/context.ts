/**
 * What every verb of the `rumor` CLI shares: the output streams (injectable, so tests run
 * `main()` in-process), usage errors, option-value parsers and text formatting.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { flattenRow } from '../sim/report.js';

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

/** A problem with the command line: printed as one line `rumor: <message>`, exit code 2. */
export class UsageError extends Error {}

/** A failure while doing the work (I/O error...): `rumor: <message>`, exit code 1. */
export class RunError extends Error {}

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

/** Round a number for display: integers as is, others to 4 decimals. */
export function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  if (!Number.isFinite(v)) return String(v);
  return String(Math.round(v * 10000) / 10000);
}

function fmtCell(v: unknown): string {
  if (typeof v === 'number') return fmtNum(v);
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A plain-text table: columns are the union of row keys in first-seen order. */
export function textTable(rows: readonly object[]): string {
  const rs = rows.map(flattenRow);
  const cols = [...new Set(rs.flatMap((r) => Object.keys(r)))];
  const cells = rs.map((r) => cols.map((c) => fmtCell(r[c])));
  const width = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const numeric = cols.map((c) => rs.every((r) => r[c] === undefined || typeof r[c] === 'number'));
  const pad = (s: string, i: number): string => (numeric[i] ? s.padStart(width[i]) : s.padEnd(width[i]));
  const lines = [cols.map(pad).join('  '), width.map((w) => '-'.repeat(w)).join('  '), ...cells.map((row) => row.map(pad).join('  '))];
  return lines.map((l) => l.trimEnd()).join('\n') + '\n';
}

/** Keys that hold wall-clock measurements: dropped from JSON output (same seed ⇒ same bytes). */
const WALL_CLOCK_KEY = /^(wall|elapsed|realtime|cpu|duration[_-]?(s|ms|sec)$|events[_-]?per[_-]?s)/i;

/** Deterministic JSON of a result: wall-clock figures removed, NaN/Infinity as null. */
export function resultJson(result: unknown): string {
  return JSON.stringify(result, (k, v: unknown) => (k !== '' && WALL_CLOCK_KEY.test(k) ? undefined : v), 2) + '\n';
}

/** Write `report.html` and `result.json` into `dir` (created if missing); returns the paths. */
export async function writeReport(
  ctx: CliContext,
  dir: string,
  html: string,
  json: string,
): Promise<{ html: string; json: string }> {
  const abs = resolve(ctx.cwd, dir);
  const paths = { html: join(abs, 'report.html'), json: join(abs, 'result.json') };
  try {
    await mkdir(abs, { recursive: true });
    await writeFile(paths.html, html);
    await writeFile(paths.json, json);
  } catch (e) {
    throw new RunError(`cannot write the report to ${abs}: ${(e as Error).message.split('\n')[0]}`);
  }
  return paths;
}
