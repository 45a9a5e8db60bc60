/**
 * `rumor kv set|get|ls|rm|watch`: the agent's key-value state (docs/agent.md "Key-value
 * state and tags", API `/v1/kv`). Keys are this node's to write; every node's keys are
 * readable (`--node host:port`, default the agent's own node).
 */
import type { Command } from 'commander';
import { addClientOptions, callAgent, type ClientOptions, followUntilSignal } from './agent.js';
import { type CliContext, UsageError } from './context.js';

interface KvEntryJson {
  node: string;
  key: string;
  value: string | null;
  version: number;
  local?: boolean;
}

interface KvOptions extends ClientOptions {
  json?: boolean;
  node?: string;
  prefix?: string;
  ttl?: string;
}

function positiveInt(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(v) || Number(v) > 2 ** 31 - 1) throw new UsageError(`option ${flag}: expected a positive integer of milliseconds, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Rows `NODE KEY VERSION VALUE` aligned. */
export function kvTable(entries: readonly KvEntryJson[]): string {
  const rows = entries.map((e) => [e.node, e.key, String(e.version), e.value ?? '(deleted)']);
  const head = ['NODE', 'KEY', 'VERSION', 'VALUE'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd()).join('\n') + '\n';
}

const enc = (k: string): string => encodeURIComponent(k);

/** Register the `kv` verb and its subcommands. */
export function registerKv(program: Command, ctx: CliContext): void {
  const kv = program.command('kv').description("the cluster's key-value state: this node's keys, every node's values");
  addClientOptions(kv.command('set').description("set one of this node's keys").argument('<key>').argument('<value>').option('--ttl <ms>', 'delete the key after this many milliseconds')).action(
    async (key: string, value: string, opts: KvOptions) => {
      const ttlMs = positiveInt('--ttl', opts.ttl);
      const r = await callAgent(opts, (c) => c.request<{ version: number }>('PUT', `/v1/kv/${enc(key)}`, { value, ttlMs }));
      ctx.stdout.write(`${key} = ${value} (version ${r.version})\n`);
    },
  );
  addClientOptions(kv.command('get').description("print a key's value (of this node, or --node)").argument('<key>').option('--node <addr>', 'owner node (host:port)').option('--json', 'print the JSON document')).action(
    async (key: string, opts: KvOptions) => {
      const q = opts.node === undefined ? '' : `?node=${encodeURIComponent(opts.node)}`;
      const e = await callAgent(opts, (c) => c.request<KvEntryJson>('GET', `/v1/kv/${enc(key)}${q}`));
      ctx.stdout.write(opts.json ? JSON.stringify(e, null, 2) + '\n' : `${e.value}\n`);
    },
  );
  addClientOptions(kv.command('ls').description("list every node's keys").option('--node <addr>', 'only this owner (host:port)').option('--prefix <p>', 'only keys starting with p').option('--json', 'print the JSON document')).action(
    async (opts: KvOptions) => {
      const q = new URLSearchParams();
      if (opts.node !== undefined) q.set('node', opts.node);
      if (opts.prefix !== undefined) q.set('prefix', opts.prefix);
      const qs = q.toString();
      const r = await callAgent(opts, (c) => c.request<{ entries: KvEntryJson[] }>('GET', `/v1/kv${qs === '' ? '' : '?' + qs}`));
      ctx.stdout.write(opts.json ? JSON.stringify(r, null, 2) + '\n' : kvTable(r.entries));
    },
  );
  addClientOptions(kv.command('rm').description("delete one of this node's keys").argument('<key>')).action(async (key: string, opts: KvOptions) => {
    const r = await callAgent(opts, (c) => c.request<{ version: number }>('DELETE', `/v1/kv/${enc(key)}`));
    ctx.stdout.write(r.version === 0 ? `${key}: not set\n` : `${key} deleted (version ${r.version})\n`);
  });
  addClientOptions(kv.command('watch').description('print every change of keys under a prefix until Ctrl-C').argument('[prefix]', 'key prefix', '').option('--json', 'one JSON document per change')).action(
    async (prefix: string, opts: KvOptions) => {
            const stream = await callAgent(opts, async (c) =>
        c.events(`/v1/kv-watch?prefix=${encodeURIComponent(prefix)}`, (d) => {
          const e = d as KvEntryJson;
          ctx.stdout.write(opts.json ? JSON.stringify(e) + '\n' : `${new Date().toISOString()} ${e.node} ${e.key} = ${e.value ?? '(deleted)'} (version ${e.version})\n`);
        }),
      );
      await followUntilSignal(stream, opts.api, 'watch stream');
    },
  );
}
