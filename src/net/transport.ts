/**
 * The TCP runtime: drives one `ProtoNode<string>` (peer ids are advertised `host:port`
 * addresses) with real sockets and timers. It makes no protocol decisions; it only maps
 * the machine's outputs to connections and connection events back to machine inputs.
 *
 * - `connect(peer)` marks the peer *wanted* (active-view neighbour) and opens one long-lived
 *   connection, or adopts an existing one (e.g. the inbound connection the peer's NEIGHBOR
 *   came on). `disconnect(peer)` closes its connections after what is queued is written.
 * - `send(to, msg)` uses any usable connection to `to`; without one it dials a short-lived
 *   connection, which closes after `idleCloseMs` without protocol traffic unless the peer
 *   becomes wanted meanwhile.
 * - Handshake (handshake.ts): the dialer sends `hello` (version range, cluster, id,
 *   advertised address); the acceptor answers `welcome` (chosen version) or `refuse` with a
 *   reason and closes. The dialer logs the reason; both sides count it.
 * - Failure detection: a failed dial, a reset, an EOF, a fatal bad frame, a heartbeat
 *   timeout (nothing received for `heartbeatTimeoutMs`, TCP or UDP; heartbeats are UDP
 *   datagrams with a TCP PING fallback, see heartbeat.ts) or a slow peer (send queue over its
 *   hard limit) on a wanted peer's last connection becomes `handleLinkDown(peer)`.
 * - Rejoin is the protocol's: HyParView keeps the seeds as its contacts and re-JOINs through
 *   them while its view is short (`hv-join-retry`) or empty (`hv-repair`); the runtime adds
 *   no loop (`RumorNode` only resolves DNS seeds again and passes the addresses on).
 *
 * - Timers: one FIFO queue per delay (timers.ts). Overload control: while the event loop runs
 *   behind, Plumtree's missing-message timers (which GRAFT) are held (`HeldTimers`), so that
 *   payloads merely queued behind a busy loop are not fetched a second time.
 *
 * Machine calls never nest: an input that arrives while the machine is running (e.g. a
 * dial that fails synchronously) is queued and fed right after. Deliveries and events are
 * handed to the application only after the machine call returns, so listeners may call
 * back into the node freely.
 */
import { connect as netConnect, type Server, type Socket } from 'node:net';
import { ProtoNode } from '../proto/node.js';
import type { Io, Message, MsgId, NodeEvent, Timer, Verdict } from '../proto/types.js';
import { encodeFrame, type DecodeResult, type WireMessage } from '../wire/index.js';
import type { AppDatagram } from '../wire/datagram-app.js';
import { BadFrames } from './bad-frames.js';
import { ConnTable } from './conn-table.js';
import { Connection, type CloseInfo, type ConnHandler, type FrameKind } from './connection.js';
import { GossipInbound } from './gossip-inbound.js';
import { Handshake } from './handshake.js';
import { PeerGuard } from './guard.js';
import { Heartbeats, type PlainAppDatagram } from './heartbeat.js';
import { Outbox } from './outbox.js';
import { SharedEncoder } from './shared-frame.js';
import { checkTickMs } from './profiles.js';
import { StatsCounters, buildSnapshot, bump, type NodeStats } from './stats.js';
import { Sweeper } from './sweep.js';
import { HeldTimers, LOOP_LAG, TimerQueues } from './timers.js';
import type { TransportOptions } from './transport-options.js';
import { localFrom, parseAddr, waitUntil } from './util.js';

export type { TransportOptions } from './transport-options.js';

/** Monotonic clock (ms) used for every protocol input and liveness check. */
export const monoNow = (): number => performance.now();

/** The TCP runtime of one node (see the module comment). */
export class Transport implements Io<string>, ConnHandler {
  /** The protocol machine this runtime drives. */
  readonly proto: ProtoNode<string>;
  /** Raw counters; `snapshot()` copies them out. */
  readonly counters = new StatsCounters();
  /** Link heartbeats (UDP with TCP fallback). */
  readonly heartbeats: Heartbeats;
  /** Live connections, all and by peer (conn-table.ts). */
  private readonly table = new ConnTable();
  private readonly conns = this.table.all;
  private readonly wanted = new Set<string>();
  /** Peers whose link failure is queued for the machine. */
  private readonly failing = new Set<string>();
  private readonly timerQueues: TimerQueues<string>;
  /** `pt-missing` timers put off while the event loop is behind (overload control). */
  private readonly held: HeldTimers<string>;
  private readonly handshake: Handshake;
  /** Deliveries and events for the application, handed out after each machine call (outbox.ts). */
  private readonly outbox: Outbox;
  private deferred: Array<(now: number) => void> = [];
  /** One-entry encode cache for broadcast steps (shared-frame.ts). */
  private readonly encoder: SharedEncoder;
  private driving = false;
  private lastNow = 0;
  /** The connection sweep, armed for the earliest deadline (sweep.ts). */
  private readonly sweeper: Sweeper;
  private closed = false;
  private leaving = false;
  /** Peer scores, token buckets, rate alarms (guard.ts). */
  readonly defences: PeerGuard;
  /** Inbound gossip: fair queueing, drop charging, skimming (gossip-inbound.ts). */
  private readonly gossip: GossipInbound;
  /** Dropped-frame accounting (bad-frames.ts). */
  private readonly bad: BadFrames;
  /** Io: the validate hook, present only when the application gave one (Plumtree runs
   *  unchanged without it). */
  validate?: (id: MsgId, payload: Uint8Array, from: string) => Verdict;
  private readonly unwatchKeyring: () => void;

  constructor(
    private readonly server: Server,
    private readonly o: TransportOptions,
  ) {
    this.outbox = new Outbox(o);
    this.encoder = new SharedEncoder(o.limits, o.logger);
    this.timerQueues = new TimerQueues<string>(monoNow, (ts, dues) => this.fireTimers(ts, dues));
    this.held = new HeldTimers<string>(monoNow, o.timings.heartbeatTimeoutMs, (ts) => this.fireTimers(ts, ts.map(() => 0), false));
    this.proto = new ProtoNode<string>({ self: o.address, config: o.config, rng: o.protoRng, io: this });
    server.on('connection', (s) => this.onInbound(s));
    const hbHost = { counters: this.counters, logger: o.logger, now: monoNow, countBad: this.countBad.bind(this) };
    const crypto = { keyring: o.keyring, cluster: o.cluster };
    const onAppDatagram = this.onAppDatagram.bind(this);
    this.heartbeats = new Heartbeats({ ...hbHost, ...crypto, onAppDatagram, writeControl: (c, msg) => this.writeControl(c, msg), onUdpPong: (_c, now) => this.sweeper.later(now) }, o.timings);
    this.heartbeats.bindNextTo(server, () => this.conns.forEach((c) => this.heartbeats.offerToken(c)));
    this.handshake = new Handshake({
      ...hbHost,
      cluster: o.cluster,
      id: o.id,
      address: o.address,
      writeControl: (c, msg) => this.writeControl(c, msg),
      writeRefuse: (c, msg, plain) => this.writeControl(c, msg, plain),
      register: (c) => this.table.register(c),
      offerToken: (c) => this.heartbeats.offerToken(c),
    });
    this.unwatchKeyring = o.keyring.onChange(() => this.conns.forEach((c) => c.onKeyringChange()));
    this.defences = new PeerGuard(o.defences ?? {}, o.logger, (peer) => this.quarantine(peer));
    this.bad = new BadFrames(this.counters, this.defences, o.logger);
    this.gossip = new GossipInbound({
      defences: this.defences,
      counters: this.counters,
      isClosed: () => this.closed,
      isDriving: () => this.driving,
      drive: (fn) => this.drive(fn),
      feed: (peer, msg) => this.feedMessage(peer, msg),
      handle: (peer, msg, now) => this.proto.handleMessage(peer, msg, now),
      logThrow: (err) => this.logThrow(err),
      limits: o.limits,
      badFrame: (c, r) => this.onBadFrame(c, r),
    });
    const isNeighbour = (peer: string): boolean => this.wanted.has(peer) || this.proto.activeView().includes(peer);
    this.sweeper = new Sweeper(this.conns, { timings: o.timings, logger: o.logger, heartbeats: this.heartbeats, isNeighbour, tickMs: checkTickMs(o.timings), beforePass: (now) => this.beforeSweep(now) }, monoNow);
    if (o.validate !== undefined) this.validate = this.gossip.validator(o.validate);
  }

  /** Scoring put `peer` below its threshold: drop its connections and report the link down. */
  private quarantine(peer: string): void {
    const list = this.table.of(peer);
    this.gossip.dropLink(peer);
    if (list !== undefined) for (const c of [...list]) c.destroy('quarantined', false);
    if (this.wanted.has(peer) || this.proto.activeView().includes(peer)) this.linkDown(peer);
  }

  // ----------------------------------------------------------------- application commands

  /** Feed `fn` to the machine now, or right after the current machine call. */
  drive(fn: (now: number) => void): void {
    if (this.closed) return;
    if (this.driving) {
      this.deferred.push(fn);
      return;
    }
    this.driving = true;
    try {
      this.guard(fn);
      while (this.deferred.length > 0) this.guard(this.deferred.shift()!);
    } finally {
      this.driving = false;
    }
    this.flushOutbox();
  }

  /** `drive` without the closure, for the per-frame hot path (the machine is idle). */
  private feedMessage(peer: string, msg: Message<string>): void {
    this.driving = true;
    try {
      this.proto.handleMessage(peer, msg, this.clock());
    } catch (err) {
      this.logThrow(err);
    }
    try {
      while (this.deferred.length > 0) this.guard(this.deferred.shift()!);
    } finally {
      this.driving = false;
    }
    this.flushOutbox();
  }

  /** Join through `seeds` (HyParView retries them with backoff while its views are empty). */
  join(seeds: string[]): void {
    this.drive((now) => this.proto.join(seeds, now));
  }

  /** Graceful leave: DISCONNECT every neighbour, flush, close (bounded by `leaveFlushMs`). */
  async leave(): Promise<void> {
    if (this.closed || this.leaving) return;
    this.leaving = true;
    this.server.close();
    this.drive((now) => this.proto.leave(now));
    for (const c of this.conns) c.end('leave');
    await waitUntil(() => this.conns.size === 0, this.o.timings.leaveFlushMs, monoNow);
    await this.shutdown(false);
  }

  /** Abort every connection (with RST) and stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.shutdown(true);
  }

  /** True once `leave()` finished or `close()` started. */
  isClosed(): boolean {
    return this.closed;
  }

  // ----------------------------------------------------------------- Io<string> (machine outputs)

  /** Io: queue `msg` on a connection to `to`, dialing a short-lived one if needed. */
  send(to: string, msg: Message<string>): void {
    if (this.closed || to === this.o.address || this.failing.has(to)) return;
    const frame = this.encoder.encode(msg);
    if (frame === null) {
      bump(this.counters.shed, `encode-failed:${msg.type}`);
      return;
    }
    const conn = this.table.pick(to) ?? this.dial(to);
    if (conn === null) return;
    const kind: FrameKind = msg.type === 'ihave' ? 'lazy' : msg.type === 'gossip' ? 'eager' : 'control';
    // The machine's clock of this session (read when it was called): no clock read per send.
    const r = conn.enqueue(frame, kind, msg.type, this.lastNow);
    if (r === 'ok') {
      this.counters.sent.add(msg.type, frame.byteLength);
    } else if (r === 'overflow') {
      this.o.logger.warn({ peer: to, queueBytes: conn.queueBytes() }, 'rumor: peer cannot keep up, disconnecting');
      // Report at once (after the current machine call) so later sends do not re-dial it.
      conn.destroy('slow-peer', true);
      this.linkDown(to);
    }
  }

  /** Send point-to-point application data on an existing connection to `peer` (or a new
   *  short-lived one when `dial`). Returns false (nothing sent) when there is no usable connection, the frame cannot be encoded, or the
   *  peer's queue is full. */
  sendDirect(peer: string, channel: string, data: Uint8Array, dial = false): boolean {
    if (this.closed || peer === this.o.address) return false;
    const conn = this.table.pick(peer) ?? (dial ? this.dial(peer) : null);
    if (conn === null) return false;
    const enc = encodeFrame({ type: 'direct', channel, data }, this.o.limits);
    if (!enc.ok) return false;
    if (conn.enqueue(enc.frame, 'control', 'direct', monoNow()) !== 'ok') return false;
    this.counters.sent.add('direct', enc.frame.byteLength);
    return true;
  }

  /**
   * Send point-to-point application data to `peer`, dialing a short-lived connection when
   * there is none (applications probe members that are not neighbours). Application frames
   * count as protocol traffic, so a connection in use by an application is not idle-closed.
   * Returns false when nothing was queued (closed, peer failing, encode error, full queue).
   */
  sendApp(peer: string, channel: string, data: Uint8Array): boolean {
    if (this.closed || peer === this.o.address || this.failing.has(peer)) return false;
    const enc = encodeFrame({ type: 'direct', channel, data }, this.o.limits);
    if (!enc.ok) return false;
    const conn = this.table.pick(peer) ?? this.dial(peer);
    if (conn === null) return false;
    const now = monoNow();
    if (conn.enqueue(enc.frame, 'control', 'direct', now) !== 'ok') return false;
    conn.lastProtoAt = now;
    this.counters.sent.add('direct', enc.frame.byteLength);
    return true;
  }

  /**
   * Send point-to-point application data to `peer` as one UDP datagram from this node's UDP
   * socket (heartbeat.ts; datagram-app.ts): no connection is dialed or kept for it. Returns
   * false when it was not sent — no UDP socket, too large for a datagram, bad address — and
   * the caller sends it over TCP instead (`sendApp`).
   */
  sendAppDatagram(peer: string, channel: string, data: Uint8Array): boolean {
    if (this.closed || this.leaving || peer === this.o.address) return false;
    const a = parseAddr(peer);
    if (!a.ok) return false;
    return this.heartbeats.sendApp(channel, data, this.o.address, a.value.host, a.value.port) === 'sent';
  }

  /** `sendAppDatagram`'s plaintext datagram to `peer` and where, for another process to send
   *  (heartbeat.ts `plainApp`); null when it would not send one as it is. */
  appDatagram(peer: string, channel: string, data: Uint8Array): PlainAppDatagram | null {
    const a = this.closed || this.leaving || peer === this.o.address ? null : parseAddr(peer);
    return a?.ok === true ? this.heartbeats.plainApp(channel, data, this.o.address, a.value.host, a.value.port) : null;
  }

  /** An application datagram of our cluster: admitted like a frame from its sender, then
   *  handed to the applications. */
  private onAppDatagram(d: AppDatagram, bytes: number, label: string, now: number): void {
    if (this.closed || d.from === this.o.address) return;
    if (!parseAddr(d.from).ok) return this.countBad(label, 'bad-id', `app datagram from ${JSON.stringify(d.from.slice(0, 64))}`, now);
    if (!this.defences.admit(d.from, bytes, now)) return;
    this.o.onDirect(d.from, d.channel, d.data, true);
  }

  /** Io: `peer` is a neighbour; keep one long-lived connection to it. */
  connect(peer: string): void {
    if (this.closed || peer === this.o.address || this.failing.has(peer)) return;
    if (this.defences.quarantined(peer, monoNow())) {
      setImmediate(() => this.linkDown(peer));
      return;
    }
    this.wanted.add(peer);
    if (this.table.pick(peer) === null) this.dial(peer);
  }

  /** Io: `peer` is no longer a neighbour; close its connections after flushing. */
  disconnect(peer: string): void {
    this.wanted.delete(peer);
    for (const c of this.table.of(peer) ?? []) c.end('disconnect');
    this.sweeper.soon();
  }

  /** Io: fire `t` after `delayMs` (never early, see `clock`). */
  timer(delayMs: number, t: Timer<string>): void {
    if (this.closed) return;
    const d = Math.max(0, delayMs);
    this.timerQueues.add(d, this.clock() + d, t);
  }

  /**
   * Due timers of one queue, fed to the machine in one session. A machine compares `now` with
   * its deadlines, so a timer never appears early: the clock jumps to its `due` if needed
   * (and stays monotonic). A `pt-missing` timer (Plumtree's timeout1/timeout2, which GRAFTs)
   * is held while the event loop is behind (see `HeldTimers`); `mayHold` is false for the
   * timers it releases.
   */
  private fireTimers(timers: Timer<string>[], dues: number[], mayHold = true): void {
    if (this.closed) return;
    const now = monoNow();
    const lagging = mayHold && LOOP_LAG.lagging(now);
    this.driving = true;
    try {
      for (let i = 0; i < timers.length; i++) {
        const t = timers[i];
        if (lagging && t.type === 'pt-missing' && this.held.hold(t, now)) {
          this.counters.graftsHeld++;
          continue;
        }
        if (this.lastNow < dues[i]) this.lastNow = dues[i];
        this.guardTimer(t);
      }
      while (this.deferred.length > 0) this.guard(this.deferred.shift()!);
    } finally {
      this.driving = false;
    }
    this.flushOutbox();
  }

  private guardTimer(t: Timer<string>): void {
    try {
      this.proto.handleTimer(t, this.clock());
    } catch (err) {
      this.logThrow(err);
    }
  }

  /** Io: hand a payload to the application once the machine call returns. */
  deliver(id: MsgId, payload: Uint8Array, round: number, from: string | null): void {
    this.counters.deliveries++;
    if (from !== null) this.counters.deliveredRemote++;
    this.outbox.push(id, payload, round, from);
  }

  /** Io: hand a neighbour event to the application once the machine call returns. */
  event(e: NodeEvent<string>): void {
    if (e.type === 'neighbor-down') {
      this.wanted.delete(e.peer);
      this.sweeper.soon(); // its link may now be idle-closed
    }
    this.outbox.push(e, null, -1, null);
  }

  // ----------------------------------------------------------------- connections

  private newConn(socket: Socket, direction: 'in' | 'out', peer: string | null): Connection {
    this.sweeper.soon(); // its connect or handshake deadline
    return new Connection(
      socket,
      {
        direction,
        peer,
        limits: this.o.limits,
        shedBytes: this.o.shedQueueBytes,
        maxQueueBytes: this.o.maxQueueBytes,
        now: monoNow(),
        keyring: this.o.keyring,
        cluster: this.o.cluster,
      },
      this,
      (type) => bump(this.counters.shed, type),
    );
  }

  private dial(peer: string): Connection | null {
    if (this.leaving) return null;
    const a = parseAddr(peer);
    if (!a.ok || this.conns.size >= this.o.maxConnections) {
      const reason = a.ok ? 'too many connections' : a.reason;
      this.o.logger.warn({ peer, reason }, 'rumor: cannot dial peer');
      bump(this.counters.closes, 'connect-failed');
      setImmediate(() => this.linkDown(peer));
      return null;
    }
    const local = this.o.localAddress;
    // Leave from the node's own address (same family only), so that a firewall rule on it cuts
    // every gossip packet of this host, outgoing ones included.
    const from = localFrom(local, a.value.host);
    const socket = netConnect({ host: a.value.host, port: a.value.port, ...from });
    const c = this.newConn(socket, 'out', peer);
    this.counters.dialedConns++;
    this.table.register(c);
    return c;
  }

  private onInbound(socket: Socket): void {
    if (this.closed || this.leaving || this.conns.size >= this.o.maxConnections) {
      bump(this.counters.closes, this.closed || this.leaving ? 'shutting-down' : 'too-many-connections');
      socket.destroy();
      return;
    }
    this.counters.acceptedConns++;
    this.table.register(this.newConn(socket, 'in', null));
  }

  /** ConnHandler: the outbound TCP connect completed; speak first. */
  onOpenSocket(c: Connection): void {
    this.sweeper.soon(); // its handshake deadline
    this.writeControl(c, this.handshake.hello());
    c.startPipelining();
  }

  /** Encode and write a control frame on `c` now; `plain`: in plaintext whatever the keyring
   *  says (a refusal to a peer that spoke plaintext or that we cannot read). */
  private writeControl(c: Connection, msg: WireMessage, plain = false): void {
    const enc = encodeFrame(msg, this.o.limits);
    if (!enc.ok) {
      this.o.logger.error({ type: msg.type, reason: enc.reason }, 'rumor: cannot encode control message');
      return;
    }
    this.counters.sent.add(msg.type, enc.frame.byteLength);
    if (plain) c.writePlain(enc.frame, monoNow());
    else c.writeDirect(enc.frame, monoNow());
  }

  /** ConnHandler: one decoded frame. */
  onFrame(c: Connection, msg: WireMessage, bytes: number, now: number): void {
    this.counters.received.add(msg.type, bytes);
    if (c.state === 'handshaking') {
      if (c.direction === 'in') this.handshake.onHello(c, msg, now);
      else this.handshake.onWelcome(c, msg, now);
      this.sweeper.soon(); // open, closing or refused now: its deadlines changed
      return;
    }
    // A refused or failed hello leaves `peer` unset: frames pipelined after it are ignored.
    if ((c.state !== 'open' && c.state !== 'closing') || c.peer === null) return;
    // Quarantine and per-peer token buckets (guard.ts): every frame after the handshake.
    if (!this.defences.admit(c.peer, bytes, now)) {
      if (this.defences.quarantined(c.peer, now)) c.destroy('quarantined', false);
      return;
    }
    switch (msg.type) {
      case 'ping':
      case 'pong':
      case 'udp-token':
        this.heartbeats.onControl(c, msg, now);
        return;
      case 'hello':
      case 'welcome':
      case 'refuse':
        this.countBad(c, 'unexpected', `${msg.type} after the handshake`, now);
        return;
      case 'direct': {
        c.lastProtoAt = now;
        const from = c.peer!;
        this.o.onDirect(from, msg.channel, msg.data);
        return;
      }
    }
    const peer = c.peer!;
    c.lastProtoAt = now;
    if (msg.type === 'gossip') this.counters.gossipIn++;
    if (this.driving || this.closed) this.drive((n) => this.proto.handleMessage(peer, msg, n));
    else if (msg.type !== 'gossip') this.feedMessage(peer, msg);
    else this.gossip.offer(c, peer, msg, now);
    // The peer dropped us: stop treating its connection as a neighbour link.
    if (msg.type === 'disconnect' && !this.proto.activeView().includes(peer)) {
      this.wanted.delete(peer);
      this.sweeper.soon();
    }
  }

  /** ConnHandler: a frame looked at before decoding (gossip-inbound.ts). */
  onSkim(c: Connection, frame: Uint8Array, now: number): boolean {
    return this.gossip.skim(c, frame, now);
  }

  /** ConnHandler: a frame the decoder rejected. */
  onBadFrame(c: Connection, r: Extract<DecodeResult, { ok: false }>): void {
    // A refusal is logged and counted by handshake.ts (bad-frames.ts `onDecodeError`).
    this.bad.onDecodeError(c, r, monoNow(), (reason) => this.handshake.refuse(c, reason, true));
  }

  /** Count a dropped frame or datagram from a connection or a label (e.g. `udp:ip:port`). */
  private countBad(from: Connection | string, reason: string, detail: string, now: number): void {
    this.bad.count(from, reason, detail, now);
  }

  /** ConnHandler: the socket is gone. */
  onClose(c: Connection, info: CloseInfo): void {
    this.table.unregister(c);
    this.heartbeats.forget(c);
    bump(this.counters.closes, info.cause);
    if (this.closed || this.leaving || info.intentional || c.peer === null) return;
    const peer = c.peer;
    // Refused or reset: the peer (or its host) said no. Timeouts are not reported: silence is
    // for the applications' own failure detectors to judge.
    if (info.cause === 'reset' || (info.cause === 'connect-failed' && c.direction === 'out')) this.o.onUnreachable?.(peer);
    const dialFailed = c.direction === 'out' && info.beforeOpen;
    const neighbour = this.wanted.has(peer) || this.proto.activeView().includes(peer);
    if (dialFailed || (neighbour && this.table.pick(peer) === null)) this.linkDown(peer);
  }

  /** Report `peer`'s link as failed; until the machine has seen it, sends to it are dropped. */
  private linkDown(peer: string): void {
    if (this.closed || this.failing.has(peer)) return;
    this.wanted.delete(peer);
    this.failing.add(peer);
    this.drive((now) => {
      this.failing.delete(peer);
      this.proto.handleLinkDown(peer, now);
    });
  }

  // ----------------------------------------------------------------- periodic work

  /** Before each sweep: the defences' rate sampler; returns gossip-in plus dropped frames. */
  private beforeSweep(now: number): number {
    let bad = 0;
    for (const k in this.counters.droppedFrames) bad += this.counters.droppedFrames[k];
    this.defences.sample(this.counters.gossipIn, bad, now);
    return this.counters.gossipIn + bad;
  }

  // ----------------------------------------------------------------- plumbing

  /** Monotonic, never-early clock handed to the machine (ms). */
  private clock(): number {
    const t = monoNow();
    if (t > this.lastNow) this.lastNow = t;
    return this.lastNow;
  }

  private guard(fn: (now: number) => void): void {
    try {
      fn(this.clock());
    } catch (err) {
      this.logThrow(err);
    }
  }

  private logThrow(err: unknown): void {
    this.o.logger.error({ err: err instanceof Error ? err.stack ?? err.message : String(err) }, 'rumor: protocol machine threw');
  }

  private flushOutbox(): void {
    this.outbox.flush();
  }

  private async shutdown(reset: boolean): Promise<void> {
    this.closed = true;
    this.unwatchKeyring();
    this.heartbeats.close();
    this.sweeper.close();
    this.timerQueues.close();
    this.held.close();
    this.gossip.close();
    for (const c of [...this.conns]) c.destroy('close', true, reset);
    await new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    await waitUntil(() => this.conns.size === 0, 1000, monoNow);
  }

  /** Copy of the counters plus live view and queue sizes. */
  snapshot(): NodeStats {
    const views = [this.proto.activeView().length, this.proto.passiveView().length] as const;
    return buildSnapshot(this.o.address, this.counters, this.conns, ...views, this.heartbeats.snapshot());
  }
}

