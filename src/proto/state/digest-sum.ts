/**
 * The 64-bit sum of a digest (`sum` messages, `StateConfig.digestSums`): two independent
 * 32-bit lanes, each the sum (mod 2^32) of a hash of every owner's `(node, generation,
 * maxVersion)`. A sum is order-independent, so two nodes holding the same digest get the
 * same sum however their maps are ordered. Owners held with nothing (`maxVersion` 0) are left
 * out, as `wanted` (kv.ts) never asks for them.
 *
 * Limits: this is a checksum against honest divergence, not against a hostile peer (which
 * can send any sum it likes: the worst it gets is a full exchange, as without sums). Two
 * different digests share a sum with probability about 2^-64; they would then skip one
 * exchange, and the next write of any owner changes both sums.
 */

/** Murmur3's 32-bit finaliser. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seeds of the two lanes. */
export const LANE_SEEDS = [0x9e3779b9, 0x7f4a7c15] as const;

/** FNV-1a over the UTF-16 code units of `String(id)`, finalised, in lane `seed`. */
export function idHash(id: unknown, seed: number): number {
  const s = String(id);
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h);
}

/** One owner's term in a lane (`idH`: `idHash(node, seed)`); numbers up to 2^53. */
export function ownerTerm(idH: number, generation: number, maxVersion: number): number {
  let h = mix32(idH ^ (generation >>> 0));
  h = mix32(h ^ Math.floor(generation / 2 ** 32));
  h = mix32(h ^ (maxVersion >>> 0));
  return mix32(h ^ Math.floor(maxVersion / 2 ** 32) ^ 0x5bd1e995);
}

/** A digest sum: owners counted and the two lanes. */
export interface DigestSum {
  owners: number;
  lo: number;
  hi: number;
}

/** The sum of `entries` (`idH`: the two lanes' id hashes of each, cached by the caller). */
export function digestSum(entries: Iterable<{ idH: readonly [number, number]; generation: number; maxVersion: number }>): DigestSum {
  const s: DigestSum = { owners: 0, lo: 0, hi: 0 };
  for (const e of entries) {
    if (e.maxVersion === 0) continue;
    s.owners++;
    s.lo = (s.lo + ownerTerm(e.idH[0], e.generation, e.maxVersion)) >>> 0;
    s.hi = (s.hi + ownerTerm(e.idH[1], e.generation, e.maxVersion)) >>> 0;
  }
  return s;
}
