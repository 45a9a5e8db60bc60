/**
 * The transport's outbox (transport.ts): deliveries and neighbour events the protocol machine
 * produced during one machine call, handed to the application only after that call returns,
 * so that listeners may call back into the node freely.
 *
 * Four slots per entry in one flat array — `[id, payload, round, from]` for a delivery,
 * `[event, null, -1, null]` for an event — so there is no closure or object per delivery. The
 * array keeps its capacity between sessions (`length = 0` would drop its backing store, and
 * the next delivery would allocate a new one), up to `OUTBOX_KEEP` slots.
 *
 * Limits: a listener that throws is logged and skipped (the rest of the pass still runs);
 * entries added by listeners during a flush are handed out in that same pass.
 */
import type { MsgId, NodeEvent } from '../proto/types.js';
import type { Logger } from './util.js';

/** Outbox slots kept allocated between sessions (4 per delivery); beyond, it is released. */
const OUTBOX_KEEP = 1024;

/** Where the outbox hands its entries (the transport's options). */
export interface OutboxSink {
  onDeliver(id: MsgId, payload: Uint8Array, round: number, from: string | null): void;
  onEvent(e: NodeEvent<string>): void;
  logger: Logger;
}

/** Deliveries and events waiting for the end of the current machine call (see above). */
export class Outbox {
  private readonly out: unknown[] = [];
  /** Slots of `out` in use. */
  private len = 0;
  private flushing = false;

  constructor(private readonly o: OutboxSink) {}

  /** Queue a delivery (`round` ≥ 0) or an event (`a` the event, `b` null, `round` -1). */
  push(a: unknown, b: Uint8Array | null, round: number, from: string | null): void {
    const o = this.out;
    const n = this.len;
    if (n === o.length) o.push(a, b, round, from);
    else {
      o[n] = a;
      o[n + 1] = b;
      o[n + 2] = round;
      o[n + 3] = from;
    }
    this.len = n + 4;
  }

  /** Hand every queued entry to the application (no-op when called from a listener). */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      const out = this.out;
      // Entries added by listeners meanwhile are handed out in this same pass.
      for (let i = 0; i < this.len; i += 4) {
        try {
          if (out[i + 2] === -1) this.o.onEvent(out[i] as NodeEvent<string>);
          else this.o.onDeliver(out[i] as MsgId, out[i + 1] as Uint8Array, out[i + 2] as number, out[i + 3] as string | null);
        } catch (err) {
          this.o.logger.error({ err: err instanceof Error ? err.stack ?? err.message : String(err) }, 'rumor: listener threw');
        }
      }
      // Keep the capacity, drop the references (payloads must not outlive their cache entry);
      // after a large burst, release the array instead.
      if (this.len > OUTBOX_KEEP) out.length = 0;
      else out.fill(undefined, 0, this.len);
      this.len = 0;
    } finally {
      this.flushing = false;
    }
  }
}
