/**
 * The detector's list of members failed here lately (pings to the dead, detector.ts): oldest
 * first, at most `cap` entries, each with the time it failed. A ring buffer with a member →
 * presence set, because a failure wave appends an entry (and drops the oldest) for every
 * failure a node adopts — at 10^4 nodes, 10 % crashed, the array version (`indexOf`, two
 * `splice(0, 1)` per adoption) was 15 % of the wave's CPU. Removing an entry from the middle
 * (a member back alive, or no longer failed at its turn) shifts the entries after it: rare.
 * Indices are logical, 0 = oldest. `turn` is a round robin's place (the index of the next entry
 * to visit), kept in step by `removeAt`.
 *
 * Presence: for numeric members (the simulator's node ids) a count per `m & FILTER_MASK`, so
 * the common question of a wave, "is this newly failed member listed?", is one typed-array
 * read (a zero: no) instead of a `Set` lookup, and appending or dropping costs no hash-table
 * churn (measured, 5,000 nodes, 10 % crashed: the `Set` operations were 6.6 % of the wave's
 * CPU); a non-zero count is confirmed by a search of the ≤ cap entries. Other members (the
 * agent's address strings) use a `Set`.
 */
/** Slots of the numeric presence filter (a power of two; 16 × the detector's cap of 64). */
const FILTER_SLOTS = 1024;
const FILTER_MASK = FILTER_SLOTS - 1;

export class DeadList<P> {
  private readonly ids: (P | undefined)[];
  private readonly at: Float64Array;
  private readonly present = new Set<P>();
  private readonly counts = new Uint16Array(FILTER_SLOTS);
  private first = 0;
  private count = 0;
  /** The round robin's next index (may equal `length`: the caller wraps it). */
  turn = 0;

  constructor(private readonly cap: number) {
    this.ids = new Array<P | undefined>(cap + 1).fill(undefined);
    this.at = new Float64Array(cap + 1);
  }

  get length(): number {
    return this.count;
  }

  has(m: P): boolean {
    return this.indexOf(m) >= 0;
  }

  /** Logical index of `m`, or -1. */
  indexOf(m: P): number {
    if (typeof m === 'number' ? this.counts[m & FILTER_MASK] === 0 : !this.present.has(m)) return -1;
    for (let i = 0; i < this.count; i++) if (this.ids[this.slot(i)] === m) return i;
    return -1;
  }

  private mark(m: P, d: 1 | -1): void {
    if (typeof m === 'number') this.counts[m & FILTER_MASK] += d;
    else if (d > 0) this.present.add(m);
    else this.present.delete(m);
  }

  member(i: number): P {
    return this.ids[this.slot(i)]!;
  }

  failedAt(i: number): number {
    return this.at[this.slot(i)];
  }

  /** Append `m` (newest); the caller keeps the length within `cap` (one over is allowed, for
   *  the caller to drop the oldest with its round-robin bookkeeping). */
  push(m: P, now: number): void {
    if (this.count > this.cap) throw new Error('DeadList: over capacity');
    const s = this.slot(this.count);
    this.ids[s] = m;
    this.at[s] = now;
    this.count++;
    this.mark(m, 1);
  }

  /** Remove entry `i`; the entries after it move down by one. */
  removeAt(i: number): void {
    if (i < this.turn) this.turn--;
    const m = this.ids[this.slot(i)]!;
    this.mark(m, -1);
    if (i === 0) {
      this.ids[this.first] = undefined;
      this.first = (this.first + 1) % this.ids.length;
    } else {
      for (let j = i; j < this.count - 1; j++) {
        const a = this.slot(j);
        const b = this.slot(j + 1);
        this.ids[a] = this.ids[b];
        this.at[a] = this.at[b];
      }
      this.ids[this.slot(this.count - 1)] = undefined;
    }
    this.count--;
  }

  private slot(i: number): number {
    return (this.first + i) % this.ids.length;
  }
}
