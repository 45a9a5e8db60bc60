/**
 * Output of the simulator verbs (`sim`, `demo`): text tables, deterministic JSON and the
 * report files. Loaded only by those verbs' actions (it pulls in the report renderer).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { flattenRow } from '../sim/report.js';
import { type CliContext, fmtNum, RunError } from './context.js';

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
