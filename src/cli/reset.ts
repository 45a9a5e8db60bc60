/**
 * `rumor reset <channel>`: the cluster-wide reset switch (issue 13 §2). Asks an agent (API
 * token required when the agent has one) to broadcast a reset of `channel`: every node drops
 * the channel's buffered messages and application state, starts a new epoch and refuses
 * messages sent before it (src/net/validation.ts). Over the wire it travels as a broadcast,
 * so only cluster members (with h13's keyring: keyed members) can issue one.
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, UsageError } from './context.js';

const CHANNEL = /^[A-Za-z0-9_.:-]{1,255}$/;

/** Register the `reset` verb. */
export function registerReset(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('reset')
    .description('reset a channel on every node: drop its state, start a new epoch, refuse older messages')
    .argument('<channel>', 'channel name (letters, digits, _ . : -; not a reserved _rumor. channel)');
  addClientOptions(cmd).action(async (channel: string, opts: ClientOptions) => {
    if (!CHANNEL.test(channel) || channel.startsWith('_rumor.')) {
      throw new UsageError(`channel: expected 1-255 letters, digits, _ . : or - (not _rumor.*), got ${JSON.stringify(channel)}`);
    }
    const epoch = await callAgent(opts, (c) => c.reset(channel));
    ctx.stdout.write(`channel "${channel}" reset: epoch ${epoch}\n`);
  });
}
