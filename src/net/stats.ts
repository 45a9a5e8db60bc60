/**
 * Counters of the TCP runtime, counted at the boundary between sockets and the protocol
 * machines. `NodeStats` is the plain-JSON snapshot returned by `RumorNode.stats()`.
 */

import { APP_DATAGRAM_CODE, DATAGRAM_TYPE_CODES, TYPE_CODES, type DatagramType, type WireType } from '../wire/index.js';

/** Counted kinds: stream frames, heartbeat datagrams and application datagrams (`app-dgram`). */
type CountedType = WireType | DatagramType | 'app-dgram';
import type { Connection } from './connection.js';
import type { DefenceStats } from './guard.js';

/** Plain counters keyed by a label (message type, reason, ...). */
export type Counts = Record<string, number>;

/** A snapshot of a node's counters. Every field is plain JSON (safe to serialise). */
export interface NodeStats {
  /** Advertised address of the node. */
  address: string;
  /** Protocol messages received, by message type (`gossip`, `ihave`, `join`, `ping`, ...;
   *  UDP heartbeat datagrams as `hb-ping` / `hb-pong`). */
  messagesIn: Counts;
  /** Protocol messages sent (enqueued on a connection), by message type. */
  messagesOut: Counts;
  /** Frame bytes received, by message type. */
  bytesIn: Counts;
  /** Frame bytes sent (enqueued), by message type. */
  bytesOut: Counts;
  /** Broadcast payloads delivered to the application (own broadcasts included). */
  deliveries: number;
  /** `gossip` frames received for a message already delivered. */
  duplicates: number;
  /** Delivered payloads whose envelope failed to decode (dropped, never delivered). */
  badEnvelopes: number;
  /** Times a missing-message timer (which GRAFTs) was put off because the event loop was
   *  behind (overload control, see `Transport.holdGraft`). */
  graftsHeld: number;
  /** Frames dropped by the decoder, by reason (`bad-checksum`, `frame-too-large`, ...), plus
   *  `unexpected` for well-formed frames out of place (e.g. anything before `hello`). */
  droppedFrames: Counts;
  /** Dropped frames by peer (advertised address, or `ip:port` before the handshake), then reason. */
  droppedFramesByPeer: Record<string, Counts>;
  /** Frames shed by backpressure before being sent, by message type (lazy `ihave` first). */
  shed: Counts;
  /** Handshake outcomes. */
  handshakes: {
    accepted: number;
    /** Hellos we refused, by reason code (`cluster-mismatch`, `version-mismatch`, ...). */
    refusedIn: Counts;
    /** Refusals we received from peers, by reason code. */
    refusedOut: Counts;
    /** The last refusal seen in either direction, with the full reason text. */
    lastRefusal: { peer: string; direction: 'in' | 'out'; reason: string } | null;
  };
  /** Connections we closed, by cause (`heartbeat-timeout`, `handshake-timeout`, `slow-peer`,
   *  `bad-frame`, `idle`, ...), and connections that failed (`connect-failed`, `reset`, `eof`). */
  closes: Counts;
  /** Connection counts. */
  connections: { open: number; inbound: number; outbound: number; accepted: number; dialed: number };
  /** Active view size (neighbours). */
  activeView: number;
  /** Passive view size. */
  passiveView: number;
  /** Bytes waiting to be written, per peer (queue plus socket buffer). */
  queueBytes: Record<string, number>;
  /** Last measured heartbeat round-trip time per neighbour (ms). */
  rttMs: Record<string, number>;
  /** UDP heartbeats (their datagram and byte counts are in `messagesIn/Out`, `bytesIn/Out`
   *  under `hb-ping` / `hb-pong`). */
  udp: {
    /** Port of the bound UDP heartbeat socket, or null (heartbeats over TCP only). */
    port: number | null;
    /** Open links that have a UDP token. */
    links: number;
    /** TCP PINGs sent because a UDP ping went unanswered within the fallback delay. */
    fallbacks: number;
  };
  /** Peer scores, rate limits, validation verdicts, rate alarms (`RumorNode.stats()` only). */
  defences?: DefenceStats;
}

/** Every counted type: stream frames and heartbeat datagrams (their codes never overlap). */
const ALL_CODES: Readonly<Record<CountedType, number>> = { ...TYPE_CODES, ...DATAGRAM_TYPE_CODES, 'app-dgram': APP_DATAGRAM_CODE };

/**
 * Frame and byte counters per wire message type, indexed by the type's numeric code: the
 * per-frame hot path does two array increments instead of string-keyed object updates.
 */
export class TypeCounts {
  readonly frames = new Float64Array(256);
  readonly bytes = new Float64Array(256);

  /** Count one frame (or datagram) of `type` of `bytes` bytes. */
  add(type: CountedType, bytes: number): void {
    const code = ALL_CODES[type];
    this.frames[code]++;
    this.bytes[code] += bytes;
  }

  /** Frames by type name (types never counted are absent). */
  framesByType(): Counts {
    return byType(this.frames);
  }

  /** Bytes by type name (types never counted are absent). */
  bytesByType(): Counts {
    return byType(this.bytes);
  }
}

function byType(a: Float64Array): Counts {
  const out: Counts = {};
  for (const [type, code] of Object.entries(ALL_CODES)) if (a[code] > 0) out[type] = a[code];
  return out;
}

/** Mutable counters owned by the runtime; `snapshot` pieces are copied out by `RumorNode.stats()`. */
export class StatsCounters {
  /** Frames and bytes received / sent (enqueued or written), by type. */
  readonly received = new TypeCounts();
  readonly sent = new TypeCounts();
  deliveries = 0;
  duplicates = 0;
  badEnvelopes = 0;
  graftsHeld = 0;
  droppedFrames: Counts = {};
  droppedFramesByPeer: Record<string, Counts> = {};
  shed: Counts = {};
  accepted = 0;
  refusedIn: Counts = {};
  refusedOut: Counts = {};
  lastRefusal: NodeStats['handshakes']['lastRefusal'] = null;
  closes: Counts = {};
  acceptedConns = 0;
  dialedConns = 0;
  gossipIn = 0;
  deliveredRemote = 0;
  /** TCP PINGs sent because a UDP heartbeat went unanswered. */
  udpFallbacks = 0;
}

/** Increment `counts[key]` by `by`. */
export function bump(counts: Counts, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

/** A `NodeStats` snapshot: copies of `k` plus live connection, queue and view figures. */
export function buildSnapshot(
  address: string,
  k: StatsCounters,
  conns: Iterable<Connection>,
  activeView: number,
  passiveView: number,
  udp: { port: number | null; links: number },
): NodeStats {
  const queueBytes: Record<string, number> = {};
  const rttMs: Record<string, number> = {};
  let inbound = 0;
  let open = 0;
  let total = 0;
  for (const c of conns) {
    total++;
    if (c.direction === 'in') inbound++;
    if (c.state === 'open') open++;
    const label = c.label();
    queueBytes[label] = (queueBytes[label] ?? 0) + c.queueBytes();
    if (c.rttMs >= 0) rttMs[label] = Math.round(c.rttMs * 1000) / 1000;
  }
  return {
    address,
    messagesIn: k.received.framesByType(),
    messagesOut: k.sent.framesByType(),
    bytesIn: k.received.bytesByType(),
    bytesOut: k.sent.bytesByType(),
    deliveries: k.deliveries,
    duplicates: Math.max(0, k.gossipIn - k.deliveredRemote),
    badEnvelopes: k.badEnvelopes,
    graftsHeld: k.graftsHeld,
    droppedFrames: { ...k.droppedFrames },
    droppedFramesByPeer: Object.fromEntries(Object.entries(k.droppedFramesByPeer).map(([p, c]) => [p, { ...c }])),
    shed: { ...k.shed },
    handshakes: {
      accepted: k.accepted,
      refusedIn: { ...k.refusedIn },
      refusedOut: { ...k.refusedOut },
      lastRefusal: k.lastRefusal === null ? null : { ...k.lastRefusal },
    },
    closes: { ...k.closes },
    connections: { open, inbound, outbound: total - inbound, accepted: k.acceptedConns, dialed: k.dialedConns },
    activeView,
    passiveView,
    queueBytes,
    rttMs,
    udp: { port: udp.port, links: udp.links, fallbacks: k.udpFallbacks },
  };
}
