/** `rumor info`: what the agent reports about itself (`GET /v1/info`), as key: value lines or JSON. */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import type { CliContext } from './context.js';

/** Flatten nested objects into `a.b: value` lines, in the document's order. */
export function infoLines(v: unknown, prefix = ''): string[] {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) => infoLines(x, prefix ? `${prefix}.${k}` : k));
  }
  const text = Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ') : String(v);
  return [`${prefix}: ${text}`];
}

/** Register the `info` verb. */
export function registerInfo(program: Command, ctx: CliContext): void {
  const cmd = program.command('info').description('show what the agent reports about itself (like `serf info`)').option('--json', 'print the JSON document of the API');
  addClientOptions(cmd).action(async (opts: ClientOptions & { json?: boolean }) => {
    const info = await callAgent(opts, (c) => c.info());
    ctx.stdout.write(opts.json ? JSON.stringify(info, null, 2) + '\n' : infoLines(info).join('\n') + '\n');
  });
}
