/**
 * The write-flush schedule shared by every connection of the process (connection.ts): one
 * `setImmediate` per event-loop turn flushes the connections with frames waiting, and one timer
 * per coalescing delay (plaintext, sealed) flushes the busy ones (that wrote within their
 * delay) once it has passed. Moved out of connection.ts unchanged; `writeAtOnce` (h30f) writes
 * what a call queued when it returns instead.
 *
 * And the fair queues' pass schedule (`PassScheduler`, h35f): every node's fair queue of the
 * process (fair-queue.ts) runs its pass of an event-loop turn from one shared `setImmediate`,
 * and once the turn's passes have taken `PASS_TURN_MS` of the process's CPU time, the passes
 * not yet begun wait for the next turn, where they run first (a pass runs whole: its budget
 * bounds it). The next turn's poll phase comes between: what a queued pass would have
 * delayed — the read of an honest frame in a quiet origin's express lane, and its relay
 * written at once — waits for about `PASS_TURN_MS` of queued work and the pass running then,
 * not for every node's pass. Measured on bench:flood's sustained flood
 * (docs/results.md, h35f): the CPU profile's longest busy stretches were the five nodes'
 * passes of one turn each growing its seen cache's ring and id index at once (the five
 * caches hold the same ids, so they grow in the same turn): 9.5 ms of `grow` in one 16 ms
 * stretch. A frame that runs as it is read (fair-queue.ts `offer` → `run`, express) is not
 * held by this: only the queued frames a pass serves are.
 */

/** What the schedule needs of a connection. */
export interface Flushable {
  lastSendAt: number;
  /** The connection's coalescing delay (ms). */
  coalesceMs(): number;
  runScheduledFlush(): void;
  /** Write what is queued now (`writeAtOnce`). */
  flushNow(): void;
}

/** Connections that queued a frame during `writeAtOnce` (null outside it). */
let atOnce: Flushable[] | null = null;

/**
 * Run `fn` and write what it queued on any connection at once, when it returns, instead of at
 * the shared flush pass of the turn (a `setImmediate`, or a busy link's coalescing timer). For
 * a frame in the fair queue's express lane (fair-queue.ts) and a quiet publisher's broadcast
 * (rumor-node.ts): the message leaves in the poll phase (or timer) that produced it, and the
 * next hop reads it at its next poll instead of after this turn's flush pass and the turn
 * after it, each a turn of every queued node's work (docs/results.md, h30f). A connection's
 * frames queued before `fn` go out in the same write.
 */
export function writeAtOnce(fn: () => void): void {
  if (atOnce !== null) return fn();
  const list: Flushable[] = [];
  atOnce = list;
  try {
    fn();
  } finally {
    atOnce = null;
    for (let i = 0; i < list.length; i++) list[i].flushNow();
  }
}

/** `c` queued a frame: inside `writeAtOnce`, it is written when that returns. */
export function noteWrite(c: Flushable): void {
  if (atOnce !== null && !atOnce.includes(c)) atOnce.push(c);
}

export class FlushScheduler {
  private pending: Flushable[] = [];
  private scheduled = false;
  private readonly delayed = new Map<number, { list: Flushable[]; timer: ReturnType<typeof setTimeout> | null }>();

  add(c: Flushable, now: number): void {
    const wait = c.coalesceMs();
    if (now - c.lastSendAt < wait) {
      let d = this.delayed.get(wait);
      if (d === undefined) {
        d = { list: [], timer: null };
        this.delayed.set(wait, d);
      }
      d.list.push(c);
      const slot = d;
      if (slot.timer === null) slot.timer = setTimeout(() => this.runDelayed(slot), wait);
      return;
    }
    this.pending.push(c);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const list = this.pending;
    this.pending = [];
    for (let i = 0; i < list.length; i++) list[i].runScheduledFlush();
  }

  private runDelayed(slot: { list: Flushable[]; timer: ReturnType<typeof setTimeout> | null }): void {
    slot.timer = null;
    const list = slot.list;
    slot.list = [];
    for (let i = 0; i < list.length; i++) list[i].runScheduledFlush();
  }
}

/** Most ms of the process's CPU time the fair queues' passes of one event-loop turn take, all
 *  nodes of the process together, before the passes not yet begun wait for the next turn (see
 *  the module comment). 2: a turn at the turn budget is 5 nodes × 16 frames × ≈ 10 µs ≈ 0.8 ms
 *  on bench:flood and stays whole; a catch-up turn (5 × 64) or one where the caches grow is
 *  split between turns. */
export const PASS_TURN_MS = 2;

/** The process's CPU time (user + system, every thread), ms: the pass deadline's clock. Not
 *  the wall clock: a process the machine preempts in the middle of a turn would find its
 *  deadline passed and serve less for it (a wall-clock deadline, measured, did that on
 *  bench:net at load 15–19: p50 454 ms against 12.5 ms at 1,000 msgs/s; docs/results.md, h35f). */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Something a pass may be run for (fair-queue.ts `FairInbound`). */
export interface Passable {
  /** Serve this turn's queued frames (the pass reschedules itself while frames wait). */
  pass(): void;
  /** The pass waits for the next turn: this turn's time is spent (counted). */
  deferred(): void;
}

/** The passes of the process's fair queues, one `setImmediate` per turn (see the module
 *  comment). The clock is a parameter for tests. */
export class PassScheduler {
  private pending: Passable[] = [];
  private scheduled = false;

  constructor(
    private readonly turnMs = PASS_TURN_MS,
    private readonly now: () => number = processCpuMs,
  ) {}

  /** Run `q`'s pass in the next turn, after those already waiting. */
  add(q: Passable): void {
    this.pending.push(q);
    this.arm();
  }

  private arm(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.run());
  }

  /** This turn's passes, each whole, until `turnMs` has gone by since the first began; the
   *  rest are the first of the next turn. */
  private run(): void {
    this.scheduled = false;
    const list = this.pending;
    this.pending = [];
    const deadline = this.now() + this.turnMs;
    for (let i = 0; i < list.length; i++) {
      if (i > 0 && this.now() >= deadline) {
        const rest = list.slice(i);
        for (const q of rest) q.deferred();
        this.pending = rest.concat(this.pending);
        this.arm();
        return;
      }
      list[i].pass();
    }
  }
}
/** The process's pass schedule (every node's fair queue shares it). */
export const PASSES = new PassScheduler();
