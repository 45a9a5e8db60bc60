/**
 * Client of the agent's HTTP API (docs/api.md), used by the CLI verbs. Errors are one line:
 * `cannot reach agent at http://127.0.0.1:7373: ECONNREFUSED`, or
 * `agent at http://...: 401: missing or wrong bearer token ...`.
 */
import type { AggregateEstimate } from '../net/aggregates.js';
import type { ApiMember, MonitorEvent, MonitorLogEvent } from './api.js';
import type { JoinResult } from './operator.js';
import type { AskResult } from './cluster-request.js';
import type { KeysRequest } from './keys.js';

export type { AggregateEstimate };

/** `GET /v1/info` answer. */
export interface AgentInfo {
  name: string;
  addr: string;
  version: string;
  cluster: string;
  profile: string;
  uptimeMs: number;
  apiUrl: string;
  neighbors: string[];
  passive: string[];
  members: Record<string, number>;
  stats: unknown;
  /** Keyring state: mode (`off` without a key), key fingerprints (primary first), file. */
  encryption?: { mode: string; keys: string[]; keyringFile: string | null };
  /** Optional features this agent serves (`aggregates`: `/v1/aggregates`; `state` and
   *  `metadata`: key-value state, `/v1/kv` and `/v1/tags`). */
  features?: string[];
  /** The event pipeline to handlers (src/agent/coalesce.ts): user events dropped by the Lamport
   *  buffer as duplicate or stale, events absorbed by coalescing. */
  events?: { duplicate: number; stale: number; coalescedMember: number; coalescedUser: number };
  /** The membership's messages by type (`m-ping`, `m-changes`, ...) sent and received since
   *  the agent started (what a join costs: bench/join-cost.ts). */
  membership?: { sent: Record<string, number>; received: Record<string, number> };
  /** The agent's aggregates (with the `aggregates` feature). */
  aggregates?: AggregateEstimate[];
}

/** `POST /v1/force-leave` answer: the member, and each node's answer (`fields[0]`: `left`,
 *  `pruned` or `absent`). */
export interface ForceLeaveResult extends AskResult {
  name: string;
  addr: string;
  prune: boolean;
}

/** A member in a query's stream. */
export interface QueryWho {
  name: string;
  addr: string;
}

/** Body of `POST /v1/query` (docs/api.md). */
export interface QueryBody {
  name: string;
  payload?: string;
  payloadBase64?: string;
  nodes?: string[];
  tags?: Record<string, string>;
  timeoutMs?: number;
  ack?: boolean;
  relayFactor?: number;
}

/** One line of the `POST /v1/query` stream. */
export type QueryLine =
  | { type: 'start'; id: number; name: string; timeoutMs: number; expected: QueryWho[] }
  | { type: 'ack'; name: string; addr: string; final: boolean }
  | { type: 'response'; name: string; addr: string; payload: string; payloadBase64: string; error: string; expected: boolean }
  | QueryDone;

/** The last line: the summary. */
export interface QueryDone {
  type: 'done';
  reason: 'complete' | 'timeout' | 'stopped';
  durationMs: number;
  answered: QueryWho[];
  ackedOnly: QueryWho[];
  missing: QueryWho[];
}

/** A running monitor stream. */
export interface MonitorHandle {
  /** Stop the stream (`done` then resolves). */
  close(): void;
  /** Resolves when the stream ends or is closed; rejects if it cannot be opened or breaks. */
  done: Promise<void>;
}

/** Client of one agent's API. */
export class AgentClient {
  private readonly base: string;

  constructor(apiUrl: string, private readonly token?: string) {
    this.base = apiUrl.replace(/\/+$/, '');
  }

  /** `GET /v1/info`. */
  info(): Promise<AgentInfo> {
    return this.call<AgentInfo>('GET', '/v1/info');
  }

  /** `GET /v1/members` with optional filters: `status` (names separated by commas, or a
   *  regular expression), `name` and `tags` (`key` → regular expression); expressions are
   *  anchored at both ends, as Serf's. */
  async members(filter: { status?: string; name?: string; tags?: Record<string, string> } = {}): Promise<ApiMember[]> {
    const q = new URLSearchParams();
    if (filter.status !== undefined) q.append('status', filter.status);
    if (filter.name !== undefined) q.append('name', filter.name);
    for (const [k, v] of Object.entries(filter.tags ?? {})) q.append('tag', `${k}=${v}`);
    const qs = q.toString();
    const r = await this.call<{ members: ApiMember[] }>('GET', `/v1/members${qs === '' ? '' : '?' + qs}`);
    return r.members;
  }

  /** `POST /v1/event`: broadcast a user event; resolves to its id. */
  async event(name: string, payload: Uint8Array | string = ''): Promise<string> {
    const body = typeof payload === 'string' ? { name, payload } : { name, payloadBase64: Buffer.from(payload).toString('base64') };
    const r = await this.call<{ id: string }>('POST', '/v1/event', body);
    return r.id;
  }

  /** `POST /v1/join`: join through `addrs` now; one result per address. */
  join(addrs: string[], timeoutMs?: number): Promise<{ joined: number; results: JoinResult[] }> {
    return this.call('POST', '/v1/join', { addrs, timeoutMs });
  }

  /** `POST /v1/force-leave`: mark a failed member left on every node (`prune`: remove it). */
  forceLeave(name: string, opts: { prune?: boolean; timeoutMs?: number } = {}): Promise<ForceLeaveResult> {
    return this.call('POST', '/v1/force-leave', { name, prune: opts.prune === true, timeoutMs: opts.timeoutMs });
  }

  /** `POST /v1/reset`: reset `channel` on every node (new epoch); returns the epoch. */
  async reset(channel: string): Promise<number> {
    const r = await this.call<{ epoch: number }>('POST', '/v1/reset', { channel });
    return r.epoch;
  }

  /** `POST /v1/keys`: a keyring operation on this agent (`local`) or the whole cluster. */
  keys(req: KeysRequest): Promise<AskResult & { keys?: string[] }> {
    return this.call('POST', '/v1/keys', req);
  }

  /** `POST /v1/query`: ask a query; `onLine` gets each streamed line (acks and responses as
   *  they arrive); resolves with the summary. */
  async query(body: QueryBody, onLine: (l: QueryLine) => void = () => {}): Promise<QueryDone> {
    const res = await this.fetch('POST', '/v1/query', body);
    if (!res.ok) throw await this.httpError(res);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    let done: QueryDone | null = null;
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const l = JSON.parse(buf.slice(0, i)) as QueryLine;
        buf = buf.slice(i + 1);
        if (l.type === 'done') done = l;
        onLine(l);
      }
    }
    if (done === null) throw new Error(`agent at ${this.base}: the query stream ended without a summary (agent stopped?)`);
    return done;
  }

  /** Aggregates of the agent (`GET /v1/aggregates`). */
  async aggregates(): Promise<AggregateEstimate[]> {
    return (await this.call<{ aggregates: AggregateEstimate[] }>('GET', '/v1/aggregates')).aggregates;
  }

  /** Declare aggregate `name` and/or set this agent's input (`PUT /v1/aggregates/NAME`). */
  async aggregate(name: string, body: { kind?: string; value?: number }): Promise<AggregateEstimate> {
    return this.call<AggregateEstimate>('PUT', `/v1/aggregates/${encodeURIComponent(name)}`, body);
  }

  /** `POST /v1/leave`: the agent leaves the cluster and shuts down. */
  async leave(): Promise<void> {
    await this.call('POST', '/v1/leave', {});
  }

  /** `GET /v1/monitor`: call `onEvent` for each event (optionally filtered by `type`), and
   *  with `logLevel` for each log line of the agent at that level or above. */
  monitor(onEvent: (e: MonitorEvent) => void, opts?: { type?: string }): MonitorHandle;
  monitor(onEvent: (e: MonitorEvent | MonitorLogEvent) => void, opts: { type?: string; logLevel?: string }): MonitorHandle;
  monitor(onEvent: ((e: MonitorEvent) => void) | ((e: MonitorEvent | MonitorLogEvent) => void), opts: { type?: string; logLevel?: string } = {}): MonitorHandle {
    const q = new URLSearchParams();
    if (opts.type !== undefined) q.set('type', opts.type);
    if (opts.logLevel !== undefined) q.set('logLevel', opts.logLevel);
    const qs = q.toString();
    return this.events(`/v1/monitor${qs === '' ? '' : '?' + qs}`, (data) => (onEvent as (e: unknown) => void)(data));
  }

  /** Any JSON endpoint (`method` `path`, optional JSON body); rejects with the agent's error. */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.call<T>(method, path, body);
  }

  /** Any server-sent-events endpoint: `onData` gets the JSON of each event's `data:`. */
  events(path: string, onData: (data: unknown) => void): MonitorHandle {
    const ctl = new AbortController();
    let closed = false;
    const done = (async () => {
      const res = await this.fetch('GET', path, undefined, ctl.signal);
      if (!res.ok) throw await this.httpError(res);
      const reader = res.body!.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) return;
        buf += dec.decode(value, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(0, i).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          buf = buf.slice(i + 2);
          if (data !== '') onData(JSON.parse(data));
        }
      }
    })().catch((err: unknown) => {
      if (closed) return;
      throw err;
    });
    return {
      close: () => {
        closed = true;
        ctl.abort();
      },
      done,
    };
  }

  private async fetch(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
    } catch (err) {
      if (signal?.aborted === true) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach agent at ${this.base}: ${cause?.code ?? cause?.message ?? String((err as Error).message)}`, { cause: err });
    }
  }

  private async httpError(res: Response): Promise<Error> {
    let msg = res.statusText;
    try {
      const j = (await res.json()) as { error?: string };
      if (typeof j.error === 'string') msg = j.error;
    } catch {
      // not JSON
    }
    return new Error(`agent at ${this.base}: ${res.status}: ${msg}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body);
    if (!res.ok) throw await this.httpError(res);
    return (await res.json()) as T;
  }
}
