/**
 * Seeded pseudo-random generator: sfc32 (Chris Doty-Humphrey's Small Fast Counter, 32-bit),
 * seeded through splitmix32 so that any integer seed gives a well-mixed state.
 *
 * Protocol machines never call `Math.random`: the driver hands them an `Rng`, and two runs
 * with the same seed draw the same numbers in the same order, on every platform (only 32-bit
 * integer arithmetic is used).
 */
import type { Rng } from './types.js';

export class Sfc32 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A new generator whose stream is independent of this one (for per-node generators). */
  fork(): Sfc32 {
    return new Sfc32(this.forkSeed());
  }

  /** The seed `fork` gives its new generator (two draws): for a driver whose own per-node
   *  object is the generator (the simulator's `SimNode` extends `Sfc32`). */
  forkSeed(): number {
    return this.u32() ^ Math.imul(this.u32(), 0x27d4eb2d);
  }
}

/** Fisher–Yates shuffle of `arr` in place, using `rng`. */
export function shuffleInPlace<T>(arr: T[], rng: Rng): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  }
  return arr;
}

/** Up to `k` distinct elements of `arr` chosen uniformly, excluding `exclude` (by `===`). */
export function sample<T>(arr: readonly T[], k: number, rng: Rng, exclude?: T): T[] {
  const pool = exclude === undefined ? arr.slice() : arr.filter((x) => x !== exclude);
  if (k >= pool.length) return shuffleInPlace(pool, rng);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(pool.length - i);
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  pool.length = k;
  return pool;
}

/** One uniformly chosen element of `arr` other than `exclude`, or undefined. */
export function pick<T>(arr: readonly T[], rng: Rng, exclude?: T): T | undefined {
  const n = arr.length;
  if (n === 0) return undefined;
  if (exclude === undefined) return arr[rng.int(n)];
  const idx = arr.indexOf(exclude);
  if (idx < 0) return arr[rng.int(n)];
  if (n === 1) return undefined;
  const j = rng.int(n - 1);
  return arr[j >= idx ? j + 1 : j];
}
