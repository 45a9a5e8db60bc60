/**
 * The detector's list of members failed here lately (pings to the dead, detector.ts): oldest
 * first, at most `cap` entries, each with the time it failed. A ring buffer, because a failure
 * wave appends an entry (and drops the oldest) for every failure a node adopts — at 10^4
 * nodes, 10 % crashed, the array version (`indexOf`, two `splice(0, 1)` per adoption) was 15 %
 * of the wave's CPU. Its slots are a power of two (an index is a mask, not a division).
 * Removing an entry from the middle (a member back alive, or no longer failed at its turn)
 * shifts the entries after it: rare. Indices are logical, 0 = oldest. `turn` is a round
 * robin's place (the index of the next entry to visit), kept in step by `removeAt`.
 *
 * Presence (`indexOf`): numeric members (the simulator's node ids) are searched in the ≤ cap
 * entries; other members (the agent's address strings) are first looked up in a `Set`. The
 * wave's appends and drops touch nothing but the ring: its searches are rare (dead-pings.ts
 * `changed` skips them for a member held `alive`, which is in neither list). h33m removed the
 * numeric presence filter (a 2 KB count array per list, two per node): its counts were written
 * on every append and drop, a cache miss each at 10^4 nodes (measured, `--cpu-prof` of
 * `bench:members -- --nodes 10000`: the counter's update alone 2.2 % of the wave's CPU), and
 * it held 400 MB at 10^5 nodes.
 */
export class DeadList<P> {
  private readonly ids: (P | undefined)[];
  private readonly at: Float64Array;
  private readonly present = new Set<P>();
  /** Slots − 1 (slots: the smallest power of two over `cap`). */
  private readonly mask: number;
  private first = 0;
  private count = 0;
  /** The round robin's next index (may equal `length`: the caller wraps it). */
  turn = 0;

  constructor(private readonly cap: number) {
    const slots = 2 ** Math.ceil(Math.log2(cap + 1));
    this.mask = slots - 1;
    this.ids = new Array<P | undefined>(slots).fill(undefined);
    this.at = new Float64Array(slots);
  }

  get length(): number {
    return this.count;
  }

  has(m: P): boolean {
    return this.indexOf(m) >= 0;
  }

  /** Logical index of `m`, or -1. */
  indexOf(m: P): number {
    if (typeof m !== 'number' && !this.present.has(m)) return -1;
    for (let i = 0; i < this.count; i++) if (this.ids[(this.first + i) & this.mask] === m) return i;
    return -1;
  }

  member(i: number): P {
    return this.ids[(this.first + i) & this.mask]!;
  }

  failedAt(i: number): number {
    return this.at[(this.first + i) & this.mask];
  }

  /** Append `m` (newest); the caller keeps the length within `cap` (one over is allowed, for
   *  the caller to drop the oldest with its round-robin bookkeeping). */
  push(m: P, now: number): void {
    if (this.count > this.cap) throw new Error('DeadList: over capacity');
    const s = (this.first + this.count) & this.mask;
    this.ids[s] = m;
    this.at[s] = now;
    this.count++;
    if (typeof m !== 'number') this.present.add(m);
  }

  /** Remove entry `i`; the entries after it move down by one. */
  removeAt(i: number): void {
    if (i < this.turn) this.turn--;
    const mask = this.mask;
    const m = this.ids[(this.first + i) & mask]!;
    if (typeof m !== 'number') this.present.delete(m);
    if (i === 0) {
      this.ids[this.first] = undefined;
      this.first = (this.first + 1) & mask;
    } else {
      for (let j = i; j < this.count - 1; j++) {
        const a = (this.first + j) & mask;
        const b = (this.first + j + 1) & mask;
        this.ids[a] = this.ids[b];
        this.at[a] = this.at[b];
      }
      this.ids[(this.first + this.count - 1) & mask] = undefined;
    }
    this.count--;
  }
}
