/**
 * Agent logs: JSON lines when stdout is not a terminal, a compact readable text line on a
 * terminal (`12:03:04.567 INFO  message key=value ...`).
 *
 * The JSON lines are pino's format (`{"level":30,"time":<epoch ms>,<bindings>,<fields>,"msg":...}`,
 * numeric levels 10 trace … 60 fatal), so pino tooling reads them; the writer is this file
 * rather than pino itself because the agent is started many at a time and pino costs ~6 MB
 * of RSS and ~20 ms of start-up per process (measured: node 20, `import('pino')`). The
 * logger is also a `Logger` of the TCP runtime (`src/net/util.ts`).
 */

/** Level names and their numbers (pino's). */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;
/** A level name. */
export type LogLevel = keyof typeof LOG_LEVELS;

type LogFn = (obj: object | string, msg?: string) => void;

/** The agent's logger: pino's calling convention (`log.info({ key: value }, 'message')`). */
export interface AgentLogger {
  readonly level: LogLevel;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger adding `bindings` to every line. */
  child(bindings: Record<string, unknown>): AgentLogger;
  /** Also hand every line at `level` or above (whatever the output level) to `fn`, as the
   *  object that would be written (`rumor monitor --log-level`); returns the function that
   *  removes the tap. Shared by the logger and its children. */
  tap(level: LogLevel, fn: (line: LogLine) => void): () => void;
}

/** A log line as an object: pino's fields (`level` number, `time` ms, `msg`) and the rest. */
export type LogLine = Record<string, unknown> & { level: number; time: number; msg?: unknown };

/** Where lines go: the output above its level, and the taps above theirs. */
interface Sink {
  /** Output level (lines below it are not written). */
  out: number;
  /** Lowest level anyone wants (the output's or a tap's): a cheaper check per call. */
  min: number;
  taps: Set<{ level: number; fn: (line: LogLine) => void }>;
  write(line: string): void;
}

/** Options of `createLogger`. */
export interface LogOptions {
  level: string;
  format: 'json' | 'text';
  /** Where lines go (default: process.stdout). Anything with `write(string)`. */
  destination?: { write(s: string): unknown };
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** Turn one JSON log line into a readable text line. Non-JSON input is passed through. */
export function formatTextLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const t = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const lvl = (LEVEL_NAMES[o.level as number] ?? String(o.level)).padEnd(5);
  const rest = Object.entries(o)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${t} ${lvl} ${String(o.msg ?? '')}${rest === '' ? '' : ' ' + rest}\n`;
}

/** JSON of a log value: errors as `{type, message, stack}` (as pino's `err` serializer), never throws. */
export function stringify(o: Record<string, unknown>): string {
  try {
    return JSON.stringify(o, (_k, v: unknown) => (v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : typeof v === 'bigint' ? String(v) : v));
  } catch {
    return JSON.stringify({ level: o.level, time: o.time, msg: o.msg, logError: 'unserializable fields' });
  }
}

function makeLogger(level: LogLevel, bindings: Record<string, unknown>, sink: Sink): AgentLogger {
  const at = (n: number): LogFn => {
    return (obj, msg) => {
      if (n < sink.min) return;
      const fields = typeof obj === 'string' ? { msg: obj } : { ...obj, ...(msg === undefined ? {} : { msg }) };
      const line: LogLine = { level: n, time: Date.now(), ...bindings, ...fields };
      if (n >= sink.out) sink.write(stringify(line) + '\n');
      for (const t of sink.taps) if (n >= t.level) t.fn(line);
    };
  };
  return {
    level,
    trace: at(10),
    debug: at(20),
    info: at(30),
    warn: at(40),
    error: at(50),
    fatal: at(60),
    child: (more) => makeLogger(level, { ...bindings, ...more }, sink),
    tap: (lvl, fn) => {
      const t = { level: LOG_LEVELS[lvl], fn };
      sink.taps.add(t);
      const reset = (): void => {
        sink.min = Math.min(sink.out, ...[...sink.taps].map((x) => x.level));
      };
      reset();
      return () => {
        sink.taps.delete(t);
        reset();
      };
    },
  };
}

/** Create the agent logger. An unknown level is an error (the config validates it first). */
export function createLogger(opts: LogOptions): AgentLogger {
  if (!Object.prototype.hasOwnProperty.call(LOG_LEVELS, opts.level)) throw new Error(`log level: expected ${Object.keys(LOG_LEVELS).join(', ')}, got ${JSON.stringify(opts.level)}`);
  const dest = opts.destination ?? process.stdout;
  const write = opts.format === 'json' ? (s: string) => void dest.write(s) : (s: string) => void dest.write(formatTextLine(s));
  const out = LOG_LEVELS[opts.level as LogLevel];
  return makeLogger(opts.level as LogLevel, {}, { out, min: out, taps: new Set(), write });
}
