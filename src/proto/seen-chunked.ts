/**
 * The chunked form of a large `SeenCache` (seen.ts; h36f): past `CHUNK` entries its ring is a
 * list of chunks of `CHUNK` entries, and its id index `SHARDS` `Map`s by the id's last
 * character, so that no add copies the whole ring or rehashes the whole index. A flat ring's
 * growth at 58,839 entries cost 2–3 ms and the one `Map`'s rehash at 32,768 1–2.4 ms (h35f, a
 * /tmp micro-benchmark), five caches of one process in the same turn; a chunk costs two
 * 64 KiB allocations and a shard's rehash 1/16 of the whole. A runtime node under load gets
 * here, a simulated node never does (its cache holds a handful of ids).
 *
 * Entry slot `s` (the cache's `head + i` for its `i`-th oldest entry; `head` is in the first
 * chunk) is at `2 × (s & CHUNK_MASK)` of chunk `s >>> CHUNK_BITS`, two slots in `r` (id,
 * payload reference) and two in `n` (time first seen, round and span), as the flat ring's
 * `refs` and `nums`. When the first chunk empties it is dropped, or kept as the spare at the
 * end while the last chunk has less than a chunk's room.
 */
import type { MsgId } from './types.js';

export const CHUNK_BITS = 12;
/** Entries per chunk (and the flat ring's largest capacity). */
export const CHUNK = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK - 1;
/** Shards of the id index (a power of two). */
const SHARDS = 16;

/** A payload reference or id, as the flat ring keeps them. */
export type Ref = MsgId | Uint8Array | ArrayBufferLike | undefined;

export interface Chunked {
  readonly r: Ref[][];
  /** Typed: a chunk's numbers are never copied by the scavenger. */
  readonly n: Float64Array[];
  /** id → entry number, by `shardOf(id)`. */
  readonly ix: Map<MsgId, number>[];
}

/** The index shard of `id`: its last character (a digest's byte in the runtime; 0 for ''). */
export function shardOf(id: MsgId): number {
  return id.charCodeAt(id.length - 1) & (SHARDS - 1);
}

/** An empty chunked ring of one chunk, its index shards empty. */
export function newChunked(): Chunked {
  const ix: Map<MsgId, number>[] = [];
  for (let k = 0; k < SHARDS; k++) ix.push(new Map());
  return { r: [new Array<Ref>(2 * CHUNK).fill(undefined)], n: [new Float64Array(2 * CHUNK)], ix };
}

/** Slot `k` (0: id, 1: payload) of the entry at slot `s` in `r`. */
export function chunkRef(b: Chunked, s: number, k: number): Ref {
  return b.r[s >>> CHUNK_BITS][2 * (s & CHUNK_MASK) + k];
}

/** Slot `k` (0: time first seen, 1: round and span) of the entry at slot `s` in `n`. */
export function chunkNum(b: Chunked, s: number, k: number): number {
  return b.n[s >>> CHUNK_BITS][2 * (s & CHUNK_MASK) + k];
}

export function chunkClearRef(b: Chunked, s: number, k: number): void {
  b.r[s >>> CHUNK_BITS][2 * (s & CHUNK_MASK) + k] = undefined;
}

/** Write the entry at slot `s`, one past the newest (a chunk added when it starts one). */
export function chunkWrite(b: Chunked, s: number, id: MsgId, ref: Ref, now: number, num: number): void {
  const c = s >>> CHUNK_BITS;
  if (c === b.r.length) {
    b.r.push(new Array<Ref>(2 * CHUNK).fill(undefined));
    b.n.push(new Float64Array(2 * CHUNK));
  }
  const o = 2 * (s & CHUNK_MASK);
  const r = b.r[c];
  const n = b.n[c];
  r[o] = id;
  r[o + 1] = ref;
  n[o] = now;
  n[o + 1] = num;
}

/** The first chunk is empty (the head passed its end) with `count` entries left: drop it, or
 *  keep it as the spare at the end while the last chunk has less than a chunk's room. */
export function chunkRetire(b: Chunked, count: number): void {
  const r = b.r.shift() as Ref[];
  const n = b.n.shift() as Float64Array;
  if (b.r.length * CHUNK - count < CHUNK) {
    b.r.push(r);
    b.n.push(n);
  }
}
