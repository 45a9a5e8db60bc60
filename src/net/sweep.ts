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
 * neighbour's, a graceful close — makes the transport sweep within `checkTickMs`
 * (`Sweeper.soon`), so every deadline is still honoured to within one tick.
 *
 * Stalls. Node runs due timers before it reads the sockets again, so when this process did not
 * run for a while (stopped, a long GC or synchronous call, a machine too loaded to schedule it)
 * the first sweep after it comes *before* the bytes that peers sent meanwhile are read: judged
 * on the wall clock, every link would look silent and be declared dead (a neighbour's
 * DISCONNECT sitting in the socket buffer was reported as `link-failed`, and an aggregate's
 * flows were dropped, on a loaded 2-core machine). So a timeout is judged on *awake* time: a
 * sweep that runs more than a tick after the time it was armed for records the lateness as a
 * stall (`StallClock`; with the polling sweep this was a gap of more than two ticks), and the
 * time a connection has been silent, connecting or handshaking does not count the stalls. The bytes that arrived meanwhile are read right after
 * this sweep; the next sweeps judge with them.
 *
 * Limits: a deadline is honoured to within one tick at worst (a connection that turned
 * non-neighbour is idle-closed at most `checkTickMs` late), and to within ~1 ms otherwise; a
 * connection to a neighbour is never idle-closed; a peer that died just before or during a stall
 * of this process is declared dead that much later (the stall's length), and a process whose
 * sweeps are always more than a tick late detects failures more slowly in proportion.
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
  /** The old polling period (`checkTickMs`): how often an idle connection that still has bytes
   *  queued is looked at again. */
  tickMs: number;
  /** Called before each pass (the defences' rate sampler); returns a count of the traffic the
   *  sampler watches (gossip in plus dropped frames). */
  beforePass?(now: number): number;
  /** This host's stalls; made by the first sweep (see the module comment). */
  stalls?: StallClock;
}

/** The period of the defences' rate sampler (`PeerGuard.sample`, guard.ts: a sample a second). */
export const RATE_SAMPLE_MS = 1000;

/** The sweep never re-arms sooner than this after a pass (ms): a deadline compared strictly
 *  (`age > timeout`) is not due at its exact time, and Node may fire a timer up to ~1 ms early
 *  by `performance.now()` (timers.ts). */
export const MIN_SWEEP_GAP_MS = 1;

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

  /** A sweep armed for `due` runs at `now`: more than a tick late is a stall, from `due`.
   *  Without `due`, the sweep is taken as polled every tick (due a tick after the previous one:
   *  a gap of more than two ticks is a stall). */
  sweep(now: number, due?: number): void {
    const d = due ?? this.last + this.tickMs;
    if (now - d > this.tickMs && this.last !== -Infinity) {
      this.stalls.push({ from: d, to: now });
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

/** The host's stall clock, made on first use. */
function stallsOf(h: SweepHost): StallClock {
  const t = h.timings;
  return (h.stalls ??= new StallClock(checkTickMs(t), Math.max(t.heartbeatTimeoutMs, t.connectTimeoutMs, t.handshakeTimeoutMs)));
}

/** One pass over every connection at `now`, the pass having been due at `due` (see the module comment). */
export function sweepConnections(conns: Iterable<Connection>, now: number, h: SweepHost, due?: number): void {
  const t = h.timings;
  const clock = stallsOf(h);
  clock.sweep(now, due);
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

/** When the sweep next has something to do for `c`, seen at `now` (monotonic ms; Infinity:
 *  nothing, e.g. closed). */
export function connectionDue(c: Connection, now: number, h: SweepHost): number {
  const t = h.timings;
  // Timeouts run on awake time: a stall since `x` puts the deadline that much later.
  const stalled = (x: number): number => h.stalls?.stalledSince(x) ?? 0;
  switch (c.state) {
    case 'connecting':
      return c.createdAt + t.connectTimeoutMs + stalled(c.createdAt);
    case 'handshaking':
      return c.createdAt + t.handshakeTimeoutMs + stalled(c.createdAt);
    case 'closing':
      return c.closingAt + t.leaveFlushMs;
    case 'open': {
      let due = Math.min(c.lastRecvAt + t.heartbeatTimeoutMs + stalled(c.lastRecvAt), h.heartbeats.dueAt(c));
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
    const due = this.at;
    this.timer = null;
    this.at = Infinity;
    if (this.closed) return;
    this.passes++;
    const now = this.now();
    const traffic = this.h.beforePass?.(now) ?? 0;
    sweepConnections(this.conns, now, this.h, Math.min(due, now));
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
