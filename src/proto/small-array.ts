/**
 * An empty array with room for a few elements, for per-node arrays that the simulator holds
 * 10^6 of (memory layout only: no behaviour depends on it).
 *
 * V8 gives an array its first backing store at the first push, sized old + old / 2 + 16 = 17
 * elements, whatever the array will hold: for Plumtree's links (≤ 5 under HyParView) that is
 * 16 + 17 × 8 = 152 B of elements. An array literal has exactly its elements' room, and
 * popping them keeps it (`length = 0` would drop it): pushes then fill that room, and only the
 * push past it grows the array as usual. Measured (node 20, 10^5 arrays of 5 numbers,
 * `heapUsed` after GC): 186.5 B per array from `[]`, 97.2 B from `roomy6()` (h34s,
 * docs/results.md).
 */

/** An empty, packed array with room for 6 elements before its first growth. */
export function roomy6<T>(): T[] {
  const a: unknown[] = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 6; i++) a.pop();
  return a as T[];
}

/** An empty, packed array with room for 10 elements before its first growth (Plumtree's
 *  links as `[peer, upAt]` pairs: five, HyParView's default active view). */
export function roomy10<T>(): T[] {
  const a: unknown[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 10; i++) a.pop();
  return a as T[];
}
