/**
 * `rumor event <name> [payload]`: publish a user event through an agent; every agent of the
 * cluster runs its matching event handlers (`user`, `user:<name>`) with the payload on stdin.
 * Without a payload argument, the payload is read from stdin when stdin is not a terminal.
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, RunError, UsageError } from './context.js';

/** Event names: what handler filters (`user:<name>`) can match. */
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/** Read all of stdin as UTF-8 (used when the payload argument is absent and stdin is piped). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  } catch (e) {
    throw new RunError(`cannot read the payload from stdin: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Register the `event` verb. */
export function registerEvent(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('event')
    .description('send a user event to the whole cluster (like `serf event`)')
    .argument('<name>', 'event name (letters, digits, _ . : -)')
    .argument('[payload]', 'payload (default: stdin when it is not a terminal, else empty)');
  addClientOptions(cmd).action(async (name: string, payload: string | undefined, opts: ClientOptions) => {
    if (!NAME.test(name)) throw new UsageError(`event name: expected 1-128 letters, digits, _ . : or -, got ${JSON.stringify(name)}`);
    const body = payload ?? (process.stdin.isTTY ? '' : await readStdin());
    const id = await callAgent(opts, (c) => c.event(name, body));
    ctx.stdout.write(`event "${name}" sent (id ${id})\n`);
  });
}
