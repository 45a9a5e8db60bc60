/**
 * Types of the query application (`machine.ts`): messages, timers, events, configuration with
 * sourced defaults, and the exact encoded size of a message (`queryMessageSize`), shared with
 * the codec `src/wire/query.ts` so that the simulator, which may not import `src/wire`, counts
 * real bytes.
 */
import { utf8Bytes } from '../utf8.js';
import { varintBytes } from '../state/types.js';

/** Which members a query is for. Empty lists mean "every member". */
export interface QueryFilter {
  /** Member names (exact); a member matches when its name is one of them. */
  nodes: string[];
  /** Tag patterns: a member matches when, for each, its tag `key` (or "" when it has none)
   *  matches the regular expression `pattern` as a whole (anchored `^(?:pattern)$`). */
  tags: { key: string; pattern: string }[];
}

/** A response (at the asker, or relayed to it). `error` is "" on success. */
export interface QueryResponseMsg<P> {
  type: 'q-response';
  id: number;
  /** The member that answered (its peer id) and its name. */
  responder: P;
  rname: string;
  payload: Uint8Array;
  /** Why the answer is not a normal one ("" when it is): a handler that failed, timed out,
   *  printed too much (then `payload` holds its output cut at the limit). */
  error: string;
}

/** Messages of the query application (a discriminated union on `type`). */
export type QueryMessage<P> =
  /** The query, broadcast to every node (each checks the filter against itself). */
  | { type: 'q-query'; id: number; origin: P; name: string; payload: Uint8Array; filter: QueryFilter; timeoutMs: number; ack: boolean; relayFactor: number }
  /** Receipt (`final` false: an answer may follow) or "no answer will come" (`final` true: no
   *  handler for it here), point to point to the asker. */
  | { type: 'q-ack'; id: number; responder: P; rname: string; final: boolean }
  | QueryResponseMsg<P>
  /** A response handed to a relay member, which forwards it to `origin` (once). */
  | { type: 'q-relay'; origin: P; inner: QueryResponseMsg<P> };

/** Timers of one of this node's queries: its deadline, and (a query sent directly) the moment
 *  it is broadcast to the expected members that have said nothing (`directFallbackMs`). */
export type QueryTimer = { type: 'q-deadline'; id: number } | { type: 'q-fallback'; id: number };

/** How the asker sends a query: `broadcast` (Plumtree, to every node), `direct` (one datagram
 *  to each expected member, when there is an expect list), `auto` (direct when the expected
 *  members other than the asker are at most `directMaxMembers`, else broadcast). */
export type QueryPath = 'auto' | 'direct' | 'broadcast';
export const QUERY_PATHS: readonly QueryPath[] = ['auto', 'direct', 'broadcast'];

/** The outcome of a finished query, at its asker. */
export interface QuerySummary<P> {
  id: number;
  name: string;
  /** `complete`: every expected member answered or said it will not; `timeout`: the deadline
   *  came first; `stopped`: the node left. */
  reason: 'complete' | 'timeout' | 'stopped';
  /** Members that sent a response (expected or not), in arrival order. */
  answered: P[];
  /** Members that acknowledged (or said they have no handler) but sent no response. */
  ackedOnly: P[];
  /** Expected members that sent nothing. */
  missing: P[];
  durationMs: number;
}

/** Events of the query application. */
export type QueryEvent<P> =
  /** A query for this node: the host answers with `respond(key, ...)` or `decline(key)`.
   *  `direct`: it came from its asker itself (the direct path), not by broadcast. */
  | { type: 'query'; key: string; id: number; origin: P; name: string; payload: Uint8Array; direct: boolean }
  /** At the asker: an acknowledgement arrived. */
  | { type: 'query-ack'; id: number; from: P; name: string; final: boolean }
  /** At the asker: a response arrived (first one per member; duplicates are dropped). */
  | { type: 'query-response'; id: number; from: P; name: string; payload: Uint8Array; error: string; expected: boolean }
  /** At the asker: the query is over. */
  | { type: 'query-done'; summary: QuerySummary<P> };

/** Limits and timings of the query application. */
export interface QueryConfig {
  /** Largest query payload (bytes): Serf's `QuerySizeLimit` default, 1024 (serf/config.go). */
  maxPayloadBytes: number;
  /** Largest response payload (bytes): Serf's `QueryResponseSizeLimit` default, 1024. */
  maxResponseBytes: number;
  /** Queries this node may have in flight as the asker at once. Serf has no such bound; 64 is
   *  our choice so one asker holds bounded state (each query keeps its member sets). */
  maxConcurrent: number;
  /** Queries a node remembers as a responder (to answer each once): Serf's `QueryBuffer`
   *  default, 512 (serf/config.go). Oldest forgotten first. */
  maxRemembered: number;
  /** Longest query timeout (ms). Our bound: 10 minutes. */
  maxTimeoutMs: number;
  /** Largest relay factor: Serf's (`serf query -relay-factor`, at most 5). */
  maxRelayFactor: number;
  /** Most names in a node filter and patterns in a tag filter (our bounds). */
  maxFilterNodes: number;
  maxFilterTags: number;
  /** Longest name, tag key or pattern in a filter, and longest query name (UTF-8 bytes). */
  maxNameBytes: number;
  /** Largest expected set (members other than the asker) that the `auto` path sends the query
   *  to directly, one datagram each, instead of broadcasting it. Our choice, 64: the asker
   *  already takes one response (and, with acks, one ack) per expected member, so the sends
   *  add one small message per member to work it does anyway, while they spare every member
   *  the broadcast's hops and its relaying (measured at N = 50, bench:event-cost: the asker
   *  ~2.5 ms more CPU per query, each agent ~0.75 ms less; docs/results.md, h32q). The asker's burst
   *  grows with the set, the broadcast's depth only with the log of the cluster: above 64 the
   *  broadcast is kept (not measured above 50). */
  directMaxMembers: number;
  /** How long the asker of a direct query waits for each expected member's ack or answer
   *  before it broadcasts the query (to reach the ones whose datagram was lost): our choice,
   *  250 ms, and at most half the query's timeout. Why: well over a 50-agent query's whole
   *  window on a loaded bench machine (60–130 ms, docs/results.md), so a slow fleet does not
   *  fall back for nothing, and a small part of Serf's default timeout (3.2 s up to 9
   *  members), so a lost datagram costs an answer 250 ms, not the timeout. */
  directFallbackMs: number;
}

export const DEFAULT_QUERY_CONFIG: QueryConfig = {
  maxPayloadBytes: 1024,
  maxResponseBytes: 1024,
  maxConcurrent: 64,
  maxRemembered: 512,
  maxTimeoutMs: 600_000,
  maxRelayFactor: 5,
  maxFilterNodes: 256,
  maxFilterTags: 16,
  maxNameBytes: 128,
  directMaxMembers: 64,
  directFallbackMs: 250,
};

/** Longest error text of a response (UTF-8 bytes); longer ones are cut. */
export const MAX_QUERY_ERROR_BYTES = 512;

/** `s` cut to at most `max` UTF-8 bytes (on a code point boundary). */
export function cutUtf8(s: string, max: number): string {
  if (utf8Bytes(s) <= max) return s;
  let out = s.slice(0, max);
  while (utf8Bytes(out) > max || utf8Bytes(out) < 0) out = out.slice(0, -1);
  return out;
}

/** The built-in ping query (`rumor reachability`): answered by the machine itself, with an
 *  empty payload, on every node; never shown to handlers. */
export const PING_QUERY = '_rumor.ping';

/** Bytes of a length-prefixed string. */
function strBytes(s: string): number {
  const n = utf8Bytes(s);
  return varintBytes(n) + n;
}

function bytesLen(b: Uint8Array): number {
  return varintBytes(b.byteLength) + b.byteLength;
}

/** Version + type + CRC-32C. */
export const QUERY_MESSAGE_OVERHEAD = 6;

function responseBody<P>(m: QueryResponseMsg<P>, idBytes: (p: P) => number): number {
  return varintBytes(m.id) + idBytes(m.responder) + strBytes(m.rname) + bytesLen(m.payload) + strBytes(m.error);
}

/** Exact encoded size of `msg` (src/wire/query.ts), with `idBytes` the size of a peer id. */
export function queryMessageSize<P>(msg: QueryMessage<P>, idBytes: (p: P) => number): number {
  switch (msg.type) {
    case 'q-query': {
      let n = varintBytes(msg.id) + idBytes(msg.origin) + strBytes(msg.name) + bytesLen(msg.payload);
      n += varintBytes(msg.filter.nodes.length);
      for (const s of msg.filter.nodes) n += strBytes(s);
      n += varintBytes(msg.filter.tags.length);
      for (const t of msg.filter.tags) n += strBytes(t.key) + strBytes(t.pattern);
      return QUERY_MESSAGE_OVERHEAD + n + varintBytes(msg.timeoutMs) + 1 + 1;
    }
    case 'q-ack':
      return QUERY_MESSAGE_OVERHEAD + varintBytes(msg.id) + idBytes(msg.responder) + strBytes(msg.rname) + 1;
    case 'q-response':
      return QUERY_MESSAGE_OVERHEAD + responseBody(msg, idBytes);
    case 'q-relay':
      return QUERY_MESSAGE_OVERHEAD + idBytes(msg.origin) + responseBody(msg.inner, idBytes);
  }
}

/** Why a filter is malformed (bounds, a pattern that does not compile), or null. */
export function checkFilter(f: QueryFilter, c: QueryConfig): string | null {
  if (f.nodes.length > c.maxFilterNodes) return `filter: ${f.nodes.length} node names, at most ${c.maxFilterNodes}`;
  if (f.tags.length > c.maxFilterTags) return `filter: ${f.tags.length} tag patterns, at most ${c.maxFilterTags}`;
  for (const n of f.nodes) if (utf8Bytes(n) < 1 || utf8Bytes(n) > c.maxNameBytes) return `filter: node name of ${utf8Bytes(n)} bytes (expected 1..${c.maxNameBytes})`;
  for (const t of f.tags) {
    if (utf8Bytes(t.key) < 1 || utf8Bytes(t.key) > c.maxNameBytes) return `filter: tag key of ${utf8Bytes(t.key)} bytes (expected 1..${c.maxNameBytes})`;
    if (utf8Bytes(t.pattern) > c.maxNameBytes) return `filter: tag pattern of ${utf8Bytes(t.pattern)} bytes (at most ${c.maxNameBytes})`;
    if (compilePattern(t.pattern) === null) return `filter: tag ${t.key}: ${JSON.stringify(t.pattern)} is not a valid regular expression`;
  }
  return null;
}

/** The anchored regular expression of a tag pattern, or null when it does not compile. */
export function compilePattern(pattern: string): RegExp | null {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch {
    return null;
  }
}

/** Does a member with `name` and `tags` match `f`? (A pattern that does not compile matches
 *  nothing.) */
export function matchesFilter(f: QueryFilter, name: string, tags: Readonly<Record<string, string>>): boolean {
  if (f.nodes.length > 0 && !f.nodes.includes(name)) return false;
  for (const t of f.tags) {
    const re = compilePattern(t.pattern);
    if (re === null || !re.test(tags[t.key] ?? '')) return false;
  }
  return true;
}
