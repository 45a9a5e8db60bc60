/**
 * `rumor reachability`: ask every alive member to answer the built-in ping query
 * (`_rumor.ping`, answered by each node's query machine, no handler involved) and say who did
 * not answer — and whether the problem looks like this node's: when no other member answers,
 * the fault is most likely here (its network, firewall, cluster key); when only some do not,
 * it is theirs or the paths to them. Members the agent already lists as failed, suspect or
 * left are shown as not asked. Exit code 0 when every alive member answered, else 1.
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, parseDuration } from './context.js';
import type { QueryDone } from '../agent/client.js';

interface ReachOptions extends ClientOptions {
  timeout?: string;
  json?: boolean;
}

/** The verdict of a ping query from `self` (the asker's address). */
export function reachVerdict(done: QueryDone, self: string): { ok: boolean; text: string } {
  const others = (l: { addr: string }[]): number => l.filter((w) => w.addr !== self).length;
  const asked = done.answered.length + done.ackedOnly.length + done.missing.length;
  if (done.missing.length === 0) return { ok: true, text: `All ${asked} alive member${asked === 1 ? '' : 's'} answered in ${done.durationMs} ms.\n` };
  const list = done.missing.map((w) => `  ${w.name} (${w.addr})`).join('\n');
  const head = `${done.missing.length} of ${asked} alive members did not answer within ${done.durationMs} ms:\n${list}\n`;
  if (others(done.answered) + others(done.ackedOnly) === 0) {
    return { ok: false, text: head + 'No other member answered: the problem is most likely on this node\'s side (its network, a firewall, or a cluster key the others do not share).\n' };
  }
  return { ok: false, text: head + `${others(done.answered)} other member(s) answered, so this node can reach the cluster: the problem is on the side of the members above, or the network path to them.\n` };
}

/** Register the `reachability` verb. */
export function registerReachability(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('reachability')
    .description('ping every alive member through a built-in query and report who did not answer')
    .option('--timeout <duration>', 'give up after this long, e.g. 2s (default: Serf\'s query timeout)')
    .option('--json', 'print the summary as JSON');
  addClientOptions(cmd).action(async (opts: ReachOptions) => {
    const timeoutMs = opts.timeout === undefined ? undefined : parseDuration('--timeout', opts.timeout);
    const { info, members, done } = await callAgent(opts, async (c) => {
      const [info, members] = await Promise.all([c.info(), c.members()]);
      const done = await c.query({ name: '_rumor.ping', ack: true, timeoutMs });
      return { info, members, done };
    });
    const notAsked = members.filter((m) => m.status !== 'alive').map((m) => ({ name: m.name, addr: m.addr, status: m.status }));
    const v = reachVerdict(done, info.addr);
    if (opts.json === true) ctx.stdout.write(JSON.stringify({ ok: v.ok, ...done, notAsked }, null, 2) + '\n');
    else {
      ctx.stdout.write(v.text);
      if (notAsked.length > 0) ctx.stdout.write(`Not asked (${notAsked.length}): ${notAsked.map((m) => `${m.name} (${m.addr}, ${m.status})`).join(', ')}\n`);
    }
    if (!v.ok) ctx.exitCode = 1;
  });
}
