/**
 * A bounded async-iterator subscription to deliveries. A consumer slower than the network
 * never makes the node buffer without bound: when its buffer is full the oldest delivery is
 * dropped, and the number dropped is reported once per burst through a `lagged` callback.
 */

/** One broadcast as delivered to the application. */
export interface Delivery {
  /** Content-derived message id (hex; see `messageIdFor`). */
  id: string;
  /** Channel the message was broadcast on. */
  channel: string;
  /** Advertised address of the node that broadcast it. */
  origin: string;
  /** The origin's per-node sequence number. */
  seq: number;
  /** Application payload. Read-only: it is a view into the bytes received, which the node also
   *  keeps (to answer GRAFTs) and forwards — copy it before modifying it. */
  data: Uint8Array;
  /** Hops travelled: 0 for the node's own broadcasts, 1 at the origin's neighbours, ... */
  hops: number;
  /** Local wall-clock time of delivery (ms since the Unix epoch). */
  receivedAt: number;
}

/** An async iterator over deliveries that can be closed by the consumer. */
export interface DeliveryStream extends AsyncIterableIterator<Delivery> {
  /** Stop the subscription; pending and later `next()` calls resolve `done`. */
  close(): void;
}

/** The `DeliveryStream` returned by `RumorNode.subscribe` (bounded, drops oldest on overflow). */
export class Subscription implements DeliveryStream {
  private buf: Delivery[] = [];
  private head = 0;
  private waiters: Array<(r: IteratorResult<Delivery>) => void> = [];
  private closed = false;
  private missed = 0;
  private lagPending = false;

  constructor(
    /** Channel filter; `undefined` receives every channel. */
    readonly channel: string | undefined,
    private readonly bufferSize: number,
    private readonly onLagged: (missed: number) => void,
    private readonly onClosed: (s: Subscription) => void,
  ) {}

  /** Offer a delivery (ignored if it is for another channel). */
  push(d: Delivery): void {
    if (this.closed || (this.channel !== undefined && d.channel !== this.channel)) return;
    const w = this.waiters.shift();
    if (w !== undefined) {
      w({ value: d, done: false });
      return;
    }
    this.buf.push(d);
    if (this.buf.length - this.head > this.bufferSize) {
      this.head++;
      this.missed++;
      if (this.head > 1024 && this.head * 2 > this.buf.length) {
        this.buf = this.buf.slice(this.head);
        this.head = 0;
      }
      this.scheduleLagged();
    }
  }

  /** Drop buffered, not yet consumed deliveries of `channel` (a channel reset). */
  dropChannel(channel: string): void {
    this.buf = this.buf.slice(this.head).filter((d) => d.channel !== channel);
    this.head = 0;
  }

  next(): Promise<IteratorResult<Delivery>> {
    if (this.head < this.buf.length) {
      const value = this.buf[this.head];
      this.buf[this.head++] = undefined as unknown as Delivery;
      if (this.head === this.buf.length) {
        this.buf = [];
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<Delivery>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buf = [];
    this.head = 0;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
    this.onClosed(this);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Delivery> {
    return this;
  }

  /** Report the drops of one synchronous burst as a single `lagged` event. */
  private scheduleLagged(): void {
    if (this.lagPending) return;
    this.lagPending = true;
    queueMicrotask(() => {
      this.lagPending = false;
      const n = this.missed;
      this.missed = 0;
      if (n > 0) this.onLagged(n);
    });
  }
}
