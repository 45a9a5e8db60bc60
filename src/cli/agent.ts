/**
 * `rumor agent`: run a gossip agent (like `serf agent`): a rumor node plus a local HTTP
 * control API, event-handler scripts, metrics and logs. Configuration comes from flags,
 * `RUMOR_*` environment variables and an optional `--config` file (flag > env > file >
 * default; see docs/agent.md). SIGINT/SIGTERM make the agent leave the cluster and exit 0.
 *
 * Also home of what the client verbs (members, event, monitor, info, leave) share: the
 * `--api`/`--token` options and the mapping of client failures to one-line errors.
 */
import { parseArgs } from 'node:util';
import type { Command } from 'commander';
import { AGENT_DEFAULTS } from '../agent/defaults.js';
import { CONFIG_KEYS, flagName, isRepeatableFlag, type ConfigKey } from '../agent/config.js';
import type { AgentClient } from '../agent/client.js';
import { type CliContext, RunError, UsageError } from './context.js';

/** Default `--api` of the client verbs: the agent's default API address. */
export const DEFAULT_API_URL = `http://${AGENT_DEFAULTS.apiAddr}`;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Value name and help of each configuration key's flag. The flags themselves (names,
 *  repeatable or not) are derived from the schema (`flagName`), so every key has one, and
 *  docs/agent.md's table is checked against this list by test/cli/agent-flags.test.ts. */
const FLAG_HELP: Record<ConfigKey, [value: string, help: string]> = {
  name: ['name', 'node name (default: name saved in --data-dir, else the host name)'],
  cluster: ['name', `cluster name; agents refuse other clusters (default: ${AGENT_DEFAULTS.cluster})`],
  bind: ['host:port', `gossip address to listen on (default: ${AGENT_DEFAULTS.bind})`],
  advertise: ['host:port', 'address other agents use to reach this one (default: the bind address)'],
  join: ['host:port', 'agent to join at start (repeatable)'],
  tags: ['key=value', 'tag of this node (repeatable)'],
  profile: ['profile', `timing profile: lan, wan or local (default: ${AGENT_DEFAULTS.profile})`],
  eventHandlers: ['[filter=]script', 'script run on events, e.g. user:deploy=./deploy.sh (repeatable)'],
  handlerTimeoutMs: ['ms', `kill an event handler after this long (default: ${AGENT_DEFAULTS.handlerTimeoutMs})`],
  handlerConcurrency: ['n', `event handlers running at once (default: ${AGENT_DEFAULTS.handlerConcurrency})`],
  handlerQueueSize: ['n', `events queued for handlers before dropping (default: ${AGENT_DEFAULTS.handlerQueueSize})`],
  apiAddr: ['host:port', `HTTP API address (default: ${AGENT_DEFAULTS.apiAddr})`],
  apiToken: ['token', 'bearer token required by the HTTP API (required off loopback)'],
  dataDir: ['dir', 'directory for the agent state (keeps name and incarnation)'],
  logLevel: ['level', `trace, debug, info, warn, error or silent (default: ${AGENT_DEFAULTS.logLevel})`],
  logFormat: ['format', 'json or text (default: text on a terminal, json otherwise)'],
  syncIntervalMs: ['ms', `anti-entropy period (default: ${AGENT_DEFAULTS.syncIntervalMs})`],
  reapAfterMs: ['ms', `forget failed and left members after this long (default: ${AGENT_DEFAULTS.reapAfterMs})`],
  eventNamePattern: ['regex', 'user events whose name does not match are rejected (default: none)'],
  eventMaxBytes: ['bytes', 'payload limit of every user event (default: none)'],
  eventMaxBytesByName: ['name=bytes,...', 'per-event-name payload limits (default: none)'],
  eventSchemaFile: ['path', 'JSON file of per-event-name JSON schemas for payloads (default: none)'],
  encrypt: ['key', 'cluster key (base64, from `rumor keygen`): encrypt all gossip (prefer RUMOR_ENCRYPT: flags show in ps)'],
  keyringFile: ['path', 'keyring file (default: <data-dir>/keyring.json; mode 0600)'],
  encryptMode: ['mode', 'rollout mode: accept (send plaintext, accept both), send (send encrypted, accept both), enforce (default)'],
  leaveOnTerminate: ['true|false', 'on SIGTERM, leave the cluster before stopping (default: false, as Serf: peers see the node failed)'],
  skipLeaveOnInterrupt: ['true|false', 'on SIGINT, stop without leaving (default: false: leave first, as Serf)'],
  rejoinAfterLeave: ['true|false', 'rejoin from the --data-dir snapshot even after the previous run left (default: false, as Serf)'],
  memberCoalesceMs: ['ms', 'coalesce member events for handlers over this window, latest per member (default: 0, off; Serf uses 3000)'],
  userCoalesceMs: ['ms', 'coalesce user events of one name for handlers over this window, latest only (default: 0, off; Serf uses 3000)'],
  queryPath: ['path', `how queries are sent: auto (to each expected member directly when at most 64, else broadcast), direct or broadcast (default: ${AGENT_DEFAULTS.queryPath})`],
  aggregates: ['name[:kind[:ms]]=command', 'aggregate fed by a command run every ms, e.g. load:avg:5000=cut -d" " -f1 /proc/loadavg (repeatable)'],
};

/** Commander's attribute name of a flag (`--event-handler` → `eventHandler`). */
const attr = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The `flags` source of `resolveAgentConfig` from the parsed options of `rumor agent`. */
export function flagsFromOptions(opts: Record<string, unknown>): Record<string, unknown> {
  const flags: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) flags[key] = opts[attr(flagName(key))];
  return flags;
}

/** Register the `agent` verb: one flag per configuration key, plus `--config`. */
export function registerAgent(program: Command, ctx: CliContext): void {
  const cmd = program.command('agent').description('run a gossip agent (like `serf agent`), controlled over a local HTTP API');
  for (const key of CONFIG_KEYS) {
    const [value, help] = FLAG_HELP[key];
    const spec = `--${flagName(key)} <${value}>`;
    if (isRepeatableFlag(key)) cmd.option(spec, help, collect, []);
    else cmd.option(spec, help);
  }
  cmd
    .option('--config <file>', 'configuration file (.toml, .yaml, .yml or .json)')
    .addHelpText('after', '\nEvery setting can also come from the environment: RUMOR_NAME, RUMOR_BIND, RUMOR_JOIN (comma-separated), RUMOR_API_TOKEN, ... (docs/agent.md)')
    .action(async (opts: Record<string, unknown>) => {
      await runAgent(ctx, opts);
    });
}

/** `rumor agent`'s long flags for `util.parseArgs` (`--config` and one per configuration key, each
 *  taking a value, repeatable ones `multiple`), and each one's commander attribute; built at the
 *  first `quickAgentOptions`. */
let agentFlags: { options: Record<string, { type: 'string'; multiple: boolean }>; attrs: Map<string, string> } | null = null;

/**
 * The options of `rumor agent ARGS` as commander would parse them (`registerAgent`), read with
 * Node's own `util.parseArgs` (strict) instead of commander, for the common case only: every
 * argument a known long flag with its value (`--flag value` or `--flag=value`), no value empty or
 * starting with `-`. Anything else — help, an unknown or misspelt flag, a missing value, a
 * positional argument — is null, and `main` parses the line with commander as before, which prints
 * its usage error or help. An agent started this way skips building commander's program, loading
 * commander and reading package.json for `--version` (~2 ms of the agent's CPU before its API
 * answers; docs/results.md, h37b). test/cli/agent-flags.test.ts checks it against commander's parse.
 */
export function quickAgentOptions(args: readonly string[]): Record<string, unknown> | null {
  if (agentFlags === null) {
    const options: Record<string, { type: 'string'; multiple: boolean }> = { config: { type: 'string', multiple: false } };
    const attrs = new Map([['config', 'config']]);
    for (const key of CONFIG_KEYS) {
      options[flagName(key)] = { type: 'string', multiple: isRepeatableFlag(key) };
      attrs.set(flagName(key), attr(flagName(key)));
    }
    agentFlags = { options, attrs };
  }
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof agentFlags.options; strict: true; allowPositionals: false; tokens: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options: agentFlags.options, strict: true, allowPositionals: false, tokens: true });
  } catch {
    return null;
  }
  for (const t of parsed.tokens) {
    if (t.kind !== 'option' || t.rawName !== `--${t.name}` || t.value === undefined || t.value === '' || (!t.inlineValue && t.value.startsWith('-'))) return null;
  }
  const opts: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(agentFlags.options)) if (o.multiple) opts[agentFlags.attrs.get(name)!] = [];
  for (const [name, value] of Object.entries(parsed.values)) opts[agentFlags.attrs.get(name)!] = value;
  return opts;
}

/** Run the agent `rumor agent` describes with `opts` (commander's, or `quickAgentOptions`'). */
export async function runAgent(ctx: CliContext, opts: Record<string, unknown>): Promise<void> {
  const file = opts.config as string | undefined;
  const { resolveAgentConfig } = await import('../agent/config.js');
  const r = resolveAgentConfig({ flags: flagsFromOptions(opts), env: process.env, file });
  if (!r.ok) throw new UsageError(r.reason);
  const { Agent, installSignalHandlers } = await import('../agent/agent.js');
  let agent: Awaited<ReturnType<typeof Agent.start>>;
  try {
    agent = await Agent.start(r.config);
  } catch (e) {
    throw new RunError(`cannot start the agent: ${errText(e)}`);
  }
  installSignalHandlers(agent);
  const { installReloadHandler } = await import('../agent/reload.js');
  installReloadHandler(agent, () => resolveAgentConfig({ flags: flagsFromOptions(opts), env: process.env, file }));
  ctx.stdout.write(`rumor agent ${agent.node.id} running: gossip ${agent.node.address}, API ${agent.apiUrl}\n`);
  await agent.stopped;
  ctx.stdout.write(`rumor agent ${agent.node.id} stopped\n`);
  // After `rumor leave` (POST /v1/leave) every socket is closed and the process ends by itself;
  // this unref'd timer only fires if something still holds the event loop.
  setTimeout(() => process.exit(ctx.exitCode), 2000).unref();
}

/** The first line of an error's message. */
export function errText(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0];
}

/** Follow an agent's event stream until Ctrl-C / SIGTERM (a clean end) or until it fails or
 *  ends by itself (a `RunError` naming `what`, e.g. "monitor stream"). */
export async function followUntilSignal(stream: { close(): void; done: Promise<void> }, api: string, what: string): Promise<void> {
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    stream.close();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await stream.done;
  } catch (e) {
    if (!stopped) throw new RunError(errText(e));
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  if (!stopped) throw new RunError(`agent at ${api}: the ${what} ended (agent stopped?)`);
}

/** Options every client verb takes. */
export interface ClientOptions {
  api: string;
  token?: string;
}

/** Add `--api` and `--token` to a client verb. */
export function addClientOptions(cmd: Command): Command {
  return cmd
    .option('--api <url>', 'HTTP API of the agent', DEFAULT_API_URL)
    .option('--token <token>', 'API bearer token (default: $RUMOR_API_TOKEN)');
}

/** A client for `opts`; a malformed `--api` is a usage error. */
export async function clientFor(opts: ClientOptions): Promise<AgentClient> {
  let url: URL;
  try {
    url = new URL(opts.api);
  } catch {
    throw new UsageError(`option --api: expected a URL such as ${DEFAULT_API_URL}, got ${JSON.stringify(opts.api)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`option --api: expected an http:// or https:// URL, got ${JSON.stringify(opts.api)}`);
  }
  const token = opts.token ?? (process.env.RUMOR_API_TOKEN || undefined);
  const { AgentClient: Client } = await import('../agent/client.js');
  return new Client(opts.api.replace(/\/+$/, ''), token);
}

/** Run one call against the agent; any failure (unreachable, refused, 401...) becomes one line, exit 1. */
export async function callAgent<T>(opts: ClientOptions, f: (c: AgentClient) => Promise<T>): Promise<T> {
  const client = await clientFor(opts);
  try {
    return await f(client);
  } catch (e) {
    if (e instanceof UsageError || e instanceof RunError) throw e;
    throw new RunError(errText(e)); // the client's messages name the agent's URL
  }
}
