/**
 * Validation of user events before they are delivered or forwarded (issue 13 §2): the agent
 * installs `createNode({ validate })` with these rules for channel `_rumor.event`, and checks
 * its own `rumor event` calls against them (refused at the call, HTTP 400).
 *
 * Config (docs/agent.md): `eventNamePattern` (a regular expression every event name must
 * match), `eventMaxBytes` (payload limit for every event), `eventMaxBytesByName` (a table of
 * per-name payload limits overriding it), `eventSchemaFile` (a JSON file `{ "<event name>":
 * <JSON schema>, … }`: the payload of an event with that name must be UTF-8 JSON that the
 * schema accepts; names without a schema are not checked). A message that fails is
 * `reject`ed — it is invalid, and the peer that forwarded it is scored (a member that runs
 * the same rules never forwards one). An event that does not decode is rejected too. The
 * agent's own `event()` throws `EventRejectedError` (HTTP 400 through the API).
 *
 * Schemas are JSON Schema draft-07 (Ajv 8's default dialect), compiled by Ajv (well kept, the most used JSON-schema
 * validator for JavaScript) in strict mode with the standard `format`s (ajv-formats): an
 * unknown keyword or format is a start-up error rather than a rule that silently accepts
 * everything. Ajv is loaded only when a schema file is configured.
 *
 * Limits: every agent of a cluster must run the same rules, or an agent with stricter rules
 * scores the peers that forward what they accepted. A schema file is read once, at start.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Verdict } from '../proto/types.js';
import { decodeUserEvent } from './user-event.js';

export interface EventRules {
  eventNamePattern?: string;
  eventMaxBytes?: number;
  eventMaxBytesByName?: Record<string, number>;
  eventSchemaFile?: string;
}

/** A user event refused at the sender by the agent's event rules. */
export class EventRejectedError extends Error {
  override readonly name = 'EventRejectedError';
  constructor(
    /** The event's name. */
    readonly eventName: string,
    /** Which rule it breaks, in one line. */
    readonly reason: string,
  ) {
    super(`event: ${reason}`);
  }
}

/** Why `payload` (UTF-8 JSON) does not fit the schema, or null. */
type PayloadCheck = (payload: Uint8Array) => string | null;

/** Compiled schema files, by path (each file is compiled once per process). */
const compiled = new Map<string, Map<string, PayloadCheck>>();

interface AjvLike {
  compile(schema: unknown): { (data: unknown): boolean; errors?: unknown[] | null };
  errorsText(errors: unknown[] | null | undefined, o: { dataVar: string }): string;
}
const requireDep = createRequire(import.meta.url);
function newAjv(): AjvLike {
  const Ajv = (requireDep('ajv') as { default: new (o: object) => AjvLike }).default;
  const addFormats = (requireDep('ajv-formats') as { default: (a: AjvLike) => void }).default;
  const ajv = new Ajv({ strict: true, allErrors: false });
  addFormats(ajv);
  return ajv;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Read and compile an event schema file; the reason is one line naming the event. */
export function loadEventSchemas(path: string): { ok: true; value: Map<string, PayloadCheck> } | { ok: false; reason: string } {
  const cached = compiled.get(path);
  if (cached !== undefined) return { ok: true, value: cached };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, reason: `${path}: ${e.code !== undefined ? `cannot read: ${e.code}` : String(e.message).split('\n')[0]}` };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, reason: `${path}: expected a JSON object { "<event name>": <JSON schema>, ... }` };
  const ajv = newAjv();
  const out = new Map<string, PayloadCheck>();
  for (const [name, schema] of Object.entries(doc)) {
    if (typeof schema !== 'boolean' && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
      return { ok: false, reason: `${path}: "${name}": a JSON schema must be an object or a boolean` };
    }
    let v: ReturnType<AjvLike['compile']>;
    try {
      v = ajv.compile(schema);
    } catch (err) {
      return { ok: false, reason: `${path}: "${name}": invalid JSON schema: ${String((err as Error).message).split('\n')[0]}` };
    }
    out.set(name, (payload) => {
      let data: unknown;
      try {
        data = JSON.parse(UTF8.decode(payload));
      } catch {
        return `event "${name}" payload is not UTF-8 JSON (its schema in ${path} needs JSON)`;
      }
      return v(data) ? null : `event "${name}" payload does not match its schema: ${ajv.errorsText(v.errors, { dataVar: 'payload' })}`;
    });
  }
  compiled.set(path, out);
  return { ok: true, value: out };
}

/** Why an event `name` with `payload` breaks `rules`, or null. */
export function checkEvent(rules: EventRules, name: string, payload: Uint8Array): string | null {
  if (rules.eventNamePattern !== undefined && !new RegExp(rules.eventNamePattern).test(name)) {
    return `event name ${JSON.stringify(name)} does not match eventNamePattern ${rules.eventNamePattern}`;
  }
  const max = rules.eventMaxBytesByName?.[name] ?? rules.eventMaxBytes;
  const bytes = payload.byteLength;
  if (max !== undefined && bytes > max) return `event "${name}" payload of ${bytes} bytes exceeds its limit of ${max}`;
  if (rules.eventSchemaFile === undefined) return null;
  const schemas = loadEventSchemas(rules.eventSchemaFile);
  // A file that fails to load was refused at start (config.ts); here it can only be a file
  // that changed since, and the agent keeps the rules it started with (cached), so this is
  // the first load in a library use: refuse every event rather than accept unchecked.
  if (!schemas.ok) return `eventSchemaFile ${schemas.reason}`;
  return schemas.value.get(name)?.(payload) ?? null;
}

/** Whether any rule is set (without rules no validator is installed for user events). */
export function hasRules(r: EventRules): boolean {
  return r.eventNamePattern !== undefined || r.eventMaxBytes !== undefined || r.eventMaxBytesByName !== undefined || r.eventSchemaFile !== undefined;
}

/** The verdict on a user-event broadcast's data. */
export function eventVerdict(rules: EventRules, data: Uint8Array): Verdict {
  const r = decodeUserEvent(data);
  if (!r.ok) return 'reject';
  return checkEvent(rules, r.event.name, r.event.payload) === null ? 'accept' : 'reject';
}
