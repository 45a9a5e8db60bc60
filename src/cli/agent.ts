/**
 * `rumor agent`: run a gossip agent (like `serf agent`): a rumor node plus a local HTTP
 * control API, event-handler scripts, metrics and logs. Configuration comes from flags,
 * `RUMOR_*` environment variables and an optional `--config` file (flag > env > file >
 * default; see docs/agent.md). SIGINT/SIGTERM make the agent leave the cluster and exit 0.
 *
 * Also home of what the client verbs (members, event, monitor, info, leave) share: the
 * `--api`/`--token` options and the mapping of client failures to one-line errors.
 */
import type { Command } from 'commander';
import { AGENT_DEFAULTS } from '../agent/defaults.js';
import type { AgentClient } from '../agent/client.js';
import { type CliContext, RunError, UsageError } from './context.js';

/** Default `--api` of the client verbs: the agent's default API address. */
export const DEFAULT_API_URL = `http://${AGENT_DEFAULTS.apiAddr}`;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface AgentOptions {
  name?: string;
  cluster?: string;
  bind?: string;
  advertise?: string;
  join: string[];
  tag: string[];
  profile?: string;
  eventHandler: string[];
  apiAddr?: string;
  apiToken?: string;
  dataDir?: string;
  logLevel?: string;
  logFormat?: string;
  config?: string;
  encrypt?: string;
  keyringFile?: string;
  encryptMode?: string;
}

/** Register the `agent` verb. */
export function registerAgent(program: Command, ctx: CliContext): void {
  program
    .command('agent')
    .description('run a gossip agent (like `serf agent`), controlled over a local HTTP API')
    .option('--name <name>', 'node name (default: random)')
    .option('--cluster <name>', `cluster name; agents refuse other clusters (default: ${AGENT_DEFAULTS.cluster})`)
    .option('--bind <host:port>', `gossip address to listen on (default: ${AGENT_DEFAULTS.bind})`)
    .option('--advertise <host:port>', 'address other agents use to reach this one (default: the bind address)')
    .option('--join <host:port>', 'agent to join at start (repeatable)', collect, [])
    .option('--tag <key=value>', 'tag of this node (repeatable)', collect, [])
    .option('--profile <profile>', `timing profile: lan, wan or local (default: ${AGENT_DEFAULTS.profile})`)
    .option('--event-handler <[filter=]script>', 'script run on events, e.g. user:deploy=./deploy.sh (repeatable)', collect, [])
    .option('--api-addr <host:port>', `HTTP API address (default: ${AGENT_DEFAULTS.apiAddr})`)
    .option('--api-token <token>', 'bearer token required by the HTTP API (required off loopback)')
    .option('--data-dir <dir>', 'directory for the agent state')
    .option('--log-level <level>', `trace, debug, info, warn, error or silent (default: ${AGENT_DEFAULTS.logLevel})`)
    .option('--log-format <format>', 'json or text (default: text on a terminal, json otherwise)')
    .option('--config <file>', 'configuration file (.toml, .yaml, .yml or .json)')
    .option('--encrypt <key>', 'cluster key (base64, from `rumor keygen`): encrypt all gossip (prefer RUMOR_ENCRYPT: flags show in ps)')
    .option('--keyring-file <path>', 'keyring file (default: <data-dir>/keyring.json; mode 0600)')
    .option('--encrypt-mode <mode>', 'rollout mode: accept (send plaintext, accept both), send (send encrypted, accept both), enforce (default)')
    .addHelpText('after', '\nEvery setting can also come from the environment: RUMOR_NAME, RUMOR_BIND, RUMOR_JOIN (comma-separated), RUMOR_API_TOKEN, ...')
    .action(async (opts: AgentOptions) => {
      await runAgent(ctx, opts);
    });
}

async function runAgent(ctx: CliContext, opts: AgentOptions): Promise<void> {
  const { config: file, tag, eventHandler, ...rest } = opts;
  const flags: Record<string, unknown> = { ...rest, tags: tag, eventHandlers: eventHandler };
  const { resolveAgentConfig } = await import('../agent/config.js');
  const r = resolveAgentConfig({ flags, env: process.env, file });
  if (!r.ok) throw new UsageError(r.reason);
  const { Agent, installSignalHandlers } = await import('../agent/agent.js');
  let agent: Awaited<ReturnType<typeof Agent.start>>;
  try {
    agent = await Agent.start(r.config);
  } catch (e) {
    throw new RunError(`cannot start the agent: ${errText(e)}`);
  }
  installSignalHandlers(agent);
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
