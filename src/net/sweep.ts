/**
 * The transport's periodic connection sweep (transport.ts, every `checkTickMs`): closes
 * connections stuck connecting, handshaking or closing past their timeouts, declares an open
 * link dead after `heartbeatTimeoutMs` without anything received, closes idle short-lived
 * connections, and sends the heartbeats that are due (heartbeat.ts).
 *
 * Stalls. Node runs due timers before it reads the sockets again, so when this process did not
 * run for a while (stopped, a long GC or synchronous call, a machine too loaded to schedule it)
 * the first sweep after it comes *before* the bytes that peers sent meanwhile are read: judged
 * on the wall clock, every link would look silent and be declared dead (a neighbour's
 * DISCONNECT sitting in the socket buffer was reported as `link-failed`, and an aggregate's
 * flows were dropped, on a loaded 2-core machine). So a timeout is judged on *awake* time: a
 * sweep that comes more than two ticks after the previous one records the gap (less one tick)
 * as a stall (`StallClock`), and the time a connection has been silent, connecting or
 * handshaking does not count the stalls. The bytes that arrived meanwhile are read right after
 * this sweep; the next sweeps judge with them.
 *
 * Limits: it runs on a timer, so each deadline is honoured to within one tick; a connection
 * to a neighbour is never idle-closed; a peer that died just before or during a stall of this
 * process is declared dead that much later (the stall's length), and a process that is late on
 * every tick (more than two ticks apart) detects failures more slowly in proportion.
 */
import type { Connection } from './connection.js';
import type { Heartbeats } from './heartbeat.js';
import { checkTickMs, type NetTimings } from './profiles.js';
import type { Logger } from './util.js';

/** What the sweep needs from the transport. */
export interface SweepHost {
  timings: NetTimings;
  logger: Logger;
  heartbeats: Heartbeats;
  /** True when `peer` is wanted or in the active view (its link is kept open). */
  isNeighbour(peer: string): boolean;
  /** This host's stalls; made by the first sweep (see the module comment). */
  stalls?: StallClock;
}

/** Stalls kept at most (older ones are forgotten first: a timeout is then judged as before). */
const MAX_STALLS = 256;

/**
 * The gaps between sweeps in which this process did not run, and the time elapsed since a
 * moment without them ("awake" time). Fed by every sweep with the sweep's own time.
 */
export class StallClock {
  private readonly stalls: { from: number; to: number }[] = [];
  private last = -Infinity;

  /** `tickMs`: the sweep's period; `keepMs`: the longest deadline judged on awake time (a stall
   *  that ended longer ago than that cannot save a connection any more). */
  constructor(
    private readonly tickMs: number,
    private readonly keepMs: number,
  ) {}

  /** A sweep runs at `now`: a gap of more than two ticks since the previous one is a stall
   *  (the gap less the one tick that was due). */
  sweep(now: number): void {
    if (now - this.last > 2 * this.tickMs) {
      if (this.last !== -Infinity) this.stalls.push({ from: this.last + this.tickMs, to: now });
      if (this.stalls.length > MAX_STALLS) this.stalls.shift();
    }
    this.last = now;
    while (this.stalls.length > 0 && now - this.stalls[0].to > this.keepMs) this.stalls.shift();
  }

  /** Milliseconds of stall after `since`. */
  stalledSince(since: number): number {
    let ms = 0;
    for (const s of this.stalls) if (s.to > since) ms += s.to - Math.max(s.from, since);
    return ms;
  }

  /** Milliseconds from `since` to `now` during which this process ran. */
  awake(since: number, now: number): number {
    return now - since - this.stalledSince(since);
  }
}

/** One pass over every connection at `now` (see the module comment). */
export function sweepConnections(conns: Iterable<Connection>, now: number, h: SweepHost): void {
  const t = h.timings;
  const clock = (h.stalls ??= new StallClock(checkTickMs(t), Math.max(t.heartbeatTimeoutMs, t.connectTimeoutMs, t.handshakeTimeoutMs)));
  clock.sweep(now);
  for (const c of conns) {
    if (c.state === 'connecting') {
      if (clock.awake(c.createdAt, now) > t.connectTimeoutMs) c.destroy('connect-timeout', false);
    } else if (c.state === 'handshaking') {
      if (clock.awake(c.createdAt, now) > t.handshakeTimeoutMs) c.destroy('handshake-timeout', false);
    } else if (c.state === 'open') {
      checkOpen(c, now, h, clock);
    } else if (c.state === 'closing' && now - c.closingAt > t.leaveFlushMs) {
      c.destroy('close-timeout', true);
    }
  }
}

function checkOpen(c: Connection, now: number, h: SweepHost, clock: StallClock): void {
  const t = h.timings;
  if (clock.awake(c.lastRecvAt, now) > t.heartbeatTimeoutMs) {
    const stalledMs = Math.round(clock.stalledSince(c.lastRecvAt));
    h.logger.warn({ peer: c.label(), silentMs: Math.round(now - c.lastRecvAt), stalledMs }, 'rumor: heartbeat timeout');
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
