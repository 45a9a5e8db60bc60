/**
 * Queries in the agent (docs/agent.md "Queries", docs/api.md "/v1/query"): the node's query
 * application (`node.queries`, src/net/query.ts) wired to the member list and to handler
 * scripts, and the streamed HTTP endpoint `POST /v1/query` that `rumor query` and
 * `rumor reachability` call.
 *
 * - Filters are checked by each member against its own name and tags (the tags of the key-value
 *   state, so runtime `rumor tags` changes count); the asker expects every *alive* member of
 *   its list that the same filter matches, and the query ends when all of them answered or
 *   declined, else at the timeout.
 * - A member answers with the first handler whose filter is `query:NAME`, else `query` (never
 *   `*`): its stdout, at most the response limit, is the response. A handler that exits
 *   non-zero, is killed at `handlerTimeoutMs`, or prints more than the limit still answers,
 *   with an `error` saying so (and the output it printed, cut at the limit). A member without
 *   such a handler declines (the asker does not wait for it: "acked only").
 * - The built-in `_rumor.ping` (reachability) is answered by the machine itself.
 * - How the query leaves: `queryPath` (agent config) or the request's `path`; `auto` sends it
 *   straight to each expected member when there are at most 64 others, else broadcasts it
 *   (src/proto/query/machine.ts, "A direct query for a small expected set").
 * - A handler run by the native launcher that exits 0 within the limit is answered by the
 *   launcher: it sends the response datagram the agent would have sent (src/net/query.ts
 *   `responseDatagram`; plaintext clusters, relay factor 0) when the handler exits, from its
 *   own UDP port; the agent learns it from the run's report. Otherwise the agent answers.
 *
 * Stream: `application/x-ndjson`, one JSON object per line: `{"type":"start",...}`, then
 * `{"type":"ack",...}` and `{"type":"response",...}` as they arrive (written in batches at most
 * `STREAM_FLUSH_MS` apart, see `lineWriter`), then `{"type":"done",...}` (the summary, at once).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RumorNode } from '../net/rumor-node.js';
import { QueryError, type QueryUpdate } from '../net/query.js';
import { matchesFilter, PING_QUERY, QUERY_PATHS, type QueryFilter, type QueryPath, type QuerySummary } from '../proto/query/types.js';
import { HttpError, readJson, sendJson, type ApiMember } from './api.js';
import type { HandlerRunner, QueryRunResult } from './handlers.js';
import type { AgentLogger } from './log.js';

/** Serf's default query timeout: `GossipInterval` (200 ms) × `QueryTimeoutMult` (16) ×
 *  ceil(log10(N + 1)) (serf/serf.go DefaultQueryTimeout). */
export function defaultQueryTimeoutMs(members: number): number {
  return 200 * 16 * Math.max(1, Math.ceil(Math.log10(members + 1)));
}

/** A query request of the API (validated). */
export interface QueryRequest {
  name: string;
  payload: Uint8Array;
  nodes: string[];
  tags: Record<string, string>;
  timeoutMs?: number;
  ack: boolean;
  relayFactor: number;
  /** How to send it; absent: the agent's `queryPath`. */
  path?: QueryPath;
}

/** What the agent gives its queries. */
export interface QueryDeps {
  node: RumorNode;
  handlers: () => HandlerRunner;
  /** Members as the API shows them (state tags, status). */
  members: () => ApiMember[];
  self: () => { name: string; tags: Record<string, string> };
  handlerTimeoutMs: number;
  /** The agent's `queryPath` (a request's `path` overrides it). */
  path: QueryPath;
  logger: AgentLogger;
}

/** A member of a summary. */
interface Who {
  name: string;
  addr: string;
}

/** The agent's queries (see the module comment). */
export class AgentQueries {
  /** Queries answered by a handler here, and how they went (metrics). */
  readonly answered: Record<string, number> = {};

  constructor(private readonly d: QueryDeps) {
    const q = d.node.queries;
    q.configure({
      self: () => d.self(),
      relayPeers: () => d.members().filter((m) => m.status === 'alive').map((m) => m.addr),
    });
    q.onQuery(async (inq) => {
      // Spawn after the frames that carry the query on are written (as user events do,
      // Agent.dispatchAfterForward): a fork blocks the event loop, and would delay every hop.
      // A direct query has no frames to carry on.
      if (!inq.direct) await new Promise<void>((r) => setImmediate(() => setImmediate(r)));
      // The launcher sends the response itself when the handler exits 0 within the limit (one
      // process hop less per responder: the response does not wait for this agent's turn).
      const r = await d.handlers().runQuery({ type: 'query', name: inq.name, payload: inq.payload, origin: inq.origin }, q.config.maxResponseBytes, () => inq.responseDatagram() ?? undefined);
      this.answered[r.outcome] = (this.answered[r.outcome] ?? 0) + 1;
      if (r.outcome === 'none') return null;
      if (r.sent) return { sent: true };
      const error = this.errorOf(r);
      if (error !== '') d.logger.warn({ query: inq.name, origin: inq.origin, script: r.script, error }, 'query handler');
      return error === '' ? r.stdout : { payload: r.stdout, error };
    });
  }

  private errorOf(r: QueryRunResult): string {
    const limit = this.d.node.queries.config.maxResponseBytes;
    switch (r.outcome) {
      case 'ok':
        return r.truncated ? `handler printed more than ${limit} bytes: cut to the first ${limit}` : '';
      case 'timeout':
        return `handler timed out after ${this.d.handlerTimeoutMs} ms: killed`;
      case 'exit':
        return `handler exited with code ${r.code}${r.stderr.trim() === '' ? '' : ': ' + r.stderr.trim().split('\n')[0].slice(0, 200)}`;
      case 'signal':
        return 'handler killed by a signal';
      case 'spawn':
        return `handler could not start: ${r.stderr.split('\n')[0].slice(0, 200)}`;
      case 'dropped':
        return 'handler queue full: not run';
      case 'none':
        return '';
    }
  }

  /** Members expected to answer `filter`: alive ones it matches. */
  expected(filter: QueryFilter, members: ApiMember[] = this.d.members()): ApiMember[] {
    return members.filter((m) => m.status === 'alive' && matchesFilter(filter, m.name, m.tags));
  }

  /** Serve `POST /v1/query`; false for other paths. */
  async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (url.pathname !== '/v1/query') return false;
    if (req.method !== 'POST') throw new HttpError(405, `method ${req.method ?? ''} not allowed on /v1/query`);
    const q = parseQuery(await readJson(req));
    const filter: QueryFilter = { nodes: q.nodes, tags: Object.entries(q.tags).map(([key, pattern]) => ({ key, pattern })) };
    // The member list is built once per query (at N = 50 each build is a good part of a
    // `/v1/members` answer's CPU), before the query goes out.
    const members = this.d.members();
    const expect = this.expected(filter, members);
    const timeoutMs = q.timeoutMs ?? defaultQueryTimeoutMs(members.length);
    // The stream's lines are made as the updates arrive (`onUpdate`: synchronously, no promise
    // per response); an update raised during the call itself waits for the stream's head.
    const early: QueryUpdate[] = [];
    let onUpdate = (u: QueryUpdate): void => void early.push(u);
    let run: ReturnType<RumorNode['query']>;
    try {
      run = this.d.node.query(q.name, q.payload, { nodes: q.nodes, tags: q.tags, timeoutMs, ack: q.ack, relayFactor: q.relayFactor, expect: expect.map((m) => m.addr), path: q.path ?? this.d.path, onUpdate: (u) => onUpdate(u) });
    } catch (err) {
      if (err instanceof QueryError) return sendJson(res, 400, { error: err.message, code: err.code }), true;
      throw err;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    const names = new Map(members.map((m) => [m.addr, m.name]));
    const line = lineWriter(res);
    line(JSON.stringify({ type: 'start', id: run.id, name: q.name, timeoutMs, expected: expect.map((m) => ({ name: m.name, addr: m.addr })) }) + '\n');
    onUpdate = (u) => line(updateLine(u));
    for (const u of early) onUpdate(u);
    const s = await run.done;
    line(JSON.stringify(summaryJson(s, (a) => ({ name: names.get(a) ?? a, addr: a }))) + '\n', true);
    return true;
  }
}

/** How long the stream's lines after the first may wait to be written together (ms). A query's
 *  responses arrive over tens of milliseconds at N = 50; every chunk written costs the asker a
 *  `writev` through Node's HTTP machinery and wakes the reader once. Our bound: a person
 *  watching `rumor query` does not see a 100 ms batch, and the summary line never waits. */
export const STREAM_FLUSH_MS = 100;

/**
 * The stream's writer: `line(text)` queues a line, `line(text, true)` writes what is queued with
 * it and ends the response. The first line (`start`, with the headers) is written in the next
 * turn; later lines are written together, at most `STREAM_FLUSH_MS` after the first of them was
 * queued, and the last line (the summary) takes whatever is still queued with it at once. So a
 * query that ends within `STREAM_FLUSH_MS` of its first response is written as two chunks: the
 * start line, then the responses and the summary. Before (h29q's per-turn batching) the lines
 * of each turn were one chunk: ~4-5 chunks per query at N = 50, each a `writev` and Node's
 * per-write bookkeeping at the asker and a read at the client; the asker is the one agent whose
 * CPU a query multiplies (docs/results.md, h30q).
 */
export function lineWriter(res: Pick<ServerResponse, 'write' | 'end'>): (text: string, last?: boolean) => void {
  let pending = '';
  let ended = false;
  let started = false;
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    timer = null;
    if (pending !== '' && !ended) res.write(pending);
    pending = '';
  };
  return (text, last = false) => {
    if (ended) return;
    pending += text;
    if (!last) {
      if (!started) {
        started = true;
        setImmediate(flush);
      } else if (timer === null) timer = setTimeout(flush, STREAM_FLUSH_MS);
      return;
    }
    ended = true;
    if (timer !== null) clearTimeout(timer);
    timer = null;
    res.end(pending);
    pending = '';
  };
}

/** One line of the stream (JSON and its newline). */
function updateLine(u: QueryUpdate): string {
  if (u.type === 'ack') return JSON.stringify({ type: 'ack', name: u.name, addr: u.from, final: u.final }) + '\n';
  // A view of the payload (no copy), read twice.
  const p = Buffer.from(u.payload.buffer, u.payload.byteOffset, u.payload.byteLength);
  return JSON.stringify({ type: 'response', name: u.name, addr: u.from, payload: p.toString('utf8'), payloadBase64: p.toString('base64'), error: u.error, expected: u.expected }) + '\n';
}

function summaryJson(s: QuerySummary<string>, who: (addr: string) => Who): object {
  return { type: 'done', reason: s.reason, durationMs: s.durationMs, answered: s.answered.map(who), ackedOnly: s.ackedOnly.map(who), missing: s.missing.map(who) };
}

const NAME = /^[^\s\p{Cc}]{1,128}$/u;

/** Validate a `POST /v1/query` body. */
export function parseQuery(body: unknown): QueryRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body: expected a JSON object {name, payload?, nodes?, tags?, timeoutMs?, ack?, relayFactor?, path?}');
  const b = body as Record<string, unknown>;
  if (typeof b.name !== 'string' || !NAME.test(b.name)) throw new HttpError(400, 'name: expected 1..128 characters without spaces or control characters');
  if (b.name.startsWith('_') && b.name !== PING_QUERY) throw new HttpError(400, `name: names starting with "_" are reserved (only ${PING_QUERY} may be asked)`);
  if (b.payload !== undefined && b.payloadBase64 !== undefined) throw new HttpError(400, 'payload: give payload or payloadBase64, not both');
  if (b.payload !== undefined && typeof b.payload !== 'string') throw new HttpError(400, 'payload: expected a string');
  if (b.payloadBase64 !== undefined && (typeof b.payloadBase64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.payloadBase64))) throw new HttpError(400, 'payloadBase64: expected a base64 string');
  const payload = typeof b.payloadBase64 === 'string' ? new Uint8Array(Buffer.from(b.payloadBase64, 'base64')) : new TextEncoder().encode((b.payload as string | undefined) ?? '');
  const nodes = b.nodes ?? [];
  if (!Array.isArray(nodes) || nodes.some((n) => typeof n !== 'string' || n === '')) throw new HttpError(400, 'nodes: expected an array of member names');
  const tags = b.tags ?? {};
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) throw new HttpError(400, 'tags: expected an object {key: regex}');
  if (b.timeoutMs !== undefined && !(Number.isInteger(b.timeoutMs) && (b.timeoutMs as number) >= 1)) throw new HttpError(400, 'timeoutMs: expected a positive integer (milliseconds)');
  if (b.ack !== undefined && typeof b.ack !== 'boolean') throw new HttpError(400, 'ack: expected true or false');
  if (b.relayFactor !== undefined && !Number.isInteger(b.relayFactor)) throw new HttpError(400, 'relayFactor: expected an integer 0..5');
  if (b.path !== undefined && !QUERY_PATHS.includes(b.path as QueryPath)) throw new HttpError(400, 'path: expected "auto", "direct" or "broadcast"');
  return { name: b.name, payload, nodes: nodes as string[], tags: tags as Record<string, string>, timeoutMs: b.timeoutMs as number | undefined, ack: b.ack !== false, relayFactor: (b.relayFactor as number | undefined) ?? 0, path: b.path as QueryPath | undefined };
}
