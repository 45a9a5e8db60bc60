/**
 * `rumor members`: the cluster members an agent knows, as a table like `serf members`
 * (NAME ADDR STATUS TAGS) or, with `--json`, the API's JSON document. Filters, as Serf's
 * (regular expressions anchored at both ends, applied by the agent: `GET /v1/members?name=&
 * status=&tag=`): `--name REGEX`, `--tag key=REGEX` (repeatable, all must match), `--status`
 * (a status, several separated by commas, or a regex). `--detailed` adds INCARNATION, SINCE
 * (when this agent saw the member's current state), AGENT (its version) and PROTOCOL (the
 * range of wire protocol versions it speaks).
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
  incarnation?: number;
  updatedAt?: number;
  agentVersion?: string;
  protocol?: [number, number];
}

interface MembersOptions extends ClientOptions {
  json?: boolean;
  status?: string;
  name?: string;
  tag: string[];
  detailed?: boolean;
}

const STATUSES = ['alive', 'suspect', 'failed', 'left'];

/** Check a filter expression here, so a bad one is a usage error (exit 2) before any call. */
function checkRegex(option: string, expr: string): void {
  try {
    new RegExp(`^(?:${expr})$`);
  } catch (e) {
    throw new UsageError(`option ${option}: invalid regular expression ${JSON.stringify(expr)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

/** Register the `members` verb. */
export function registerMembers(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('members')
    .description('list the members of the cluster known to the agent (like `serf members`)')
    .option('--status <status>', `only members with this status: ${STATUSES.join(', ')}, several separated by commas, or a regular expression`)
    .option('--name <regex>', 'only members whose name matches (anchored: web-.* for all names starting web-)')
    .option('--tag <key=regex>', 'only members with tag key matching regex (repeatable: all must match)', (v: string, p: string[]) => [...p, v], [])
    .option('--detailed', 'also show incarnation, since when, agent version and protocol range')
    .option('--json', 'print the JSON document of the API');
  addClientOptions(cmd).action(async (opts: MembersOptions) => {
    if (opts.status !== undefined) {
      for (const s of /^[a-z,]+$/.test(opts.status) ? opts.status.split(',').filter((x) => x !== '') : []) {
        if (!STATUSES.includes(s)) throw new UsageError(`option --status: expected ${STATUSES.join(', ')} (or a regular expression), got ${JSON.stringify(s)}`);
      }
      checkRegex('--status', opts.status);
    }
    if (opts.name !== undefined) checkRegex('--name', opts.name);
    const tags: Record<string, string> = {};
    for (const t of opts.tag) {
      const i = t.indexOf('=');
      if (i <= 0) throw new UsageError(`option --tag: expected key=regex, got ${JSON.stringify(t)}`);
      checkRegex(`--tag ${t.slice(0, i)}`, t.slice(i + 1));
      tags[t.slice(0, i)] = t.slice(i + 1);
    }
    const members = await callAgent(opts, (c) => c.members({ status: opts.status, name: opts.name, tags }));
    if (opts.json) ctx.stdout.write(JSON.stringify({ members }, null, 2) + '\n');
    else ctx.stdout.write(membersTable(members, { detailed: opts.detailed === true }));
  });
}

function tagText(tags: Record<string, string>): string {
  return Object.entries(tags)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Format members as aligned columns NAME ADDR STATUS TAGS (tags as k=v,k=v, sorted by key);
 *  `detailed` inserts INCARNATION SINCE AGENT PROTOCOL before TAGS (`-` when unknown). */
export function membersTable(members: readonly MemberRow[], opts: { detailed?: boolean } = {}): string {
  const detail = (m: MemberRow): string[] =>
    opts.detailed !== true
      ? []
      : [
          m.incarnation === undefined ? '-' : String(m.incarnation),
          m.updatedAt === undefined ? '-' : new Date(m.updatedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
          m.agentVersion ?? '-',
          m.protocol === undefined ? '-' : `${m.protocol[0]}-${m.protocol[1]}`,
        ];
  const rows = [...members].sort((a, b) => a.name.localeCompare(b.name)).map((m) => [m.name, m.addr, m.status, ...detail(m), tagText(m.tags)]);
  const head = ['NAME', 'ADDR', 'STATUS', ...(opts.detailed === true ? ['INCARNATION', 'SINCE', 'AGENT', 'PROTOCOL'] : []), 'TAGS'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd()).join('\n') + '\n';
}
