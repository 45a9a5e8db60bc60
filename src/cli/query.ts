/**
 * `rumor query NAME [payload]`: ask the members of the cluster (like `serf query`) and print
 * their acks and responses as they arrive, then a summary: who answered, who acknowledged only
 * (no handler for the query, or no response), who said nothing. The query ends as soon as every
 * matching alive member has answered (docs/agent.md "Queries"). `--json`: the API's stream, one
 * JSON object per line. Exit code 0, or 1 when some expected member did not answer.
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, parseDuration, parseIntOption, UsageError } from './context.js';
import type { QueryDone, QueryLine, QueryWho } from '../agent/client.js';

interface QueryOptions extends ClientOptions {
  node: string[];
  tag: string[];
  timeout?: string;
  ack: boolean;
  relayFactor?: string;
  json?: boolean;
}

/** Query names: what handler filters (`query:<name>`) can match. */
const NAME = /^[A-Za-z0-9.:-][A-Za-z0-9_.:-]{0,127}$/;

function tagPatterns(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list) {
    const i = t.indexOf('=');
    if (i <= 0) throw new UsageError(`option --tag: expected key=regex, got ${JSON.stringify(t)}`);
    const re = t.slice(i + 1);
    try {
      new RegExp(re);
    } catch (e) {
      throw new UsageError(`option --tag: ${t.slice(0, i)}: invalid regular expression: ${(e as Error).message}`);
    }
    out[t.slice(0, i)] = re;
  }
  return out;
}

const who = (w: QueryWho): string => `${w.name} (${w.addr})`;

/** The human lines of a query's stream. */
export function queryLineText(l: QueryLine): string | null {
  switch (l.type) {
    case 'start':
      return `Query "${l.name}" sent to ${l.expected.length} member${l.expected.length === 1 ? '' : 's'} (timeout ${l.timeoutMs} ms)\n`;
    case 'ack':
      return l.final ? `No handler at ${who(l)}\n` : `Ack from ${who(l)}\n`;
    case 'response': {
      const err = l.error === '' ? '' : ` [error: ${l.error}]`;
      const body = l.payload.replace(/\n$/, '');
      return `Response from ${who(l)}${err}:${body.includes('\n') ? '\n' + body : ' ' + body}\n`;
    }
    case 'done':
      return summaryText(l);
  }
}

/** The summary block. */
export function summaryText(d: QueryDone): string {
  const how = d.reason === 'complete' ? 'every expected member answered' : d.reason === 'timeout' ? 'timed out' : 'the agent stopped';
  const lines = [`Done in ${d.durationMs} ms (${how}): ${d.answered.length} responded, ${d.ackedOnly.length} acknowledged only, ${d.missing.length} did not answer`];
  if (d.ackedOnly.length > 0) lines.push(`  acknowledged only: ${d.ackedOnly.map(who).join(', ')}`);
  if (d.missing.length > 0) lines.push(`  no answer: ${d.missing.map(who).join(', ')}`);
  return lines.join('\n') + '\n';
}

/** Register the `query` verb. */
export function registerQuery(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('query')
    .description('ask the members of the cluster and print their responses as they arrive (like `serf query`)')
    .argument('<name>', 'query name (letters, digits, _ . : -; handlers with filter query:NAME answer it)')
    .argument('[payload]', 'payload (default: empty)')
    .option('--node <name>', 'only this member (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .option('--tag <key=regex>', 'only members whose tag matches the regular expression, anchored (repeatable: all must match)', (v: string, p: string[]) => [...p, v], [])
    .option('--timeout <duration>', 'give up after this long, e.g. 500ms, 5s (default: Serf\'s, 3.2 s x ceil(log10(members + 1)))')
    .option('--no-ack', 'do not ask for acknowledgements')
    .option('--relay-factor <n>', 'also send each response through n random members (0-5, default 0)')
    .option('--json', 'print the API stream: one JSON object per line');
  addClientOptions(cmd).action(async (name: string, payload: string | undefined, opts: QueryOptions) => {
    if (!NAME.test(name)) throw new UsageError(`query name: expected 1-128 letters, digits, _ . : or - (not starting with _), got ${JSON.stringify(name)}`);
    const body = {
      name,
      payload: payload ?? '',
      nodes: opts.node,
      tags: tagPatterns(opts.tag),
      timeoutMs: opts.timeout === undefined ? undefined : parseDuration('--timeout', opts.timeout),
      ack: opts.ack,
      relayFactor: opts.relayFactor === undefined ? 0 : parseIntOption('--relay-factor', opts.relayFactor, 0, 5),
    };
    const done = await callAgent(opts, (c) =>
      c.query(body, (l) => {
        if (opts.json === true) ctx.stdout.write(JSON.stringify(l) + '\n');
        else ctx.stdout.write(queryLineText(l) ?? '');
      }),
    );
    if (done.missing.length > 0) ctx.exitCode = 1;
  });
}
