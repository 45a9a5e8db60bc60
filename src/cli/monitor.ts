/**
 * `rumor monitor`: stream the agent's events live (`GET /v1/monitor`, server-sent events)
 * until Ctrl-C, one line each (`--json`: one JSON document per line). `--type` keeps only
 * some event types (repeatable: user, user:<name>, member, member-join, member-leave,
 * member-failed, member-update, neighbor, neighbor-up, neighbor-down, *). `--log-level LEVEL`
 * also streams the agent's log lines at that level and above (trace, debug, info, warn, error,
 * fatal), whatever level the agent writes to its own output (like `serf monitor -log-level`);
 * a log line prints as `<time> log <LEVEL> <message> key=value ...`.
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions, followUntilSignal } from './agent.js';
import { type CliContext, UsageError } from './context.js';
import type { MonitorEvent, MonitorLogEvent } from '../agent/api.js';

interface MonitorOptions extends ClientOptions {
  type: string[];
  json?: boolean;
  logLevel?: string;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** One log line: the line's own time, `log`, its level, message, then its fields as key=value. */
export function logLine(e: { time: number; level: string; msg: string; fields: Record<string, unknown> }): string {
  const fields = Object.entries(e.fields).map(([k, v]) => `${k}=${fmt(v)}`);
  return [new Date(e.time).toISOString(), 'log', e.level.toUpperCase(), e.msg, ...fields].join(' ');
}

/** Filters the agent's `/v1/monitor?type=` accepts. */
const TYPES = 'user, user:NAME, member, member-join, member-leave, member-failed, member-update, neighbor, neighbor-up, neighbor-down or *';
const TYPE = /^(\*|user|user:[^\s,]+|member|member-(join|leave|failed|update)|neighbor|neighbor-(up|down))$/;

/** One event line: time of receipt, type, then the other fields as key=value (a member
 *  event's `member` object flattened to `member.name=...`, `member.status=...`). */
export function eventLine(ev: Record<string, unknown>, now: Date = new Date()): string {
  const { type, ...rest } = ev;
  const fields: string[] = [];
  for (const [k, v] of Object.entries(rest)) {
    if (k === 'payloadBase64') continue; // `payload` carries the same bytes as text
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) fields.push(`${k}.${k2}=${fmt(v2)}`);
    } else fields.push(`${k}=${fmt(v)}`);
  }
  return [now.toISOString(), String(type), ...fields].join(' ');
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v).slice(1, -1) : JSON.stringify(v);
}

/** Register the `monitor` verb. */
export function registerMonitor(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('monitor')
    .description('stream the events of the agent live until Ctrl-C (like `serf monitor`)')
    .option('--type <type>', `only these event types (repeatable): ${TYPES}`, (v: string, p: string[]) => [...p, v], [])
    .option('--log-level <level>', `also stream the agent's logs at this level and above: ${LOG_LEVELS.join(', ')}`)
    .option('--json', 'print one JSON document per event');
  addClientOptions(cmd).action(async (opts: MonitorOptions) => {
    for (const t of opts.type) {
      if (!TYPE.test(t)) {
        throw new UsageError(`option --type: expected ${TYPES}, got ${JSON.stringify(t)}`);
      }
    }
    if (opts.logLevel !== undefined && !LOG_LEVELS.includes(opts.logLevel.toLowerCase())) {
      throw new UsageError(`option --log-level: expected ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(opts.logLevel)}`);
    }
    await runMonitor(ctx, opts);
  });
}

async function runMonitor(ctx: CliContext, opts: MonitorOptions): Promise<void> {
  const stream = await callAgent(opts, async (c) =>
    c.monitor(
      (ev: MonitorEvent | MonitorLogEvent) => {
        const e = ev as unknown as Record<string, unknown>;
        const text = opts.json ? JSON.stringify(e) : ev.type === 'log' ? logLine(ev) : eventLine(e);
        ctx.stdout.write(text + '\n');
      },
      { type: opts.type.length > 0 ? opts.type.join(',') : undefined, logLevel: opts.logLevel?.toLowerCase() },
    ),
  );
  await followUntilSignal(stream, opts.api, 'monitor stream');
}
