/**
 * `rumor force-leave NAME [--prune]`: a failed member is marked `left` on every node (like
 * `serf force-leave`): its `member-leave` handlers run and it is reaped after the tombstone
 * timeout instead of being retried; `--prune` removes it from every member list at once. An
 * alive member is refused (it would refute the leave): stop it, or `rumor leave` on it.
 * Prints one line per node; exit 1 when a node refused or the agent refused the request.
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, parseDuration, RunError, UsageError } from './context.js';

interface ForceLeaveOptions extends ClientOptions {
  prune?: boolean;
  timeout?: string;
  json?: boolean;
}

/** Register the `force-leave` verb. */
export function registerForceLeave(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('force-leave')
    .description('mark a failed member as left on every node (like `serf force-leave`)')
    .argument('<name>', 'name (or gossip address) of the failed member')
    .option('--prune', 'also remove it from every member list at once')
    .option('--timeout <duration>', 'wait this long for the answers of the nodes, e.g. 5s (default: 5s, at most 2m)')
    .option('--json', 'print the JSON document of the API');
  addClientOptions(cmd).action(async (name: string, opts: ForceLeaveOptions) => {
    if (name.trim() === '' || name.length > 256) throw new UsageError('force-leave: expected the name of a member (1-256 characters)');
    const timeoutMs = opts.timeout === undefined ? undefined : parseDuration('--timeout', opts.timeout, 120_000);
    const r = await callAgent(opts, (c) => c.forceLeave(name, { prune: opts.prune === true, timeoutMs }));
    const refused = r.answers.filter((a) => !a.ok);
    if (opts.json) ctx.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      const done = r.answers.filter((a) => a.ok).length;
      ctx.stdout.write(`force-leave ${r.name} (${r.addr})${r.prune ? ' --prune' : ''}: ${done}/${r.answers.length + r.missing.length} nodes ok, ${refused.length} refused, ${r.missing.length} without answer\n`);
      for (const a of r.answers) ctx.stdout.write(`  ${a.name} (${a.addr}): ${a.ok ? (a.fields[0] ?? 'ok') : `refused: ${a.error}`}\n`);
      for (const m of r.missing) ctx.stdout.write(`  ${m.name} (${m.addr}): no answer (it learns the change by gossip)\n`);
    }
    if (refused.length > 0) throw new RunError(`force-leave: ${refused.length} node${refused.length === 1 ? '' : 's'} refused (the member is alive there)`);
  });
}
