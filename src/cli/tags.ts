/**
 * `rumor tags [--set k=v]... [--delete k]...`: change this agent's tags at runtime (like
 * `serf tags -set -delete`); prints the tags after. Tags are keys `tag.<k>` of the agent's
 * key-value state, so every agent's `rumor members` (and its `--tag` filter) sees the change
 * within a broadcast's time.
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, UsageError } from './context.js';

interface TagsOptions extends ClientOptions {
  set: string[];
  delete: string[];
  json?: boolean;
}

const collect = (v: string, p: string[]): string[] => [...p, v];

/** Register the `tags` verb. */
export function registerTags(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('tags')
    .description("set or delete this agent's tags at runtime (like `serf tags`); prints its tags")
    .option('--set <key=value>', 'set a tag (repeatable)', collect, [])
    .option('--delete <key>', 'delete a tag (repeatable)', collect, [])
    .option('--json', 'print the JSON document');
  addClientOptions(cmd).action(async (opts: TagsOptions) => {
    const set: Record<string, string> = {};
    for (const t of opts.set) {
      const i = t.indexOf('=');
      if (i <= 0) throw new UsageError(`option --set: expected key=value, got ${JSON.stringify(t)}`);
      set[t.slice(0, i)] = t.slice(i + 1);
    }
    for (const k of opts.delete) if (k === '' || k.includes('=')) throw new UsageError(`option --delete: expected a tag key, got ${JSON.stringify(k)}`);
    const change = opts.set.length > 0 || opts.delete.length > 0;
    const r = await callAgent(opts, (c) => (change ? c.request<{ tags: Record<string, string> }>('POST', '/v1/tags', { set, delete: opts.delete }) : c.request<{ tags: Record<string, string> }>('GET', '/v1/tags')));
    if (opts.json) ctx.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else for (const [k, v] of Object.entries(r.tags).sort(([a], [b]) => a.localeCompare(b))) ctx.stdout.write(`${k}=${v}\n`);
  });
}
