/**
 * `rumor members`: the cluster members an agent knows, as a table like `serf members`
 * (NAME ADDR STATUS TAGS) or, with `--json`, the API's JSON document. `--status` and
 * `--tag key=value` filter (on the agent's side: `GET /v1/members?status=&tag=`).
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, UsageError } from './context.js';

/** A member row as the API returns it (the fields printed here). */
export interface MemberRow {
  name: string;
  addr: string;
  status: string;
  tags: Record<string, string>;
}

interface MembersOptions extends ClientOptions {
  json?: boolean;
  status?: string;
  tag: string[];
}

const STATUSES = ['alive', 'suspect', 'failed', 'left'];

/** Register the `members` verb. */
export function registerMembers(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('members')
    .description('list the members of the cluster known to the agent (like `serf members`)')
    .option('--status <status>', `only members with this status (${STATUSES.join(', ')})`)
    .option('--tag <key=value>', 'only members with this tag (repeatable: all must match)', (v: string, p: string[]) => [...p, v], [])
    .option('--json', 'print the JSON document of the API');
  addClientOptions(cmd).action(async (opts: MembersOptions) => {
    if (opts.status !== undefined && !STATUSES.includes(opts.status)) {
      throw new UsageError(`option --status: expected ${STATUSES.join(', ')}, got ${JSON.stringify(opts.status)}`);
    }
    const tags: Record<string, string> = {};
    for (const t of opts.tag) {
      const i = t.indexOf('=');
      if (i <= 0) throw new UsageError(`option --tag: expected key=value, got ${JSON.stringify(t)}`);
      tags[t.slice(0, i)] = t.slice(i + 1);
    }
    const members = await callAgent(opts, (c) => c.members({ status: opts.status, tags }));
    if (opts.json) ctx.stdout.write(JSON.stringify({ members }, null, 2) + '\n');
    else ctx.stdout.write(membersTable(members));
  });
}

/** Format members as aligned columns NAME ADDR STATUS TAGS (tags as k=v,k=v, sorted by key). */
export function membersTable(members: readonly MemberRow[]): string {
  const rows = [...members]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((m) => [m.name, m.addr, m.status, Object.entries(m.tags).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(',')]);
  const head = ['NAME', 'ADDR', 'STATUS', 'TAGS'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd()).join('\n') + '\n';
}
