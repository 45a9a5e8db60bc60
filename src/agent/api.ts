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
import { LOG_LEVELS, stringify, type LogLevel, type LogLine } from './log.js';
import { checkJoinAddrs, memberFilter, memberMatches, type JoinResult } from './operator.js';

/** A member as the API returns it. */
export interface ApiMember {
  name: string;
  addr: string;
  status: MemberStatus;
  incarnation: number;
  tags: Record<string, string>;
  neighbor: boolean;
  /** When this agent saw the member's current state (ms since the epoch). */
  updatedAt?: number;
  /** The member's agent version and protocol range [min, max], when it publishes them. */
  agentVersion?: string;
  protocol?: [number, number];
}

/** An event of the monitor stream (JSON of one SSE `data:` line; `event:` is `type`). */
export type MonitorEvent =
  | { type: 'user'; id: string; name: string; origin: string; ltime: number; payload: string; payloadBase64: string }
  | { type: 'member-join' | 'member-leave' | 'member-failed' | 'member-update' | 'member-reap'; member: Omit<Member, 'updatedAt'> }
  | { type: 'neighbor-up'; peer: string }
  | { type: 'neighbor-down'; peer: string; reason: string }
  | { type: 'reset'; channel: string; epoch: number };

/** A log line of the agent on the monitor stream (`/v1/monitor?logLevel=LEVEL`): its level
 *  name, time (ms since the epoch), message and the other fields. */
export interface MonitorLogEvent {
  type: 'log';
  level: string;
  time: number;
  msg: string;
  fields: Record<string, unknown>;
}

/** What the API serves. */
export interface ApiBackend {
  /** Called at each request before it is handled (the agent times its handler warm-up after
   *  its first answer: agent.ts `warmUpNow`). */
  requested?(): void;
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
  /** `POST /v1/join`: join through `addrs` now, one result per address. Absent: 501. */
  join?(addrs: string[], timeoutMs?: number): Promise<JoinResult[]>;
  /** `POST /v1/force-leave`; throws a one-line Error when refused. Absent: 501. */
  forceLeave?(nameOrAddr: string, prune: boolean, timeoutMs?: number): Promise<unknown>;
  /** Log lines at `level` and above (`/v1/monitor?logLevel=`); returns the unsubscribe function. */
  tapLogs?(level: LogLevel, fn: (line: LogLine) => void): () => void;
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
    backend.requested?.();
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
    case 'POST /v1/join':
      return joinRoute(req, res, backend);
    case 'POST /v1/force-leave':
      return forceLeaveRoute(req, res, backend);
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
  const known = ['/v1/info', '/v1/members', '/v1/event', '/v1/join', '/v1/force-leave', '/v1/keys', '/v1/reset', '/v1/leave', '/v1/monitor', '/v1/dashboard/stream', '/metrics'];
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

/** Apply `?name=`, `?status=` and `?tag=key=regex` (repeatable, all must match): regular
 *  expressions anchored at both ends, as Serf's (src/agent/operator.ts). */
export function filterMembers(members: ApiMember[], q: URLSearchParams): ApiMember[] {
  let f;
  try {
    f = memberFilter({ name: q.get('name'), status: q.getAll('status'), tag: q.getAll('tag') });
  } catch (err) {
    throw new HttpError(400, (err as Error).message);
  }
  return members.filter((m) => memberMatches(f, m));
}

/** Most a join or force-leave waits (ms). */
const MAX_OP_TIMEOUT_MS = 120_000;

function timeoutOf(b: Record<string, unknown>): number | undefined {
  const t = b.timeoutMs;
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > MAX_OP_TIMEOUT_MS) throw new HttpError(400, `timeoutMs: expected an integer 1..${MAX_OP_TIMEOUT_MS}`);
  return t;
}

async function objectBody(req: IncomingMessage, shape: string): Promise<Record<string, unknown>> {
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `body: expected a JSON object ${shape}`);
  return body as Record<string, unknown>;
}

async function joinRoute(req: IncomingMessage, res: ServerResponse, backend: ApiBackend): Promise<void> {
  const b = await objectBody(req, '{addrs, timeoutMs?}');
  const a = checkJoinAddrs(b.addrs);
  if (!a.ok) throw new HttpError(400, a.reason);
  const timeoutMs = timeoutOf(b);
  if (backend.join === undefined) throw new HttpError(501, 'join: not supported by this agent');
  let results: JoinResult[];
  try {
    results = await backend.join(a.addrs, timeoutMs);
  } catch (err) {
    throw new HttpError(400, String((err as Error).message));
  }
  return sendJson(res, 200, { joined: results.filter((r) => r.ok).length, results });
}

async function forceLeaveRoute(req: IncomingMessage, res: ServerResponse, backend: ApiBackend): Promise<void> {
  const b = await objectBody(req, '{name, prune?, timeoutMs?}');
  if (typeof b.name !== 'string' || b.name === '' || b.name.length > 256) throw new HttpError(400, 'name: expected the name (or address) of a member');
  if (b.prune !== undefined && typeof b.prune !== 'boolean') throw new HttpError(400, 'prune: expected true or false');
  const timeoutMs = timeoutOf(b);
  if (backend.forceLeave === undefined) throw new HttpError(501, 'force-leave: not supported by this agent');
  try {
    return sendJson(res, 200, await backend.forceLeave(b.name, b.prune === true, timeoutMs));
  } catch (err) {
    throw new HttpError(400, String((err as Error).message));
  }
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

/** Log levels a monitor may ask for. */
const MONITOR_LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
/** Bytes a monitor stream may hold unsent before log lines are dropped (a slow reader must not
 *  grow the agent's memory; a drop is reported on the stream once the backlog clears). */
export const MONITOR_LOG_BACKLOG_BYTES = 1024 * 1024;

function monitorLogLevel(raw: string | null, backend: ApiBackend): LogLevel | null {
  if (raw === null || raw === '') return null;
  if (!(MONITOR_LOG_LEVELS as readonly string[]).includes(raw)) throw new HttpError(400, `logLevel: expected ${MONITOR_LOG_LEVELS.join(', ')}, got ${JSON.stringify(raw)}`);
  if (backend.tapLogs === undefined) throw new HttpError(501, 'logLevel: this agent does not stream its logs');
  return raw as LogLevel;
}

const LEVEL_NAME: Record<number, string> = Object.fromEntries(Object.entries(LOG_LEVELS).map(([k, v]) => [v, k]));

/** Writes log lines to a monitor stream as `event: log`, dropping (and counting) them while the
 *  stream's unsent backlog is above `MONITOR_LOG_BACKLOG_BYTES`. */
function logWriter(res: ServerResponse): (line: LogLine) => void {
  let dropped = 0;
  return (line) => {
    if (res.writableLength > MONITOR_LOG_BACKLOG_BYTES) {
      dropped++;
      return;
    }
    if (dropped > 0) {
      res.write(`event: log\ndata: ${JSON.stringify({ type: 'log', level: 'warn', time: Date.now(), msg: 'monitor: log lines dropped (slow reader)', fields: { dropped } })}\n\n`);
      dropped = 0;
    }
    const { level, time, msg, ...fields } = line;
    const e: MonitorLogEvent = { type: 'log', level: LEVEL_NAME[level] ?? String(level), time, msg: String(msg ?? ''), fields };
    res.write(`event: log\ndata: ${stringify(e as unknown as Record<string, unknown>)}\n\n`);
  };
}

function monitor(req: IncomingMessage, res: ServerResponse, backend: ApiBackend, q: URLSearchParams, streams: Set<ServerResponse>): void {
  const filters = q.getAll('type').flatMap((s) => s.split(',')).filter((s) => s !== '');
  const bad = filters.find((f) => !MONITOR_FILTER.test(f));
  if (bad !== undefined) throw new HttpError(400, `type: unknown filter ${JSON.stringify(bad)} (expected user, user:NAME, member, member-join, member-leave, member-failed, member-update, member-reap, neighbor, neighbor-up, neighbor-down or *)`);
  const level = monitorLogLevel(q.get('logLevel'), backend);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(': connected\n\n');
  streams.add(res);
  const unsubscribe = backend.subscribe((e) => {
    if (monitorMatches(filters, e)) res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  });
  const untap = level === null ? () => {} : backend.tapLogs!(level, logWriter(res));
  const ping = setInterval(() => res.write(': ping\n\n'), SSE_PING_MS);
  ping.unref();
  const stop = (): void => {
    clearInterval(ping);
    untap();
    unsubscribe();
    streams.delete(res);
  };
  req.on('close', stop);
  res.on('close', stop);
}
