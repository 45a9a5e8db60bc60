/**
 * `rumor keygen` and `rumor keys list|install|use|remove|mode` (like `serf keygen` and
 * `serf keys`): make a cluster key, and change the keyring of every node of a running cluster
 * through one agent (docs/agent.md "Encryption"). Each verb prints per-node results: how many
 * nodes hold each key (by fingerprint), which failed and why, which did not answer; the exit
 * code is 1 when any node failed or did not answer. `--local` acts on the addressed agent only
 * (the rollout before encryption is on, and a node that missed a rotation).
 */
import type { Command } from 'commander';
import type { AskResult } from '../agent/cluster-request.js';
import type { KeysRequest, KeysSummary } from '../agent/keys.js';
import { addClientOptions, callAgent, type ClientOptions } from './agent.js';
import { type CliContext, parseDuration, UsageError } from './context.js';

interface KeysOptions extends ClientOptions {
  local?: boolean;
  timeout?: string;
}

/** Register `keygen` and `keys`. */
export function registerKeys(program: Command, ctx: CliContext): void {
  program
    .command('keygen')
    .description('print a new random cluster key (base64, 32 bytes) for --encrypt and rumor keys install')
    .action(async () => {
      const { generateKey } = await import('../wire/crypto.js');
      ctx.stdout.write(generateKey() + '\n');
    });
  const keys = program.command('keys').description('list or change the cluster keyring on every node (like `serf keys`)');
  const verb = (name: string, description: string, arg: string | null, toReq: (a: string | undefined) => KeysRequest): void => {
    const cmd = keys.command(name).description(description);
    if (arg !== null) cmd.argument(arg);
    cmd.option('--local', 'only the agent addressed by --api (no cluster-wide request)');
    cmd.option('--timeout <duration>', 'how long to wait for every node to answer, e.g. 5s (at most 2m)', '5s');
    addClientOptions(cmd).action(async (...a: unknown[]) => {
      const value = arg === null ? undefined : (a[0] as string);
      const opts = (arg === null ? a[0] : a[1]) as KeysOptions;
      const req = { ...toReq(value), local: opts.local === true, timeoutMs: parseDuration('--timeout', opts.timeout ?? '5s', 120_000) };
      const r = await callAgent(opts, (c) => c.keys(req));
      const { summarize } = await import('../agent/keys.js');
      ctx.exitCode = printResult(ctx, name, r, summarize(r), req.local);
    });
  };
  verb('list', 'list the installed keys: how many nodes hold each, which is primary, the modes', null, () => ({ op: 'list' }));
  verb('install', 'install a key on every node (not primary yet)', '<key>', (k) => ({ op: 'install', key: k }));
  verb('use', 'make an installed key the primary (encrypting) key on every node', '<key>', (k) => ({ op: 'use', key: k }));
  verb('remove', 'remove a key from every node (never the primary)', '<key>', (k) => ({ op: 'remove', key: k }));
  verb('mode', 'set the rollout mode on every node: accept, send or enforce', '<mode>', (m) => {
    if (m !== 'accept' && m !== 'send' && m !== 'enforce') throw new UsageError(`mode: expected accept, send or enforce, got ${JSON.stringify(m)}`);
    return { op: 'mode', mode: m };
  });
}

/** Print the per-node results; returns the exit code (1 when a node failed or did not answer). */
export function printResult(ctx: CliContext, op: string, r: AskResult & { keys?: string[] }, sum: KeysSummary, local: boolean): number {
  const out = (s: string): unknown => ctx.stdout.write(s + '\n');
  out(`keys ${op}${local ? ' (local)' : ''}: ${sum.ok}/${sum.nodes} nodes ok, ${sum.failed.length} failed, ${sum.missing.length} without answer`);
  // `--local list` also shows the keys themselves (they only crossed the local API).
  const own = r.keys === undefined ? [] : (r.answers[0]?.fields.slice(1) ?? []);
  for (const k of sum.keys) {
    const primary = k.primary > 0 ? `, primary on ${k.primary}` : '';
    const i = own.indexOf(k.fingerprint);
    out(`  key ${k.fingerprint}  on ${k.nodes}/${sum.ok} nodes${primary}${i >= 0 ? `  ${r.keys![i]}` : ''}`);
  }
  const modes = Object.entries(sum.modes);
  if (modes.length > 0) out(`  modes: ${modes.map(([m, n]) => `${m} ${n}`).join(', ')}`);
  for (const f of sum.failed) out(`failed: ${f.name} (${f.addr}): ${f.error}`);
  for (const m of sum.missing) out(`no answer: ${m.name} (${m.addr})`);
  return sum.failed.length + sum.missing.length > 0 ? 1 : 0;
}
