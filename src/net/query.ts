/**
 * `node.query(...)` / `node.onQuery(...)`: the query application (`src/proto/query`) on a
 * running node, with its binary codec (`src/wire/query.ts`), hosted by `RumorNode.runApp` on
 * `_app.query`. Library API: docs/library.md, "Queries".
 *
 * - `ask(name, payload, opts)` broadcasts a query and returns a `QueryRun`: an async iterator
 *   of acks and responses as they arrive, and `done`, the summary (who answered, who acked only,
 *   who said nothing). Bad input (payload over the limit, too many queries in flight, a bad
 *   filter) throws a `QueryError` at the call.
 * - `onQuery(handler)`: the answer of this node. The handler's value is the response (a string
 *   or bytes); `null`/`undefined` declines (no answer: the asker stops waiting for this node);
 *   a throw or rejection answers with the error text. Without a handler every query is declined.
 * - The host injects who this node is for filters (`configure({ self, relayPeers })`): the agent
 *   passes its member name, its tags and the alive members; a bare library node matches with its
 *   `id` and no tags, and relays through its neighbours.
 * - A query knows when to stop only if it is told whom to expect (`opts.expect`, addresses); the
 *   agent passes its member list. Without it the query runs to its timeout.
 */
import { Sfc32 } from '../proto/rng.js';
import { QueryMachine } from '../proto/query/machine.js';
import { DEFAULT_QUERY_CONFIG, type QueryConfig, type QueryEvent, type QueryFilter, type QueryMessage, type QuerySummary, type QueryTimer } from '../proto/query/types.js';
import type { QueryRefusal } from '../proto/query/machine.js';
import { decodeQueryMessage, encodeQueryMessage } from '../wire/query.js';
import type { AppHandle, AppSpec } from './app-host.js';

export type { QuerySummary, QueryFilter };

/** A query refused at the call; `code` says why. */
export class QueryError extends Error {
  readonly code: QueryRefusal['type'];
  constructor(r: QueryRefusal) {
    super(r.message);
    this.name = 'QueryError';
    this.code = r.type;
  }
}

/** Options of `node.query`. */
export interface QueryOptions {
  /** Member names to ask (empty: all). */
  nodes?: string[];
  /** Tag patterns, `{ key: regex }` (anchored); all must match. */
  tags?: Record<string, string>;
  /** Default 5000 ms (at most 600000). */
  timeoutMs?: number;
  /** Ask for acknowledgements (default true). */
  ack?: boolean;
  /** Also send each response through this many random members (0..5, default 0). */
  relayFactor?: number;
  /** Addresses of the members expected to answer; the query ends when all did. */
  expect?: string[];
  /** Take each update synchronously, as it arrives, instead of through the run's async
   *  iterator (which then yields nothing): no promise per response. For an asker that streams
   *  the updates on (the agent's `POST /v1/query`). It must not throw; a throw is logged by the
   *  host and the update is lost. */
  onUpdate?: (u: QueryUpdate) => void;
}

/** Default query timeout of the library (ms): Serf's at a cluster of up to 9 nodes (its
 *  `GossipInterval` 200 ms × `QueryTimeoutMult` 16 × ceil(log10(N + 1))). */
export const DEFAULT_QUERY_TIMEOUT_MS = 3200;

/** An update of a running query, at its asker. */
export type QueryUpdate =
  | { type: 'ack'; from: string; name: string; final: boolean }
  | { type: 'response'; from: string; name: string; payload: Uint8Array; error: string; expected: boolean };

/** A running query. */
export interface QueryRun extends AsyncIterable<QueryUpdate> {
  readonly id: number;
  /** Resolves with the summary when the query is over. */
  readonly done: Promise<QuerySummary<string>>;
}

/** A query as `onQuery` handlers see it. */
export interface IncomingQuery {
  name: string;
  payload: Uint8Array;
  /** The asker's address. */
  origin: string;
}

/** An answer: the response (text or bytes), or a response with an error (a failed handler's
 *  output and why), or null/undefined: no answer from this node. */
export type QueryAnswer = string | Uint8Array | { payload?: string | Uint8Array; error: string } | null | undefined;
export type QueryHandler = (q: IncomingQuery) => QueryAnswer | Promise<QueryAnswer>;

/** What `NodeQueries` needs of its node. */
export interface QueryHostNode {
  readonly address: string;
  readonly id: string;
  neighbors(): string[];
  runApp<M, T, E>(spec: AppSpec<M, T, E>): AppHandle<M, T>;
}

interface Listener {
  updates: QueryUpdate[];
  /** `QueryOptions.onUpdate`: updates go there instead of `updates`. */
  push: ((u: QueryUpdate) => void) | null;
  wake: (() => void) | null;
  finished: boolean;
  resolve: (s: QuerySummary<string>) => void;
}

const enc = new TextEncoder();

/** `node.query` and `node.onQuery` (see the module comment). */
export class NodeQueries {
  private readonly handle: AppHandle<QueryMessage<string>, QueryTimer>;
  private readonly machine: QueryMachine<string>;
  private readonly runs = new Map<number, Listener>();
  private handler: QueryHandler | null = null;
  private early: QueryEvent<string>[] | null = null;
  private self: () => { name: string; tags: Readonly<Record<string, string>> };
  private relayPeers: () => readonly string[];

  constructor(node: QueryHostNode, readonly config: QueryConfig = DEFAULT_QUERY_CONFIG) {
    this.self = () => ({ name: node.id, tags: {} });
    this.relayPeers = () => node.neighbors();
    let machine: QueryMachine<string> | undefined;
    const seed = (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) >>> 0;
    this.handle = node.runApp<QueryMessage<string>, QueryTimer, QueryEvent<string>>({
      name: 'query',
      codec: { encode: encodeQueryMessage, decode: (b) => decodeQueryMessage(b, config) },
      create: (self, io) =>
        (machine = new QueryMachine<string>(self, config, new Sfc32(seed), io, { self: () => this.self(), relayPeers: () => this.relayPeers(), key: (p) => p })),
      onEvent: (e) => this.onEvent(e),
    });
    this.machine = machine!;
  }

  /** Who this node is for filters, and whom responses may be relayed through. */
  configure(o: { self?: () => { name: string; tags: Readonly<Record<string, string>> }; relayPeers?: () => readonly string[] }): void {
    if (o.self !== undefined) this.self = o.self;
    if (o.relayPeers !== undefined) this.relayPeers = o.relayPeers;
  }

  /** Set this node's answer (replacing any earlier one); returns a function removing it. */
  onQuery(handler: QueryHandler): () => void {
    this.handler = handler;
    return () => {
      if (this.handler === handler) this.handler = null;
    };
  }

  /** Ask a query. Throws `QueryError` when refused (see the module comment). */
  ask(name: string, payload: string | Uint8Array = '', opts: QueryOptions = {}): QueryRun {
    const filter: QueryFilter = { nodes: opts.nodes ?? [], tags: Object.entries(opts.tags ?? {}).map(([key, pattern]) => ({ key, pattern })) };
    const body = typeof payload === 'string' ? enc.encode(payload) : payload;
    let r: ReturnType<QueryMachine<string>['ask']> | undefined;
    let listener: Listener | undefined;
    const done = new Promise<QuerySummary<string>>((resolve) => (listener = { updates: [], push: opts.onUpdate ?? null, wake: null, finished: false, resolve }));
    this.handle.drive((now) => {
      // Events of the query raised during `ask` itself (this node's own ack, an empty expected
      // set's end) are held, then handed to the run once its id is known.
      this.early = [];
      try {
        r = this.machine.ask({ name, payload: body, filter, timeoutMs: opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, ack: opts.ack ?? true, relayFactor: opts.relayFactor ?? 0, expect: opts.expect ?? null }, now);
      } finally {
        const early = this.early;
        this.early = null;
        if (r?.ok === true) {
          this.runs.set(r.value, listener!);
          for (const e of early) this.onEvent(e);
        }
      }
    });
    if (r === undefined) throw new QueryError(this.handle.stopped ? { type: 'stopped', message: 'query: the node has stopped' } : { type: 'bad-request', message: 'query: asked from inside a query event listener; ask after it returns' });
    if (!r.ok) throw new QueryError(r.error);
    return this.run(r.value, listener!, done);
  }

  private run(id: number, l: Listener, done: Promise<QuerySummary<string>>): QueryRun {
    return {
      id,
      done,
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<QueryUpdate>> => {
          while (l.updates.length === 0 && !l.finished) await new Promise<void>((w) => (l.wake = w));
          l.wake = null;
          if (l.updates.length > 0) return { value: l.updates.shift()!, done: false };
          return { value: undefined, done: true };
        },
      }),
    };
  }

  private onEvent(e: QueryEvent<string>): void {
    if (e.type === 'query') return this.answer(e);
    const id = e.type === 'query-done' ? e.summary.id : e.id;
    const l = this.runs.get(id);
    if (l === undefined) {
      if (this.early !== null) this.early.push(e);
      return;
    }
    if (e.type === 'query-ack') this.update(l, { type: 'ack', from: e.from, name: e.name, final: e.final });
    else if (e.type === 'query-response') this.update(l, { type: 'response', from: e.from, name: e.name, payload: e.payload, error: e.error, expected: e.expected });
    else {
      this.runs.delete(id);
      l.finished = true;
      l.resolve(e.summary);
    }
    l.wake?.();
  }

  private update(l: Listener, u: QueryUpdate): void {
    if (l.push !== null) l.push(u);
    else l.updates.push(u);
  }

  private answer(e: Extract<QueryEvent<string>, { type: 'query' }>): void {
    const h = this.handler;
    if (h === null) {
      this.handle.drive((now) => this.machine.decline(e.key, now));
      return;
    }
    const reply = (payload: Uint8Array | null, error: string): void =>
      this.handle.drive((now) => (payload === null && error === '' ? this.machine.decline(e.key, now) : this.machine.respond(e.key, payload ?? new Uint8Array(0), error, now)));
    let v: ReturnType<QueryHandler>;
    try {
      v = h({ name: e.name, payload: e.payload, origin: e.origin });
    } catch (err) {
      return reply(null, errText(err));
    }
    Promise.resolve(v).then(
      (x) => {
        if (x === null || x === undefined) return reply(null, '');
        if (typeof x === 'string' || x instanceof Uint8Array) return reply(bytesOf(x), '');
        reply(bytesOf(x.payload ?? ''), x.error === '' ? 'handler failed' : x.error);
      },
      (err: unknown) => reply(null, errText(err)),
    );
  }

  /** Queries in flight as the asker. */
  get inFlight(): number {
    return this.machine.inFlight;
  }

  /** Counters of the machine and of its transport. */
  stats(): { machine: QueryMachine<string>['counters']; app: ReturnType<AppHandle<unknown, unknown>['stats']> } {
    return { machine: { ...this.machine.counters }, app: this.handle.stats() };
  }
}

function bytesOf(x: string | Uint8Array): Uint8Array {
  return typeof x === 'string' ? enc.encode(x) : x;
}

function errText(err: unknown): string {
  const s = err instanceof Error ? err.message : String(err);
  return s === '' ? 'handler failed' : s;
}
