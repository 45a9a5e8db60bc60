/**
 * The agent's HTTP+JSON control API (docs/api.md). Streams (`/v1/monitor`) are server-sent
 * events. Optional bearer token on every endpoint; bad requests answer 400 with
 * `{"error": "one line"}`; bodies are bounded (1 MiB). The API only translates HTTP to calls
 * on an `ApiBackend` (the `Agent`), so it can be tested against a stub.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatAddr } from '../net/util.js';
import { parseBindAddr } from './config.js';
import type { Member, MemberStatus } from './members.js';
import { DashboardHub, withFeatures, type DashboardNode } from './dashboard.js';
import { serveUi } from './dashboard-ui.js';
import type { KeysRequest } from './keys.js';

/** A member as the API returns it. */
export interface ApiMember {
  name: string;
  addr: string;
  status: MemberStatus;
  incarnation: number;
  tags: Record<string, string>;
  neighbor: boolean;
}

/** An event of the monitor stream (JSON of one SSE `data:` line; `event:` is `type`). */
export type MonitorEvent =
  | { type: 'user'; id: string; name: string; origin: string; ltime: number; payload: string; payloadBase64: string }
  | { type: 'member-join' | 'member-leave' | 'member-failed' | 'member-update' | 'member-reap'; member: Omit<Member, 'updatedAt'> }
  | { type: 'neighbor-up'; peer: string }
  | { type: 'neighbor-down'; peer: string; reason: string }
  | { type: 'reset'; channel: string; epoch: number };

/** What the API serves. */
export interface ApiBackend {
  info(): unknown;
  apiMembers(): ApiMember[];
  /** Broadcast a user event; returns its id. Throws with a one-line message on bad input. */
  event(name: string, payload: Uint8Array): string;
  /** Cluster-wide reset of a channel (reset switch); returns the new epoch. Throws on bad input.
   *  Optional: a backend without it answers 501. */
  reset?(channel: string): number;
  leave(): Promise<void>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Subscribe to monitor events; returns the unsubscribe function. */
  subscribe(listener: (e: MonitorEvent) => void): () => void;
  /** The node, for the dashboard's overlay crawl (src/agent/dashboard.ts); absent in stubs. */
  readonly node?: DashboardNode;
  /** Further routes (the key-value state's, src/agent/state.ts): resolves true when served.
   *  `streams` holds SSE responses to end when the server closes. */
  route?(req: IncomingMessage, res: ServerResponse, url: URL, streams: Set<ServerResponse>): Promise<boolean>;
  /** A keyring operation (`POST /v1/keys`, see src/agent/keys.ts). Throws a one-line Error on a
   *  bad request. */
  keysOp?(req: KeysRequest): Promise<unknown>;
  /** `/v1/aggregates[/NAME]` (src/agent/aggregates.ts); absent: 404. */
  aggregatesRoute?(method: string, name: string | null, body: unknown): { status: number; body: unknown };
}

/** Largest accepted request body (bytes). */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Largest user event name (characters). */
export const MAX_EVENT_NAME = 128;
/** SSE keep-alive comment period. */
const SSE_PING_MS = 15_000;

export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A running API server. */
export interface ApiServer {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

/** Start the API on `addr` (`host:port`, port 0 = any). */
export async function startApi(addr: string, token: string | undefined, backend: ApiBackend): Promise<ApiServer> {
  const a = parseBindAddr(addr);
  if (!a.ok) throw new Error(`apiAddr: ${a.reason}`);
  const { host, port } = a.value;
  const streams = new Set<ServerResponse>();
  const dash = new DashboardHub(backend);
  const server = createServer((req, res) => {
    handle(req, res, token, backend, streams, dash).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, `internal error: ${String((err as Error).message ?? err)}`);
      if (!res.headersSent) sendJson(res, e.status, { error: e.message.split('\n')[0] });
      else res.end();
    });
  });
  const bound = await listen(server, host, port);
  return {
    url: `http://${formatAddr(host, bound)}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        dash.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`api: cannot listen on ${formatAddr(host, port)}: ${err.code ?? err.message}`)));
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const h = req.headers.authorization ?? '';
  const m = /^Bearer (.+)$/.exec(h);
  if (m === null) return false;
  const a = Buffer.from(m[1]);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function handle(req: IncomingMessage, res: ServerResponse, token: string | undefined, backend: ApiBackend, streams: Set<ServerResponse>, dash: DashboardHub): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  // The dashboard page's files are public app code; its API calls carry the token.
  if (url.pathname === '/ui' || url.pathname.startsWith('/ui/')) return serveUi(req, res, url.pathname);
  if (!authorized(req, token)) throw new HttpError(401, 'missing or wrong bearer token (send "Authorization: Bearer <token>")');
  if (backend.route !== undefined && (await backend.route(req, res, url, streams))) return;
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  if ((url.pathname === '/v1/aggregates' || url.pathname.startsWith('/v1/aggregates/')) && backend.aggregatesRoute !== undefined) {
    return aggregatesRoute(req, res, url.pathname, backend.aggregatesRoute.bind(backend));
  }
  switch (route) {
    case 'GET /v1/info':
      return sendJson(res, 200, withFeatures(backend.info()));
    case 'GET /v1/members':
      return sendJson(res, 200, { members: filterMembers(backend.apiMembers(), url.searchParams) });
    case 'POST /v1/event': {
      const { name, payload } = parseEvent(await readJson(req));
      let id: string;
      try {
        id = backend.event(name, payload);
      } catch (err) {
        throw new HttpError(400, String((err as Error).message));
      }
      return sendJson(res, 200, { id });
    }
    case 'POST /v1/reset': {
      const body = await readJson(req);
      const channel = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).channel : undefined;
      if (typeof channel !== 'string' || !/^[A-Za-z0-9_.:-]{1,255}$/.test(channel) || channel.startsWith('_rumor.')) {
        throw new HttpError(400, 'channel: expected 1-255 letters, digits, _ . : or - (not a reserved _rumor. channel)');
      }
      if (backend.reset === undefined) throw new HttpError(501, 'reset: not supported by this agent');
      let epoch: number;
      try {
        epoch = backend.reset(channel);
      } catch (err) {
        throw new HttpError(400, String((err as Error).message));
      }
      return sendJson(res, 200, { channel, epoch });
    }
    case 'POST /v1/keys': {
      if (backend.keysOp === undefined) throw new HttpError(404, 'no keyring on this agent');
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body: expected a JSON object {op, key?, mode?, local?, timeoutMs?}');
      const b = body as KeysRequest;
      if (b.timeoutMs !== undefined && (!Number.isInteger(b.timeoutMs) || b.timeoutMs < 1 || b.timeoutMs > 120_000)) throw new HttpError(400, 'timeoutMs: expected an integer 1..120000');
      try {
        return sendJson(res, 200, await backend.keysOp(b));
      } catch (err) {
        throw new HttpError(400, String((err as Error).message));
      }
    }
    case 'POST /v1/leave':
      res.on('finish', () => void backend.leave());
      return sendJson(res, 200, { ok: true });
    case 'GET /v1/monitor':
      return monitor(req, res, backend, url.searchParams, streams);
    case 'GET /v1/dashboard/stream':
      streams.add(res);
      res.on('close', () => streams.delete(res));
      return dash.stream(req, res);
    case 'GET /metrics': {
      const m = await backend.metrics();
      res.writeHead(200, { 'content-type': m.contentType });
      res.end(m.body);
      return;
    }
  }
  const known = ['/v1/info', '/v1/members', '/v1/event', '/v1/keys', '/v1/reset', '/v1/leave', '/v1/monitor', '/v1/dashboard/stream', '/metrics'];
  if (known.includes(url.pathname)) throw new HttpError(405, `method ${req.method ?? ''} not allowed on ${url.pathname}`);
  throw new HttpError(404, `no such endpoint: ${req.method ?? ''} ${url.pathname}`);
}

async function aggregatesRoute(req: IncomingMessage, res: ServerResponse, path: string, route: NonNullable<ApiBackend['aggregatesRoute']>): Promise<void> {
  let name: string | null = null;
  if (path !== '/v1/aggregates') {
    try {
      name = decodeURIComponent(path.slice('/v1/aggregates/'.length));
    } catch {
      throw new HttpError(400, 'aggregate name: bad percent-encoding');
    }
  }
  const method = req.method ?? 'GET';
  const body = method === 'PUT' || method === 'POST' ? await readJson(req) : undefined;
  const a = route(method, name, body);
  return sendJson(res, a.status, a.body);
}

/** Apply `?status=` (comma-separated) and `?tag=k=v` (repeatable, all must match). */
export function filterMembers(members: ApiMember[], q: URLSearchParams): ApiMember[] {
  const statuses = q.getAll('status').flatMap((s) => s.split(',')).filter((s) => s !== '');
  for (const s of statuses) {
    if (!['alive', 'suspect', 'failed', 'left'].includes(s)) throw new HttpError(400, `status: expected alive, suspect, failed or left, got ${JSON.stringify(s)}`);
  }
  const tags: [string, string][] = [];
  for (const t of q.getAll('tag')) {
    const i = t.indexOf('=');
    if (i <= 0) throw new HttpError(400, `tag: expected key=value, got ${JSON.stringify(t)}`);
    tags.push([t.slice(0, i), t.slice(i + 1)]);
  }
  return members.filter((m) => (statuses.length === 0 || statuses.includes(m.status)) && tags.every(([k, v]) => m.tags[k] === v));
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body: expected JSON');
  }
}

function parseEvent(body: unknown): { name: string; payload: Uint8Array } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'body: expected a JSON object {name, payload}');
  const b = body as Record<string, unknown>;
  if (typeof b.name !== 'string' || b.name.length === 0 || b.name.length > MAX_EVENT_NAME || /\s/.test(b.name) || [...b.name].some((ch) => ch.charCodeAt(0) < 0x20)) {
    throw new HttpError(400, `name: expected a string of 1..${MAX_EVENT_NAME} characters without spaces`);
  }
  if (b.payload !== undefined && b.payloadBase64 !== undefined) throw new HttpError(400, 'payload: give payload or payloadBase64, not both');
  if (b.payload !== undefined && typeof b.payload !== 'string') throw new HttpError(400, 'payload: expected a string');
  if (b.payloadBase64 !== undefined) {
    if (typeof b.payloadBase64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(b.payloadBase64)) throw new HttpError(400, 'payloadBase64: expected a base64 string');
    return { name: b.name, payload: new Uint8Array(Buffer.from(b.payloadBase64, 'base64')) };
  }
  return { name: b.name, payload: new TextEncoder().encode((b.payload as string | undefined) ?? '') };
}

/** Monitor filters: `*`, `user`, `user:NAME`, `member` (all member events), a member event
 *  type, `neighbor` (up and down), `neighbor-up`, `neighbor-down`. */
export function monitorMatches(filters: string[], e: MonitorEvent): boolean {
  if (filters.length === 0) return true;
  return filters.some(
    (f) =>
      f === '*' ||
      f === e.type ||
      (f === 'member' && e.type.startsWith('member-')) ||
      (f === 'neighbor' && e.type.startsWith('neighbor-')) ||
      (e.type === 'user' && f === `user:${e.name}`),
  );
}

const MONITOR_FILTER = /^(\*|user|user:\S+|member|member-(join|leave|failed|update|reap)|neighbor|neighbor-(up|down)|reset)$/;

function monitor(req: IncomingMessage, res: ServerResponse, backend: ApiBackend, q: URLSearchParams, streams: Set<ServerResponse>): void {
  const filters = q.getAll('type').flatMap((s) => s.split(',')).filter((s) => s !== '');
  const bad = filters.find((f) => !MONITOR_FILTER.test(f));
  if (bad !== undefined) throw new HttpError(400, `type: unknown filter ${JSON.stringify(bad)} (expected user, user:NAME, member, member-join, member-leave, member-failed, member-update, member-reap, neighbor, neighbor-up, neighbor-down or *)`);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(': connected\n\n');
  streams.add(res);
  const unsubscribe = backend.subscribe((e) => {
    if (monitorMatches(filters, e)) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  });
  const ping = setInterval(() => res.write(': ping\n\n'), SSE_PING_MS);
  ping.unref();
  const stop = (): void => {
    clearInterval(ping);
    unsubscribe();
    streams.delete(res);
  };
  req.on('close', stop);
  res.on('close', stop);
}
