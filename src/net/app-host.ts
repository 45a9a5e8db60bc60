/**
 * The runtime host of applications (`src/proto/app.ts`): it drives one sans-IO `App` — the
 * membership machine, and every later application — on a running `RumorNode`, with real
 * sockets, real timers and `Date.now()`. The simulator hosts the very same machines with
 * virtual time; nothing here makes a protocol decision.
 *
 * - Point-to-point messages (`io.send`) are encoded by the application's codec (`src/wire`,
 *   binary, never JSON) and carried in the node's `direct` frames on the channel
 *   `_app.<name>`, over any connection to the peer, or a short-lived one dialed for it (an
 *   application talks to members that are not neighbours). The connection is authenticated
 *   by the handshake (cluster name, key), kept while the application uses it (its frames
 *   count as traffic against `idleCloseMs`), and gives fast evidence: a refused dial or a
 *   reset is reported at once (`handleUnreachable`).
 * - Datagrams (`io.sendDatagram`, for small messages sent often to many members: SWIM's
 *   pings and acks) leave as one UDP datagram from the node's UDP socket, the one its
 *   heartbeats use, bound on its listen host:port (src/wire/datagram-app.ts: cluster name,
 *   sender id, channel; sealed and replay-checked with a cluster key). Why: a probe of a
 *   member that is not a neighbour over TCP costs a dial, a handshake and a close (about ten
 *   packets; the connection idles out after `idleCloseMs`, 1 s, before the next probe), where
 *   a datagram costs one packet. A message too large for a datagram (`MAX_APP_DATAGRAM_BYTES`),
 *   or a node without a UDP socket, sends it over TCP instead. A datagram is never reported
 *   unreachable (UDP says nothing); the application tells which of its messages need that.
 *   `handleMessage` gets `datagram` true for a message that came as one, so an answer can go
 *   back the way its question came.
 * - Broadcasts (`io.broadcast`) go through the node's broadcast (Plumtree) on the same
 *   channel; deliveries from other origins become `handleBroadcast` (never at the sender).
 * - `neighborUp` / `neighborDown` follow the node's events; neighbours already up when the
 *   application starts are reported before `start`.
 * - A dial refused or a connection reset to a peer becomes `handleUnreachable(peer)`.
 * - Timers are `setTimeout`s (unref'd: they never keep a process alive), cleared on `stop`.
 *
 * Inputs never nest: an input that arrives while the application is running (an event
 * listener that calls back, a synchronous send failure) is queued and fed right after. A frame
 * the codec rejects is dropped and counted per peer (`stats().badByPeer`), never thrown; an
 * application that throws is logged and counted (`stats().threw`), and the node runs on.
 */
import type { App, AppIo } from '../proto/app.js';
import type { DownReason } from '../proto/types.js';
import { RateLimiter, type Logger } from './util.js';

/** Result of an application codec. */
export type CodecResult<V> = { ok: true; value: V } | { ok: false; reason: string };

/** An application's binary codec (its messages ↔ bytes), from `src/wire`. */
export interface AppCodec<M> {
  encode(msg: M): CodecResult<Uint8Array>;
  decode(bytes: Uint8Array): CodecResult<M>;
}

/** What a host needs from its node (a `RumorNode` gives it; tests may fake it). The node
 *  feeds the host's inputs (`AppHandle.input`) from its own events. */
export interface AppNode {
  readonly address: string;
  neighbors(): string[];
  /** Queue `data` to `peer` on `channel`, dialing if needed; false when nothing was queued. */
  sendApp(peer: string, channel: string, data: Uint8Array): boolean;
  /** Send `data` to `peer` on `channel` as one datagram; false when not sent that way (no
   *  UDP, too large): the host then uses `sendApp`. Absent: every message goes over TCP. */
  sendAppDatagram?(peer: string, channel: string, data: Uint8Array): boolean;
  /** Broadcast `data` on `channel` (throws when too large or closed). */
  broadcastApp(channel: string, data: Uint8Array): void;
  /** The application says `peer`, which it held failed, answers again (`AppIo.peerReconnected`):
   *  the node's overlay may JOIN through it. Absent: ignored. */
  rejoinVia?(peer: string): void;
}

/** How to run one application. */
export interface AppSpec<M, T, E> {
  /** Application name: its channel is `_app.<name>`. Letters, digits, `.`, `-`, `_`; ≤ 64. */
  name: string;
  /** Channel of its frames and broadcasts, when its codec fixes one (membership: `_rumor.m`).
   *  Must start with `_` (reserved for the system). Default `_app.<name>`. */
  channel?: string;
  codec: AppCodec<M>;
  /** Send every point-to-point message (`io.send` too) as a datagram when it fits, over TCP
   *  otherwise. For applications whose messages are periodic repairs that a loss only delays
   *  (the key-value state's anti-entropy): no connection is dialed for them. Default false. */
  datagrams?: boolean;
  /** Build the machine with the node's id and the host's io sink. */
  create(self: string, io: AppIo<string, M, T, E>): App<string, M, T>;
  /** Events of the application (called synchronously, after the input that raised them). */
  onEvent?(e: E): void;
}

/** Counters of one hosted application. */
export interface AppStats {
  sent: number;
  sentBytes: number;
  received: number;
  receivedBytes: number;
  /** Of `sent` / `received`: those that travelled as UDP datagrams. */
  datagrams: number;
  datagramsReceived: number;
  broadcasts: number;
  broadcastsReceived: number;
  /** Messages not queued: no connection could be dialed, queue full, or encoding failed. */
  unsent: number;
  /** Frames the codec rejected, by peer (`host:port`, or the broadcast's origin). */
  badByPeer: Record<string, number>;
  unreachable: number;
  /** Inputs during which the application threw (logged; the node runs on). */
  threw: number;
}

/** Inputs a node feeds to a hosted application (bytes are decoded by the host). */
export interface AppInputs {
  neighborUp(peer: string): void;
  neighborDown(peer: string, reason: DownReason): void;
  /** A `direct` frame on the application's channel, or an application datagram (`datagram`). */
  direct(from: string, data: Uint8Array, datagram?: boolean): void;
  /** A broadcast delivered on the application's channel (own ones are ignored). */
  broadcast(origin: string, data: Uint8Array): void;
  unreachable(peer: string): void;
}

/** A running application on a node. */
export interface AppHandle<M, T> {
  readonly name: string;
  readonly channel: string;
  /** The machine itself (read its state; drive it only through the node). */
  readonly app: App<string, M, T>;
  /** Feed an input to the machine now, or after the one running (the host's clock). */
  drive(fn: (now: number) => void): void;
  stats(): AppStats;
  /** `app.stop(now)` (its last messages are sent), then detach. With `graceful` false the
   *  machine is not told (a crash-like stop: `RumorNode.close`). Idempotent. */
  stop(graceful?: boolean): void;
  readonly stopped: boolean;
  /** Inputs, for the node. */
  readonly input: AppInputs;
}

/** Channel prefix reserved for hosted applications. */
export const APP_CHANNEL_PREFIX = '_app.';
const NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;

/** Start `spec` on `node`: report current neighbours, then `start(now)`. */
export function hostApp<M, T, E>(node: AppNode, spec: AppSpec<M, T, E>, logger: Logger, isUsed: (channel: string) => boolean): AppHandle<M, T> {
  if (typeof spec.name !== 'string' || !NAME_RE.test(spec.name)) {
    throw new TypeError(`runApp: name must be 1-64 letters, digits, '.', '-' or '_', got ${JSON.stringify(spec.name)}`);
  }
  const channel = spec.channel ?? APP_CHANNEL_PREFIX + spec.name;
  if (!channel.startsWith('_') || channel.length > 255) throw new TypeError(`runApp: channel must start with '_' and be at most 255 bytes, got ${JSON.stringify(channel)}`);
  if (isUsed(channel)) throw new Error(`runApp: an application named ${spec.name} already runs on this node`);
  return new AppRunner<M, T, E>(node, spec, channel, logger);
}

class AppRunner<M, T, E> implements AppHandle<M, T> {
  readonly app: App<string, M, T>;
  readonly name: string;
  stopped = false;
  private readonly counters: AppStats = {
    sent: 0, sentBytes: 0, received: 0, receivedBytes: 0, datagrams: 0, datagramsReceived: 0, broadcasts: 0, broadcastsReceived: 0,
    unsent: 0, badByPeer: {}, unreachable: 0, threw: 0,
  };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly queue: Array<(now: number) => void> = [];
  private busy = false;
  private readonly badLog = new RateLimiter(60_000);
  readonly input: AppInputs = {
    neighborUp: (p) => this.drive((now) => this.app.neighborUp(p, now)),
    neighborDown: (p, r) => this.drive((now) => this.app.neighborDown(p, r, now)),
    direct: (from, data, datagram) => this.onBytes(from, data, false, datagram === true),
    broadcast: (origin, data) => {
      if (origin !== this.node.address) this.onBytes(origin, data, true, false);
    },
    unreachable: (peer) => {
      if (this.app.handleUnreachable === undefined) return;
      this.counters.unreachable++;
      this.drive((now) => this.app.handleUnreachable!(peer, now));
    },
  };

  constructor(
    private readonly node: AppNode,
    private readonly spec: AppSpec<M, T, E>,
    readonly channel: string,
    private readonly logger: Logger,
  ) {
    this.name = spec.name;
    this.app = spec.create(node.address, this.io());
    this.drive((now) => {
      for (const p of node.neighbors()) this.app.neighborUp(p, now);
      this.app.start(now);
    });
  }

  private io(): AppIo<string, M, T, E> {
    return {
      send: (to, msg) => this.send(to, msg, this.spec.datagrams === true),
      sendDatagram: (to, msg) => this.send(to, msg, true),
      broadcast: (msg) => this.broadcast(msg),
      timer: (delayMs, t) => this.timer(delayMs, t),
      peerReconnected: (peer) => this.node.rejoinVia?.(peer),
      event: (e) => {
        try {
          this.spec.onEvent?.(e);
        } catch (err) {
          this.logger.error({ app: this.name, err: errText(err) }, 'rumor: application event listener threw');
        }
      },
    };
  }

  private onBytes(from: string, data: Uint8Array, broadcast: boolean, datagram: boolean): void {
    const r = this.spec.codec.decode(data);
    if (!r.ok) {
      this.counters.badByPeer[from] = (this.counters.badByPeer[from] ?? 0) + 1;
      const suppressed = this.badLog.allow(from, Date.now());
      if (suppressed >= 0) {
        this.logger.warn({ app: this.name, peer: from, reason: r.reason, suppressedSinceLast: suppressed }, 'rumor: dropped a bad application frame');
      }
      return;
    }
    if (broadcast) {
      this.counters.broadcastsReceived++;
      this.drive((now) => this.app.handleBroadcast(r.value, now));
    } else {
      this.counters.received++;
      this.counters.receivedBytes += data.byteLength;
      if (datagram) this.counters.datagramsReceived++;
      this.drive((now) => this.app.handleMessage(from, r.value, now, datagram));
    }
  }

  private encode(msg: M): Uint8Array | null {
    const r = this.spec.codec.encode(msg);
    if (r.ok) return r.value;
    this.counters.unsent++;
    this.logger.error({ app: this.name, reason: r.reason }, 'rumor: cannot encode an application message');
    return null;
  }

  private send(to: string, msg: M, datagram: boolean): void {
    if (this.stopped) return;
    const bytes = this.encode(msg);
    if (bytes === null) return;
    if (datagram && this.node.sendAppDatagram?.(to, this.channel, bytes) === true) {
      this.counters.sent++;
      this.counters.sentBytes += bytes.byteLength;
      this.counters.datagrams++;
    } else if (this.node.sendApp(to, this.channel, bytes)) {
      this.counters.sent++;
      this.counters.sentBytes += bytes.byteLength;
    } else this.counters.unsent++;
  }

  private broadcast(msg: M): void {
    const bytes = this.encode(msg);
    if (bytes === null) return;
    try {
      this.node.broadcastApp(this.channel, bytes);
      this.counters.broadcasts++;
    } catch (err) {
      this.counters.unsent++;
      this.logger.warn({ app: this.name, err: errText(err) }, 'rumor: application broadcast not sent');
    }
  }

  private timer(delayMs: number, t: T): void {
    if (this.stopped) return;
    const h = setTimeout(() => {
      this.timers.delete(h);
      this.drive((now) => this.app.handleTimer(t, now));
    }, Math.max(0, delayMs));
    h.unref();
    this.timers.add(h);
  }

  drive(fn: (now: number) => void): void {
    if (this.stopped) return;
    this.queue.push(fn);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const f = this.queue.shift()!;
        try {
          f(Date.now());
        } catch (err) {
          this.counters.threw++;
          this.logger.error({ app: this.name, err: errText(err) }, 'rumor: application threw');
        }
      }
    } finally {
      this.busy = false;
    }
  }

  stats(): AppStats {
    return { ...this.counters, badByPeer: { ...this.counters.badByPeer } };
  }

  stop(graceful = true): void {
    if (this.stopped) return;
    if (graceful) this.drive((now) => this.app.stop(now));
    this.stopped = true;
    this.queue.length = 0;
    for (const h of this.timers) clearTimeout(h);
    this.timers.clear();
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.stack ?? err.message : String(err);
}
