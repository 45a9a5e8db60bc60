/**
 * Plumtree's `missing` set (Epidemic Broadcast Trees, SRDS 2007, Alg. 1: the ids announced by
 * IHAVE and not yet received, each with its announcers and its `Timer(id)`), as Plumtree
 * (plumtree.ts) holds it: nothing while empty, the one entry itself while it holds one, a
 * `Map` id → entry from the second on (until empty again). Same entries and the same order
 * (insertion order, which `neighborDown` walks) as one `Map` throughout; only the objects
 * differ. Why: a node of a simulation misses an id in nearly every broadcast (an IHAVE that
 * overtakes the tree's copy) and rarely two at once, and a `Map` per such node (≈ 185 B,
 * re-made per broadcast, its table reallocated again by the `delete` that empties it) was
 * 11 % of the bytes allocated in the bench's broadcast phase at 3·10^4 nodes
 * (docs/results.md, h35s).
 */
import type { MsgId } from './types.js';

/**
 * Announcements of one missing message, in arrival order, as one flat array
 * `[peer₀, round₀, peer₁, round₁, …]` (one allocation besides the entry itself), and the
 * `due` time of the one current `pt-missing` timer: a firing carrying another `due` is stale.
 */
export interface Missing<P> {
  readonly id: MsgId;
  ann: (P | number)[];
  /** Index in `ann` of the next announcer to GRAFT. */
  next: number;
  deadline: number;
}

/** The set: none, one entry, or a map of two or more (see the module comment). */
export type MissingSet<P> = Missing<P> | Map<MsgId, Missing<P>> | null;

/** The entry of `id`, if missing. */
export function missingOf<P>(s: MissingSet<P>, id: MsgId): Missing<P> | undefined {
  if (s === null) return undefined;
  if (s instanceof Map) return s.get(id);
  return s.id === id ? s : undefined;
}

/** The set with `m` added (its id not in `s`). */
export function withMissing<P>(s: MissingSet<P>, m: Missing<P>): MissingSet<P> {
  if (s === null) return m;
  if (s instanceof Map) return s.set(m.id, m);
  return new Map([[s.id, s], [m.id, m]]);
}

/** The set without `id`'s entry (null once empty). */
export function withoutMissing<P>(s: MissingSet<P>, id: MsgId): MissingSet<P> {
  if (s === null) return null;
  if (!(s instanceof Map)) return s.id === id ? null : s;
  s.delete(id);
  return s.size === 0 ? null : s;
}

/** Number of entries. */
export function missingSize<P>(s: MissingSet<P>): number {
  return s === null ? 0 : s instanceof Map ? s.size : 1;
}

/** The entries in insertion order (a copy: the caller may remove entries while walking it). */
export function missingList<P>(s: MissingSet<P>): Missing<P>[] {
  return s === null ? [] : s instanceof Map ? [...s.values()] : [s];
}
