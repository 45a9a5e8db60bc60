/**
 * The transport's periodic connection sweep (transport.ts, every `checkTickMs`): closes
 * connections stuck connecting, handshaking or closing past their timeouts, declares an open
 * link dead after `heartbeatTimeoutMs` without anything received, closes idle short-lived
 * connections, and sends the heartbeats that are due (heartbeat.ts).
 *
 * Limits: it runs on a timer, so each deadline is honoured to within one tick; a connection
 * to a neighbour is never idle-closed.
 */
import type { Connection } from './connection.js';
import type { Heartbeats } from './heartbeat.js';
import type { NetTimings } from './profiles.js';
import type { Logger } from './util.js';

/** What the sweep needs from the transport. */
export interface SweepHost {
  timings: NetTimings;
  logger: Logger;
  heartbeats: Heartbeats;
  /** True when `peer` is wanted or in the active view (its link is kept open). */
  isNeighbour(peer: string): boolean;
}

/** One pass over every connection at `now` (see the module comment). */
export function sweepConnections(conns: Iterable<Connection>, now: number, h: SweepHost): void {
  const t = h.timings;
  for (const c of conns) {
    const age = now - c.createdAt;
    if (c.state === 'connecting') {
      if (age > t.connectTimeoutMs) c.destroy('connect-timeout', false);
    } else if (c.state === 'handshaking') {
      if (age > t.handshakeTimeoutMs) c.destroy('handshake-timeout', false);
    } else if (c.state === 'open') {
      checkOpen(c, now, h);
    } else if (c.state === 'closing' && now - c.closingAt > t.leaveFlushMs) {
      c.destroy('close-timeout', true);
    }
  }
}

function checkOpen(c: Connection, now: number, h: SweepHost): void {
  const t = h.timings;
  if (now - c.lastRecvAt > t.heartbeatTimeoutMs) {
    h.logger.warn({ peer: c.label(), silentMs: Math.round(now - c.lastRecvAt) }, 'rumor: heartbeat timeout');
    c.destroy('heartbeat-timeout', false);
    return;
  }
  const peer = c.peer!;
  if (!h.isNeighbour(peer) && now - c.lastProtoAt >= t.idleCloseMs && c.queueBytes() === 0) {
    c.end('idle');
    return;
  }
  // Only the dialing side pings (UDP, else TCP); the acceptor answers. Both sides declare
  // the link dead when nothing arrived for `heartbeatTimeoutMs` (see heartbeat.ts).
  h.heartbeats.tick(c, now);
}
