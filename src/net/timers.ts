/**
 * Protocol timers of the TCP runtime, and the event-loop lag they reveal.
 *
 * Timer queues. The machines set many timers with a handful of distinct delays (IHAVE flush,
 * timeout1, timeout2, cache GC, ...), and cannot cancel them. Timers of one delay are due in
 * the order they were set (the clock is monotonic), so each delay gets one FIFO queue with a
 * single Node timer armed for its head: setting a timer is two array pushes instead of a
 * `Timeout` object, a closure and a `Set` entry, and every timer of a queue that is due fires
 * in one pass (one machine session, see `Transport.fireTimers`).
 *
 * Loop lag. Node runs due timers at the start of a loop turn, before it reads the sockets, so
 * how late a timer fires measures how long the previous turn took. `LoopLag` keeps the latest
 * lateness seen by any queue of the process (the nodes of one process share one event loop).
 * The runtime uses it to hold back GRAFTs while the loop is behind (`HeldTimers`): a
 * missing-message timer that fires late most likely expired because the payload is still
 * sitting in a socket buffer or in the sender's queue, not because the tree is broken.
 */
import type { Timer } from '../proto/types.js';
import { consumeFifo } from './util.js';

/** A firing later than this after its due time means the event loop is behind. Own choice:
 *  an unloaded Node loop fires timers within 1–2 ms. */
export const LAG_MS = 5;
/** The loop counts as behind for this long after a late firing (own choice: several turns of a
 *  loaded loop, so that one turn that happens to be on time does not release every held GRAFT
 *  while the backlog — here or in a peer's process — is still being worked off). */
const LAG_WINDOW_MS = 100;

/** Event-loop lag seen in this process (shared by every node in it). */
export class LoopLag {
  private lateAt = -Infinity;

  /** Record that something due at `due` ran at `now`. */
  sample(due: number, now: number): void {
    if (now - due > LAG_MS) this.lateAt = now;
  }

  /** True if something fired more than `LAG_MS` late within the last `LAG_WINDOW_MS`. */
  lagging(now: number): boolean {
    return now - this.lateAt <= LAG_WINDOW_MS;
  }
}

/** The process-wide lag monitor. */
export const LOOP_LAG = new LoopLag();

interface Queue<P> {
  timers: Timer<P>[];
  dues: number[];
  head: number;
  handle: ReturnType<typeof setTimeout> | null;
}

/** Timers by delay (see the module comment). `fire` gets every due timer of one queue. */
export class TimerQueues<P> {
  private readonly queues = new Map<number, Queue<P>>();
  private closed = false;

  constructor(
    private readonly now: () => number,
    private readonly fire: (timers: Timer<P>[], dues: number[]) => void,
  ) {}

  /** Fire `t` at `due` (= now + `delayMs`, computed by the caller on its clock). */
  add(delayMs: number, due: number, t: Timer<P>): void {
    if (this.closed) return;
    let q = this.queues.get(delayMs);
    if (q === undefined) {
      q = { timers: [], dues: [], head: 0, handle: null };
      this.queues.set(delayMs, q);
    }
    q.timers.push(t);
    q.dues.push(due);
    if (q.handle === null) this.arm(q);
  }

  /** Timers waiting (all queues). */
  size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.timers.length - q.head;
    return n;
  }

  /** Drop every timer; nothing fires after this. */
  close(): void {
    this.closed = true;
    for (const q of this.queues.values()) if (q.handle !== null) clearTimeout(q.handle);
    this.queues.clear();
  }

  private arm(q: Queue<P>): void {
    const wait = Math.max(0, q.dues[q.head] - this.now());
    q.handle = setTimeout(() => this.run(q), wait);
  }

  private run(q: Queue<P>): void {
    q.handle = null;
    if (this.closed) return;
    // Node may fire up to ~1 ms early by performance.now() (its loop clock is cached): take
    // what is due within that; the caller makes sure the machine never sees an early `now`.
    const now = this.now();
    LOOP_LAG.sample(q.dues[q.head], now);
    const limit = now + 1;
    let i = q.head;
    while (i < q.timers.length && q.dues[i] <= limit) i++;
    if (i === q.head) {
      // Fired earlier than that: nothing is due yet. Wait again; no empty batch for `fire`.
      this.arm(q);
      return;
    }
    const timers = q.timers.slice(q.head, i);
    const dues = q.dues.slice(q.head, i);
    q.head = consumeFifo([q.timers, q.dues], q.head, i, undefined);
    if (q.head < q.timers.length) this.arm(q);
    this.fire(timers, dues);
  }
}

type MissingTimer<P> = Extract<Timer<P>, { type: 'pt-missing' }>;

/** Period of the check of held timers (ms). Was 1 ms (one check per loop turn): an agent
 *  holding a timer then woke about once a millisecond for as long as its loop lagged. Measured
 *  (`npm run bench:event-timeline -- --nodes 50 --events 2 --queries 8`, 50 agents on 2 cores,
 *  load 16–31, four alternated pairs; docs/results.md, h31p): the fleet's main-thread wake-ups
 *  per query 534–623 against 625–693 with 1 ms. The loop counts as behind for `LAG_WINDOW_MS`
 *  (100 ms) after its last late firing, so a 10 ms check releases at most 10 ms after that. */
const HELD_CHECK_MS = 10;
/** Held timers released per check once past their bound while the loop is still behind. Own
 *  choice: one GRAFT per node per millisecond under overload (one per check when the check ran
 *  every loop turn, ~1 ms): the same rate, in batches of `HELD_CHECK_MS`. */
const RELEASE_PER_CHECK = HELD_CHECK_MS;

/**
 * Overload control for Plumtree's missing-message timers (timeout1/timeout2, which GRAFT).
 * While the event loop runs behind, such a timer most likely expired because the payload
 * sits unread in a socket buffer or in a busy sender's queue, not because the tree is
 * broken. Grafting then fetches a duplicate payload, and the duplicates add load: under
 * overload every message gets grafted (a GRAFT storm: 26,630 GRAFTs for 20,000 messages at
 * 10,000/s in bench/net.ts). So `hold` puts the timer off: a check every `HELD_CHECK_MS` (a
 * timer, which runs after the poll of the sockets) looks at every held timer at once,
 * and releases them all as soon as the loop is on time again. A timer is held at most `capMs`
 * past its due time (the runtime passes `heartbeatTimeoutMs`: a GRAFT is never held longer
 * than the failure detector takes to declare a dead eager link, whose repair does not wait
 * for timers); past that, while the loop is still behind, held timers are released
 * `RELEASE_PER_CHECK` per check — repair goes on at a bounded rate instead of all at once.
 * The machine sees each timer unchanged when it finally fires, and grafts then: this is the
 * only place that treats a late timer specially (Plumtree itself, being sans-IO, does not look
 * at lateness; the simulator fires every timer on time).
 */
export class HeldTimers<P> {
  private held: MissingTimer<P>[] = [];
  /** Earliest `due` among the held timers (Infinity when none): while the loop lags and this
   *  is not past the bound, a check has nothing to release and does not scan the list (it can
   *  hold thousands of timers, checked every millisecond). */
  private minDue = Infinity;
  private check: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly now: () => number,
    private readonly capMs: number,
    private readonly release: (timers: MissingTimer<P>[]) => void,
  ) {}

  /** Hold `t` (fired at `now`, while the loop lags); false if it is past its bound. */
  hold(t: MissingTimer<P>, now: number): boolean {
    if (this.closed || now - t.due >= this.capMs) return false;
    this.held.push(t);
    if (t.due < this.minDue) this.minDue = t.due;
    if (this.check === null) this.arm(now);
    return true;
  }

  /** Drop every held timer. */
  close(): void {
    this.closed = true;
    if (this.check !== null) clearTimeout(this.check);
    this.check = null;
    this.held = [];
    this.minDue = Infinity;
  }

  private arm(now: number): void {
    const due = now + HELD_CHECK_MS;
    this.check = setTimeout(() => this.run(due), HELD_CHECK_MS);
  }

  private run(due: number): void {
    this.check = null;
    if (this.closed) return;
    const at = this.now();
    LOOP_LAG.sample(due, at);
    if (!LOOP_LAG.lagging(at)) {
      const out = this.held;
      this.held = [];
      this.minDue = Infinity;
      if (out.length > 0) this.release(out);
      return;
    }
    if (at - this.minDue < this.capMs) {
      this.arm(at); // still behind, nothing past its bound yet
      return;
    }
    const out: MissingTimer<P>[] = [];
    let kept = 0;
    let budget = RELEASE_PER_CHECK;
    let minDue = Infinity;
    for (const t of this.held) {
      if (at - t.due >= this.capMs && budget-- > 0) out.push(t);
      else {
        this.held[kept++] = t;
        if (t.due < minDue) minDue = t.due;
      }
    }
    this.held.length = kept;
    this.minDue = minDue;
    if (kept > 0) this.arm(at);
    if (out.length > 0) this.release(out);
  }
}
