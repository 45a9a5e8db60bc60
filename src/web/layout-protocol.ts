/** Messages between the page and the layout worker (`layout-worker.ts`). */

export type LayoutRequest =
  | {
      type: 'graph';
      /** Generation: replies of an older graph are ignored. */
      gen: number;
      n: number;
      /** Undirected links as index pairs. */
      links: Int32Array;
      /** Start positions (unit square, x/y interleaved, NaN = unknown), e.g. the last layout. */
      init?: Float32Array;
      /** Small restart (alpha 0.4) instead of a full one: an update of a laid-out graph. */
      warm: boolean;
    }
  | { type: 'stop' };

export type LayoutReply = { type: 'positions'; gen: number; xy: Float32Array; settled: boolean };

/** Ticks a layout runs before it settles: fewer for big graphs, whose ticks cost more
 *  (Barnes–Hut is O(n log n) per tick; at 10,000 nodes one tick takes tens of ms). */
export function layoutTicks(n: number): number {
  return n <= 1000 ? 300 : n <= 3000 ? 150 : 60;
}
