/**
 * `MapStore`: the member table of one node as a plain `Map` — what the agent passes to the
 * membership machine (the simulator passes a view of a shared table instead; both implement
 * `MemberStore`, types.ts).
 *
 * Besides the entries it keeps the per-bucket XOR hashes up to date on every `set` (O(1)), and
 * the K observer rings: each ring orders every present member by a hash of its key and the
 * ring number (Rapid's K "pseudo-random rings", ATC 2018 §4.1); they are rebuilt lazily
 * (O(n log n)) after a member is added or removed, never on a status change.
 */
import type { Rng } from '../types.js';
import { BUCKETS, entryHash, type MemberMeta, type MemberStore } from './types.js';

/** FNV-1a over the UTF-16 code units of `s` (32 bits): the key hash of string peer ids. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Position of a member with key hash `h` on ring `k`. */
export function ringPosition(h: number, k: number): number {
  return entryHash(h, k * 4 + 1);
}

interface Entry {
  state: number;
  since: number;
  key: number;
}

export class MapStore<P> implements MemberStore<P> {
  private readonly entries = new Map<P, Entry>();
  private readonly metas = new Map<P, MemberMeta>();
  private readonly hashes = new Uint32Array(BUCKETS);
  private rings: P[][] | null = null;
  private ringIndex: Map<P, number>[] = [];
  /** Members in insertion order, for `random` (swap-remove keeps it dense). */
  private readonly list: P[] = [];
  private readonly listIndex = new Map<P, number>();
  /** `set` calls so far (`version`). */
  private writes = 0;

  constructor(
    private readonly keyHash: (p: P) => number,
    private readonly ringCount: number,
  ) {}

  get(m: P): number {
    const e = this.entries.get(m);
    return e === undefined ? -1 : e.state;
  }

  version(): number {
    return this.writes;
  }

  set(m: P, state: number, now: number): void {
    this.writes++;
    const e = this.entries.get(m);
    if (e !== undefined) {
      const b = e.key % BUCKETS;
      this.hashes[b] ^= entryHash(e.key, e.state);
      if (state < 0) {
        this.entries.delete(m);
        this.metas.delete(m);
        this.unlist(m);
        this.rings = null;
        return;
      }
      e.state = state;
      e.since = now;
      this.hashes[b] ^= entryHash(e.key, state);
      return;
    }
    if (state < 0) return;
    const key = this.keyHash(m);
    this.entries.set(m, { state, since: now, key });
    this.hashes[key % BUCKETS] ^= entryHash(key, state);
    this.listIndex.set(m, this.list.length);
    this.list.push(m);
    this.rings = null;
  }

  private unlist(m: P): void {
    const i = this.listIndex.get(m)!;
    const last = this.list.pop()!;
    if (last !== m) {
      this.list[i] = last;
      this.listIndex.set(last, i);
    }
    this.listIndex.delete(m);
  }

  since(m: P): number {
    return this.entries.get(m)?.since ?? 0;
  }

  size(): number {
    return this.entries.size;
  }

  random(rng: Rng): P | undefined {
    return this.list.length === 0 ? undefined : this.list[rng.int(this.list.length)];
  }

  forEach(fn: (m: P, state: number) => void): void {
    for (const [m, e] of this.entries) fn(m, e.state);
  }

  bucketOf(m: P): number {
    const e = this.entries.get(m);
    return (e === undefined ? this.keyHash(m) : e.key) % BUCKETS;
  }

  bucketHash(b: number): number {
    return this.hashes[b];
  }

  forEachInBucket(b: number, fn: (m: P, state: number) => void): void {
    for (const [m, e] of this.entries) if (e.key % BUCKETS === b) fn(m, e.state);
  }

  ringStep(k: number, m: P, i: number): P | undefined {
    if (this.rings === null) this.buildRings();
    const ring = this.rings![k];
    const at = this.ringIndex[k].get(m);
    if (at === undefined || ring.length <= Math.abs(i)) return undefined;
    return ring[(((at + i) % ring.length) + ring.length) % ring.length];
  }

  meta(m: P): MemberMeta | undefined {
    return this.metas.get(m);
  }

  setMeta(m: P, meta: MemberMeta): void {
    if (this.entries.has(m)) this.metas.set(m, meta);
  }

  /** Each ring: the members sorted by their position on it, ties by `String(m)`. The positions
   *  are computed once per ring into an array and an index array is sorted by them (no map
   *  look-ups in the comparator): a fleet's join rebuilds the rings at nearly every flush. */
  private buildRings(): void {
    const n = this.entries.size;
    const members: P[] = new Array<P>(n);
    const keys = new Float64Array(n);
    let j = 0;
    for (const [m, e] of this.entries) {
      members[j] = m;
      keys[j++] = e.key;
    }
    const pos = new Float64Array(n);
    const order: number[] = new Array<number>(n);
    const byPos = (a: number, b: number): number => pos[a] - pos[b] || tie(members[a], members[b]);
    const rings: P[][] = [];
    const index: Map<P, number>[] = [];
    for (let k = 0; k < this.ringCount; k++) {
      for (let i = 0; i < n; i++) {
        pos[i] = ringPosition(keys[i], k);
        order[i] = i;
      }
      order.sort(byPos);
      const ring: P[] = new Array<P>(n);
      const idx = new Map<P, number>();
      for (let i = 0; i < n; i++) {
        const m = members[order[i]];
        ring[i] = m;
        idx.set(m, i);
      }
      rings.push(ring);
      index.push(idx);
    }
    this.rings = rings;
    this.ringIndex = index;
  }
}

/** The order of two members at the same ring position: by their string form. */
function tie<P>(a: P, b: P): number {
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
