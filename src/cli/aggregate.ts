/**
 * `rumor aggregate NAME [--kind avg|sum|count|min|max] [--set VALUE] [--watch] [--json]`:
 * declare an aggregate on an agent (and set that agent's input), then print the agent's
 * estimate of it over the whole cluster — once, or every second with `--watch` (until
 * interrupted). Bad names, kinds and values are usage errors (exit 2) found before the agent
 * is called; the agent refuses a kind other than the one the aggregate was declared with.
 */
import type { Command } from 'commander';
import { checkAggregateName, checkKind, checkValue } from '../proto/aggregate/types.js';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, UsageError } from './context.js';
import type { AggregateEstimate } from '../agent/client.js';

interface AggregateOptions extends ClientOptions {
  kind?: string;
  set?: string;
  watch?: boolean;
  json?: boolean;
}

const WATCH_PERIOD_MS = 1000;

function line(e: AggregateEstimate): string {
  const v = e.value === null ? '(none yet)' : String(Math.round(e.value * 1e6) / 1e6);
  const spread = e.spread === null ? '-' : e.spread.toExponential(1);
  return `${e.name} ${e.kind} ${v}  rounds=${e.rounds} spread=${spread} input=${e.input === null ? '-' : String(e.input)}\n`;
}

/** Register the `aggregate` verb. */
export function registerAggregate(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('aggregate')
    .description('compute an aggregate (avg, sum, count, min, max) over the cluster, no coordinator')
    .argument('<name>', 'aggregate name (letters, digits, . - _; at most 56)')
    .option('--kind <kind>', 'avg, sum, count, min or max (default: avg, or the kind already declared)')
    .option('--set <value>', "set this agent's input (a finite number)")
    .option('--watch', 'print the estimate every second until interrupted')
    .option('--json', 'print the JSON of the estimate (one document per line with --watch)');
  addClientOptions(cmd).action(async (name: string, opts: AggregateOptions) => {
    const n = checkAggregateName(name);
    if (!n.ok) throw new UsageError(n.reason);
    if (opts.kind !== undefined) {
      const k = checkKind(opts.kind);
      if (!k.ok) throw new UsageError(`option --kind: ${k.reason}`);
    }
    let value: number | undefined;
    if (opts.set !== undefined) {
      const raw = opts.set.trim();
      const v = checkValue(raw === '' ? Number.NaN : Number(raw));
      if (!v.ok) throw new UsageError(`option --set: ${v.reason} (${JSON.stringify(opts.set)})`);
      value = v.value;
    }
    const show = (e: AggregateEstimate): void => void ctx.stdout.write(opts.json ? JSON.stringify(e) + '\n' : line(e));
    let e = await callAgent(opts, (c) => c.aggregate(name, { kind: opts.kind, value }));
    show(e);
    while (opts.watch) {
      await new Promise((r) => setTimeout(r, WATCH_PERIOD_MS));
      e = await callAgent(opts, (c) => c.aggregate(name, { kind: opts.kind }));
      show(e);
    }
  });
}
