/**
 * `RumorNode`: the library face of rumor. It owns a TCP server and a `Transport` (which
 * drives the sans-IO `ProtoNode`), wraps application payloads in envelopes, and turns the
 * machine's deliveries and events into typed `EventEmitter` events and async-iterator
 * subscriptions. Several nodes can live in one process: there is no global state.
 */
import { NodeState } from './state.js';
import { NodeQueries, type QueryHandler, type QueryOptions, type QueryRun } from './query.js';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:net';
import { resolveNodeConfig } from '../proto/node.js';
import { Sfc32 } from '../proto/rng.js';
import type { DownReason, MsgId, NodeEvent } from '../proto/types.js';
import {
  DEFAULT_WIRE_LIMITS,
  readEnvelopeInto,
  encodeEnvelope,
  checkEnvelope,
  messageIdFor,
  type Envelope,
  type WireLimits,
} from '../wire/index.js';
import type { Keyring } from '../wire/crypto.js';
import { mergeProtocol, resolveTimings } from './profiles.js';
import type { NodeStats } from './stats.js';
import { Subscription, type Delivery, type DeliveryStream } from './subscription.js';
import { Transport } from './transport.js';
import { writeAtOnce } from './flush-scheduler.js';
import { DEFAULT_FAIR_QUEUE } from './fair-queue.js';
import { buildValidate, parseReset, RESET_CHANNEL, type Epoch } from './validation.js';
import { probePeer } from './probe.js';
import { hostApp, type AppHandle, type AppSpec } from './app-host.js';
import { isNamedSeed, SeedWatch, systemResolver, type HostResolver, type SeedResolution } from './resolver.js';
import { CONSOLE_LOGGER, RateLimiter, formatAddr, parseAddr, type Logger } from './util.js';
import { ENVELOPE_MAX_HEADER, PayloadTooLargeError, makeKeyring, validateOptions, type NodeOptions, type RumorNodeEvents } from './node-options.js';

export { PayloadTooLargeError, type NodeOptions, type RumorNodeEvents } from './node-options.js';

type State = 'new' | 'starting' | 'running' | 'closed';

/** A rumor gossip node (HyParView membership + Plumtree broadcast over TCP). */
export class RumorNode extends EventEmitter<RumorNodeEvents> {
  /** Node id (the `name` option, or random hex). Sent in the handshake. */
  readonly id: string;
  private readonly opts: NodeOptions;
  private phase: State = 'new';
  private transport: Transport | null = null;
  private addr = '';
  private seq = 0;
  /** When the last `broadcast` was made (monotonic ms): a quiet publisher writes at once. */
  private lastBroadcastAt = -Infinity;
  private readonly subs = new Set<Subscription>();
  /** Hosted applications by channel, and how to unhook each from the node's events. */
  private readonly apps = new Map<string, AppHandle<unknown, unknown>>();
  private state_: NodeState | null = null;
  private queries_: NodeQueries | null = null;
  private readonly appDetach = new Map<string, () => void>();
  private readonly limits: WireLimits;
  private readonly logger: Logger;
  private readonly envLog = new RateLimiter(60_000);
  private connectTimeoutMs = 2000;
  /** Channel epochs (reset switch, validation.ts). */
  private readonly epochs = new Map<string, Epoch>();
  /** Re-resolves named seeds (see resolver.ts); created by the first `join` with a name. */
  private watch: SeedWatch | null = null;
  /** Pending `join` waits, ended (rejected) when the node leaves or closes. */
  private readonly joinWaits = new Set<() => void>();
  /** Bootstrap retry and periodic exchange periods of the membership machine (ms). */
  private retryMs = { short: 500, long: 60_000, activeViewSize: 5 };
  /** Envelope fields of the delivery being handed out (one object reused: a delivery copies
   *  them into its own `Delivery`). */
  private readonly envScratch: Envelope = { origin: '', seq: 0, channel: '', timestamp: 0, data: new Uint8Array(0) };
  private keyring_: Keyring | null = null;

  constructor(opts: NodeOptions = {}) {
    super();
    this.opts = { ...opts };
    this.id = opts.name ?? randomBytes(8).toString('hex');
    this.limits = { ...DEFAULT_WIRE_LIMITS, ...opts.limits };
    this.logger = opts.logger ?? CONSOLE_LOGGER;
  }

  /** The node's keyring (install, use, remove keys and change the rollout mode at run time;
   *  every change applies to the next write of every connection). Set by `start()`. */
  get keyring(): Keyring {
    if (this.keyring_ === null) throw new Error('keyring: node not started (call start() first)');
    return this.keyring_;
  }

  /** Advertised `host:port` (the node's peer id). Empty before `start()` resolves. */
  get address(): string {
    return this.addr;
  }

  /** Bind the TCP server and start the protocol. Rejects with a one-line reason on bad options
   *  or when the port cannot be bound. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error(`RumorNode.start: node is already ${this.phase}`);
    this.phase = 'starting';
    try {
      await this.startInner();
      this.phase = 'running';
    } catch (err) {
      this.phase = 'closed';
      throw err;
    }
  }

  private async startInner(): Promise<void> {
    const o = this.opts;
    const profile = o.profile ?? 'lan';
    const timings = resolveTimings(profile, o.net);
    if (!timings.ok) throw new Error(`createNode: ${timings.reason}`);
    const config = resolveNodeConfig(mergeProtocol(profile, o.protocol));
    if (!config.ok) throw new Error(`createNode: protocol.${config.reason}`);
    const bad = validateOptions(o, this.limits);
    if (bad !== null) throw new Error(`createNode: ${bad}`);
    this.keyring_ = makeKeyring(o.keyring);
    const host = o.host ?? '127.0.0.1';
    const server = createServer();
    const port = await listen(server, host, o.port ?? 0);
    this.addr = o.advertise ?? formatAddr(host, port);
    const maxQueueBytes = o.maxQueueBytes ?? 8 * 1024 * 1024;
    const rng = new Sfc32(o.seed ?? randomBytes(4).readUInt32LE(0));
    this.connectTimeoutMs = timings.timings.connectTimeoutMs;
    const hv = config.config.hyparview;
    this.retryMs = { short: hv.joinRetryMs, long: hv.rejoinIntervalMs, activeViewSize: hv.activeViewSize };
    this.transport = new Transport(server, {
      address: this.addr,
      id: this.id,
      cluster: o.cluster ?? 'rumor',
      config: config.config,
      timings: timings.timings,
      limits: this.limits,
      maxQueueBytes,
      shedQueueBytes: o.shedQueueBytes ?? Math.floor(maxQueueBytes / 2),
      maxConnections: o.maxConnections ?? 1024,
      logger: this.logger,
      protoRng: rng.fork(),
      keyring: this.keyring_,
      onDeliver: (id, payload, round, from) => this.onDeliver(id, payload, round, from),
      onEvent: (e) => this.onEvent(e),
      onDirect: (from, channel, data, datagram) => this.emit('direct', from, channel, data, datagram === true),
      onUnreachable: (peer) => this.emit('unreachable', peer),
      localAddress: host === '0.0.0.0' || host === '::' ? undefined : host,
      defences: o.defences,
      validate: (id, payload, from) => validate(id, payload, from),
    });
    const t = this.transport;
    const validate = buildValidate({
      epochs: this.epochs,
      origins: t.defences.origins,
      user: o.validate,
      countOriginExcess: (origin, from) => {
        t.defences.stats.originExcess++;
        // A peer originating beyond the per-origin rate floods by itself: score it (deferred
        // until the machine call returns, as a quarantine closes connections).
        if (origin === from) t.drive((now) => t.defences.offence(from, 'rate-excess', now));
      },
      now: () => performance.now(),
    });
  }

  /**
   * Join the cluster through `seeds` (`host:port` of running nodes; the host may be a DNS name
   * that resolves to several addresses: every address is a contact, and the name is resolved
   * again on the protocol's retry cadence so that nodes coming up behind it are found).
   * Resolves when at least one neighbour is up; rejects after `timeoutMs` (default 10 000) with
   * an error naming the seeds (the node keeps trying in the background). The node's own
   * address is ignored; with no other seed, it resolves at once (first node of a cluster).
   */
  join(seeds: string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    const t = this.running('join');
    if (!Array.isArray(seeds)) return Promise.reject(new TypeError('join: seeds must be an array of "host:port" strings'));
    for (const s of seeds) {
      const a = parseAddr(s);
      if (!a.ok) return Promise.reject(new TypeError(`join: seed ${a.reason}`));
    }
    const others = seeds.filter((s) => s !== this.addr);
    if (!others.some(isNamedSeed)) return this.joinAddresses(t, others, seeds, [], opts.timeoutMs);
    return this.seedWatch(t)
      .add(others)
      .then((r) => {
        const ips = others.filter((s) => !isNamedSeed(s));
        const addrs = [...ips, ...r.addresses.filter((a) => !ips.includes(a))].filter((a) => a !== this.addr);
        return this.joinAddresses(t, addrs, seeds, r.failed.map((f) => f.reason), opts.timeoutMs);
      });
  }

  /** The seed watch, created on first use: each resolution's addresses go to the machine. */
  private seedWatch(t: Transport): SeedWatch {
    if (this.watch === null) {
      const feed = (r: SeedResolution): void => {
        const addrs = r.addresses.filter((a) => a !== this.addr);
        if (addrs.length > 0 && !t.isClosed()) t.join(addrs);
      };
      const delay = (): number => (t.proto.activeView().length * 2 < this.retryMs.activeViewSize ? this.retryMs.short : this.retryMs.long);
      this.watch = new SeedWatch((this.opts.resolver as HostResolver | undefined) ?? systemResolver, feed, delay);
    }
    return this.watch;
  }

  private joinAddresses(t: Transport, others: string[], seeds: string[], unresolved: string[], timeoutMs = 10_000): Promise<void> {
    if (this.phase !== 'running') return Promise.reject(new Error('join: node is closed'));
    const named = seeds.some(isNamedSeed);
    if ((others.length === 0 && (!named || unresolved.length === 0)) || t.proto.activeView().length > 0) {
      if (others.length > 0) t.join(others);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const end = (err: Error | null): void => {
        clearTimeout(timer);
        this.off('neighborUp', onUp);
        this.joinWaits.delete(onClose);
        if (err === null) resolve();
        else reject(err);
      };
      const onUp = (): void => end(null);
      const onClose = (): void => end(new Error('join: node is closed'));
      const timer = setTimeout(() => {
        const why = unresolved.length > 0 ? ` (${unresolved.join('; ')})` : '';
        end(new Error(`join: no neighbour after ${timeoutMs} ms through seeds ${seeds.join(', ')}${why}`));
      }, timeoutMs);
      this.once('neighborUp', onUp);
      this.joinWaits.add(onClose);
      if (others.length > 0) t.join(others);
    });
  }

  /**
   * Broadcast `payload` to every node of the cluster (delivered locally too). Returns the
   * message id. Throws `PayloadTooLargeError` if it does not fit in one message, and an
   * Error if the node is not running.
   */
  broadcast(payload: Uint8Array | string, opts: { channel?: string } = {}): string {
    const t = this.running('broadcast');
    const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    if (!(data instanceof Uint8Array)) throw new TypeError('broadcast: payload must be a Uint8Array or a string');
    const envelope = { origin: this.addr, seq: this.seq, channel: opts.channel ?? 'default', timestamp: Date.now(), data };
    const bad = checkEnvelope(envelope);
    if (bad !== null) throw new TypeError(`broadcast: ${bad}`);
    // Far below the limit (the envelope header is at most ENVELOPE_MAX_HEADER bytes) the exact
    // check is skipped: it costs a second encoding per broadcast.
    if (data.byteLength + ENVELOPE_MAX_HEADER > this.limits.maxPayloadBytes) {
      const overhead = encodeEnvelope({ ...envelope, data: new Uint8Array(0) }).byteLength;
      const limit = this.limits.maxPayloadBytes - overhead;
      if (data.byteLength > limit) throw new PayloadTooLargeError(data.byteLength, Math.max(0, limit));
    }
    const bytes = encodeEnvelope(envelope);
    this.seq++;
    const id = messageIdFor(bytes);
    // A quiet publisher's message is written to its neighbours at once, not at the turn's
    // flush pass: the express lane (fair-queue.ts) at the publisher.
    const at = performance.now();
    const fq = t.defences.fairQueue ?? DEFAULT_FAIR_QUEUE;
    const quiet = fq.expressPerTurn > 0 && at - this.lastBroadcastAt >= fq.quietMs;
    this.lastBroadcastAt = at;
    if (quiet) writeAtOnce(() => t.drive((now) => t.proto.broadcast(id, bytes, now)));
    else t.drive((now) => t.proto.broadcast(id, bytes, now));
    return id;
  }

  /**
   * Subscribe to deliveries on `channel` (every channel if omitted) as an async iterator.
   * At most `bufferSize` (default 1024) undelivered messages are kept; beyond that the
   * oldest are dropped and a `lagged` event reports how many. Call `close()` to stop.
   */
  subscribe(channel?: string, opts: { bufferSize?: number } = {}): DeliveryStream {
    const size = opts.bufferSize ?? 1024;
    if (!Number.isInteger(size) || size < 1) throw new TypeError('subscribe: bufferSize must be an integer ≥ 1');
    const s = new Subscription(
      channel,
      size,
      (missed) => this.emit('lagged', { channel: channel ?? '*', missed }),
      (sub) => this.subs.delete(sub),
    );
    this.subs.add(s);
    return s;
  }

  /** Send `data` point-to-point to `peer` over an existing connection (a neighbour, usually);
   *  it is not forwarded. Returns false if there is no usable connection to `peer` or its
   *  queue is full. `dial`: without a connection, open a short-lived one (it closes after the
   *  profile's `idleCloseMs` without traffic; e.g. an answer to a cluster-wide request).
   *  Throws `PayloadTooLargeError` if `data` exceeds `limits.maxPayloadBytes`. */
  sendTo(peer: string, channel: string, data: Uint8Array, opts: { dial?: boolean } = {}): boolean {
    const t = this.running('sendTo');
    if (data.byteLength > this.limits.maxPayloadBytes) throw new PayloadTooLargeError(data.byteLength, this.limits.maxPayloadBytes);
    return t.sendDirect(peer, channel, data, opts.dial === true);
  }

  /** This node's key-value state (`src/net/state.ts`, docs/library.md): `set`, `get`,
   *  `delete`, `entries`, `watch`. Started on first use (the node must be running). */
  get state(): NodeState {
    this.running('state');
    return (this.state_ ??= new NodeState(this));
  }

  /** This node's query application (`src/net/query.ts`, docs/library.md "Queries"). Started on
   *  first use (the node must be running). */
  get queries(): NodeQueries {
    this.running('queries');
    return (this.queries_ ??= new NodeQueries(this));
  }

  /** Ask every matching member (`src/net/query.ts`): acks and responses as they arrive, then a
   *  summary. Throws `QueryError` on a bad or oversize query. */
  query(name: string, payload: string | Uint8Array = '', opts: QueryOptions = {}): QueryRun {
    return this.queries.ask(name, payload, opts);
  }

  /** Answer queries with `handler` (its value is the response; null declines). */
  onQuery(handler: QueryHandler): () => void {
    return this.queries.onQuery(handler);
  }

  /**
   * Run an application (`src/proto/app.ts`) on this node: its messages travel on channel
   * `_app.<name>` (see app-host.ts). Returns its handle; `leave()`/`close()` stop it.
   */
  runApp<M, T, E>(spec: AppSpec<M, T, E>): AppHandle<M, T> {
    this.running('runApp');
    const h = hostApp(this, spec, this.logger, (ch) => this.apps.get(ch)?.stopped === false);
    this.appDetach.get(h.channel)?.();
    const i = h.input;
    this.apps.set(h.channel, h as AppHandle<unknown, unknown>);
    const up = (p: string): void => i.neighborUp(p);
    const down = (p: string, r: DownReason): void => i.neighborDown(p, r);
    const direct = (from: string, ch: string, data: Uint8Array, datagram: boolean): void => void (ch === h.channel && i.direct(from, data, datagram));
    const msg = (d: Delivery): void => void (d.channel === h.channel && i.broadcast(d.origin, d.data));
    const unreachable = (p: string): void => i.unreachable(p);
    this.on('neighborUp', up).on('neighborDown', down).on('direct', direct).on('message', msg).on('unreachable', unreachable);
    this.appDetach.set(h.channel, () => {
      this.off('neighborUp', up).off('neighborDown', down).off('direct', direct).off('message', msg).off('unreachable', unreachable);
    });
    return h;
  }

  /** AppNode: send application bytes to `peer`, dialing a connection if there is none. */
  sendApp(peer: string, channel: string, data: Uint8Array): boolean {
    if (this.phase !== 'running' || this.transport === null) return false;
    if (data.byteLength > this.limits.maxPayloadBytes) throw new PayloadTooLargeError(data.byteLength, this.limits.maxPayloadBytes);
    return this.transport.sendApp(peer, channel, data);
  }

  /** AppNode: send application bytes to `peer` as one UDP datagram; false when they were not
   *  sent that way (no UDP socket, too large, another address family): send them over TCP. */
  sendAppDatagram(peer: string, channel: string, data: Uint8Array): boolean {
    if (this.phase !== 'running' || this.transport === null) return false;
    return this.transport.sendAppDatagram(peer, channel, data);
  }

  /** The plaintext application datagram `sendAppDatagram` would send now, and its UDP address
   *  (queries: a response sent by another process, src/net/query.ts); null when not so sent. */
  appDatagram(peer: string, channel: string, data: Uint8Array): { bytes: Uint8Array; host: string; port: number; maxBytes: number } | null {
    if (this.phase !== 'running' || this.transport === null) return null;
    return this.transport.appDatagram(peer, channel, data);
  }

  /** AppNode: an application (the membership's reconnect loop) heard again from `peer`, a
   *  member it held failed: the overlay JOINs through it unless it is a neighbour or a JOIN is
   *  in flight (HyParView `reconnect`: a healed partition becomes one overlay again). */
  rejoinVia(peer: string): void {
    const t = this.transport;
    if (this.phase !== 'running' || t === null) return;
    t.drive((now) => {
      if (t.proto.reconnect(peer, now)) this.logger.info({ peer }, 'rumor: a failed member answers again; joining the overlay through it');
    });
  }

  /** AppNode: broadcast application bytes on `channel`. */
  broadcastApp(channel: string, data: Uint8Array): void {
    this.broadcast(data, { channel });
  }

  /** Can `peer` be reached right now? Opens a throwaway connection, completes the handshake,
   *  closes it. Resolves false on refusal, error or timeout (default: the profile's connect
   *  timeout). Never disturbs the node's own links. */
  probe(peer: string, timeoutMs?: number): Promise<boolean> {
    this.running('probe');
    const timeout = timeoutMs ?? this.connectTimeoutMs;
    const host = this.opts.host ?? '127.0.0.1';
    const localAddress = host === '0.0.0.0' || host === '::' ? undefined : host;
    return probePeer(peer, { cluster: this.opts.cluster ?? 'rumor', id: this.id, address: this.addr, limits: this.limits, localAddress, keyring: this.keyring_! }, timeout);
  }

  /** Current neighbours (active view). */
  neighbors(): string[] {
    return this.transport === null ? [] : this.transport.proto.activeView().slice();
  }

  /** Reserve peers (passive view). */
  passive(): string[] {
    return this.transport === null ? [] : this.transport.proto.passiveView().slice();
  }

  /** Snapshot of the node's counters (plain JSON). */
  stats(): NodeStats {
    const t = this.transport;
    if (t === null) throw new Error('stats: node not started (call start() first)');
    return { ...t.snapshot(), defences: t.defences.snapshot(performance.now()) };
  }

  /**
   * Cluster-wide reset of `channel`: every node that receives the announcement starts a new
   * epoch of the channel (emits `reset`, so applications drop their state) and refuses
   * messages of older epochs (sent before the reset). Returns the new epoch number.
   */
  reset(channel: string): number {
    this.running('reset');
    if (typeof channel !== 'string' || channel === '' || channel === RESET_CHANNEL) throw new TypeError('reset: channel must be a non-empty application channel name');
    const epoch = (this.epochs.get(channel)?.epoch ?? 0) + 1;
    this.broadcast(JSON.stringify({ channel, epoch }), { channel: RESET_CHANNEL });
    return epoch;
  }

  /** Current epoch of `channel` (0 before any reset). */
  epoch(channel: string): number {
    return this.epochs.get(channel)?.epoch ?? 0;
  }

  /** Leave gracefully: DISCONNECT every neighbour, flush, close. Idempotent. */
  async leave(): Promise<void> {
    this.watch?.close();
    this.endJoinWaits();
    if (this.transport === null || this.phase === 'closed') return;
    this.stopApps();
    this.phase = 'closed';
    await this.transport.leave();
    this.closeSubs();
  }

  /** Stop at once: connections are reset (peers see a link failure). Idempotent. */
  async close(): Promise<void> {
    this.stopApps(false);
    this.watch?.close();
    this.endJoinWaits();
    if (this.transport === null) {
      this.phase = 'closed';
      return;
    }
    this.phase = 'closed';
    await this.transport.close();
    this.closeSubs();
  }

  /** A closed node has no neighbour to wait for: pending `join` calls reject at once. */
  private endJoinWaits(): void {
    for (const end of [...this.joinWaits]) end();
  }

  private running(op: string): Transport {
    if (this.phase === 'closed' || (this.transport !== null && this.transport.isClosed())) {
      throw new Error(`${op}: node is closed`);
    }
    if (this.phase !== 'running' || this.transport === null) throw new Error(`${op}: node not started (call start() first)`);
    return this.transport;
  }

  /** Stop every application; `graceful`: they send their last messages (a leave) while the
   *  node still runs; otherwise they just stop (a close looks like a crash to peers). */
  private stopApps(graceful = true): void {
    for (const a of this.apps.values()) a.stop(graceful);
    for (const d of this.appDetach.values()) d();
    this.apps.clear();
    this.appDetach.clear();
  }

  private closeSubs(): void {
    for (const s of [...this.subs]) s.close();
  }

  private onDeliver(id: MsgId, payload: Uint8Array, round: number, from: string | null): void {
    const e = this.envScratch;
    const bad = readEnvelopeInto(payload, e);
    if (bad !== null) {
      const t = this.transport!;
      t.counters.badEnvelopes++;
      const label = from ?? 'self';
      if (this.envLog.allow(label, Date.now()) >= 0) {
        this.logger.warn({ peer: label, id, reason: bad }, 'rumor: dropped message with a bad envelope');
      }
      return;
    }
    if (e.channel === RESET_CHANNEL) {
      this.applyReset(e.data, e.timestamp);
      return;
    }
    const d: Delivery = {
      id,
      channel: e.channel,
      origin: e.origin,
      seq: e.seq,
      data: e.data,
      hops: from === null ? 0 : round + 1,
      receivedAt: Date.now(),
    };
    this.emit('message', d);
    if (this.subs.size > 0) for (const s of this.subs) s.push(d);
  }

  private applyReset(data: Uint8Array, since: number): void {
    const r = parseReset(data);
    if (r === null) return;
    const cur = this.epochs.get(r.channel);
    if (cur !== undefined && cur.epoch >= r.epoch) return;
    this.epochs.set(r.channel, { epoch: r.epoch, since });
    for (const s of this.subs) s.dropChannel(r.channel);
    this.logger.warn({ channel: r.channel, epoch: r.epoch }, 'rumor: channel reset, new epoch');
    this.emit('reset', r.channel, r.epoch);
  }

  private onEvent(e: NodeEvent<string>): void {
    if (e.type === 'neighbor-up') this.emit('neighborUp', e.peer);
    else this.emit('neighborDown', e.peer, e.reason);
  }
}

/** Create a node (not started: call `start()`). Options are validated by `start()`. */
export function createNode(opts: NodeOptions = {}): RumorNode {
  return new RumorNode(opts);
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`start: cannot listen on ${formatAddr(host, port)}: ${err.code ?? err.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      server.on('error', () => {});
      const a = server.address();
      resolve(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}
