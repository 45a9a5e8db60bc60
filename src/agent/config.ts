/**
 * Agent configuration: one zod schema, three sources. Precedence per key:
 * flag > environment (`RUMOR_*`) > config file (TOML, YAML or JSON by extension) > default.
 * A key given by a higher source replaces the lower one entirely (lists and tag maps are not
 * merged). Errors are one line naming the source and the key, e.g.
 * `config file ./a.toml: tags.role: expected a string`. See docs/agent.md.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseAddr } from '../net/util.js';

/** Event filters accepted by handlers and the monitor stream. */
export const EVENT_TYPES = ['member-join', 'member-leave', 'member-failed', 'member-update', 'user'] as const;

/** One event handler: run `script` for events matching any of `filters`. */
export interface EventHandlerSpec {
  /** `*`, `user`, `user:<name>`, `member-join`, `member-leave`, `member-failed`, `member-update`. */
  filters: string[];
  script: string;
}

const str = z.string({ error: 'expected a string' });
const posInt = z.number({ error: 'expected a number' }).int('expected an integer').positive('expected a positive number');
const addr = str.refine((s) => parseAddr(s).ok, { message: 'expected "host:port"' });
const bindAddr = str.refine((s) => parseBindAddr(s).ok, { message: 'expected "host:port" (port 0 = any free port)' });

/** Parse a bind address: like `parseAddr`, but port 0 (any free port) is allowed. */
export function parseBindAddr(s: string): ReturnType<typeof parseAddr> {
  if (!s.endsWith(':0')) return parseAddr(s);
  const r = parseAddr(s.slice(0, -2) + ':1');
  return r.ok ? { ok: true, value: { host: r.value.host, port: 0 } } : r;
}

const schema = z.strictObject({
  name: str.min(1, 'expected a non-empty string').max(256, 'at most 256 characters').optional(),
  cluster: str.min(1, 'expected a non-empty string'),
  bind: bindAddr,
  advertise: addr.optional(),
  join: z.array(addr, { error: 'expected a list of "host:port"' }),
  tags: z.record(str, str, { error: 'expected a table of key = "value"' }),
  profile: z.enum(['lan', 'wan', 'local'], { error: 'expected lan, wan or local' }),
  eventHandlers: z.array(str, { error: 'expected a list of "[filter=]script"' }),
  handlerTimeoutMs: posInt,
  handlerConcurrency: posInt,
  handlerQueueSize: posInt,
  apiAddr: bindAddr,
  apiToken: str.min(1, 'expected a non-empty string').optional(),
  dataDir: str.min(1, 'expected a non-empty string').optional(),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], { error: 'expected trace, debug, info, warn, error or silent' }),
  logFormat: z.enum(['json', 'text'], { error: 'expected json or text' }),
  syncIntervalMs: posInt,
  reapAfterMs: posInt,
});

type Raw = z.infer<typeof schema>;
type Key = keyof Raw;

/** The resolved configuration of an agent. */
export interface AgentConfig extends Omit<Raw, 'eventHandlers'> {
  eventHandlers: EventHandlerSpec[];
}

/** Defaults (sources in docs/agent.md). */
export const AGENT_DEFAULTS = {
  cluster: 'rumor',
  bind: '127.0.0.1:7946', // Serf's default bind port
  join: [] as string[],
  tags: {} as Record<string, string>,
  profile: 'lan' as const,
  eventHandlers: [] as string[],
  handlerTimeoutMs: 10_000,
  handlerConcurrency: 4,
  handlerQueueSize: 64,
  apiAddr: '127.0.0.1:7373', // Serf's default RPC port
  logLevel: 'info' as const,
  logFormat: 'json' as const, // 'text' when stdout is a terminal and no source sets it
  syncIntervalMs: 30_000, // memberlist PushPullInterval
  reapAfterMs: 24 * 3600_000, // Serf reconnect_timeout / tombstone_timeout
};

/** Where configuration comes from. `flags` use the schema's camelCase keys. */
export interface ConfigSources {
  flags?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  /** Path of a config file (.toml, .yaml, .yml, .json). */
  file?: string;
  /** Whether stdout is a terminal (default `process.stdout.isTTY`): picks the log format. */
  isTTY?: boolean;
}

const KEYS = Object.keys(schema.shape) as Key[];
const LIST_KEYS = new Set<Key>(['join', 'eventHandlers']);
const NUM_KEYS = new Set<Key>(['handlerTimeoutMs', 'handlerConcurrency', 'handlerQueueSize', 'syncIntervalMs', 'reapAfterMs']);

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
  if (sources.flags !== undefined) layers.push({ label: (k) => `flag --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`, values: fromFlags(sources.flags) });
  const merged: Record<string, unknown> = { ...AGENT_DEFAULTS };
  const origin: Record<string, string> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer.values)) {
      if (v === undefined) continue;
      if (!(KEYS as string[]).includes(k)) return { ok: false, reason: `${layer.label(k)}: unknown key "${k}"` };
      if (v instanceof BadValue) return { ok: false, reason: `${layer.label(k)}: ${k}: ${v.reason}` };
      const one = schema.shape[k as Key].safeParse(v);
      if (!one.success) return { ok: false, reason: `${layer.label(k)}: ${issueText(k, one.error.issues[0])}` };
      merged[k] = v;
      origin[k] = layer.label(k);
    }
  }
  const r = schema.safeParse(merged);
  if (!r.success) return { ok: false, reason: issueText('', r.error.issues[0]) };
  return finish(r.data, origin, sources.isTTY ?? process.stdout.isTTY === true);
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
  const logFormat = origin.logFormat === undefined ? (isTTY ? 'text' : 'json') : raw.logFormat;
  return { ok: true, config: { ...raw, logFormat, eventHandlers: handlers } };
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const FILTER = /^(\*|user|user:[^\s,=]+|member-join|member-leave|member-failed|member-update)$/;

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
      return { ok: false, reason: `unknown event filter "${bad}" (expected *, user, user:NAME, member-join, member-leave, member-failed or member-update)` };
    }
  }
  if (script.trim().length === 0) return { ok: false, reason: `empty script in ${JSON.stringify(text)}` };
  return { ok: true, spec: { filters, script } };
}

function issueText(prefix: string, issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'invalid';
  const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
  if (issue.code === 'unrecognized_keys') return `unknown key "${issue.keys[0]}"`;
  return `${path}: ${issue.message}`;
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
  if (key === 'tags') {
    const items = (Array.isArray(v) ? v.map(String) : (v as string).split(',')).filter((s) => s.trim() !== '');
    const t = splitTags(items);
    return typeof t === 'string' ? new BadValue(`expected key=value, got ${JSON.stringify(t)}`) : t;
  }
  const s = v as string;
  if (LIST_KEYS.has(key)) return s.split(listSep).map((x) => x.trim()).filter((x) => x !== '');
  if (NUM_KEYS.has(key)) return /^\d+$/.test(s.trim()) ? Number(s.trim()) : s;
  return s;
}

function fromEnv(env: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) {
    const v = env[envName(k)];
    if (v === undefined || v === '') continue;
    // join: comma-separated; eventHandlers: newline-separated (scripts may hold commas).
    out[k] = coerce(k, v, k === 'eventHandlers' ? /\n/ : /,/);
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
