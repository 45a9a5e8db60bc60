/**
 * The write-flush schedule shared by every connection of the process (connection.ts): one
 * `setImmediate` per event-loop turn flushes the connections with frames waiting, and one timer
 * per coalescing delay (plaintext, sealed) flushes the busy ones (that wrote within their
 * delay) once it has passed. Moved out of connection.ts unchanged; `writeAtOnce` (h30f) writes
 * what a call queued when it returns instead.
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
