/**
 * Agent logs: pino, JSON lines when stdout is not a terminal, a compact readable text line
 * on a terminal (`12:03:04.567 INFO  message key=value ...`). pino-pretty is not a
 * dependency; the text formatter below is the whole of it.
 */
import { pino, type Logger as PinoLogger } from 'pino';

/** The agent's logger type (pino). */
export type AgentLogger = PinoLogger;

/** Options of `createLogger`. */
export interface LogOptions {
  level: string;
  format: 'json' | 'text';
  /** Where lines go (default: process.stdout). Anything with `write(string)`. */
  destination?: { write(s: string): unknown };
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Turn one pino JSON line into a readable text line. Non-JSON input is passed through. */
export function formatTextLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const lvl = (LEVELS[o.level as number] ?? String(o.level)).padEnd(5);
  const rest = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${lvl} ${String(o.msg ?? '')}${rest === '' ? '' : ' ' + rest}\n`;
}

/** Create the agent logger. */
export function createLogger(opts: LogOptions): AgentLogger {
  const dest = opts.destination ?? process.stdout;
  const stream = opts.format === 'json' ? dest : { write: (s: string) => dest.write(formatTextLine(s)) };
  return pino({ level: opts.level, base: undefined }, stream as { write(s: string): void });
}
