/**
 * The write-flush schedule shared by every connection of the process (connection.ts): one
 * `setImmediate` per event-loop turn flushes the connections with frames waiting, and one timer
 * per coalescing delay (plaintext, sealed) flushes the busy ones (that wrote within their
 * delay) once it has passed. Moved out of connection.ts unchanged.
 */

/** What the schedule needs of a connection. */
export interface Flushable {
  lastSendAt: number;
  /** The connection's coalescing delay (ms). */
  coalesceMs(): number;
  runScheduledFlush(): void;
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
