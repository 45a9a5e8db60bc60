/** `rumor leave`: ask the agent to leave the cluster gracefully and shut down (like `serf leave`). */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import type { CliContext } from './context.js';

/** Register the `leave` verb. */
export function registerLeave(program: Command, ctx: CliContext): void {
  const cmd = program.command('leave').description('make the agent leave the cluster gracefully and shut down (like `serf leave`)');
  addClientOptions(cmd).action(async (opts: ClientOptions) => {
    await callAgent(opts, (c) => c.leave());
    ctx.stdout.write(`agent at ${opts.api} left the cluster\n`);
  });
}
