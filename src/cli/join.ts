/**
 * `rumor join ADDR...`: make a running agent join the cluster through these addresses now
 * (like `serf join`); one line per address, `ok` or why not. Exit 1 when none was joined.
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, parseDuration, RunError, UsageError } from './context.js';

interface JoinOptions extends ClientOptions {
  timeout?: string;
  json?: boolean;
}

/** `host:port` (a host name, IPv4, or [IPv6]). */
const ADDR = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

/** Register the `join` verb. */
export function registerJoin(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('join')
    .description('make the agent join a cluster through these agents now (like `serf join`)')
    .argument('<addr...>', 'gossip address host:port of a running agent (one or more)')
    .option('--timeout <duration>', 'wait for each address this long, e.g. 500ms, 5s (default: 5s, at most 2m)')
    .option('--json', 'print the JSON document of the API');
  addClientOptions(cmd).action(async (addrs: string[], opts: JoinOptions) => {
    const bad = addrs.find((a) => !ADDR.test(a) || Number(a.slice(a.lastIndexOf(':') + 1)) > 65535 || Number(a.slice(a.lastIndexOf(':') + 1)) === 0);
    if (bad !== undefined) throw new UsageError(`join: expected host:port, got ${JSON.stringify(bad)}`);
    const timeoutMs = opts.timeout === undefined ? undefined : parseDuration('--timeout', opts.timeout, 120_000);
    const r = await callAgent(opts, (c) => c.join(addrs, timeoutMs));
    if (opts.json) ctx.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      for (const x of r.results) ctx.stdout.write(x.ok ? `${x.addr}  ok\n` : `${x.addr}  failed: ${x.error ?? 'unknown error'}\n`);
      ctx.stdout.write(`joined through ${r.joined} of ${r.results.length} address${r.results.length === 1 ? '' : 'es'}\n`);
    }
    if (r.joined === 0) throw new RunError(`join: no address could be joined`);
  });
}
