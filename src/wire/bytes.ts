/**
 * Byte-level primitives of the rumor wire codec: unsigned LEB128 varints, length-prefixed
 * UTF-8 strings, and 16-byte message ids written raw when they are 32-char lowercase hex.
 *
 * Encoding is two-pass: the caller first computes the exact size (which also validates the
 * value), allocates once, then writes with a `Writer` that never checks bounds again.
 * Decoding uses a `Reader` that checks every bound before touching the bytes and signals
 * failure by throwing a `WireFault`, which `frame.ts` turns into a typed `DecodeResult`
 * (the fault never escapes the wire layer).
 */
import { utf8Bytes } from '../proto/utf8.js';

/** Failure raised inside the decoder; caught at the frame boundary, never escapes. */
export class WireFault {
  constructor(
    readonly error: 'malformed' | 'limit-exceeded' | 'bad-id' | 'bad-checksum',
    readonly detail: string,
  ) {}
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

const LENGTH = ' length';

/** Largest integer a varint may carry (2^53 - 1): every decoded value is a safe JS number. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;

/** Bytes taken by the varint encoding of `n` (a non-negative safe integer). */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** True when `n` is an integer in [0, max]. */
export function isUint(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
}

/**
 * UTF-8 length of `s`, or -1 when `s` is not well-formed UTF-16 (a lone surrogate would be
 * replaced by U+FFFD on encoding, so it could not round-trip).
 */
export function utf8Length(s: string): number {
  return utf8Bytes(s);
}

const HEX = '0123456789abcdef';
const HEX_PAIRS: string[] = [];
for (let i = 0; i < 256; i++) HEX_PAIRS.push(HEX[i >> 4] + HEX[i & 15]);

/** Node's native slicers (`Buffer.prototype.hexSlice` / `latin1Slice`, which accept any
 *  Uint8Array); absent outside Node, where the JS loops below are used. They return flat
 *  strings: a string built by `+=` is a rope that V8 flattens (copies) the first time it is
 *  hashed, e.g. as a `Map` key (measured: hex id + `Map.get` 404 ns with `+=`, 189 ns native). */
type Slicer = (this: Uint8Array, start: number, end: number) => string;
const NATIVE = (globalThis as { Buffer?: { prototype: Record<string, unknown> } }).Buffer?.prototype;
const hexSlice = NATIVE?.hexSlice as Slicer | undefined;
const latin1Slice = NATIVE?.latin1Slice as Slicer | undefined;

/** Lowercase hex of `b[start, start+len)`. */
export function toHex(b: Uint8Array, start = 0, len = b.length - start): string {
  if (hexSlice !== undefined) return hexSlice.call(b, start, start + len);
  let s = '';
  for (let i = start; i < start + len; i++) s += HEX_PAIRS[b[i]];
  return s;
}

/**
 * Interning of short ASCII strings read from frames (peer ids, origins, channel names: a few
 * distinct values, read again and again). Direct-mapped, `INTERN_SLOTS` entries keyed by a
 * hash of the bytes; a hit compares the bytes and returns the string already made — no
 * allocation, and its hash is already cached for `Map` lookups. Measured (15-byte origin):
 * `+=` loop 296 ns, native slice 75 ns, interned hit 36 ns. Purely a cache: it never changes
 * what is decoded.
 */
const INTERN_SLOTS = 256;
const INTERN_MAX = 64;
const internStr: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS);
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX);
const internLen = new Uint8Array(INTERN_SLOTS);

/** `b[start, start+n)` as a string if every byte is ASCII (n ≤ INTERN_MAX), else null. */
function asciiInterned(b: Uint8Array, start: number, n: number): string | null {
  let h = n;
  for (let i = start; i < start + n; i++) {
    const c = b[i];
    if (c >= 0x80) return null;
    h = (Math.imul(h, 31) + c) | 0;
  }
  const slot = (h ^ (h >>> 8) ^ (h >>> 16)) & (INTERN_SLOTS - 1);
  const at = slot * INTERN_MAX;
  const cached = internStr[slot];
  if (cached !== undefined && internLen[slot] === n) {
    let i = 0;
    while (i < n && internBytes[at + i] === b[start + i]) i++;
    if (i === n) return cached;
  }
  let s: string;
  if (latin1Slice !== undefined) s = latin1Slice.call(b, start, start + n);
  else {
    s = '';
    for (let i = start; i < start + n; i++) s += String.fromCharCode(b[i]);
  }
  for (let i = 0; i < n; i++) internBytes[at + i] = b[start + i];
  internLen[slot] = n;
  internStr[slot] = s;
  return s;
}

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  return -1;
}

/**
 * Raw bytes of recently seen hex ids, direct-mapped by the first three hex digits (the first
 * 12 bits of the id, uniformly spread: ids are SHA-256 prefixes). An id is sized and written
 * once per recipient of the IHAVE or GRAFT that carries it, and most ids were read from a
 * frame shortly before: a hit skips the validation and the hex parsing (measured: ≈ 290 ns
 * per IHAVE entry for `isHex16` twice + parsing, ≈ 40 ns on a hit). The reader uses it the
 * other way round: 16 bytes that match the slot's bytes are read as the slot's string, the
 * very object the machines already hold as a `Map` key (no new string, its hash is cached,
 * and keys compare by identity). Purely a cache: an entry is (string, its 16 bytes), checked
 * by string equality when writing and by byte equality when reading.
 */
const ID_SLOTS = 4096;
const idStr: (string | undefined)[] = new Array<string | undefined>(ID_SLOTS);
const idRaw = new Uint8Array(ID_SLOTS * 16);

function idSlot(id: string): number {
  return ((hexNibble(id.charCodeAt(0)) << 8) | (hexNibble(id.charCodeAt(1)) << 4) | hexNibble(id.charCodeAt(2))) & (ID_SLOTS - 1);
}

/** `idSlot` of the hex string of the 16 bytes at `b[p..]`. */
function rawSlot(b: Uint8Array, p: number): number {
  return ((b[p] << 4) | (b[p + 1] >> 4)) & (ID_SLOTS - 1);
}

/** True when `id` is exactly 32 lowercase hex characters (written as 16 raw bytes). */
export function isHex16(id: string): boolean {
  if (id.length !== 32) return false;
  const slot = idSlot(id);
  if (idStr[slot] === id) return true;
  idStr[slot] = undefined;
  const at = slot * 16;
  for (let i = 0; i < 16; i++) {
    const hi = hexNibble(id.charCodeAt(2 * i));
    const lo = hexNibble(id.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) return false;
    idRaw[at + i] = (hi << 4) | lo;
  }
  idStr[slot] = id;
  return true;
}

/** Buffers up to this size are carved out of a shared slab (see `allocBytes`). */
const SLAB_MAX_ALLOC = 4096;
const SLAB_BYTES = 64 * 1024;
/** Node's uninitialised allocation (`Buffer.allocUnsafeSlow`), absent outside Node. */
const unsafeSlab = (globalThis as { Buffer?: { allocUnsafeSlow(n: number): Uint8Array } }).Buffer?.allocUnsafeSlow;
const newSlab = (): ArrayBuffer => (unsafeSlab !== undefined ? (unsafeSlab(SLAB_BYTES).buffer as ArrayBuffer) : new ArrayBuffer(SLAB_BYTES));
let slab = newSlab();
let slabUsed = 0;

/**
 * A `Uint8Array` of `n` bytes whose contents are NOT initialised: the caller must write every
 * byte (the encoders do: they size exactly, then write it all; `encodeFrame` checks). Small
 * ones are views into a shared 64 KiB slab (bump allocation, space never reused: a slab is
 * freed when its last view is), so the hot path does one `ArrayBuffer` allocation per ~60
 * frames of 1 KB instead of one per frame (measured: per-frame backing stores were a large
 * part of GC time in bench/net.ts), and slabs are not zero-filled (measured, /tmp
 * micro-benchmark: 90 → 50 ns per 1 KB allocation). The same trade-off as Node's `Buffer`
 * pool; views keep their own `byteOffset`/`byteLength`.
 */
export function allocBytes(n: number): Uint8Array {
  if (n > SLAB_MAX_ALLOC) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = newSlab();
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}

/** Sequential writer over a buffer of exactly the right size (computed beforehand). */
export class Writer {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  u8(n: number): void {
    this.buf[this.pos++] = n;
  }

  u32(n: number): void {
    const b = this.buf;
    b[this.pos] = n >>> 24;
    b[this.pos + 1] = (n >>> 16) & 0xff;
    b[this.pos + 2] = (n >>> 8) & 0xff;
    b[this.pos + 3] = n & 0xff;
    this.pos += 4;
  }

  varint(n: number): void {
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Varint byte length then the UTF-8 bytes; `len` is the precomputed UTF-8 length. */
  string(s: string, len: number): void {
    this.varint(len);
    if (len === s.length) {
      const b = this.buf;
      for (let i = 0; i < len; i++) b[this.pos + i] = s.charCodeAt(i);
      this.pos += len;
    } else {
      this.pos += utf8Encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + len)).written;
    }
  }

  /** If `id` is 32 lowercase hex chars: the byte `kind` then its 16 raw bytes, and true; else
   *  nothing is written and false (one id-cache look-up for both the test and the bytes). */
  rawId(id: string, kind: number): boolean {
    if (id.length !== 32) return false;
    const slot = idSlot(id);
    if (idStr[slot] !== id && !isHex16(id)) return false;
    const b = this.buf;
    const p = this.pos;
    b[p] = kind;
    const at = slot * 16;
    for (let i = 0; i < 16; i++) b[p + 1 + i] = idRaw[at + i];
    this.pos = p + 17;
    return true;
  }

  /** 16 raw bytes from a 32-char lowercase hex string (checked with `isHex16`). */
  hex16(id: string): void {
    const slot = idSlot(id);
    if (idStr[slot] !== id) isHex16(id); // fills the slot (the id was checked while sizing)
    const b = this.buf;
    const at = slot * 16;
    for (let i = 0; i < 16; i++) b[this.pos + i] = idRaw[at + i];
    this.pos += 16;
  }
}

const NO_BYTES = new Uint8Array(0);

/** Bounds-checked sequential reader over `buf[pos, end)`. Throws `WireFault` on failure.
 *  The per-frame decoders reuse one instance through `reset` (no object per frame); nothing
 *  keeps a reader past the decode that set it. */
export class Reader {
  /** Where reading began (for a frame body: 6 bytes after the frame's start). */
  start: number;

  constructor(
    public buf: Uint8Array,
    public pos: number,
    public end: number,
    /** The bytes are the reader's owner's for good: what is read may be a view into them. */
    public keep = false,
  ) {
    this.start = pos;
  }

  /** Point the reader at `buf[pos, end)` (as a new `Reader(buf, pos, end, keep)` would). */
  reset(buf: Uint8Array, pos: number, end: number, keep: boolean): this {
    this.buf = buf;
    this.pos = this.start = pos;
    this.end = end;
    this.keep = keep;
    return this;
  }

  /** Drop the reference to the last buffer (so a reused reader keeps no chunk alive). */
  release(): void {
    this.buf = NO_BYTES;
    this.pos = this.start = this.end = 0;
  }

  need(n: number, what: string, sfx = ''): void {
    if (this.end - this.pos < n) throw new WireFault('malformed', `truncated ${what}${sfx}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  /** A u8 that must be 0 or 1. */
  bool(what: string): boolean {
    const v = this.u8(what);
    if (v > 1) throw new WireFault('malformed', `${what}: expected 0 or 1, got ${v}`);
    return v === 1;
  }

  /** Canonical (shortest-form) unsigned LEB128 varint, at most `max`. `what + sfx` names
   *  the field in errors (two parts so the hot path builds no strings). */
  varint(what: string, max: number, sfx = ''): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new WireFault('malformed', `truncated ${what}${sfx}`);
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) {
        if (byte === 0 && i > 0) throw new WireFault('malformed', `${what}${sfx}: overlong varint`);
        if (result > max) throw new WireFault('limit-exceeded', `${what}${sfx}: ${result} exceeds ${max}`);
        return result;
      }
      mul *= 128;
    }
    throw new WireFault('malformed', `${what}${sfx}: varint longer than 8 bytes`);
  }

  /** A byte count (varint) bounded by `max` and by the bytes left in the frame. */
  length(what: string, max: number, sfx = ''): number {
    const n = this.varint(what, max, sfx === '' ? LENGTH : sfx + LENGTH);
    this.need(n, what, sfx);
    return n;
  }

  /** Length-prefixed UTF-8 string of at most `maxBytes` bytes; `nonEmpty` rejects "". */
  string(what: string, maxBytes: number, nonEmpty = false, sfx = ''): string {
    const n = this.length(what, maxBytes, sfx);
    if (nonEmpty && n === 0) throw new WireFault('malformed', `${what}${sfx}: empty`);
    const start = this.pos;
    this.pos += n;
    const b = this.buf;
    if (n <= INTERN_MAX) {
      const s = asciiInterned(b, start, n);
      if (s !== null) return s;
    }
    try {
      return utf8Decoder.decode(b.subarray(start, start + n));
    } catch {
      throw new WireFault('malformed', `${what}${sfx}: invalid UTF-8`);
    }
  }

  /** A copy of the next `n` bytes (already bounds-checked by `length`). */
  bytes(n: number): Uint8Array {
    // Explicit copy (`Buffer.prototype.slice` would return a view into the stream chunk).
    const b = this.buf;
    const out = allocBytes(n);
    out.set(new Uint8Array(b.buffer, b.byteOffset + this.pos, n));
    this.pos += n;
    return out;
  }

  /** 16 raw bytes as a 32-char lowercase hex string. */
  hex16(what: string): string {
    this.need(16, what);
    const b = this.buf;
    const p = this.pos;
    this.pos += 16;
    const slot = rawSlot(b, p);
    const at = slot * 16;
    const known = idStr[slot];
    if (known !== undefined) {
      let i = 0;
      while (i < 16 && idRaw[at + i] === b[p + i]) i++;
      if (i === 16) return known;
    }
    const s = toHex(b, p, 16);
    // Remember the bytes: the id is usually announced or forwarded onwards soon.
    for (let i = 0; i < 16; i++) idRaw[at + i] = b[p + i];
    idStr[slot] = s;
    return s;
  }
}
