/**
 * Array helpers of the HyParView machine (hyparview.ts): its views are plain arrays (order is
 * not significant), scanned linearly — they hold at most `passiveViewSize` (30) entries, and
 * the simulator holds 10^6 of them, so no Set or Map per view.
 */
import type { Rng } from './types.js';

/** Remove `arr[i]` by moving the last element into its slot (order is not significant).
 *  Emptying an array releases its storage (`length = 0` does, `pop` keeps the 17 slots a
 *  pushed-to array gets: 4 request arrays × 10^6 simulated nodes that are mostly empty). */
export function removeAt<T>(arr: T[], i: number): void {
  const last = arr.length - 1;
  if (last === 0) {
    arr.length = 0;
    return;
  }
  arr[i] = arr[last];
  arr.pop();
}

/** Remove `v` from `arr` if present; true if it was. */
export function removeValue<T>(arr: T[], v: T): boolean {
  const i = arr.indexOf(v);
  if (i < 0) return false;
  removeAt(arr, i);
  return true;
}

/** Index of a random entry of `arr` that is not in `skip`, or -1 (one `rng.int` call when
 *  there is a candidate). */
export function pickNotIn<T>(arr: readonly T[], skip: readonly T[], rng: Rng): number {
  if (skip.length === 0) return arr.length === 0 ? -1 : rng.int(arr.length);
  let n = 0;
  for (let i = 0; i < arr.length; i++) if (skip.indexOf(arr[i]) < 0) n++;
  if (n === 0) return -1;
  let r = rng.int(n);
  for (let i = 0; i < arr.length; i++) {
    if (skip.indexOf(arr[i]) >= 0) continue;
    if (r-- === 0) return i;
  }
  return -1;
}

/** Index of a random entry of `arr` other than `a` and `b`, or -1. */
export function pickExcept<T>(arr: readonly T[], a: T, b: T, rng: Rng): number {
  let n = 0;
  for (let i = 0; i < arr.length; i++) if (arr[i] !== a && arr[i] !== b) n++;
  if (n === 0) return -1;
  let r = rng.int(n);
  for (let i = 0; i < arr.length; i++) {
    if (arr[i] === a || arr[i] === b) continue;
    if (r-- === 0) return i;
  }
  return -1;
}

/** Append up to `k` distinct random entries of `src` other than `exclude` to `out`
 *  (`scratch`: an array to work in, overwritten from index 0 and never shortened: emptying
 *  it each call was a runtime call, `length = 0`, on every shuffle). */
export function sampleInto<T>(src: readonly T[], k: number, exclude: T, out: T[], scratch: T[], rng: Rng): void {
  const s = scratch;
  let n = 0;
  for (let i = 0; i < src.length; i++) if (src[i] !== exclude) s[n++] = src[i];
  const m = k < n ? k : n;
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = s[i];
    s[i] = s[j];
    s[j] = t;
    out.push(s[i]);
  }
}
