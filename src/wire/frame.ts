/**
 * Framing of the rumor wire format (specified in `docs/protocol.md`):
 *
 *     u32 length | u8 version | u8 type | body | u32 crc32c(version, type, body)
 *
 * All integers big-endian; `length` counts the bytes after itself. Every frame is checked
 * in this order — length (before anything is allocated), checksum, version, type, body
 * bounds, trailing bytes, and for `gossip` the content-derived id — and a frame that fails
 * any check is rejected with a typed `DecodeResult`; decoding never throws. A bad length
 * prefix is *fatal* (framing is lost, the connection must be closed); any other failure
 * drops only that frame. This is the S3 lesson: a corrupted frame is never delivered, so it
 * can never be forwarded.
 */
import { createRequire } from 'node:module';

// Loaded with `require`: Node 20 pays ~6 MB of RSS to load a CommonJS package through `import`
// (measured on the agent: 63.8 → 60.2 MB per agent at N = 50).
const { crc32c } = createRequire(import.meta.url)('@node-rs/crc32') as typeof import('@node-rs/crc32');
import { Reader, WireFault, Writer } from './bytes.js';
import { readBody, sizeBody, writeBody } from './body.js';
import {
  DEFAULT_WIRE_LIMITS,
  MIN_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  TYPE_BY_CODE,
  TYPE_CODES,
  type DecodeError,
  type DecodeResult,
  type EncodeResult,
  type WireLimits,
  type WireMessage,
} from './types.js';

/** Bytes of framing around a body: length prefix, version, type, checksum. */
export const FRAME_OVERHEAD = 4 + 1 + 1 + 4;
/** Smallest legal value of the length prefix (version + type + empty body + checksum). */
const MIN_LENGTH = 6;
/** Handshake codes (hello, welcome, refuse): their layout is frozen in every version, so
 *  they decode whatever the version byte says and version negotiation can happen. */
const MAX_HANDSHAKE_CODE = TYPE_CODES.refuse;

const newBytes = (n: number): Uint8Array => new Uint8Array(n);

function fail(error: DecodeError, detail: string, fatal = false): DecodeResult {
  return { ok: false, error, detail, fatal };
}

/** Encode `msg` into one frame, or say why it cannot be (a bound or limit is exceeded).
 *  `alloc` makes the frame's buffer (its contents need not be initialised); by default the frame owns its
 *  `ArrayBuffer`. The TCP runtime passes `allocBytes` (slab views: fewer allocations). */
export function encodeFrame(
  msg: WireMessage,
  limits: WireLimits = DEFAULT_WIRE_LIMITS,
  alloc: (n: number) => Uint8Array = newBytes,
): EncodeResult {
  if (msg === null || typeof msg !== 'object') return { ok: false, reason: 'message must be an object' };
  const body = sizeBody(msg, limits);
  if (typeof body === 'string') return { ok: false, reason: body };
  const length = body + MIN_LENGTH;
  if (length > limits.maxFrameBytes) {
    return { ok: false, reason: `${msg.type} frame is ${length} bytes, limit maxFrameBytes ${limits.maxFrameBytes}` };
  }
  const w = new Writer(alloc(4 + length));
  w.u32(length);
  w.u8(PROTOCOL_VERSION);
  w.u8(TYPE_CODES[msg.type]);
  writeBody(w, msg);
  // The buffer may come uninitialised (`allocBytes`): the body must fill it exactly.
  if (w.pos !== length) return { ok: false, reason: `${msg.type}: encoded ${w.pos - 6} body bytes, sized ${body}` };
  w.u32(crc32c(w.buf.subarray(4, w.pos)));
  return { ok: true, frame: w.buf };
}

/** Exact length of `encodeFrame(msg, limits)`'s frame, or -1 if it would be refused. */
export function encodedSize(msg: WireMessage, limits: WireLimits = DEFAULT_WIRE_LIMITS): number {
  if (msg === null || typeof msg !== 'object') return -1;
  const body = sizeBody(msg, limits);
  if (typeof body === 'string' || body + MIN_LENGTH > limits.maxFrameBytes) return -1;
  return FRAME_OVERHEAD + body;
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** Checks of the length prefix `length`; null when it is acceptable. */
function checkLength(length: number, limits: WireLimits): DecodeResult | null {
  if (length > limits.maxFrameBytes) {
    return fail('frame-too-large', `length prefix ${length} exceeds maxFrameBytes ${limits.maxFrameBytes}`, true);
  }
  if (length < MIN_LENGTH) return fail('bad-length', `length prefix ${length} below minimum ${MIN_LENGTH}`, true);
  return null;
}

/** Decode the frame at `b[0, 4 + length)`, whose length prefix has already been checked. */
function decodeChecked(b: Uint8Array, length: number, limits: WireLimits): DecodeResult {
  const end = 4 + length;
  const sum = readU32(b, end - 4);
  const actual = crc32c(b.subarray(4, end - 4));
  if (sum !== actual) return fail('bad-checksum', `crc32c ${actual.toString(16)} != ${sum.toString(16)}`);
  const version = b[4];
  const code = b[5];
  const handshake = code >= 1 && code <= MAX_HANDSHAKE_CODE;
  if (version < 1 || (!handshake && (version < MIN_PROTOCOL_VERSION || version > PROTOCOL_VERSION))) {
    return fail('unsupported-version', `version ${version} not in ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`);
  }
  const type = TYPE_BY_CODE[code];
  if (type === undefined) return fail('unknown-type', `type code ${code}`);
  try {
    const r = new Reader(b, 6, end - 4);
    const msg = readBody(type, r, limits);
    if (r.pos !== r.end) return fail('malformed', `${type}: ${r.end - r.pos} trailing bytes`);
    return { ok: true, msg, bytes: end };
  } catch (err) {
    if (err instanceof WireFault) return fail(err.error, err.detail);
    return fail('malformed', `${type}: ${String(err)}`);
  }
}

/** Decode exactly one complete frame (length prefix included). Never throws. */
export function decodeFrame(frame: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS): DecodeResult {
  if (!(frame instanceof Uint8Array)) return fail('malformed', 'frame must be a Uint8Array', true);
  if (frame.length < 4) return fail('bad-length', `frame of ${frame.length} bytes has no length prefix`, true);
  const length = readU32(frame, 0);
  const bad = checkLength(length, limits);
  if (bad !== null) return bad;
  if (4 + length !== frame.length) {
    return fail('bad-length', `length prefix ${length} but ${frame.length - 4} bytes follow it`, true);
  }
  return decodeChecked(frame, length, limits);
}

/**
 * Incremental decoder for a byte stream (a TCP connection): `push` the chunks as they
 * arrive, then call `next` until it returns null (need more bytes). A non-fatal error drops
 * one frame and decoding continues; after a fatal error the decoder is dead (framing is
 * lost): `next` keeps returning that error and `push` ignores data — close the connection.
 * No buffer larger than the frame being decoded is ever allocated, and the length prefix
 * is checked against `maxFrameBytes` before any allocation.
 */
export class FrameDecoder {
  private readonly limits: WireLimits;
  private chunks: Uint8Array[] = [];
  /** Index of the first live chunk and read offset inside it. */
  private head = 0;
  private off = 0;
  private total = 0;
  private dead: DecodeResult | null = null;

  constructor(limits: WireLimits = DEFAULT_WIRE_LIMITS) {
    this.limits = limits;
  }

  /** Append bytes received from the stream. */
  push(chunk: Uint8Array): void {
    if (this.dead !== null || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** Bytes pushed but not yet consumed by a frame. */
  buffered(): number {
    return this.total;
  }

  /** The next frame's result, or null if a whole frame has not arrived yet. */
  next(): DecodeResult | null {
    if (this.dead !== null) return this.dead;
    if (this.total < 4) return null;
    const length = this.peekLength();
    const bad = checkLength(length, this.limits);
    if (bad !== null) {
      this.dead = bad;
      this.chunks = [];
      this.head = this.off = this.total = 0;
      return bad;
    }
    if (this.total < 4 + length) return null;
    return decodeChecked(this.take(4 + length), length, this.limits);
  }

  private peekLength(): number {
    const c = this.chunks[this.head];
    if (c.length - this.off >= 4) return readU32(c, this.off);
    const tmp = new Uint8Array(4);
    let got = 0;
    for (let i = this.head; got < 4; i++) {
      const src = this.chunks[i];
      const from = i === this.head ? this.off : 0;
      const n = Math.min(4 - got, src.length - from);
      tmp.set(src.subarray(from, from + n), got);
      got += n;
    }
    return readU32(tmp, 0);
  }

  /** Remove and return the next `n` bytes (a view when they sit in one chunk). */
  private take(n: number): Uint8Array {
    this.total -= n;
    const c = this.chunks[this.head];
    if (c.length - this.off >= n) {
      // A plain view: `Buffer#subarray` (the chunks are Buffers) goes through Node's
      // species-constructed FastBuffer, and the frame is only read.
      const out = new Uint8Array(c.buffer, c.byteOffset + this.off, n);
      this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const src = this.chunks[this.head];
      const k = Math.min(n - got, src.length - this.off);
      out.set(src.subarray(this.off, this.off + k), got);
      got += k;
      this.advance(k);
    }
    return out;
  }

  private advance(k: number): void {
    this.off += k;
    if (this.off === this.chunks[this.head].length) {
      this.head++;
      this.off = 0;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
        // Amortised O(1): compact only once the consumed prefix is half the array.
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    }
  }
}
