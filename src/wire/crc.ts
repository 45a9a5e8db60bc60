/**
 * CRC-32C (Castagnoli), the checksum of every frame: a table in JavaScript (slicing-by-8) for
 * short regions and for the step-wise updates of forward.ts (`crcAppend`, and its inverse
 * `crcUnappend`), the native `@node-rs/crc32` for long regions, loaded on the first one.
 *
 * Loading the native module costs every process 4–10 ms of CPU (the CommonJS loader, its
 * napi-rs index and the dlopen of a 550 KB shared object; `require` alone, `node` on this
 * machine), about a tenth of an agent's start, and ~3 MB of RSS. So long regions too are
 * checksummed in JS until `JS_LONG_BUDGET` bytes of them have been, and only then is the native
 * module loaded: an agent that joins a cluster of 50 checksums a few tens of KB of long frames
 * (whole member tables) and never loads it, one that carries a stream of large gossips loads
 * it after its first megabyte (docs/results.md, "Start-up and join of a fleet (h22s)" and "The
 * join's CPU: one table per joiner").
 */
import { createRequire } from 'node:module';

type NativeCrc = (view: Uint8Array, crc?: number) => number;
let native: NativeCrc | null = null;

/** The native CRC-32C, loaded on first use. Loaded with `require`: Node 20 pays ~6 MB of RSS
 *  to load a CommonJS package through `import` (measured on the agent: 63.8 → 60.2 MB per
 *  agent at N = 50). */
function nativeCrc(): NativeCrc {
  if (native === null) native = (createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32')).crc32c;
  return native;
}

/** Whether the native CRC-32C has been loaded in this process (tests, benchmarks). */
export function nativeCrcLoaded(): boolean {
  return native !== null;
}

/** Bytes of regions longer than `JS_CRC_MAX` checksummed in JS so far (`jsLong`). */
let longBytes = 0;

/** Whether a long region of `n` bytes is still checksummed in JS (the budget not spent yet). */
function jsLong(n: number): boolean {
  if (native !== null) return false;
  longBytes += n;
  return longBytes <= JS_LONG_BUDGET;
}

/** CRC-32C of `view`, continuing from `crc` (0 to start). */
export function crcView(view: Uint8Array, crc = 0): number {
  return view.length <= JS_CRC_MAX || jsLong(view.length) ? crc8(crc, view, 0, view.length) : nativeCrc()(view, crc);
}

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
/** Slicing-by-8 tables (Kounavis and Berry, 2005): T8[s·256 + b] is the CRC of byte b followed
 *  by s zero bytes, so eight input bytes take eight look-ups and no loop-carried shift per byte. */
const T8 = new Uint32Array(256 * 8);
T8.set(TABLE);
for (let s = 1; s < 8; s++) {
  for (let i = 0; i < 256; i++) {
    const p = T8[(s - 1) * 256 + i];
    T8[s * 256 + i] = (p >>> 8) ^ TABLE[p & 0xff];
  }
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

/** CRC-32C of `b[start, end)` continuing from `crc`, eight bytes per step (same result as
 *  `crcAppend`). */
function crc8(crc: number, b: Uint8Array, start: number, end: number): number {
  let c = ~crc;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24));
    c =
      T8[1792 + (a & 0xff)] ^ T8[1536 + ((a >>> 8) & 0xff)] ^ T8[1280 + ((a >>> 16) & 0xff)] ^ T8[1024 + (a >>> 24)] ^
      T8[768 + b[i + 4]] ^ T8[512 + b[i + 5]] ^ T8[256 + b[i + 6]] ^ T8[b[i + 7]];
  }
  for (; i < end; i++) c = TABLE[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Regions up to this many bytes are checksummed in JS (`crc8`), longer ones by the native
 *  `crc32c`. Measured (`node` micro-benchmark, regions inside a larger chunk, load ~20): the
 *  native call with the `Uint8Array` view it needs ≈ 510 ns at 32 bytes, 550 at 256, 940 at
 *  1 KB, 1.8 µs at 4 KB; slicing-by-8 75 ns, 660 ns, 2.4 µs and 8.5 µs. Up to 512 bytes the JS
 *  table costs at most ~0.6 µs more per frame, and every frame of a join is shorter. */
export const JS_CRC_MAX = 512;

/** Bytes of longer regions a process checksums in JS before it loads the native module. The
 *  JS table costs ~1.5–1.7 µs more per KB than the native call (the figures above), so 1 MiB
 *  costs at most ~1.7 ms more, less than loading the module (4–10 ms, and ~3 MB of RSS). */
export const JS_LONG_BUDGET = 1 << 20;

/** CRC-32C of `b[from, to)`, continuing from `crc` (0 to start). */
export function crcRange(crc: number, b: Uint8Array, from: number, to: number): number {
  if (to - from <= JS_CRC_MAX || jsLong(to - from)) return crc8(crc, b, from, to);
  return nativeCrc()(new Uint8Array(b.buffer, b.byteOffset + from, to - from), crc);
}
