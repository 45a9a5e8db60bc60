/**
 * The connection handshake of the TCP runtime (docs/protocol.md §5). The dialer sends
 * `hello` (protocol version range, cluster, node id, advertised address); the acceptor
 * answers `welcome` (the chosen version, its id and address) — then, in the same segment,
 * a `udp-token` when it has UDP heartbeats — or `refuse` with a one-line reason and closes.
 * Both sides count refusals by reason code; the dialer logs the acceptor's reason. Frames
 * the dialer pipelined after its `hello` are ignored when the hello is refused (the
 * connection never gets a peer).
 */
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, type WireMessage } from '../wire/index.js';
import type { Connection } from './connection.js';
import { bump, type StatsCounters } from './stats.js';
import { parseAddr, type Logger } from './util.js';

/** What the handshake needs from the runtime. */
export interface HandshakeHost {
  readonly cluster: string;
  readonly id: string;
  /** This node's advertised `host:port`. */
  readonly address: string;
  readonly counters: StatsCounters;
  readonly logger: Logger;
  /** Encode and write a control frame on `c` now (counted as sent). */
  writeControl(c: Connection, msg: WireMessage): void;
  /** Write a `refuse` in the form the peer spoke (plaintext to a plaintext or unreadable peer). */
  writeRefuse(c: Connection, msg: WireMessage, plain: boolean): void;
  /** Count (and rate-limit the log of) a dropped frame from `c`. */
  countBad(c: Connection, reason: string, detail: string, now: number): void;
  /** The accepted connection `c` now belongs to `c.peer`. */
  register(c: Connection): void;
  /** Give the open accepted link `c` a UDP heartbeat token (if UDP is on). */
  offerToken(c: Connection): void;
}

/** Why an acceptor refuses `hello` (one line, `code: detail`), or null to accept it. */
function helloRefusal(msg: Extract<WireMessage, { type: 'hello' }>, cluster: string, address: string): string | null {
  const lo = Math.max(MIN_PROTOCOL_VERSION, msg.versionMin);
  const hi = Math.min(PROTOCOL_VERSION, msg.versionMax);
  if (msg.cluster !== cluster) return `cluster-mismatch: this node is in cluster ${JSON.stringify(cluster)}, hello says ${JSON.stringify(msg.cluster)}`;
  if (lo > hi) return `version-mismatch: this node speaks ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}, hello offers ${msg.versionMin}..${msg.versionMax}`;
  const addr = parseAddr(msg.addr);
  if (!addr.ok) return `bad-address: ${addr.reason}`;
  if (msg.addr === address) return `self-connection: ${msg.addr} is this node's own address`;
  return null;
}

/** Both ends of the handshake, for one runtime. */
export class Handshake {
  private readonly warnedAddr = new Set<string>();

  constructor(private readonly host: HandshakeHost) {}

  /** Dialer: the first frame, sent as soon as the TCP connect completes. */
  hello(): WireMessage {
    const h = this.host;
    return { type: 'hello', versionMin: MIN_PROTOCOL_VERSION, versionMax: PROTOCOL_VERSION, cluster: h.cluster, id: h.id, addr: h.address };
  }

  /** Acceptor: the first frame of an inbound connection. */
  onHello(c: Connection, msg: WireMessage, now: number): void {
    const h = this.host;
    if (msg.type !== 'hello') {
      h.countBad(c, 'unexpected', `${msg.type} before hello`, now);
      c.destroy('bad-handshake', true);
      return;
    }
    const refusal = helloRefusal(msg, h.cluster, h.address);
    if (refusal !== null) {
      this.refuse(c, refusal);
      return;
    }
    c.peer = msg.addr;
    h.register(c);
    c.socket.cork(); // welcome and udp-token in one segment
    h.writeControl(c, { type: 'welcome', version: Math.min(PROTOCOL_VERSION, msg.versionMax), id: h.id, addr: h.address });
    h.counters.accepted++;
    c.markOpen(now);
    h.offerToken(c);
    c.socket.uncork();
  }

  /** Acceptor: refuse the dialer of `c` with `reason` (`code: detail`): log, count, answer
   *  `refuse` (in plaintext when the dialer spoke plaintext or we cannot read it: `unreadable`), close. */
  refuse(c: Connection, reason: string, unreadable = false): void {
    const h = this.host;
    this.recordRefusal(c.remoteLabel, 'in', reason);
    h.logger.warn({ remote: c.remoteLabel, reason }, 'rumor: refused connection');
    h.writeRefuse(c, { type: 'refuse', reason: reason.length > 400 ? reason.slice(0, 400) : reason }, unreadable || !c.receivesEncrypted());
    c.endNow('refused');
  }

  /** Dialer: the first frame of an outbound connection. */
  onWelcome(c: Connection, msg: WireMessage, now: number): void {
    const h = this.host;
    const peer = c.peer!;
    if (msg.type === 'refuse') {
      this.recordRefusal(peer, 'out', msg.reason);
      h.logger.warn({ peer, reason: msg.reason }, 'rumor: peer refused our connection');
      c.destroy('refused', false);
      return;
    }
    if (msg.type !== 'welcome' || msg.version < MIN_PROTOCOL_VERSION || msg.version > PROTOCOL_VERSION) {
      const what = msg.type === 'welcome' ? `unsupported version ${msg.version}` : `${msg.type} before welcome`;
      h.countBad(c, 'unexpected', what, now);
      c.destroy('bad-handshake', false);
      return;
    }
    if (msg.addr !== peer && !this.warnedAddr.has(peer)) {
      this.warnedAddr.add(peer);
      h.logger.warn({ dialed: peer, advertised: msg.addr }, 'rumor: peer advertises another address than the one dialed; use its advertised address as seed');
    }
    h.counters.accepted++;
    c.markOpen(now);
  }

  private recordRefusal(peer: string, direction: 'in' | 'out', reason: string): void {
    const code = reason.split(':')[0].trim() || 'refused';
    bump(direction === 'in' ? this.host.counters.refusedIn : this.host.counters.refusedOut, code);
    this.host.counters.lastRefusal = { peer, direction, reason };
  }
}
