/**
 * CRC-32C (Castagnoli), the checksum of every frame: the native `@node-rs/crc32` for long
 * regions, a table in JavaScript for short ones and for the step-wise updates of forward.ts
 * (`crcAppend`, and its inverse `crcUnappend`).
 */
import { createRequire } from 'node:module';

// Loaded with `require`: Node 20 pays ~6 MB of RSS to load a CommonJS package through `import`
// (measured on the agent: 63.8 → 60.2 MB per agent at N = 50).
const { crc32c } = createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32');

/** Native CRC-32C of `view`, continuing from `crc` (0 to start). */
export const crcView: (view: Uint8Array, crc?: number) => number = crc32c;

/** CRC-32C (reflected polynomial 0x82F63B78) byte table, and for each table entry's top
 *  byte the index of that entry (the top bytes of the 256 entries are all distinct, which is
 *  what makes one CRC step invertible). */
const TABLE = new Uint32Array(256);
const BY_TOP = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  TABLE[i] = c >>> 0;
}
{
  const seen = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    const top = TABLE[i] >>> 24;
    if (seen[top] === 1) throw new Error('crc32c table: top bytes not distinct');
    seen[top] = 1;
    BY_TOP[top] = i;
  }
}

/** CRC-32C of `data ‖ b[start, end)` given `crc` = CRC-32C of `data` (same convention as
 *  `@node-rs/crc32`'s `crc32c(buf, initial)`). */
export function crcAppend(crc: number, b: Uint8Array, start: number, end: number): number {
  let c = ~crc;
  for (let i = start; i < end; i++) c = TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32C of `data` given `crc` = CRC-32C of `data ‖ b[start, end)`: the inverse of `crcAppend`. */
export function crcUnappend(crc: number, b: Uint8Array, start: number, end: number): number {
  let c = ~crc >>> 0;
  for (let i = end - 1; i >= start; i--) {
    const idx = BY_TOP[c >>> 24];
    c = (((c ^ TABLE[idx]) << 8) | ((idx ^ b[i]) & 0xff)) >>> 0;
  }
  return ~c >>> 0;
}

/** Regions up to this many bytes are checksummed in JS (`crcAppend`, a table look-up per
 *  byte), longer ones by the native `crc32c`. Measured (/tmp micro-benchmark, regions inside a
 *  larger chunk): native, with the `Uint8Array` view it needs, ≈ 185 ns at 16 bytes, 285 ns at
 *  64, 190 ns at 128; JS 30, 155 and 290 ns. A one-entry IHAVE (the most frequent frame after
 *  `gossip`) checksums ~21 bytes: no view, no native call. */
export const JS_CRC_MAX = 96;

/** CRC-32C of `b[from, to)`, continuing from `crc` (0 to start). */
export function crcRange(crc: number, b: Uint8Array, from: number, to: number): number {
  if (to - from <= JS_CRC_MAX) return crcAppend(crc, b, from, to);
  return crc32c(new Uint8Array(b.buffer, b.byteOffset + from, to - from), crc);
}
