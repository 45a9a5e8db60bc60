/**
 * The agent's aggregates: the node's aggregates (src/net/aggregates.ts) fed with the live
 * member list of the members machine (uniform push targets), input commands from the config
 * (`aggregates = [{ name, kind, command, intervalMs }]`: the first number the command prints
 * is the value), and the HTTP routes `/v1/aggregates[/NAME]` (docs/api.md).
 */
import { spawn } from 'node:child_process';
import type { RumorNode } from '../net/rumor-node.js';
import { Aggregates, type AggregateEstimate, type AggResult } from '../net/aggregates.js';
import type { AggregateKind } from '../proto/aggregate/types.js';

/** A periodic input command (agent config `aggregates`). */
export interface AggregateCommand {
  name: string;
  kind?: AggregateKind;
  command: string;
  intervalMs?: number;
}

/** Default period of an input command (10 s: Serf's default reconnect and many exporters'). */
export const DEFAULT_COMMAND_INTERVAL_MS = 10_000;
/** Longest run of an input command before it is killed. */
const COMMAND_TIMEOUT_MS = 10_000;
const NUMBER = /[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/;

/** An HTTP answer of an aggregate route. */
export interface RouteAnswer {
  status: number;
  body: unknown;
}

export class AgentAggregates extends Aggregates {
  /** Command runs that failed (spawn, exit status, timeout, no number), by aggregate. */
  readonly commandFailures: Record<string, number> = {};

  constructor(
    node: RumorNode,
    members: () => string[],
    private readonly warn: (fields: Record<string, unknown>, msg: string) => void,
  ) {
    super(node, members);
  }

  /** Run `c.command` now and every `c.intervalMs`, setting its first number as the input. */
  runCommand(c: AggregateCommand): AggResult<true> {
    const d = this.declare(c.name, c.kind ?? 'avg');
    if (!d.ok) return d;
    const run = (): void => {
      runShell(c.command, (err, stdout) => {
        if (this.closed) return;
        const m = NUMBER.exec(stdout);
        const r: AggResult<unknown> = err !== null ? { ok: false, reason: err } : m === null ? { ok: false, reason: 'no number on stdout' } : this.set(c.name, Number(m[0]));
        if (!r.ok) {
          this.commandFailures[c.name] = (this.commandFailures[c.name] ?? 0) + 1;
          this.warn({ aggregate: c.name, command: c.command, reason: r.reason }, 'aggregate input command failed');
        }
      });
    };
    run();
    this.every(c.intervalMs ?? DEFAULT_COMMAND_INTERVAL_MS, run);
    return { ok: true, value: true };
  }

  /** `GET /v1/aggregates`, `GET /v1/aggregates/NAME`, `PUT /v1/aggregates/NAME` with
   *  `{ kind?, value? }` (declare, and set this node's input). */
  route(method: string, name: string | null, body: unknown): RouteAnswer {
    if (name === null) {
      if (method !== 'GET') return { status: 405, body: { error: `method ${method} not allowed on /v1/aggregates` } };
      return { status: 200, body: { aggregates: this.list() } };
    }
    if (method === 'GET') {
      const e = this.get(name);
      return e === undefined ? { status: 404, body: { error: `no aggregate named ${JSON.stringify(name)} on this agent` } } : { status: 200, body: e };
    }
    if (method !== 'PUT' && method !== 'POST') return { status: 405, body: { error: `method ${method} not allowed on /v1/aggregates/NAME` } };
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, body: { error: 'body: expected a JSON object { kind?, value? }' } };
    const b = body as Record<string, unknown>;
    const extra = Object.keys(b).find((k) => k !== 'kind' && k !== 'value');
    if (extra !== undefined) return { status: 400, body: { error: `body: unknown field ${JSON.stringify(extra)} (expected kind, value)` } };
    const r: AggResult<AggregateEstimate> = b.value === undefined ? this.declare(name, b.kind ?? this.get(name)?.kind ?? 'avg') : this.set(name, b.value, b.kind);
    return r.ok ? { status: 200, body: r.value } : { status: 400, body: { error: r.reason } };
  }
}

/** Run `command` with /bin/sh; at most 64 KiB of stdout kept, killed after COMMAND_TIMEOUT_MS.
 *  (`spawn`, the one child_process function the bundle loads lazily: scripts/bundle.mjs.) */
function runShell(command: string, done: (err: string | null, stdout: string) => void): void {
  let out = '';
  let finished = false;
  const finish = (err: string | null): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done(err, out);
  };
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'ignore'] });
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
    finish(`timed out after ${COMMAND_TIMEOUT_MS} ms`);
  }, COMMAND_TIMEOUT_MS);
  timer.unref();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    if (out.length < 64 * 1024) out += d;
  });
  child.on('error', (e) => finish(`cannot run: ${e.message}`));
  child.on('close', (code, signal) => finish(code === 0 ? null : `exited with ${code === null ? `signal ${String(signal)}` : `status ${code}`}`));
}
