/** The `p` quantile of `xs` by nearest rank (the element at ⌊p·n⌋ of the sorted copy, the
 *  last for p = 1): bench/flood.ts and bench/flood-procs.ts, whose p99 of 100 messages is the
 *  slowest one. */
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}
