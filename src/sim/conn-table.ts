/**
 * The simulator's connection lists (see `SimEngine`): every node's list of connection entries
 * `[peer, flags, lastDelivery]` in one `Float64Array`, a block of `STRIDE` numbers per node.
 *
 * Why one array: a node's list is read on most events (every send scans it, connects and
 * disconnects scan both ends'), and at 10^5–10^6 nodes each read is a cache miss. As a JS
 * array per node it was two dependent misses (the array object, then its elements) after the
 * node object; here its address is computed from the node id, so the lines can be fetched at
 * once and the event loop can prefetch the next event's block (sim-engine.ts).
 *
 * Block of node x at `x * STRIDE`: `[count, base, cap, entries…]`; entries live at `base`
 * (3 numbers each). `base` is the block's own entry area (room for `INLINE_CAP` entries)
 * until the list outgrows it; then the entries move to a larger area appended at the end
 * of the array (twice the capacity; the old area is left unused). Measured in the bench
 * scenario (seed 1, every 50 ms of virtual time) at 3·10^4 and 10^5 nodes: most lists hold
 * 5–8 entries at their largest, none more than 12, so with `INLINE_CAP` = 12 no list moves
 * (with 7, 55 % had moved by the end of the join phase).
 *
 * Limits: every node id has its 320-byte block from the start, started or not (320 MB at
 * 10^6 nodes); an overflow area is never given back (a list that grew past its block and
 * shrank keeps the larger area), and moving a list past the spare room copies the array.
 *
 * The operations are those of the earlier per-node arrays, in the same order (append at the
 * end, remove by swapping in the last entry), so iteration order — and with it the order of
 * the events scheduled while iterating — is unchanged.
 */

/** Entries held in a node's own block before it moves to a larger area. 12 since
 *  2026-12-07 (was 7): in the bench scenario at 3·10^4 nodes 55 % of the lists passed 7
 *  entries at some time of the join phase (the largest 12) and stayed in an overflow area,
 *  where every scan paid a second cache miss (the area is elsewhere in the array, and the
 *  event loop loads only the block ahead); see docs/results.md (h29s). */
const INLINE_CAP = 12;
const HEADER = 3;
/** Numbers per node block: header, `INLINE_CAP` entries and one unused number: 40 × 8 B =
 *  320 B, five cache lines' worth (JS cannot align the array's start to a line: the
 *  allocator's, glibc's, is 16 B past a page for an array this large). */
export const STRIDE = HEADER + 3 * INLINE_CAP + 1;

export class ConnTable {
  /** The numbers; replaced when an overflow area does not fit (re-read after `push`). */
  a: Float64Array;
  /** First unused number after the node blocks and overflow areas. */
  private end: number;

  constructor(readonly n: number) {
    // Room for overflow areas from the start: 1/16 of the blocks (~3 % of the nodes moved).
    this.a = new Float64Array(n * STRIDE + Math.ceil((n * STRIDE) / 16));
    this.end = n * STRIDE;
    const a = this.a;
    for (let x = 0, b = 0; x < n; x++, b += STRIDE) {
      a[b + 1] = b + HEADER;
      a[b + 2] = INLINE_CAP;
    }
  }

  /** Number of entries of node `x`. */
  count(x: number): number {
    return this.a[x * STRIDE];
  }

  /** Index in `a` of node `x`'s first entry (entry k at `base + 3k`). */
  base(x: number): number {
    return this.a[x * STRIDE + 1];
  }

  /** Index in `a` of `peer`'s entry in node `x`'s list, or -1. */
  find(x: number, peer: number): number {
    const a = this.a;
    const b = x * STRIDE;
    const i0 = a[b + 1];
    const end = i0 + 3 * a[b];
    for (let i = i0; i < end; i += 3) if (a[i] === peer) return i;
    return -1;
  }

  /** Append the entry `[peer, flags, last]` to node `x`'s list. */
  push(x: number, peer: number, flags: number, last: number): void {
    const b = x * STRIDE;
    let a = this.a;
    const c = a[b];
    if (c === a[b + 2]) a = this.grow(x);
    const i = a[b + 1] + 3 * c;
    a[i] = peer;
    a[i + 1] = flags;
    a[i + 2] = last;
    a[b] = c + 1;
  }

  /** Remove the entry at index `i` of node `x`'s list (the last entry takes its place). */
  remove(x: number, i: number): void {
    const a = this.a;
    const b = x * STRIDE;
    const c = a[b] - 1;
    const last = a[b + 1] + 3 * c;
    if (i !== last) {
      a[i] = a[last];
      a[i + 1] = a[last + 1];
      a[i + 2] = a[last + 2];
    }
    a[b] = c;
  }

  /** Empty node `x`'s list (it crashed; a restart starts with no connection). */
  clear(x: number): void {
    this.a[x * STRIDE] = 0;
  }

  /** Move node `x`'s entries to an area of twice its capacity at the end of the array. */
  private grow(x: number): Float64Array {
    const b = x * STRIDE;
    const cap = 2 * this.a[b + 2];
    if (this.end + 3 * cap > this.a.length) {
      // Grow by an eighth of the node blocks, not by doubling: at 10^6 nodes they are 320 MB.
      const bigger = new Float64Array(Math.max(this.a.length + Math.ceil((this.n * STRIDE) / 8), this.end + 3 * cap));
      bigger.set(this.a);
      this.a = bigger;
    }
    const a = this.a;
    const from = a[b + 1];
    a.copyWithin(this.end, from, from + 3 * a[b]);
    a[b + 1] = this.end;
    a[b + 2] = cap;
    this.end += 3 * cap;
    return a;
  }
}
