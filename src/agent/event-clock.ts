/**
 * The user-event Lamport clock between two snapshot writes: `<dataDir>/event-clock`, one
 * fixed-width record (16 decimal digits and a newline) rewritten in place.
 *
 * Why a file of its own: the restart snapshot (snapshot.ts) holds the clock too, but a snapshot
 * write is the whole state — the member list sorted for its peers, JSON, a temporary file,
 * fsync, a synchronous rename — and every user event advanced the clock, so every agent wrote
 * one per event (at most one per 500 ms). Measured at N = 50 (`npm run bench:event-timeline --
 * --log-level warn`, with and without `--no-data-dir`, load 25–54): the fleet's CPU per event
 * 264–265 ms with the snapshot writes, 194–198 ms without; 100 fsyncs a second on the disk.
 * Here an advance costs nothing on the event's path: one 17-byte `pwrite` through the thread
 * pool, at most one per `EVENT_CLOCK_WRITE_GAP_MS`, no fsync while running (fsync on stop).
 * The snapshot still saves the clock whenever it is written (member changes, tags, every 5 s
 * when something changed, on stop); a restart starts at the larger of the two.
 *
 * Limits (as Serf's snapshot, which appends `event-clock:` lines through a buffered writer
 * flushed every 500 ms and fsyncs only on leave, compaction and shutdown): a crash of the
 * agent loses the advances of the last `EVENT_CLOCK_WRITE_GAP_MS`; a crash of the machine may
 * lose what the kernel had not written back. Events in that window may be delivered again
 * after the restart. A record that does not parse is reported as a reason and ignored (the
 * snapshot's clock is used), never thrown.
 */
import { closeSync, constants, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, write, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The file's name in the data dir. */
export const EVENT_CLOCK_FILE = 'event-clock';
/** Least time between two writes of the clock while events arrive: Serf's snapshot
 *  `flushInterval` (serf/snapshot.go, 500 ms); the snapshot itself is written at most every 2 s
 *  (`SNAPSHOT_MIN_GAP_MS`), so this file bounds what a crash loses of the clock. */
export const EVENT_CLOCK_WRITE_GAP_MS = 500;
/** Digits of a record: `Number.MAX_SAFE_INTEGER` has 16. */
const DIGITS = 16;
const RECORD = DIGITS + 1;

/** Read the clock saved in `dir`: 0 when there is no file; a reason when it does not parse. */
export function readEventClock(dir: string): { ok: true; ltime: number } | { ok: false; reason: string } {
  const path = join(dir, EVENT_CLOCK_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { ok: true, ltime: 0 } : { ok: false, reason: `${path}: cannot read: ${code ?? String(err)}` };
  }
  if (!/^[0-9]{16}\n$/.test(text)) return { ok: false, reason: `${path}: expected ${DIGITS} digits and a newline, got ${text.length} bytes` };
  const ltime = Number(text.slice(0, DIGITS));
  return Number.isSafeInteger(ltime) ? { ok: true, ltime } : { ok: false, reason: `${path}: ${ltime} is above the largest safe integer` };
}

/** At start: the clock to start at — the larger of `dir`'s clock file and the snapshot's
 *  (`fromSnapshot`) — and the writer that keeps the file (null without a data dir, or when the
 *  file cannot be opened: the snapshot then saves the clock alone). Problems are logged. */
export function openEventClock(
  dir: string | undefined,
  fromSnapshot: number,
  log: { warn(o: object, m: string): void; error(o: object, m: string): void },
): { ltime: number; writer: EventClockWriter | null } {
  if (dir === undefined) return { ltime: fromSnapshot, writer: null };
  const r = readEventClock(dir);
  if (!r.ok) log.warn({ reason: r.reason }, "event clock file ignored: using the snapshot's");
  const ltime = Math.max(fromSnapshot, r.ok ? r.ltime : 0);
  const w = EventClockWriter.open(dir, ltime, (err) => log.error({ dataDir: dir, err: err.message }, 'cannot write the event clock'));
  if (!('error' in w)) return { ltime, writer: w };
  log.error({ reason: w.error }, 'event clock file: the clock is saved with the snapshot only');
  return { ltime, writer: null };
}

/** Keeps `<dir>/event-clock` at the clock `advance` was given, lazily (see the module comment). */
export class EventClockWriter {
  private readonly buf = Buffer.alloc(RECORD);
  private wanted: number;
  private saved: number;
  private timer: NodeJS.Timeout | null = null;
  private writing = false;
  private lastAt = 0;
  private closed = false;

  private constructor(
    private readonly fd: number,
    ltime: number,
    private readonly onError: (err: Error) => void,
  ) {
    this.wanted = this.saved = ltime;
  }

  /** Open (create) the file in `dir`, holding `ltime`; a reason when it cannot be opened. */
  static open(dir: string, ltime: number, onError: (err: Error) => void): EventClockWriter | { error: string } {
    let fd: number;
    try {
      mkdirSync(dir, { recursive: true });
      fd = openSync(join(dir, EVENT_CLOCK_FILE), constants.O_RDWR | constants.O_CREAT, 0o600);
      ftruncateSync(fd, RECORD); // a longer (corrupt) file must not keep a tail after the record
    } catch (err) {
      return { error: `${join(dir, EVENT_CLOCK_FILE)}: cannot open: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
    const w = new EventClockWriter(fd, ltime, onError);
    w.writeNow(true);
    return w;
  }

  /** The clock is now `ltime` (lower values are ignored): written within the gap. */
  advance(ltime: number): void {
    if (this.closed || ltime <= this.wanted) return;
    this.wanted = ltime;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.writing) return;
    const wait = Math.max(0, this.lastAt + EVENT_CLOCK_WRITE_GAP_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writeNow(false);
    }, wait);
    this.timer.unref();
  }

  /** Write the clock synchronously, fsync, close (on stop). Later calls do nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.writeFinal();
    // A write still in the thread pool holds an older value and may land after this one: its
    // callback writes the final value again before closing the file.
    if (!this.writing) closeSync(this.fd);
  }

  private writeFinal(): void {
    try {
      const b = Buffer.alloc(RECORD);
      this.fill(b, this.wanted);
      writeSync(this.fd, b, 0, RECORD, 0);
      fsyncSync(this.fd);
    } catch (err) {
      this.onError(err as Error);
    }
  }

  private fill(b: Buffer, ltime: number): void {
    b.write(String(ltime).padStart(DIGITS, '0'), 0, 'latin1');
    b[DIGITS] = 0x0a;
  }

  private writeNow(sync: boolean): void {
    const v = this.wanted;
    this.fill(this.buf, v); // never while a write of `buf` is in the thread pool (`writing`)
    this.lastAt = Date.now();
    if (sync) {
      try {
        writeSync(this.fd, this.buf, 0, RECORD, 0);
        this.saved = v;
      } catch (err) {
        this.onError(err as Error);
      }
      return;
    }
    this.writing = true;
    write(this.fd, this.buf, 0, RECORD, 0, (err) => {
      this.writing = false;
      if (this.closed) {
        this.writeFinal();
        return closeSync(this.fd);
      }
      if (err) return this.onError(err); // tried again at the next advance
      this.saved = v;
      if (this.wanted > this.saved) this.schedule();
    });
  }
}
