/**
 * Scenario files: parse (TOML or JSON, chosen by the file extension) and validate into the
 * typed `Scenario` of `scenario-types.ts`.
 *
 * Every failure is one line naming the file, the field path and what was expected, e.g.
 * `scenarios/x.toml: timeline[2].percent: expected a number between 0 and 100, got 150`.
 * Parsing never throws: `parseScenario` returns a result value.
 *
 * Field names are those of `scenario-types.ts` (camelCase, e.g. `intervalMs`). Defaults for
 * omitted fields (choices of this simulator, not taken from a paper unless stated):
 *
 * | field | default | why |
 * |---|---|---|
 * | `name` | file name without directory and extension | |
 * | `nodes` | 1000 | small enough to run in seconds |
 * | `seed` | 1 | any fixed seed keeps runs reproducible |
 * | `protocol` | `{}` → `DEFAULT_NODE_CONFIG` (HyParView + Plumtree, paper defaults, `src/proto/node.ts`) | |
 * | `network.*` | `DEFAULT_NETWORK_CONFIG` of `network.ts`: latency uniform 5–25 ms, loss 0, `rst` failure detection, connect timeout 1 s (reasons there) | |
 * | `timeline` | required, at least one event | |
 * | `join-all.intervalMs` | 10 | chosen: 1,000 nodes join in 10 s |
 * | `broadcast.count` / `broadcast.intervalMs` | 1 / 1000 | |
 * | `partition.groups` | 2 | |
 * | `slow.delayMs` | 100 | chosen: a visibly slow node |
 * | `endMs` | omitted: the engine uses last event + 10 s | |
 */
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { DEFAULT_NODE_CONFIG, resolveNodeConfig, type NodeConfigInput } from '../proto/node.js';
import { DEFAULT_NETWORK_CONFIG } from './network.js';
import type { LatencyModel, NetworkConfig, Scenario, TimelineEvent } from './scenario-types.js';

/** Result of parsing a scenario file. */
export type ScenarioParseResult = { ok: true; scenario: Scenario } | { ok: false; reason: string };

/** Default node count of a scenario that omits `nodes`. */
export const DEFAULT_SCENARIO_NODES = 1000;
/** Default seed of a scenario that omits `seed`. */
export const DEFAULT_SCENARIO_SEED = 1;
/** Default network model: the simulator's own (`network.ts`). */
export const DEFAULT_NETWORK: NetworkConfig = DEFAULT_NETWORK_CONFIG;
/** Upper bound on `nodes` (the simulator targets 10^6). */
export const MAX_SCENARIO_NODES = 10_000_000;

// ---- field schemas: each carries the "expected ..." text used in the error line ----------

function num(min: number, max: number, what = 'a number'): z.ZodNumber {
  const error = `expected ${what} between ${min} and ${max}`;
  return z.number({ error }).min(min, { error }).max(max, { error });
}
function intAtLeast(min: number, what = 'an integer'): z.ZodNumber {
  const error = `expected ${what} >= ${min}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(Number.MAX_SAFE_INTEGER, { error });
}
function numAtLeast(min: number, what = 'a number'): z.ZodNumber {
  const error = `expected ${what} >= ${min}`;
  return z.number({ error }).min(min, { error }).max(Number.MAX_VALUE, { error });
}
const ms = numAtLeast(0, 'a time in ms');
const at = ms;

const latencySchemas = {
  constant: z.strictObject({ kind: z.literal('constant'), ms }),
  uniform: z.strictObject({ kind: z.literal('uniform'), minMs: ms, maxMs: ms }),
  lognormal: z.strictObject({ kind: z.literal('lognormal'), medianMs: ms, sigma: numAtLeast(0) }),
} as const;

const failureDetectionSchemas = {
  rst: z.strictObject({ kind: z.literal('rst') }),
  timeout: z.strictObject({ kind: z.literal('timeout'), ms }),
} as const;

const eventSchemas = {
  'join-all': z.strictObject({ at, type: z.literal('join-all'), intervalMs: ms.default(10) }),
  fail: z.strictObject({ at, type: z.literal('fail'), percent: num(0, 100) }),
  crash: z.strictObject({
    at,
    type: z.literal('crash'),
    nodes: z.array(intAtLeast(0, 'a node index'), { error: 'expected an array of node indices' }),
  }),
  partition: z.strictObject({ at, type: z.literal('partition'), groups: intAtLeast(2).default(2) }),
  heal: z.strictObject({ at, type: z.literal('heal') }),
  broadcast: z.strictObject({
    at,
    type: z.literal('broadcast'),
    count: intAtLeast(1).default(1),
    intervalMs: ms.default(1000),
    from: intAtLeast(0, 'a node index').optional(),
  }),
  churn: z.strictObject({
    at,
    type: z.literal('churn'),
    durationMs: ms,
    joinPerSec: numAtLeast(0, 'a rate per second'),
    leavePerSec: numAtLeast(0, 'a rate per second'),
  }),
  slow: z.strictObject({ at, type: z.literal('slow'), percent: num(0, 100), delayMs: ms.default(100) }),
  loss: z.strictObject({ at, type: z.literal('loss'), rate: num(0, 1, 'a probability') }),
  snapshot: z.strictObject({
    at,
    type: z.literal('snapshot'),
    label: z.string({ error: 'expected a string' }).optional(),
  }),
} as const;

const TOP_KEYS = ['name', 'nodes', 'seed', 'protocol', 'network', 'timeline', 'endMs'] as const;
const NETWORK_KEYS = ['latency', 'loss', 'failureDetection', 'connectTimeoutMs'] as const;

// ---- helpers ---------------------------------------------------------------------------

/** Thrown internally with `path: problem`; converted to a result at the boundary. */
class FieldError extends Error {}

type Path = readonly (string | number)[];

function pathText(path: Path): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? p : `.${p}`;
  return s === '' ? '(top level)' : s;
}

/** Render a value for an error line: short, one line. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return `a date (${v.toISOString()})`;
  return 'a table';
}

function valueAt(root: unknown, path: Path): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function fail(path: Path, problem: string): never {
  throw new FieldError(`${pathText(path)}: ${problem}`);
}

function requireTable(v: unknown, path: Path): Record<string, unknown> {
  if (!isTable(v)) fail(path, `expected a table, got ${showValue(v)}`);
  return v;
}

function checkKeys(table: Record<string, unknown>, allowed: readonly string[], path: Path): void {
  for (const k of Object.keys(table)) {
    if (!allowed.includes(k)) fail([...path, k], `unknown field (expected one of ${allowed.join(', ')})`);
  }
}

/** Run a zod schema; turn its first issue into `path: expected ..., got <value>`. */
function check<T>(schema: z.ZodType<T>, value: unknown, path: Path): T {
  // Unknown fields first: a misspelt field is reported as such, not as a missing one.
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  if (shape && isTable(value)) checkKeys(value, Object.keys(shape), path);
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const full = [...path, ...(issue.path as (string | number)[])];
  fail(full, `${issue.message}, got ${showValue(valueAt(value, issue.path as Path))}`);
}

function oneOf<K extends string>(v: unknown, keys: readonly K[], path: Path): K {
  if (typeof v === 'string' && (keys as readonly string[]).includes(v)) return v as K;
  fail(path, `expected one of ${keys.map((k) => `"${k}"`).join(', ')}, got ${showValue(v)}`);
}

// ---- sections ----------------------------------------------------------------------------

function parseLatency(v: unknown, path: Path): LatencyModel {
  const t = requireTable(v, path);
  const kind = oneOf(t.kind, Object.keys(latencySchemas) as (keyof typeof latencySchemas)[], [...path, 'kind']);
  const out = check(latencySchemas[kind] as z.ZodType<LatencyModel>, t, path);
  if (out.kind === 'uniform' && out.maxMs < out.minMs) {
    fail([...path, 'maxMs'], `expected a time in ms >= minMs (${out.minMs}), got ${out.maxMs}`);
  }
  return out;
}

function parseNetwork(v: unknown): NetworkConfig {
  if (v === undefined) return { ...DEFAULT_NETWORK };
  const t = requireTable(v, ['network']);
  checkKeys(t, NETWORK_KEYS, ['network']);
  const fdPath = ['network', 'failureDetection'];
  let failureDetection = DEFAULT_NETWORK.failureDetection;
  if (t.failureDetection !== undefined) {
    const fd = requireTable(t.failureDetection, fdPath);
    const kind = oneOf(fd.kind, ['rst', 'timeout'] as const, [...fdPath, 'kind']);
    failureDetection = check(failureDetectionSchemas[kind] as z.ZodType<NetworkConfig['failureDetection']>, fd, fdPath);
  }
  return {
    latency: t.latency === undefined ? DEFAULT_NETWORK.latency : parseLatency(t.latency, ['network', 'latency']),
    loss: t.loss === undefined ? DEFAULT_NETWORK.loss : check(num(0, 1, 'a probability'), t.loss, ['network', 'loss']),
    failureDetection,
    connectTimeoutMs:
      t.connectTimeoutMs === undefined
        ? DEFAULT_NETWORK.connectTimeoutMs
        : check(ms, t.connectTimeoutMs, ['network', 'connectTimeoutMs']),
  };
}

const EVENT_TYPES = Object.keys(eventSchemas) as (keyof typeof eventSchemas)[];

function parseEvent(v: unknown, i: number, nodes: number): TimelineEvent {
  const path = ['timeline', i];
  const t = requireTable(v, path);
  const type = oneOf(t.type, EVENT_TYPES, [...path, 'type']);
  const ev = check(eventSchemas[type] as z.ZodType<TimelineEvent>, t, path);
  const tooBig = `expected a node index below nodes (${nodes})`;
  if (ev.type === 'crash') {
    ev.nodes.forEach((n, j) => {
      if (n >= nodes) fail([...path, 'nodes', j], `${tooBig}, got ${n}`);
    });
  }
  if (ev.type === 'broadcast' && ev.from !== undefined && ev.from >= nodes) {
    fail([...path, 'from'], `${tooBig}, got ${ev.from}`);
  }
  return ev;
}

function parseTimeline(v: unknown, nodes: number): TimelineEvent[] {
  if (!Array.isArray(v) || v.length === 0) {
    fail(['timeline'], `expected a non-empty array of events ([[timeline]] tables in TOML), got ${showValue(v)}`);
  }
  return v.map((e, i) => parseEvent(e, i, nodes));
}

const PROTOCOL_SECTIONS = ['hyparview', 'cyclon', 'plumtree', 'fanout'] as const;

function parseProtocol(v: unknown): NodeConfigInput {
  if (v === undefined) return {};
  const t = requireTable(v, ['protocol']);
  checkKeys(t, ['membership', 'broadcast', ...PROTOCOL_SECTIONS], ['protocol']);
  for (const s of PROTOCOL_SECTIONS) {
    if (t[s] === undefined) continue;
    const sub = requireTable(t[s], ['protocol', s]);
    checkKeys(sub, Object.keys(DEFAULT_NODE_CONFIG[s]), ['protocol', s]);
  }
  const input = t as NodeConfigInput;
  const r = resolveNodeConfig(input);
  if (!r.ok) throw new FieldError(`protocol.${r.reason}`);
  return input;
}

/** Validate an already-decoded document (from TOML or JSON). Throws `FieldError`. */
function toScenario(doc: unknown, fileName: string): Scenario {
  const t = requireTable(doc, []);
  checkKeys(t, TOP_KEYS, []);
  const nodes =
    t.nodes === undefined
      ? DEFAULT_SCENARIO_NODES
      : check(num(1, MAX_SCENARIO_NODES, 'an integer').int({ error: `expected an integer between 1 and ${MAX_SCENARIO_NODES}` }), t.nodes, ['nodes']);
  const scenario: Scenario = {
    name: t.name === undefined ? baseName(fileName) : check(z.string({ error: 'expected a string' }), t.name, ['name']),
    nodes,
    seed: t.seed === undefined ? DEFAULT_SCENARIO_SEED : check(intAtLeast(0), t.seed, ['seed']),
    protocol: parseProtocol(t.protocol),
    network: parseNetwork(t.network),
    timeline: parseTimeline(t.timeline, nodes),
  };
  if (t.endMs !== undefined) scenario.endMs = check(ms, t.endMs, ['endMs']);
  return scenario;
}

function baseName(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.replace(/\.(toml|json)$/i, '');
}

function decode(text: string, fileName: string): { ok: true; doc: unknown } | { ok: false; reason: string } {
  const lower = fileName.toLowerCase();
  if (lower.endsWith('.json')) {
    try {
      return { ok: true, doc: JSON.parse(text) as unknown };
    } catch (e) {
      return { ok: false, reason: `${fileName}: invalid JSON: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  if (lower.endsWith('.toml')) {
    try {
      return { ok: true, doc: parseToml(text) };
    } catch (e) {
      if (e instanceof TomlError) {
        const what = e.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
        return { ok: false, reason: `${fileName}: invalid TOML at line ${e.line}, column ${e.column}: ${what}` };
      }
      return { ok: false, reason: `${fileName}: invalid TOML: ${String(e).split('\n')[0]}` };
    }
  }
  return { ok: false, reason: `${fileName}: expected a .toml or .json scenario file` };
}

/**
 * Parse and validate scenario text. `fileName` chooses the format (`.toml` or `.json`) and
 * prefixes every error. Never throws.
 */
export function parseScenario(text: string, fileName: string): ScenarioParseResult {
  const d = decode(text, fileName);
  if (!d.ok) return d;
  try {
    return { ok: true, scenario: toScenario(d.doc, fileName) };
  } catch (e) {
    if (e instanceof FieldError) return { ok: false, reason: `${fileName}: ${e.message}` };
    throw e;
  }
}

/**
 * Read and parse a scenario file (Node only: `node:fs` is imported lazily so this module
 * still loads in the browser, where only `parseScenario` is used). Never throws.
 */
export async function loadScenario(path: string): Promise<ScenarioParseResult> {
  let text: string;
  try {
    const fs = await import('node:fs/promises');
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
    return { ok: false, reason: `${path}: cannot read scenario file: ${why}` };
  }
  return parseScenario(text, path);
}
