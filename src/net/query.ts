/**
 * `node.query(...)` / `node.onQuery(...)`: the query application (`src/proto/query`) on a
 * running node, with its binary codec (`src/wire/query.ts`), hosted by `RumorNode.runApp` on
 * `_app.query`. Library API: docs/library.md, "Queries".
 *
 * - `ask(name, payload, opts)` broadcasts a query (or, with an `expect` list of at most
 *   `directMaxMembers` other members, sends it to each of them as one application datagram:
 *   src/proto/query/machine.ts; `opts.path` forces either way) and returns a `QueryRun`: an async iterator
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
 * - A handler may have its response sent by another process: `q.responseDatagram()` gives the
 *   UDP datagram the node would send, with an empty payload, and where to; whoever sends it
 *   fills in the payload (`fillResponseDatagram` says how) and the handler answers `{ sent:
 *   true }`. The agent's handler launcher does so (src/agent/launcher.c): the response leaves
 *   when the handler exits, without a wake-up of the agent on its way.
 */
import { Sfc32 } from '../proto/rng.js';
import { QueryMachine } from '../proto/query/machine.js';
import { DEFAULT_QUERY_CONFIG, type QueryConfig, type QueryEvent, type QueryFilter, type QueryMessage, type QueryPath, type QueryResponseMsg, type QuerySummary, type QueryTimer } from '../proto/query/types.js';
import type { QueryRefusal } from '../proto/query/machine.js';
import { decodeQueryMessage, encodeQueryMessage } from '../wire/query.js';
import { crcView } from '../wire/crc.js';
import { varintSize } from '../wire/bytes.js';
import type { AppHandle, AppSpec } from './app-host.js';

export type { QuerySummary, QueryFilter, QueryPath };

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
  /** How the query is sent (default `auto`: directly to the expected members when there are
   *  at most `config.directMaxMembers` of them besides this node, else by broadcast). */
  path?: QueryPath;
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
  /** It came straight from its asker (the direct path), not by broadcast. */
  direct: boolean;
  /** The response as the UDP datagram this node would send now, with an empty payload (see the
   *  module comment); null when it cannot leave that way (encrypted cluster, no UDP socket, an
   *  asker that is this node or a DNS name, relays asked for, past the deadline). */
  responseDatagram(): ResponseDatagram | null;
}

/** A query's response datagram with an empty payload, for another process to send. */
export interface ResponseDatagram {
  /** The datagram: `u32` length, header, the query message (from `innerAt`) whose payload
   *  length, at `payloadAt`, is one byte 0, then the message's CRC-32C and the datagram's. */
  template: Uint8Array;
  payloadAt: number;
  innerAt: number;
  /** Largest datagram the node sends (bytes): a larger answer goes through the node (TCP). */
  maxBytes: number;
  /** The asker's IP address and UDP port. */
  host: string;
  port: number;
  /** Milliseconds left before the query's deadline: not to be sent after it. */
  leftMs: number;
}

/** The response datagram of `msg` (its payload empty) for another process to send; `wrap`
 *  puts the encoded query message in the node's datagram (null: not sent as a datagram). */
export function makeResponseDatagram(
  msg: QueryResponseMsg<string>,
  leftMs: number,
  wrap: (inner: Uint8Array) => { bytes: Uint8Array; host: string; port: number; maxBytes: number } | null,
): ResponseDatagram | null {
  if (msg.payload.byteLength !== 0 || msg.error !== '') return null;
  const inner = encodeQueryMessage(msg);
  if (!inner.ok) return null;
  const d = wrap(inner.value);
  if (d === null) return null;
  const innerAt = d.bytes.byteLength - 4 - inner.value.byteLength;
  // The payload's length follows version, type, id, responder and rname (src/wire/query.ts).
  const payloadAt = innerAt + 2 + varintSize(msg.id) + strSize(msg.responder) + strSize(msg.rname);
  return { template: d.bytes, payloadAt, innerAt, maxBytes: d.maxBytes, host: d.host, port: d.port, leftMs };
}

/** The datagram of `d` with `payload` (what the launcher does in C, launcher.c `answer`). */
export function fillResponseDatagram(d: ResponseDatagram, payload: Uint8Array): Uint8Array {
  const t = d.template;
  const vn = varintSize(payload.byteLength);
  const out = new Uint8Array(t.byteLength - 1 + vn + payload.byteLength);
  out.set(t.subarray(0, d.payloadAt));
  let k = d.payloadAt;
  for (let v = payload.byteLength; ; v = Math.floor(v / 128)) {
    out[k++] = v >= 0x80 ? (v % 128) | 0x80 : v;
    if (v < 0x80) break;
  }
  out.set(payload, k);
  k += payload.byteLength;
  out.set(t.subarray(d.payloadAt + 1, t.byteLength - 8), k);
  k += t.byteLength - 8 - d.payloadAt - 1;
  const view = new DataView(out.buffer);
  view.setUint32(0, out.byteLength - 4);
  view.setUint32(k, crcView(out.subarray(d.innerAt, k)));
  view.setUint32(k + 4, crcView(out.subarray(4, k + 4)));
  return out;
}

/** An answer: the response (text or bytes), or a response with an error (a failed handler's
 *  output and why), `{ sent: true }`: the response left another way (`responseDatagram`), or
 *  null/undefined: no answer from this node. */
export type QueryAnswer = string | Uint8Array | { payload?: string | Uint8Array; error: string } | { sent: true } | null | undefined;
export type QueryHandler = (q: IncomingQuery) => QueryAnswer | Promise<QueryAnswer>;

/** What `NodeQueries` needs of its node. */
export interface QueryHostNode {
  readonly address: string;
  readonly id: string;
  neighbors(): string[];
  runApp<M, T, E>(spec: AppSpec<M, T, E>): AppHandle<M, T>;
  /** The plaintext application datagram this node would send to `peer` now, and its UDP
   *  address; null when it would not send one as it is (no UDP socket, an encrypted cluster,
   *  too large, not an IP address). Optional: without it no response leaves another way. */
  appDatagram?(peer: string, channel: string, data: Uint8Array): { bytes: Uint8Array; host: string; port: number; maxBytes: number } | null;
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

  constructor(
    private readonly node: QueryHostNode,
    readonly config: QueryConfig = DEFAULT_QUERY_CONFIG,
  ) {
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
        r = this.machine.ask({ name, payload: body, filter, timeoutMs: opts.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS, ack: opts.ack ?? true, relayFactor: opts.relayFactor ?? 0, expect: opts.expect ?? null, path: opts.path }, now);
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
      v = h({ name: e.name, payload: e.payload, origin: e.origin, direct: e.direct, responseDatagram: () => this.responseDatagram(e.key) });
    } catch (err) {
      return reply(null, errText(err));
    }
    Promise.resolve(v).then(
      (x) => {
        if (x === null || x === undefined) return reply(null, '');
        if (typeof x === 'string' || x instanceof Uint8Array) return reply(bytesOf(x), '');
        if ('sent' in x) return void this.handle.drive(() => this.machine.answeredElsewhere(e.key));
        reply(bytesOf(x.payload ?? ''), x.error === '' ? 'handler failed' : x.error);
      },
      (err: unknown) => reply(null, errText(err)),
    );
  }

  /** Query `key`'s response datagram with an empty payload (`IncomingQuery.responseDatagram`). */
  private responseDatagram(key: string): ResponseDatagram | null {
    if (this.node.appDatagram === undefined || this.handle.stopped) return null;
    // A read, which changes nothing: not through `drive` (which defers a call made inside
    // another input); the host's clock is `Date.now()` (app-host.ts).
    const r = this.machine.responseTemplate(key, Date.now());
    const app = this.node.appDatagram.bind(this.node);
    return r === null ? null : makeResponseDatagram(r.msg, r.leftMs, (inner) => app(r.to, this.handle.channel, inner));
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

function strSize(s: string): number {
  const n = Buffer.byteLength(s);
  return varintSize(n) + n;
}

function bytesOf(x: string | Uint8Array): Uint8Array {
  return typeof x === 'string' ? enc.encode(x) : x;
}

function errText(err: unknown): string {
  const s = err instanceof Error ? err.message : String(err);
  return s === '' ? 'handler failed' : s;
}
