/**
 * `rumor monitor`: stream the agent's events live (`GET /v1/monitor`, server-sent events)
 * until Ctrl-C, one line each (`--json`: one JSON document per line). `--type` keeps only
 * some event types (repeatable: user, user:<name>, member, member-join, member-leave,
 * member-failed, member-update, neighbor, neighbor-up, neighbor-down, *).
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions, followUntilSignal } from './agent.js';
import { type CliContext, UsageError } from './context.js';

interface MonitorOptions extends ClientOptions {
  type: string[];
  json?: boolean;
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
    .option('--json', 'print one JSON document per event');
  addClientOptions(cmd).action(async (opts: MonitorOptions) => {
    for (const t of opts.type) {
      if (!TYPE.test(t)) {
        throw new UsageError(`option --type: expected ${TYPES}, got ${JSON.stringify(t)}`);
      }
    }
    await runMonitor(ctx, opts);
  });
}

async function runMonitor(ctx: CliContext, opts: MonitorOptions): Promise<void> {
    const stream = await callAgent(opts, async (c) =>
    c.monitor(
      (ev) => {
        const e = ev as unknown as Record<string, unknown>;
        ctx.stdout.write((opts.json ? JSON.stringify(e) : eventLine(e)) + '\n');
      },
      opts.type.length > 0 ? { type: opts.type.join(',') } : {},
    ),
  );
  await followUntilSignal(stream, opts.api, 'monitor stream');
}
