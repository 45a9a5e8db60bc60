/**
 * Agent configuration: one schema, three sources. Precedence per key:
 * flag > environment (`RUMOR_*`) > config file (TOML, YAML or JSON by extension) > default.
 * A key given by a higher source replaces the lower one entirely (lists and tag maps are not
 * merged). Errors are one line naming the source and the key, e.g.
 * `config file ./a.toml: tags.role: expected a string`. See docs/agent.md.
 *
 * The schema is a table of small validators rather than a zod schema, and the TOML/YAML
 * parsers are loaded (synchronously, with `require`) only when a file of that type is given:
 * the agent is a long-running daemon started many at a time, and zod + yaml + smol-toml cost
 * ~15 MB of RSS and ~100 ms of start-up (measured: node 20, `import()` of each).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { parseAddr } from '../net/util.js';
import { parseKey } from '../wire/crypto.js';
import { AGENT_DEFAULTS } from './defaults.js';
import { loadEventSchemas } from './event-rules.js';
import { checkAggregateName, checkKind, type AggregateKind } from '../proto/aggregate/types.js';
import { QUERY_PATHS, type QueryPath } from '../proto/query/types.js';

export { AGENT_DEFAULTS };

/** Event filters accepted by handlers and the monitor stream. */
export const EVENT_TYPES = ['member-join', 'member-leave', 'member-failed', 'member-update', 'member-reap', 'user'] as const;

/** One event handler: run `script` for events matching any of `filters`. */
export interface EventHandlerSpec {
  /** `*`, `user`, `user:<name>`, `query`, `query:<name>` (`*` never matches queries), `member-join`, `member-leave`, `member-failed`, `member-update`. */
  filters: string[];
  script: string;
}

/** Parse a bind address: like `parseAddr`, but port 0 (any free port) is allowed. */
export function parseBindAddr(s: string): ReturnType<typeof parseAddr> {
  if (!s.endsWith(':0')) return parseAddr(s);
  const r = parseAddr(s.slice(0, -2) + ':1');
  return r.ok ? { ok: true, value: { host: r.value.host, port: 0 } } : r;
}

/** A failed check: `path` below the key (e.g. `role` for `tags.role`), and the problem. */
interface Issue {
  path: string[];
  message: string;
}
type Check = (v: unknown) => Issue | undefined;

const issue = (message: string, path: string[] = []): Issue => ({ path, message });
const str: Check = (v) => (typeof v === 'string' ? undefined : issue('expected a string'));
const nonEmpty = (max = Infinity): Check => (v) =>
  str(v) ?? ((v as string).length === 0 ? issue('expected a non-empty string') : (v as string).length > max ? issue(`at most ${max} characters`) : undefined);
const posInt: Check = (v) =>
  typeof v !== 'number' || Number.isNaN(v) ? issue('expected a number') : !Number.isSafeInteger(v) ? issue('expected an integer') : v <= 0 ? issue('expected a positive number') : undefined;
const nonNegInt: Check = (v) =>
  typeof v !== 'number' || Number.isNaN(v) ? issue('expected a number') : !Number.isSafeInteger(v) ? issue('expected an integer') : v < 0 ? issue('expected 0 or a positive number') : undefined;
const addr: Check = (v) => str(v) ?? (parseAddr(v as string).ok ? undefined : issue('expected "host:port"'));
const bindAddr: Check = (v) => str(v) ?? (parseBindAddr(v as string).ok ? undefined : issue('expected "host:port" (port 0 = any free port)'));
const oneOf = (values: readonly string[], message: string): Check => (v) => (typeof v === 'string' && values.includes(v) ? undefined : issue(message));
const listOf = (item: Check, message: string): Check => (v) => {
  if (!Array.isArray(v)) return issue(message);
  for (let i = 0; i < v.length; i++) {
    const bad = item(v[i]);
    if (bad) return issue(bad.message, [String(i), ...bad.path]);
  }
  return undefined;
};
const stringTable: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return issue('expected a table of key = "value"');
  const bad = Object.entries(v).find(([, x]) => typeof x !== 'string');
  return bad ? issue('expected a string', [bad[0]]) : undefined;
};
const numTable: Check = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return issue('expected a table of name = bytes');
  const bad = Object.entries(v).find(([, x]) => posInt(x) !== undefined);
  return bad ? issue('expected a positive integer', [bad[0]]) : undefined;
};
const regex: Check = (v) => {
  if (typeof v !== 'string') return issue('expected a regular expression string');
  try {
    new RegExp(v);
    return undefined;
  } catch (e) {
    return issue(`invalid regular expression: ${(e as Error).message}`);
  }
};
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : issue('expected true or false'));
const optional = (c: Check): Check => (v) => (v === undefined ? undefined : c(v));
/** One `aggregates` entry: a table `{ name, kind = "avg", command, intervalMs = 10000 }`, or
 *  the flag/env form `name[:kind[:intervalMs]]=command`. */
export function parseAggregateSpec(v: unknown): { ok: true; value: { name: string; kind: AggregateKind; command: string; intervalMs: number } } | { ok: false; reason: string; path?: string } {
  let o: Record<string, unknown>;
  if (typeof v === 'string') {
    const m = /^([^:=]+)(?::([^:=]*))?(?::([^:=]*))?=(.*)$/s.exec(v);
    if (m === null) return { ok: false, reason: 'expected name[:kind[:intervalMs]]=command' };
    o = { name: m[1], command: m[4] };
    if (m[2]) o.kind = m[2];
    if (m[3]) o.intervalMs = /^\d+$/.test(m[3]) ? Number(m[3]) : m[3];
  } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) o = v as Record<string, unknown>;
  else return { ok: false, reason: 'expected a table { name, kind, command, intervalMs } or "name[:kind[:intervalMs]]=command"' };
  const extra = Object.keys(o).find((k) => !['name', 'kind', 'command', 'intervalMs'].includes(k));
  if (extra !== undefined) return { ok: false, reason: `unknown key "${extra}" (expected name, kind, command, intervalMs)` };
  const n = checkAggregateName(o.name);
  if (!n.ok) return { ok: false, reason: n.reason, path: 'name' };
  const k = checkKind(o.kind ?? 'avg');
  if (!k.ok) return { ok: false, reason: k.reason, path: 'kind' };
  if (typeof o.command !== 'string' || o.command.trim() === '') return { ok: false, reason: 'expected a non-empty shell command', path: 'command' };
  const ms = o.intervalMs ?? 10_000;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 100) return { ok: false, reason: 'expected an integer number of milliseconds >= 100', path: 'intervalMs' };
  return { ok: true, value: { name: n.value, kind: k.value, command: o.command, intervalMs: ms } };
}
const aggregateEntry: Check = (v) => {
  const r = parseAggregateSpec(v);
  return r.ok ? undefined : issue(r.reason, r.path === undefined ? [] : [r.path]);
};
const key: Check = (v) => {
  const p = parseKey(v);
  return p.ok ? undefined : issue(p.reason);
};

/** The settings: one validator per key (all keys but the optional ones have a default). */
const SCHEMA = {
  name: optional(nonEmpty(256)),
  cluster: nonEmpty(),
  bind: bindAddr,
  advertise: optional(addr),
  join: listOf(addr, 'expected a list of "host:port"'),
  tags: stringTable,
  profile: oneOf(['lan', 'wan', 'local'], 'expected lan, wan or local'),
  eventHandlers: listOf(str, 'expected a list of "[filter=]script"'),
  handlerTimeoutMs: posInt,
  handlerConcurrency: posInt,
  handlerQueueSize: posInt,
  apiAddr: bindAddr,
  apiToken: optional(nonEmpty()),
  dataDir: optional(nonEmpty()),
  logLevel: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], 'expected trace, debug, info, warn, error or silent'),
  logFormat: oneOf(['json', 'text'], 'expected json or text'),
  syncIntervalMs: posInt,
  reapAfterMs: posInt,
  eventNamePattern: optional(regex),
  eventMaxBytes: optional(posInt),
  eventMaxBytesByName: optional(numTable),
  eventSchemaFile: optional(nonEmpty()),
  encrypt: optional(key),
  keyringFile: optional(nonEmpty()),
  encryptMode: optional(oneOf(['accept', 'send', 'enforce'], 'expected accept, send or enforce')),
  aggregates: listOf(aggregateEntry, 'expected a list of tables { name, kind, command, intervalMs }'),
  leaveOnTerminate: bool,
  skipLeaveOnInterrupt: bool,
  rejoinAfterLeave: bool,
  memberCoalesceMs: nonNegInt,
  userCoalesceMs: nonNegInt,
  queryPath: oneOf(QUERY_PATHS, 'expected auto, direct or broadcast'),
} satisfies Record<string, Check>;

interface Raw {
  name?: string;
  cluster: string;
  bind: string;
  advertise?: string;
  join: string[];
  tags: Record<string, string>;
  profile: 'lan' | 'wan' | 'local';
  eventHandlers: string[];
  handlerTimeoutMs: number;
  handlerConcurrency: number;
  handlerQueueSize: number;
  apiAddr: string;
  apiToken?: string;
  dataDir?: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  logFormat: 'json' | 'text';
  syncIntervalMs: number;
  reapAfterMs: number;
  /** User-event validation (event-rules.ts). */
  eventNamePattern?: string;
  eventMaxBytes?: number;
  eventMaxBytesByName?: Record<string, number>;
  /** JSON file of per-event-name JSON schemas for user-event payloads (event-rules.ts). */
  eventSchemaFile?: string;
  /** Initial cluster key (base64, 32 bytes; docs/agent.md "Encryption"). */
  encrypt?: string;
  /** Keyring file (default `<dataDir>/keyring.json`). */
  keyringFile?: string;
  /** Rollout mode: accept, send or enforce (default: the keyring file's, else enforce). */
  encryptMode?: 'accept' | 'send' | 'enforce';
  aggregates: (string | { name: string; kind?: AggregateKind; command: string; intervalMs?: number })[];
  /** SIGTERM: leave the cluster first (Serf `leave_on_terminate`, default false). */
  leaveOnTerminate: boolean;
  /** SIGINT: stop without leaving (Serf `skip_leave_on_interrupt`, default false). */
  skipLeaveOnInterrupt: boolean;
  /** Rejoin from the snapshot in `dataDir` even after the previous run left (Serf `rejoin_after_leave`). */
  rejoinAfterLeave: boolean;
  /** Coalescing of member events / of user events by name for handlers (0: off; coalesce.ts). */
  memberCoalesceMs: number;
  userCoalesceMs: number;
  /** How this agent sends its queries (src/proto/query/machine.ts; docs/agent.md "Queries"). */
  queryPath: QueryPath;
}
type Key = keyof Raw;

/** The resolved configuration of an agent. */
export interface AgentConfig extends Omit<Raw, 'eventHandlers'> {
  eventHandlers: EventHandlerSpec[];
}

/** Where configuration comes from. `flags` use the schema's camelCase keys. */
export interface ConfigSources {
  flags?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** Path of a config file (.toml, .yaml, .yml, .json). */
  file?: string;
  /** Whether stdout is a terminal (default `process.stdout.isTTY`): picks the log format. */
  isTTY?: boolean;
}

const KEYS = Object.keys(SCHEMA) as Key[];
const LIST_KEYS = new Set<Key>(['join', 'eventHandlers', 'aggregates']);
const BOOL_KEYS = new Set<Key>(['leaveOnTerminate', 'skipLeaveOnInterrupt', 'rejoinAfterLeave']);
const NUM_KEYS = new Set<Key>(['handlerTimeoutMs', 'handlerConcurrency', 'handlerQueueSize', 'syncIntervalMs', 'reapAfterMs', 'eventMaxBytes', 'memberCoalesceMs', 'userCoalesceMs']);

/** Every configuration key, in schema order. */
export const CONFIG_KEYS: readonly Key[] = KEYS;
export type ConfigKey = Key;

/** List keys: on the command line one value per flag, the flag repeatable and singular. */
const REPEATABLE_FLAGS: Partial<Record<Key, string>> = { join: 'join', tags: 'tag', eventHandlers: 'event-handler', aggregates: 'aggregate' };

/** The command-line flag of `key`, without `--`: kebab-case (`handlerTimeoutMs` →
 *  `handler-timeout-ms`), singular for the repeatable list keys (`tags` → `tag`). */
export function flagName(key: Key): string {
  return REPEATABLE_FLAGS[key] ?? key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** Whether `key`'s flag is given once per value (`--join a --join b`). */
export function isRepeatableFlag(key: Key): boolean {
  return REPEATABLE_FLAGS[key] !== undefined;
}

/** `eventHandlers` → `RUMOR_EVENT_HANDLERS`. */
export function envName(key: string): string {
  return 'RUMOR_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

function camel(key: string): string {
  return key.replace(/[-_]([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Resolve the agent configuration. Never throws. */
export function resolveAgentConfig(sources: ConfigSources): { ok: true; config: AgentConfig } | { ok: false; reason: string } {
  const layers: { label: (k: string) => string; values: Record<string, unknown> }[] = [];
  if (sources.file !== undefined) {
    const f = readConfigFile(sources.file);
    if (!f.ok) return f;
    layers.push({ label: () => `config file ${sources.file}`, values: f.values });
  }
  if (sources.env !== undefined) layers.push({ label: (k) => `environment ${envName(k)}`, values: fromEnv(sources.env) });
  if (sources.flags !== undefined) layers.push({ label: (k) => `flag --${(KEYS as string[]).includes(k) ? flagName(k as Key) : k}`, values: fromFlags(sources.flags) });
  const merged: Record<string, unknown> = { ...AGENT_DEFAULTS };
  const origin: Record<string, string> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer.values)) {
      if (v === undefined) continue;
      if (!(KEYS as string[]).includes(k)) return { ok: false, reason: `${layer.label(k)}: unknown key "${k}"` };
      if (v instanceof BadValue) return { ok: false, reason: `${layer.label(k)}: ${k}: ${v.reason}` };
      const bad = SCHEMA[k as Key](v);
      if (bad) return { ok: false, reason: `${layer.label(k)}: ${issueText(k, bad)}` };
      merged[k] = v;
      origin[k] = layer.label(k);
    }
  }
  for (const k of KEYS) {
    const bad = SCHEMA[k](merged[k]);
    if (bad) return { ok: false, reason: issueText(k, bad) };
  }
  return finish(merged as unknown as Raw, origin, sources.isTTY ?? process.stdout.isTTY === true);
}

function finish(raw: Raw, origin: Record<string, string>, isTTY: boolean): { ok: true; config: AgentConfig } | { ok: false; reason: string } {
  const handlers: EventHandlerSpec[] = [];
  for (const h of raw.eventHandlers) {
    const spec = parseEventHandler(h);
    if (!spec.ok) return { ok: false, reason: `${origin.eventHandlers ?? 'default'}: eventHandlers: ${spec.reason}` };
    handlers.push(spec.spec);
  }
  const api = parseBindAddr(raw.apiAddr);
  if (api.ok && !isLoopback(api.value.host) && raw.apiToken === undefined) {
    return { ok: false, reason: `${origin.apiAddr ?? 'default'}: apiToken: required when apiAddr ${raw.apiAddr} is not a loopback address` };
  }
  const bind = parseBindAddr(raw.bind);
  if (bind.ok && (bind.value.host === '0.0.0.0' || bind.value.host === '::') && raw.advertise === undefined) {
    return { ok: false, reason: `${origin.bind ?? 'default'}: advertise: required when bind is the wildcard ${bind.value.host}` };
  }
  if (raw.eventSchemaFile !== undefined) {
    const s = loadEventSchemas(raw.eventSchemaFile);
    if (!s.ok) return { ok: false, reason: `${origin.eventSchemaFile ?? 'default'}: eventSchemaFile: ${s.reason}` };
  }
  const logFormat = origin.logFormat === undefined ? (isTTY ? 'text' : 'json') : raw.logFormat;
  return { ok: true, config: { ...raw, join: [...raw.join], tags: { ...raw.tags }, logFormat, eventHandlers: handlers } };
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const FILTER = /^(\*|user|user:[^\s,=]+|query|query:[^\s,=]+|member-join|member-leave|member-failed|member-update)$/;

/** Parse `[filter[,filter]=]script`. A prefix that is not a list of filters belongs to the script. */
export function parseEventHandler(text: string): { ok: true; spec: EventHandlerSpec } | { ok: false; reason: string } {
  const i = text.indexOf('=');
  let filters = ['*'];
  let script = text;
  if (i > 0) {
    const parts = text.slice(0, i).split(',');
    if (parts.every((p) => FILTER.test(p))) {
      filters = parts;
      script = text.slice(i + 1);
    } else if (/^[a-z*:-]+(,[a-z*:-]+)*$/.test(text.slice(0, i))) {
      const bad = parts.find((p) => !FILTER.test(p))!;
      return { ok: false, reason: `unknown event filter "${bad}" (expected *, user, user:NAME, query, query:NAME, member-join, member-leave, member-failed or member-update)` };
    }
  }
  if (script.trim().length === 0) return { ok: false, reason: `empty script in ${JSON.stringify(text)}` };
  return { ok: true, spec: { filters, script } };
}

function issueText(key: string, bad: Issue): string {
  return `${[key, ...bad.path].join('.')}: ${bad.message}`;
}

/** Parsers of config files, loaded on first use (`require`: both packages ship CommonJS). */
const requireDep = createRequire(import.meta.url);
function parseToml(text: string): unknown {
  return (requireDep('smol-toml') as typeof import('smol-toml')).parse(text);
}
function parseYaml(text: string): unknown {
  return (requireDep('yaml') as typeof import('yaml')).parse(text);
}

function readConfigFile(path: string): { ok: true; values: Record<string, unknown> } | { ok: false; reason: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, reason: `config file ${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  const ext = extname(path).toLowerCase();
  let v: unknown;
  try {
    if (ext === '.toml') v = parseToml(text);
    else if (ext === '.yaml' || ext === '.yml') v = parseYaml(text);
    else if (ext === '.json') v = JSON.parse(text);
    else return { ok: false, reason: `config file ${path}: unknown extension "${ext}" (use .toml, .yaml, .yml or .json)` };
  } catch (err) {
    return { ok: false, reason: `config file ${path}: ${String((err as Error).message).split('\n')[0]}` };
  }
  if (v === null || v === undefined) return { ok: true, values: {} };
  if (typeof v !== 'object' || Array.isArray(v)) return { ok: false, reason: `config file ${path}: expected a table of settings at the top level` };
  const values: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const key = camel(k);
    values[key] = LIST_KEYS.has(key as Key) && typeof x === 'string' ? [x] : x;
  }
  return { ok: true, values };
}

/** A source value that could not be converted (reported with its source). */
class BadValue {
  constructor(readonly reason: string) {}
}

function splitTags(items: string[]): Record<string, string> | string {
  const tags: Record<string, string> = {};
  for (const it of items) {
    const i = it.indexOf('=');
    if (i <= 0) return it;
    tags[it.slice(0, i).trim()] = it.slice(i + 1).trim();
  }
  return tags;
}

function coerce(key: Key, v: unknown, listSep: RegExp): unknown {
  if (typeof v !== 'string' && !(Array.isArray(v) && key === 'tags')) {
    if (LIST_KEYS.has(key) && typeof v === 'string') return [v];
    return v;
  }
  if (key === 'eventMaxBytesByName') {
    // Flag / environment form: "deploy=512,ping=64".
    const t: Record<string, unknown> = {};
    for (const item of (v as string).split(',').filter((x) => x.trim() !== '')) {
      const [k, n] = item.split('=');
      t[k.trim()] = /^\d+$/.test((n ?? '').trim()) ? Number(n.trim()) : n;
    }
    return t;
  }
  if (key === 'tags') {
    const items = (Array.isArray(v) ? v.map(String) : (v as string).split(',')).filter((s) => s.trim() !== '');
    const t = splitTags(items);
    return typeof t === 'string' ? new BadValue(`expected key=value, got ${JSON.stringify(t)}`) : t;
  }
  const s = v as string;
  if (LIST_KEYS.has(key)) return s.split(listSep).map((x) => x.trim()).filter((x) => x !== '');
  if (NUM_KEYS.has(key)) return /^\d+$/.test(s.trim()) ? Number(s.trim()) : s;
  if (BOOL_KEYS.has(key)) return parseBool(s) ?? new BadValue(`expected true or false, got ${JSON.stringify(s)}`);
  return s;
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`, any case) from a flag or the environment. */
function parseBool(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  return ['true', '1', 'yes'].includes(t) ? true : ['false', '0', 'no'].includes(t) ? false : undefined;
}

function fromEnv(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) {
    const v = env[envName(k)];
    if (v === undefined || v === '') continue;
    // join: comma-separated; eventHandlers: newline-separated (scripts may hold commas).
    out[k] = coerce(k, v, k === 'eventHandlers' || k === 'aggregates' ? /\n/ : /,/);
  }
  return out;
}

function fromFlags(flags: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [raw, v] of Object.entries(flags)) {
    if (v === undefined) continue;
    const k = camel(raw);
    if (!(KEYS as string[]).includes(k)) {
      out[k] = v;
      continue;
    }
    if (Array.isArray(v) && v.length === 0 && (LIST_KEYS.has(k as Key) || k === 'tags')) continue;
    out[k] = coerce(k as Key, v, /\n/);
  }
  return out;
}
