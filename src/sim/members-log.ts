/**
 * The simulator's change log shared by every node's change queue (`SharedChangeLog`), and the
 * line-aligned arrays of the shared member table (`lineAligned`), for members-store.ts (split
 * from it for size; h35m).
 */
import type { ChangeLog } from '../proto/members/types.js';

/** Bytes in a WebAssembly page. */
const WASM_PAGE = 65536;
/** The most pages a WebAssembly memory may have (4 GiB). */
const WASM_MAX_PAGES = 65536;

/**
 * A zeroed `Int32Array` of `len` whose first element starts a 64-byte cache line, so that a
 * member's 64-byte block (`SharedMembers.mi`) is one line, not two. A plain typed array of
 * this size is not aligned: V8 takes its backing store from `calloc`, and glibc serves a large
 * one from its own `mmap` at 16 bytes past the page (seen with `node --allow-natives-syntax`,
 * `%DebugPrint`: `data_ptr` 0x…010), so every block straddled two lines — its count and
 * version ids in one, the states of its second and later versions (a failure wave's verdict,
 * adopted over the suspicion) in the next. A WebAssembly memory's buffer is whole pages, and
 * V8 maps it page-aligned. Each such memory reserves address space with its guard region
 * (≈ 10 GiB of `VmSize` per memory on Node 20, x64; nothing resident until touched), so
 * arrays of one page or less stay plain (a small table stays in the cache anyway), and where
 * a memory cannot be had (over 4 GiB, or refused) the array is plain too: the same values,
 * only slower.
 */
export function lineAligned(len: number): Int32Array {
  const pages = Math.ceil((len * 4) / WASM_PAGE);
  if (pages > 1 && pages <= WASM_MAX_PAGES) {
    try {
      return new Int32Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer, 0, len);
    } catch {
      // No memory of that size here: fall through.
    }
  }
  return new Int32Array(len);
}

/** `to` holding `from`'s elements first. */
function widened<A extends Int32Array | Float64Array>(from: A, to: A): A {
  to.set(from);
  return to;
}

/** Where a `SharedChangeLog` keeps each member's newest pair (-1: none). */
export interface NewestRefs {
  newestRef(m: number): number;
  setNewestRef(m: number, r: number): void;
}

/** A log's own newest-pair array (a log without a `SharedMembers`: tests). */
class OwnNewestRefs implements NewestRefs {
  private readonly at: Int32Array;
  constructor(n: number) {
    this.at = new Int32Array(n).fill(-1);
  }
  newestRef(m: number): number {
    return this.at[m];
  }
  setNewestRef(m: number, r: number): void {
    this.at[m] = r;
  }
}

/**
 * The change log every node's change queue shares (`ChangeLog`, src/proto/members/types.ts):
 * each (member, state) pair interned once, so a queued change is one 32-bit reference. Every
 * node queues the same changes (a failure wave's n/10 verdicts), so the log holds a few pairs
 * per member (alive at each incarnation it reached, failed, left) while the queues hold
 * hundreds of millions of references at 10^5 nodes. Append-only: a pair stays for the
 * simulation's life (16 bytes plus a 4-byte link each). Per member, a chain of its pairs,
 * newest first; the chain's head, each member's newest pair, is kept by `heads` — in the
 * simulator the last int32 of the member's block in `SharedMembers` (h35m): the common case of
 * a wave, every node queueing the verdict the first one interned right after adopting it,
 * reads the block line the adoption has just loaded and then the pair, among the wave's few
 * thousand newest (hot), instead of a 16-byte-per-member array at a random place (one cache
 * line more per adoption at 10^5 members; h34m's proposal, docs/results.md).
 */
export class SharedChangeLog implements ChangeLog<number> {
  /** Pair r: its member at `pair[2r]`, its state at `pair[2r + 1]` (a flush reads both: one
   *  cache line, where two arrays cost two misses per entry at 10^5 members). */
  private pair = new Float64Array(2048);
  /** The member's previous pair (-1: none). */
  private prev = new Int32Array(1024);
  private len = 0;
  private readonly heads: NewestRefs;

  constructor(
    readonly n: number,
    heads?: NewestRefs,
  ) {
    this.heads = heads ?? new OwnNewestRefs(n);
  }

  /** Pairs interned (memory figure). */
  get size(): number {
    return this.len;
  }

  ref(m: number, state: number): number {
    const known = m >= 0 && m < this.n;
    const newest = known ? this.heads.newestRef(m) : -1;
    if (newest >= 0) {
      for (let r = newest; r >= 0; r = this.prev[r]) if (this.pair[2 * r + 1] === state) return r;
    }
    if (this.len === this.prev.length) this.grow();
    const r = this.len++;
    this.pair[2 * r] = m;
    this.pair[2 * r + 1] = state;
    this.prev[r] = newest;
    if (known) this.heads.setNewestRef(m, r);
    return r;
  }
  member(r: number): number {
    return this.pair[2 * r];
  }
  state(r: number): number {
    return this.pair[2 * r + 1];
  }
  release(): void {
    // Shared by every queue: pairs stay (see above).
  }

  private grow(): void {
    const c = this.prev.length * 2;
    this.pair = widened(this.pair, new Float64Array(2 * c));
    this.prev = widened(this.prev, new Int32Array(c));
  }
}
