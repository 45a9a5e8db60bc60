/**
 * The agent's key-value state and runtime tags (docs/agent.md "Key-value state and tags",
 * docs/api.md "/v1/kv", "/v1/tags"): the node's state application (`node.state`,
 * `src/net/state.ts`) plus the HTTP routes over it. Kept apart from `agent.ts` so that the
 * membership machine under the agent can change without touching this file.
 *
 * Tags are keys of the state under the reserved prefix `tag.` (tag `role=db` is the key
 * `tag.role` with value `db`); the start-up tags (`--tag`) are written there, with the marker
 * key `_rumor.tags` ("this node's tags live in the state"), at the first runtime change of the
 * tags. The members list shows, for a member whose marker we hold, the tags from the state (so
 * a runtime `rumor tags --set/--delete` is seen by `rumor members` and its `--tag` filter
 * everywhere); for a member without it (tags never changed since it started, or an older
 * agent), the tags its membership carries, which are its start-up tags.
 *
 * Why not at start: every write is pushed by broadcast, and when a fleet starts at once those
 * first writes meet an overlay in churn: each new link announces the recent messages (Plumtree's
 * sync on neighbour-up) and is answered by GRAFTs. Measured on 20 agents joining one seed (load
 * 30): the seed sent 210 gossip frames and received 140 GRAFTs during the join with the write at
 * start, none without it, and `join_ms` went from 431/801/414 to 369/293/169 (alternate runs).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeState, StateChange, StateEntry } from '../net/state.js';
import { StateLimitError } from '../net/state.js';
import { HttpError, readJson, sendJson } from './api.js';

/** Key prefix of tags. */
export const TAG_PREFIX = 'tag.';
/** Key prefix reserved for the agent (refused through `/v1/kv`). */
export const RESERVED_PREFIX = '_rumor.';
/** Marker key: this node's tags are the `tag.` keys of its state. */
export const TAGS_MARKER = '_rumor.tags';
/** SSE keep-alive comment period of `/v1/kv-watch` (as `/v1/monitor`). */
const SSE_PING_MS = 15_000;

/** The agent's state: the node's `NodeState` and the tag view over it. */
export class AgentState {
  private startTags: Record<string, string> = {};

  constructor(readonly ns: NodeState) {}

  /** Remember the start-up tags: the membership carries them; the state gets them (and the
   *  marker) at the first runtime change (see the module comment). */
  start(tags: Record<string, string>): void {
    this.startTags = { ...tags };
  }

  /** This node's tags. */
  ownTags(): Record<string, string> {
    return this.tagsOf(this.ns.self, this.startTags);
  }

  /** Tags of the member at `addr`: from the state when it publishes them there, else `fallback`. */
  tagsOf(addr: string, fallback: Record<string, string>): Record<string, string> {
    if (this.ns.get(addr, TAGS_MARKER) === undefined) return fallback;
    const out: Record<string, string> = {};
    for (const e of this.ns.entries({ node: addr, prefix: TAG_PREFIX })) out[e.key.slice(TAG_PREFIX.length)] = text(e.value);
    return out;
  }

  /** Set and delete tags of this node; returns its tags after. Validates all before writing. */
  updateTags(set: Record<string, string>, del: string[]): Record<string, string> {
    for (const k of [...Object.keys(set), ...del]) {
      if (k === '' || /[\s=,]/.test(k)) throw new HttpError(400, `tag key: expected a non-empty key without spaces, '=' or ',', got ${JSON.stringify(k)}`);
    }
    if (this.ns.get(this.ns.self, TAGS_MARKER) === undefined) {
      // First change: the start-up tags move into the state, then the marker.
      for (const [k, v] of Object.entries(this.startTags)) if (!del.includes(k) && !(k in set)) this.ns.set(TAG_PREFIX + k, v);
      this.ns.set(TAGS_MARKER, '1');
    }
    for (const k of del) this.ns.delete(TAG_PREFIX + k);
    for (const [k, v] of Object.entries(set)) this.ns.set(TAG_PREFIX + k, v);
    return this.ownTags();
  }

  /** A membership event: members that join are anti-entropy peers; a reaped member's keys
   *  are dropped here (`forgetNode`). */
  memberEvent(type: string, addr: string): void {
    if (type === 'member-join' || type === 'member-update') this.ns.memberUp(addr);
    else if (type === 'member-reap') this.ns.forgetNode(addr);
  }
}

function text(b: Uint8Array | null): string {
  return b === null ? '' : Buffer.from(b).toString('utf8');
}

/** An entry as the API returns it. */
function entryJson(e: StateEntry): object {
  return { node: e.node, key: e.key, value: text(e.value), valueBase64: Buffer.from(e.value).toString('base64'), version: e.version };
}

function changeJson(c: StateChange): object {
  return { node: c.node, key: c.key, value: c.value === null ? null : text(c.value), valueBase64: c.value === null ? null : Buffer.from(c.value).toString('base64'), version: c.version, local: c.local };
}

function userKey(raw: string): string {
  let key: string;
  try {
    key = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'key: malformed percent-encoding');
  }
  if (key === '') throw new HttpError(400, 'key: expected /v1/kv/<key>');
  if (key.startsWith(RESERVED_PREFIX)) throw new HttpError(400, `key: the prefix ${RESERVED_PREFIX} is reserved for the agent`);
  return key;
}

function parseValue(body: unknown): { value: Uint8Array; ttlMs?: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body: expected a JSON object {value} or {valueBase64}, optional ttlMs');
  const b = body as Record<string, unknown>;
  if ((b.value === undefined) === (b.valueBase64 === undefined)) throw new HttpError(400, 'body: give value or valueBase64 (exactly one)');
  if (b.value !== undefined && typeof b.value !== 'string') throw new HttpError(400, 'value: expected a string');
  if (b.valueBase64 !== undefined && (typeof b.valueBase64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.valueBase64))) throw new HttpError(400, 'valueBase64: expected a base64 string');
  if (b.ttlMs !== undefined && !(Number.isInteger(b.ttlMs) && (b.ttlMs as number) > 0)) throw new HttpError(400, 'ttlMs: expected a positive integer (milliseconds)');
  const value = typeof b.value === 'string' ? new TextEncoder().encode(b.value) : new Uint8Array(Buffer.from(b.valueBase64 as string, 'base64'));
  return { value, ttlMs: b.ttlMs as number | undefined };
}

function parseTags(body: unknown): { set: Record<string, string>; del: string[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body: expected a JSON object {set: {key: value}, delete: [key]}');
  const b = body as Record<string, unknown>;
  const set = b.set ?? {};
  const del = b.delete ?? [];
  if (typeof set !== 'object' || set === null || Array.isArray(set) || Object.values(set).some((v) => typeof v !== 'string')) throw new HttpError(400, 'set: expected an object of string values');
  if (!Array.isArray(del) || del.some((k) => typeof k !== 'string')) throw new HttpError(400, 'delete: expected an array of keys');
  return { set: set as Record<string, string>, del: del as string[] };
}

/** Run a write, mapping a limit error to 400 `{error, code}`. */
function write(res: ServerResponse, f: () => object): void {
  try {
    sendJson(res, 200, f());
  } catch (err) {
    if (err instanceof StateLimitError) return sendJson(res, 400, { error: err.message, code: err.code });
    throw err;
  }
}

/**
 * Serve the state routes: `GET /v1/kv`, `GET|PUT|DELETE /v1/kv/<key>`, `GET /v1/kv-watch`,
 * `GET|POST /v1/tags`. Returns false for any other path.
 */
export async function stateRoute(req: IncomingMessage, res: ServerResponse, url: URL, st: AgentState | null, streams: Set<ServerResponse>): Promise<boolean> {
  const p = url.pathname;
  if (p !== '/v1/kv' && !p.startsWith('/v1/kv/') && p !== '/v1/kv-watch' && p !== '/v1/tags') return false;
  if (st === null) throw new HttpError(503, 'key-value state is not running on this agent');
  const m = req.method ?? 'GET';
  const q = url.searchParams;
  if (p === '/v1/kv' && m === 'GET') {
    const list = st.ns.entries({ node: q.get('node') ?? undefined, prefix: q.get('prefix') ?? undefined });
    sendJson(res, 200, { entries: list.map(entryJson) });
  } else if (p.startsWith('/v1/kv/') && m === 'GET') {
    const key = userKey(p.slice('/v1/kv/'.length));
    const e = st.ns.get(q.get('node') ?? st.ns.self, key);
    if (e === undefined) throw new HttpError(404, `no key ${JSON.stringify(key)} at ${q.get('node') ?? st.ns.self}`);
    sendJson(res, 200, entryJson(e));
  } else if (p.startsWith('/v1/kv/') && m === 'PUT') {
    const key = userKey(p.slice('/v1/kv/'.length));
    const { value, ttlMs } = parseValue(await readJson(req));
    write(res, () => ({ key, version: st.ns.set(key, value, { ttlMs }) }));
  } else if (p.startsWith('/v1/kv/') && m === 'DELETE') {
    const key = userKey(p.slice('/v1/kv/'.length));
    write(res, () => ({ key, version: st.ns.delete(key) }));
  } else if (p === '/v1/kv-watch' && m === 'GET') {
    watch(req, res, st, q.get('prefix') ?? '', streams);
  } else if (p === '/v1/tags' && m === 'GET') {
    sendJson(res, 200, { tags: st.ownTags() });
  } else if (p === '/v1/tags' && m === 'POST') {
    const { set, del } = parseTags(await readJson(req));
    write(res, () => ({ tags: st.updateTags(set, del) }));
  } else throw new HttpError(405, `method ${m} not allowed on ${p}`);
  return true;
}

function watch(req: IncomingMessage, res: ServerResponse, st: AgentState, prefix: string, streams: Set<ServerResponse>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(': connected\n\n');
  streams.add(res);
  const listener = (c: StateChange): void => {
    if (c.key.startsWith(prefix)) res.write(`event: change\ndata: ${JSON.stringify(changeJson(c))}\n\n`);
  };
  st.ns.on('change', listener);
  const ping = setInterval(() => res.write(': ping\n\n'), SSE_PING_MS);
  ping.unref();
  const stop = (): void => {
    clearInterval(ping);
    st.ns.off('change', listener);
    streams.delete(res);
  };
  req.on('close', stop);
  res.on('close', stop);
}
