/**
 * Link heartbeats of the TCP runtime, over UDP when possible.
 *
 * HyParView uses its active links (long-lived TCP connections) as the failure detector
 * (Leitão et al., DSN 2007, §4.1: "TCP is used as a failure detector"). A link that carries no
 * traffic still has to prove, every `heartbeatTimeoutMs`, that the peer is alive. Over TCP a
 * heartbeat costs three segments (PING, PONG, then the dialer's delayed pure ACK); over UDP it
 * costs two datagrams (`hb-ping`, `hb-pong`, see `src/wire/datagram.ts`). So:
 *
 * - Each node binds a UDP socket on the host:port of its TCP listener. If the bind fails or
 *   `udpHeartbeats` is off, every heartbeat is a TCP PING, as before.
 * - The acceptor of a connection that has UDP picks a random 64-bit token for the link and
 *   sends it in a `udp-token` frame over the connection. A datagram is matched to its link by
 *   that token; one with an unknown token is counted (`droppedFrames["unknown-token"]`) and
 *   ignored. The acceptor answers an `hb-ping` with an `hb-pong` to the datagram's source.
 * - Only the dialer pings (at most once per `heartbeatIntervalMs`, when the link was quiet for
 *   an interval). With a token it pings over UDP; if no `hb-pong` came back within the
 *   fallback delay (`udpFallbackMs`), it sends a TCP PING at once, so one lost datagram never
 *   costs the link. After `MAX_UDP_MISSES` unanswered UDP pings in a row the link pings over
 *   TCP only, retrying UDP once every `UDP_RETRY_EVERY` heartbeats: a firewall that drops UDP
 *   costs what TCP-only heartbeats cost.
 * - Liveness is unchanged: a link is alive while anything (TCP bytes, or a matching datagram)
 *   arrived within `heartbeatTimeoutMs`; `transport.ts` closes it otherwise.
 *
 * - Encryption: with a keyring that sends encrypted traffic, each datagram is sealed alone
 *   (`DatagramSealer`, src/wire/crypto.ts); a datagram starting with 0xFF is opened with every
 *   installed key, a replayed one is dropped (`replayed`), and a plaintext one is dropped
 *   (`plaintext-refused`) when the keyring enforces encryption.
 *
 * Differs from the paper: the paper relies on TCP alone; the UDP path only replaces the
 * keep-alive traffic of idle links, never protocol messages.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIP, type Server } from 'node:net';
import { decodeDatagram, encodeDatagram, type Datagram, type WireMessage } from '../wire/index.js';
import { decodeAppDatagram, encodeAppDatagram, isAppDatagram, MAX_APP_DATAGRAM_BYTES, type AppDatagram } from '../wire/datagram-app.js';
import { CRYPTO_MARK, DATAGRAM_KIND, DatagramOpener, DatagramSealer, type Keyring } from '../wire/crypto.js';
import type { Connection } from './connection.js';
import type { NetTimings } from './profiles.js';
import type { StatsCounters } from './stats.js';
import { formatAddr, type Logger } from './util.js';

/** Consecutive unanswered UDP pings after which a link heartbeats over TCP only. */
export const MAX_UDP_MISSES = 2;
/** A link in TCP-only mode retries UDP once every this many heartbeats (≈ 1 min on `lan`). */
export const UDP_RETRY_EVERY = 32;

/**
 * How long the dialer waits for an `hb-pong` before it sends a TCP PING:
 * min(interval, (timeout − interval) / 2), so that the fallback PING and its PONG still arrive
 * well before either end's timeout (lan: 2000 / 2900 ⇒ 450 ms, for a LAN RTT under 1 ms).
 */
export function udpFallbackMs(t: NetTimings): number {
  return Math.min(t.heartbeatIntervalMs, (t.heartbeatTimeoutMs - t.heartbeatIntervalMs) / 2);
}

/** What the heartbeat layer needs from the runtime. */
export interface HeartbeatHost {
  readonly counters: StatsCounters;
  readonly logger: Logger;
  /** Encode and write a control frame on `c` now (counted as sent). */
  writeControl(c: Connection, msg: WireMessage): void;
  /** Count (and rate-limit the log of) a dropped frame or datagram from `label`. */
  countBad(label: string, reason: string, detail: string, now: number): void;
  /** Monotonic clock (ms). */
  now(): number;
  /** The node's keyring (possibly empty) and cluster name. */
  readonly keyring: Keyring;
  readonly cluster: string;
  /** An application datagram of this cluster arrived (opened, decoded, cluster checked);
   *  `label` names its source (`udp:ip:port`) for drop counts, `bytes` its size on the wire. */
  onAppDatagram?(d: AppDatagram, bytes: number, label: string, now: number): void;
  /** A UDP pong answered the ping of `c` (its fallback is no longer due: the sweep may sleep longer). */
  onUdpPong?(c: Connection, now: number): void;
}

/** An application datagram as `sendApp` would send it, and where (`plainApp`). */
export interface PlainAppDatagram {
  bytes: Uint8Array;
  host: string;
  port: number;
  /** Largest datagram this node sends (bytes). */
  maxBytes: number;
}

/** Result of `Heartbeats.sendApp`: `no-socket` and `too-large` mean "send it over TCP". */
export type AppSendResult = 'sent' | 'no-socket' | 'too-large' | 'bad';

/** UDP heartbeats plus the TCP PING fallback (see the module comment). */
export class Heartbeats {
  private sock: UdpSocket | null = null;
  private family: 4 | 6 = 4;
  private boundPort: number | null = null;
  private readonly byToken = new Map<string, Connection>();
  private readonly fallbackMs: number;
  private closed = false;
  /** Fault injection for tests: drop every incoming datagram, as a firewall would. */
  dropIncoming = false;
  private readonly sealer: DatagramSealer;
  private readonly opener: DatagramOpener;

  constructor(
    private readonly host: HeartbeatHost,
    private readonly t: NetTimings,
  ) {
    this.fallbackMs = udpFallbackMs(t);
    this.sealer = new DatagramSealer(host.keyring, host.cluster);
    this.opener = new DatagramOpener(host.keyring, host.cluster);
  }

  /** Bind the UDP socket on the listening `server`'s host:port; `onBound` runs once bound. */
  bindNextTo(server: Server, onBound: () => void): void {
    const a = server.address();
    if (a !== null && typeof a === 'object') this.bind(a.address, a.port, onBound);
  }

  /** Bind the UDP socket on `address:port`; `onBound` runs once bound. A failed bind is
   *  logged once and leaves the node on TCP heartbeats. */
  bind(address: string, port: number, onBound: () => void): void {
    if (!this.t.udpHeartbeats || this.closed) return;
    this.family = isIP(address) === 6 ? 6 : 4;
    const sock = createSocket({ type: this.family === 6 ? 'udp6' : 'udp4' });
    const onError = (err: NodeJS.ErrnoException): void => {
      this.host.logger.warn({ address: formatAddr(address, port), reason: err.code ?? err.message }, 'rumor: cannot bind the UDP heartbeat socket; heartbeats use TCP');
      sock.close();
    };
    sock.once('error', onError);
    sock.on('message', (buf, rinfo) => this.onDatagram(buf, rinfo));
    sock.bind({ address, port, exclusive: true }, () => {
      sock.off('error', onError);
      // Send errors (e.g. ICMP unreachable reported late) never matter: the fallback covers them.
      sock.on('error', () => {});
      if (this.closed) {
        sock.close();
        return;
      }
      this.sock = sock;
      this.boundPort = port;
      onBound();
    });
  }

  /** Port of the bound UDP socket (null: TCP heartbeats only) and links with a UDP token. */
  snapshot(): { port: number | null; links: number } {
    return { port: this.boundPort, links: this.byToken.size };
  }

  /** Close the UDP socket. */
  close(): void {
    this.closed = true;
    if (this.sock !== null) this.sock.close();
    this.sock = null;
    this.boundPort = null;
    this.byToken.clear();
  }

  /** The acceptor side of `c` completed the handshake: give the link a token (if we have UDP). */
  offerToken(c: Connection): void {
    if (this.sock === null || c.direction !== 'in' || c.udpToken !== null || c.state !== 'open') return;
    let token = randomBytes(8).toString('hex');
    while (this.byToken.has(token)) token = randomBytes(8).toString('hex');
    c.udpToken = token;
    this.byToken.set(token, c);
    this.host.writeControl(c, { type: 'udp-token', token });
  }

  /** `c` closed: forget its token. */
  forget(c: Connection): void {
    if (c.udpToken !== null && this.byToken.get(c.udpToken) === c) this.byToken.delete(c.udpToken);
  }

  /** Handle a heartbeat control frame. */
  onControl(c: Connection, msg: Extract<WireMessage, { type: 'ping' | 'pong' | 'udp-token' }>, now: number): void {
    switch (msg.type) {
      case 'ping':
        this.host.writeControl(c, { type: 'pong', seq: msg.seq });
        return;
      case 'pong':
        if (msg.seq === c.pingSeq) c.rttMs = now - c.pingSentAt;
        return;
      case 'udp-token':
        this.acceptToken(c, msg.token, now);
    }
  }

  private acceptToken(c: Connection, token: string, now: number): void {
    if (c.direction !== 'out' || c.udpToken !== null) {
      this.host.countBad(c.label(), 'unexpected', `udp-token on an ${c.direction === 'out' ? 'already tokened' : 'accepted'} link`, now);
      return;
    }
    // Without a socket, or on a (2^-64) collision, the link simply keeps TCP heartbeats.
    if (this.sock === null || this.byToken.has(token)) return;
    const remote = c.socket.remoteAddress;
    const fam = remote === undefined ? 0 : isIP(remote);
    if (fam === 0 || (fam === 6 && this.family === 4)) return;
    c.udpToken = token;
    c.udpTarget = { address: fam === 4 && this.family === 6 ? `::ffff:${remote!}` : remote!, port: c.socket.remotePort ?? 0 };
    this.byToken.set(token, c);
  }

  /** When `tick` next has something to do for open link `c` (monotonic ms; Infinity: never, the
   *  acceptor side): the UDP fallback while a ping awaits its pong, else the next ping. */
  dueAt(c: Connection): number {
    if (c.direction !== 'out') return Infinity;
    const i = this.t.heartbeatIntervalMs;
    if (c.udpAwaiting) return c.pingSentAt + this.fallbackMs;
    return Math.max(c.pingSentAt + i, Math.min(c.lastSendAt, c.lastRecvAt) + i);
  }

  /** Dialer side, at every sweep of an open link: send a heartbeat if one is due. */
  tick(c: Connection, now: number): void {
    if (c.direction !== 'out') return;
    const i = this.t.heartbeatIntervalMs;
    if (c.udpAwaiting && now - c.pingSentAt >= this.fallbackMs) {
      // The UDP ping went unanswered: ping over TCP now (the link's liveness must not wait).
      c.udpAwaiting = false;
      c.udpMisses++;
      this.host.counters.udpFallbacks++;
      this.tcpPing(c, now);
      return;
    }
    // Ping (at most once per interval) when we have sent nothing for an interval — so the
    // acceptor hears from us — or heard nothing for an interval — so a pong comes back.
    const quiet = now - c.lastSendAt >= i || now - c.lastRecvAt >= i;
    if (!quiet || now - c.pingSentAt < i) return;
    const udpOk = this.sock !== null && c.udpTarget !== null;
    const nextSeq = (c.pingSeq + 1) >>> 0;
    if (udpOk && (c.udpMisses < MAX_UDP_MISSES || nextSeq % UDP_RETRY_EVERY === 0)) this.udpPing(c, now);
    else this.tcpPing(c, now);
  }

  private tcpPing(c: Connection, now: number): void {
    c.pingSeq = (c.pingSeq + 1) >>> 0;
    c.pingSentAt = now;
    this.host.writeControl(c, { type: 'ping', seq: c.pingSeq });
  }

  private udpPing(c: Connection, now: number): void {
    c.pingSeq = (c.pingSeq + 1) >>> 0;
    c.pingSentAt = now;
    c.udpSeq = c.pingSeq;
    c.udpAwaiting = true;
    c.lastSendAt = now;
    const target = c.udpTarget!;
    this.sendDatagram({ type: 'hb-ping', token: c.udpToken!, seq: c.pingSeq }, target.address, target.port);
  }

  private sendDatagram(d: Datagram, address: string, port: number): void {
    const enc = encodeDatagram(d);
    if (!enc.ok || this.sock === null) return;
    const out = this.host.keyring.sendsEncrypted() ? this.sealer.seal(enc.frame) : enc.frame;
    this.host.counters.sent.add(d.type, out.byteLength);
    this.sock.send(out, port, address);
  }

  /**
   * Send application bytes to `address:port` as one application datagram (datagram-app.ts),
   * sealed when the keyring sends encrypted, from the node's UDP socket (so from its bind
   * address and port). Fire and forget: UDP says nothing about delivery.
   */
  sendApp(channel: string, data: Uint8Array, from: string, address: string, port: number): AppSendResult {
    // Another address family, or a DNS name (no look-up per datagram): over TCP instead.
    if (this.sock === null || isIP(address) !== this.family) return 'no-socket';
    const enc = encodeAppDatagram({ cluster: this.host.cluster, from, channel, data });
    if (!enc.ok) return enc.tooLarge ? 'too-large' : 'bad';
    const out = this.host.keyring.sendsEncrypted() ? this.sealer.seal(enc.bytes) : enc.bytes;
    this.host.counters.sent.add('app-dgram', out.byteLength);
    this.sock.send(out, port, address);
    return 'sent';
  }

  /**
   * The application datagram `sendApp` would send now, for another process to send (a query's
   * response from the agent's handler launcher, src/net/query.ts `responseDatagram`), with the
   * largest size this node sends; null when `sendApp` would not send these bytes as they are:
   * no socket, another address family, a keyring that seals (a sealed datagram's counter is
   * this process's), too large or malformed.
   */
  plainApp(channel: string, data: Uint8Array, from: string, address: string, port: number): PlainAppDatagram | null {
    if (this.sock === null || isIP(address) !== this.family || this.host.keyring.sendsEncrypted()) return null;
    const enc = encodeAppDatagram({ cluster: this.host.cluster, from, channel, data });
    return enc.ok ? { bytes: enc.bytes, host: address, port, maxBytes: MAX_APP_DATAGRAM_BYTES } : null;
  }

  /** An application datagram (already opened): decode, check the cluster, hand it on. */
  private onApp(plain: Uint8Array, bytes: number, label: string, now: number): void {
    const r = decodeAppDatagram(plain);
    if (!r.ok) return this.host.countBad(label, r.error, r.detail, now);
    if (r.dgram.cluster !== this.host.cluster) {
      return this.host.countBad(label, 'cluster-mismatch', `app datagram of cluster ${JSON.stringify(r.dgram.cluster.slice(0, 64))}`, now);
    }
    this.host.counters.received.add('app-dgram', bytes);
    this.host.onAppDatagram?.(r.dgram, bytes, label, now);
  }

  /** The plaintext datagram of `buf` (opened if encrypted), or null (counted) when refused. */
  private open(buf: Buffer, rinfo: RemoteInfo, now: number): Uint8Array | null {
    const k = this.host.keyring;
    const bad = (reason: string, detail: string): null => {
      this.host.countBad(`udp:${formatAddr(rinfo.address, rinfo.port)}`, reason, detail, now);
      return null;
    };
    if (buf.length > 1 && buf[0] === CRYPTO_MARK && buf[1] === DATAGRAM_KIND) {
      if (!k.enabled) return bad('encryption-unsupported', 'encrypted datagram but this node has no cluster key');
      const o = this.opener.open(buf);
      return o.ok ? o.plain : bad(o.error, o.detail);
    }
    if (!k.acceptsPlaintext()) return bad('plaintext-refused', 'plaintext datagram; this node accepts only encrypted traffic');
    return buf;
  }

  private onDatagram(buf: Buffer, rinfo: RemoteInfo): void {
    if (this.closed || this.dropIncoming) return;
    const now = this.host.now();
    const plain = this.open(buf, rinfo, now);
    if (plain === null) return;
    if (isAppDatagram(plain)) return this.onApp(plain, buf.byteLength, `udp:${formatAddr(rinfo.address, rinfo.port)}`, now);
    const r = decodeDatagram(plain);
    if (!r.ok) {
      this.host.countBad(`udp:${formatAddr(rinfo.address, rinfo.port)}`, r.error, r.detail, now);
      return;
    }
    const d = r.dgram;
    const c = this.byToken.get(d.token);
    if (c === undefined || c.state !== 'open') {
      this.host.countBad(`udp:${formatAddr(rinfo.address, rinfo.port)}`, 'unknown-token', `${d.type} with a token of no open link`, now);
      return;
    }
    this.host.counters.received.add(d.type, buf.byteLength);
    if (d.type === 'hb-ping') {
      if (c.direction !== 'in') return this.host.countBad(c.label(), 'unexpected', 'hb-ping on a dialed link', now);
      c.lastRecvAt = now;
      this.sendDatagram({ type: 'hb-pong', token: d.token, seq: d.seq }, rinfo.address, rinfo.port);
      return;
    }
    if (c.direction !== 'out' || d.seq !== c.udpSeq) {
      this.host.countBad(c.label(), 'unexpected', `hb-pong seq ${d.seq}, expected ${c.udpSeq}`, now);
      return;
    }
    c.lastRecvAt = now;
    c.udpMisses = 0;
    const awaited = c.udpAwaiting;
    if (awaited) c.rttMs = now - c.pingSentAt;
    c.udpAwaiting = false;
    if (awaited) this.host.onUdpPong?.(c, now);
  }
}
