/**
 * The simulator's connection lists (see `SimEngine`): every node's list of connection entries
 * `[key, lastDelivery]` in one `Float64Array`, a block of `STRIDE` numbers per node, where
 * `key = peer · 8 + flags` (the flags `OUT`, `IN`, `FAIL` of sim-node.ts take 3 bits; node ids
 * stay below 50,000,000, so a key is below 2^29 and exact, and `key & 7`, `key >>> 3` read it).
 *
 * Why one array: a node's list is read on most events (every send scans it, connects and
 * disconnects scan both ends'), and at 10^5–10^6 nodes each read is a cache miss. As a JS
 * array per node it was two dependent misses (the array object, then its elements) after the
 * node object; here its address is computed from the node id, so the lines can be fetched at
 * once and the event loop can prefetch the next event's block (sim-engine.ts).
 *
 * Block of node x at `x * STRIDE`: `[count, base, cap, entries…]`; entries live at `base`
 * (`ENTRY` = 2 numbers each; 3 until 2026-12-07, when the peer and its flags were two numbers:
 * packed, a list of 6 entries and the header take 120 B, two cache lines, instead of 168 B,
 * three, and the table at 10^6 nodes 224 MB instead of 320 MB; docs/results.md, h30s). `base` is the block's own entry area (room for `INLINE_CAP` entries)
 * until the list outgrows it; then the entries move to a larger area appended at the end
 * of the array (twice the capacity; the old area is left unused). Measured in the bench
 * scenario (seed 1, every 50 ms of virtual time) at 3·10^4 and 10^5 nodes: most lists hold
 * 5–8 entries at their largest, none more than 12, so with `INLINE_CAP` = 12 no list moves
 * (with 7, 55 % had moved by the end of the join phase).
 *
 * Limits: every node id has its 224-byte block from the start, started or not (224 MB at
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
/** Numbers per entry: the key (peer · 8 + flags) and the time of the last delivery. */
export const ENTRY = 2;
/** Numbers per node block: header, `INLINE_CAP` entries and one unused number: 28 × 8 B =
 *  224 B, three and a half cache lines (JS cannot align the array's start to a line: the
 *  allocator's, glibc's, is 16 B past a page for an array this large). */
export const STRIDE = HEADER + ENTRY * INLINE_CAP + 1;

export class ConnTable {
  /** The numbers; replaced when an overflow area does not fit (re-read after `push`). */
  a: Float64Array;
  /** First unused number after the node blocks and overflow areas. */
  private end: number;

  constructor(readonly n: number) {
    if (n * 8 >= 2 ** 31) throw new Error(`ConnTable: ${n} nodes do not fit a 31-bit key (peer · 8 + flags)`);
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

  /** Index in `a` of node `x`'s first entry (entry k at `base + ENTRY·k`). */
  base(x: number): number {
    return this.a[x * STRIDE + 1];
  }

  /** The peer of the entry at index `i`. */
  peerAt(i: number): number {
    return this.a[i] >>> 3;
  }

  /** The flags of the entry at index `i`. */
  flags(i: number): number {
    return this.a[i] & 7;
  }

  /** Set the flags of the entry at index `i` to `f` (its peer unchanged). */
  setFlags(i: number, f: number): void {
    const a = this.a;
    a[i] = a[i] - (a[i] & 7) + f;
  }

  /** Index in `a` of `peer`'s entry in node `x`'s list, or -1. */
  find(x: number, peer: number): number {
    const a = this.a;
    const b = x * STRIDE;
    const i0 = a[b + 1];
    const end = i0 + ENTRY * a[b];
    for (let i = i0; i < end; i += ENTRY) if (a[i] >>> 3 === peer) return i;
    return -1;
  }

  /** Append the entry for `peer` with `flags` and last delivery `last` to node `x`'s list
   *  (`peer` a node id, `flags` below 8). */
  push(x: number, peer: number, flags: number, last: number): void {
    const b = x * STRIDE;
    let a = this.a;
    const c = a[b];
    if (c === a[b + 2]) a = this.grow(x);
    const i = a[b + 1] + ENTRY * c;
    a[i] = peer * 8 + flags;
    a[i + 1] = last;
    a[b] = c + 1;
  }

  /** Remove the entry at index `i` of node `x`'s list (the last entry takes its place). */
  remove(x: number, i: number): void {
    const a = this.a;
    const b = x * STRIDE;
    const c = a[b] - 1;
    const last = a[b + 1] + ENTRY * c;
    if (i !== last) {
      a[i] = a[last];
      a[i + 1] = a[last + 1];
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
    if (this.end + ENTRY * cap > this.a.length) {
      // Grow by an eighth of the node blocks, not by doubling: at 10^6 nodes they are 224 MB.
      const bigger = new Float64Array(Math.max(this.a.length + Math.ceil((this.n * STRIDE) / 8), this.end + ENTRY * cap));
      bigger.set(this.a);
      this.a = bigger;
    }
    const a = this.a;
    const from = a[b + 1];
    a.copyWithin(this.end, from, from + ENTRY * a[b]);
    a[b + 1] = this.end;
    a[b + 2] = cap;
    this.end += ENTRY * cap;
    return a;
  }
}
