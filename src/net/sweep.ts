/**
 * The transport's connection sweep (transport.ts): closes connections stuck connecting,
 * handshaking or closing past their timeouts, declares an open link dead after
 * `heartbeatTimeoutMs` without anything received, closes idle short-lived connections, and
 * sends the heartbeats that are due (heartbeat.ts).
 *
 * Deadline-driven: after each pass, `nextSweepAt` gives the earliest moment any connection has
 * something due (a timeout, an idle close, a heartbeat or its UDP fallback), and the transport
 * arms one timer for it, instead of polling every `checkTickMs` (100 ms on `lan`). An idle
 * agent woke 10 times a second for the poll alone; now it wakes when a heartbeat is due (one
 * per dialed link per `heartbeatIntervalMs`), plus the deadlines that traffic keeps pushing
 * back (a link's heartbeat timeout) when nothing else woke the sweep first. Deadlines only move
 * later on their own (traffic, a pong); what can make one earlier — a new connection, a
 * connection's state change (connected, handshake done), a link that stops being a
 * neighbour's, a graceful close — makes the transport sweep within
 * `checkTickMs` (its `sweepSoon`), so every deadline is still honoured to within one tick.
 *
 * Limits: a deadline is honoured to within one tick at worst (a connection that turned
 * non-neighbour is idle-closed at most `checkTickMs` late), and to within ~1 ms otherwise; a
 * connection to a neighbour is never idle-closed.
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
  /** The old polling period (`checkTickMs`): how often an idle connection that still has bytes
   *  queued is looked at again. */
  tickMs: number;
  /** Called before each pass (the defences' rate sampler); returns a count of the traffic the
   *  sampler watches (gossip in plus dropped frames). */
  beforePass?(now: number): number;
}

/** The period of the defences' rate sampler (`PeerGuard.sample`, guard.ts: a sample a second). */
export const RATE_SAMPLE_MS = 1000;

/** The sweep never re-arms sooner than this after a pass (ms): a deadline compared strictly
 *  (`age > timeout`) is not due at its exact time, and Node may fire a timer up to ~1 ms early
 *  by `performance.now()` (timers.ts). */
export const MIN_SWEEP_GAP_MS = 1;

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

/** When the sweep next has something to do for `c`, seen at `now` (monotonic ms; Infinity:
 *  nothing, e.g. closed). */
export function connectionDue(c: Connection, now: number, h: SweepHost): number {
  const t = h.timings;
  switch (c.state) {
    case 'connecting':
      return c.createdAt + t.connectTimeoutMs;
    case 'handshaking':
      return c.createdAt + t.handshakeTimeoutMs;
    case 'closing':
      return c.closingAt + t.leaveFlushMs;
    case 'open': {
      let due = Math.min(c.lastRecvAt + t.heartbeatTimeoutMs, h.heartbeats.dueAt(c));
      if (c.peer !== null && !h.isNeighbour(c.peer)) {
        // Idle but still writing: look again a tick later (as the polling sweep did).
        const idle = c.lastProtoAt + t.idleCloseMs;
        due = Math.min(due, idle <= now && c.queueBytes() > 0 ? now + h.tickMs : idle);
      }
      return due;
    }
    default:
      return Infinity;
  }
}

/** When the next pass is needed after a pass at `now`: the earliest `connectionDue`, at least
 *  `MIN_SWEEP_GAP_MS` after `now` (Infinity when no connection has anything due). */
export function nextSweepAt(conns: Iterable<Connection>, now: number, h: SweepHost): number {
  let next = Infinity;
  for (const c of conns) {
    const due = connectionDue(c, now, h);
    if (due < next) next = due;
  }
  return Math.max(next, now + MIN_SWEEP_GAP_MS);
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

/** The sweep's one timer, armed for the next deadline (see the module comment). */
export class Sweeper {
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** When the timer fires (Infinity: not armed). */
  private at = Infinity;
  private traffic = 0;
  /** The rate sampler's next sample while traffic flows (Infinity: none wanted). */
  private sampleAt = Infinity;
  private closed = false;
  /** Passes run so far (tests; an idle node's wake-ups). */
  passes = 0;

  constructor(
    private readonly conns: Iterable<Connection>,
    private readonly h: SweepHost,
    private readonly now: () => number,
  ) {}

  /** A change that may bring a deadline forward (a new connection, a close, a link that stopped
   *  being a neighbour's): sweep within one tick. */
  soon(): void {
    if (this.closed) return;
    const at = this.now() + this.h.tickMs;
    if (at < this.at) this.arm(at);
  }

  /** A deadline moved later (a pong answered the ping whose UDP fallback the timer waits for):
   *  re-arm for the earliest deadline now, so the timer does not wake for nothing. */
  later(now: number): void {
    if (this.closed || this.at === Infinity) return;
    const next = Math.min(nextSweepAt(this.conns, now, this.h), this.sampleAt);
    if (next > this.at) this.arm(next);
  }

  /** Armed for (monotonic ms; Infinity: not armed). For tests. */
  armedAt(): number {
    return this.at;
  }

  /** Stop: nothing runs after this. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.at = Infinity;
  }

  /** One pass, then the timer armed for the next deadline. */
  run(): void {
    this.timer = null;
    this.at = Infinity;
    if (this.closed) return;
    this.passes++;
    const now = this.now();
    const traffic = this.h.beforePass?.(now) ?? 0;
    sweepConnections(this.conns, now, this.h);
    let next = nextSweepAt(this.conns, now, this.h);
    // The rate sampler wants a sample a second while its traffic flows; with nothing new since
    // the last pass it can wait (its next sample then covers the longer window).
    this.sampleAt = traffic !== this.traffic ? now + RATE_SAMPLE_MS : Infinity;
    this.traffic = traffic;
    next = Math.min(next, this.sampleAt);
    if (next < Infinity) this.arm(next);
  }

  private arm(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.at = at;
    this.timer = setTimeout(() => this.run(), Math.max(0, Math.ceil(at - this.now())));
  }
}
