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
 * can never be forwarded. (A large `gossip` frame is parsed before its checksum is computed —
 * over the payload view the parse makes, see `decodeGossip` — with the same results: the
 * checksum is still verified before the id, and a frame that fails both is reported as
 * `bad-checksum`.)
 */
import { Reader, WireFault, Writer, isUint } from './bytes.js';
import { JS_CRC_MAX, crcRange } from './crc.js';
import { forwardFrame } from './forward.js';
import { CRYPTO_MARK, STREAM_KIND } from './crypto.js';
import { readBody, readGossip, sizeBody, writeBody } from './body.js';
import {
  DEFAULT_WIRE_LIMITS,
  FIELD_MAX,
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
  if (msg.type === 'gossip') {
    const f = forwardOf(msg, limits);
    if (f !== null) return { ok: true, frame: f };
  }
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
  w.u32(crcRange(0, w.buf, 4, w.pos));
  return { ok: true, frame: w.buf };
}

/** The received frame of this gossip, rewritten for `msg.round` (see forward.ts), when `msg` is
 *  within the format's bounds and `limits`; null means "encode it normally". */
function forwardOf(msg: Extract<WireMessage, { type: 'gossip' }>, limits: WireLimits): Uint8Array | null {
  const p = msg.payload;
  if (!isUint(msg.round, FIELD_MAX.round) || typeof msg.id !== 'string' || !(p instanceof Uint8Array)) return null;
  const f = forwardFrame(msg.id, msg.round, p);
  if (f === null || p.length > limits.maxPayloadBytes || f.length - 4 > limits.maxFrameBytes) return null;
  return f;
}

/** Exact length of `encodeFrame(msg, limits)`'s frame, or -1 if it would be refused. */
export function encodedSize(msg: WireMessage, limits: WireLimits = DEFAULT_WIRE_LIMITS): number {
  if (msg === null || typeof msg !== 'object') return -1;
  const body = sizeBody(msg, limits);
  if (typeof body === 'string' || body + MIN_LENGTH > limits.maxFrameBytes) return -1;
  return FRAME_OVERHEAD + body;
}

/** The big-endian u32 at `b[i]` (a frame's length prefix and checksum). */
export function readU32(b: Uint8Array, i: number): number {
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

const GOSSIP_CODE = TYPE_CODES.gossip;

/** The reader of `decodeChecked`, reused for every frame (decoding never nests). */
const READER = new Reader(new Uint8Array(0), 0, 0);

/** Decode the frame at `b[at, at + 4 + length)`, whose length prefix has already been checked.
 *  `keep`: the bytes are the caller's for good, a payload may be a view into them. */
function decodeChecked(b: Uint8Array, at: number, length: number, limits: WireLimits, keep = false): DecodeResult {
  const end = at + 4 + length;
  const sum = readU32(b, end - 4);
  if (b[at + 5] === GOSSIP_CODE && length - 4 > JS_CRC_MAX) {
    const fast = decodeGossip(b, at, length, limits, keep, sum);
    if (fast !== null) return fast;
  }
  const actual = crcRange(0, b, at + 4, end - 4);
  if (sum !== actual) return fail('bad-checksum', `crc32c ${actual.toString(16)} != ${sum.toString(16)}`);
  const version = b[at + 4];
  const code = b[at + 5];
  const handshake = code >= 1 && code <= MAX_HANDSHAKE_CODE;
  if (version < 1 || (!handshake && (version < MIN_PROTOCOL_VERSION || version > PROTOCOL_VERSION))) {
    return fail('unsupported-version', `version ${version} not in ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`);
  }
  const type = TYPE_BY_CODE[code];
  if (type === undefined) return fail('unknown-type', `type code ${code}`);
  const r = READER.reset(b, at + 6, end - 4, keep);
  try {
    const msg = readBody(type, r, limits);
    if (r.pos !== r.end) return fail('malformed', `${type}: ${r.end - r.pos} trailing bytes`);
    return { ok: true, msg, bytes: 4 + length };
  } catch (err) {
    if (err instanceof WireFault) return fail(err.error, err.detail);
    return fail('malformed', `${type}: ${String(err)}`);
  } finally {
    r.release();
  }
}

/**
 * `decodeChecked` for a large `gossip` frame: the body is parsed first and the checksum
 * verified inside `readGossip`, over the payload view it makes anyway (the generic path needs
 * a view of the checksummed region for the native CRC call: one more object per message).
 * Same results as the generic path: the checksum is still verified before the id, and on
 * any other failure (bad version, malformed body) this returns null and the generic path
 * decides, checksum first — so a corrupted frame is still reported as `bad-checksum`.
 */
function decodeGossip(b: Uint8Array, at: number, length: number, limits: WireLimits, keep: boolean, sum: number): DecodeResult | null {
  const version = b[at + 4];
  if (version < MIN_PROTOCOL_VERSION || version > PROTOCOL_VERSION) return null;
  const r = READER.reset(b, at + 6, at + length, keep);
  try {
    return { ok: true, msg: readGossip(r, limits, sum), bytes: 4 + length };
  } catch (err) {
    if (err instanceof WireFault && err.error === 'bad-checksum') return fail('bad-checksum', err.detail);
    return null;
  } finally {
    r.release();
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
  return decodeChecked(frame, 0, length, limits);
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
  private readonly adopt: boolean;
  private readonly detect: boolean;
  private chunks: Uint8Array[] = [];
  /** Index of the first live chunk and read offset inside it. */
  private head = 0;
  private off = 0;
  private total = 0;
  private dead: DecodeResult | null = null;
  /** The last chunk judged by `keepable`, and the verdict. */
  private judged: Uint8Array | null = null;
  private judgedKeep = false;

  /**
   * @param opts.adoptChunks the pushed chunks are handed over for good (nobody writes them
   *   afterwards: e.g. the chunks of a socket's `data` events). A `gossip` payload may then be
   *   a view into its chunk instead of a copy (see `keepable`). Default false: every kept byte
   *   is copied.
   * @param opts.detectEncrypted a frame boundary that starts with an encrypted segment header
   *   (0xFF 'R', see crypto.ts) ends the decoder with the `encrypted` error (its bytes are then
   *   taken with `rest()`), instead of `frame-too-large`. Default false.
   */
  constructor(limits: WireLimits = DEFAULT_WIRE_LIMITS, opts: { adoptChunks?: boolean; detectEncrypted?: boolean } = {}) {
    this.limits = limits;
    this.adopt = opts.adoptChunks === true;
    this.detect = opts.detectEncrypted === true;
  }

  /** Append bytes received from the stream. */
  push(chunk: Uint8Array): void {
    if (this.dead !== null || chunk.length === 0) return;
    // A plain view of a `Buffer` chunk: the decoder's hot paths then only ever see
    // `Uint8Array`s (one element-access shape), and `subarray` of a `Buffer` would go through
    // Node's species-constructed FastBuffer.
    this.chunks.push(chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
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
    if (this.detect && length >>> 16 === ((CRYPTO_MARK << 8) | STREAM_KIND)) {
      // An encrypted segment header starts here (crypto.ts): stop, keeping the bytes for `rest()`.
      this.dead = fail('encrypted', 'the stream continues with encrypted records', true);
      return this.dead;
    }
    const bad = checkLength(length, this.limits);
    if (bad !== null) {
      this.dead = bad;
      this.chunks = [];
      this.head = this.off = this.total = 0;
      return bad;
    }
    if (this.total < 4 + length) return null;
    const c = this.chunks[this.head];
    const at = this.off;
    if (c.length - at >= 4 + length) {
      // The frame lies in one chunk: decoded in place (the decoder copies what it keeps).
      const keep = this.adopt && this.keepable(c, at);
      this.total -= 4 + length;
      this.advance(4 + length);
      return decodeChecked(c, at, length, this.limits, keep);
    }
    // Gathered into a new buffer of exactly this frame: the decoder's own, it may be kept.
    return decodeChecked(this.take(4 + length), 0, length, this.limits, true);
  }

  /** The next frame's bytes (length prefix through checksum), unchecked, when the whole frame
   *  lies in one chunk and its length prefix is within bounds; else null (`next` decides). For
   *  a caller that may drop it unread with `skip` (peek.ts). */
  peek(): Uint8Array | null {
    if (this.dead !== null || this.total < 4) return null;
    const c = this.chunks[this.head];
    const at = this.off;
    if (c.length - at < 4) return null;
    const length = readU32(c, at);
    if (length < MIN_LENGTH || length > this.limits.maxFrameBytes || c.length - at < 4 + length) return null;
    return c.subarray(at, at + 4 + length);
  }

  /** Drop the frame `peek` just returned, unread. */
  skip(frame: Uint8Array): void {
    this.total -= frame.length;
    this.advance(frame.length);
  }

  /** The bytes pushed but not consumed by a frame (after an `encrypted` result: the encrypted
   *  part of the stream), handed over once; the decoder is empty afterwards. */
  rest(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = this.head; i < this.chunks.length; i++) out.push(i === this.head ? this.chunks[i].subarray(this.off) : this.chunks[i]);
    this.chunks = [];
    this.head = this.off = this.total = 0;
    return out;
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

  /**
   * May the frames of chunk `c` (from the frame boundary `at` on) be decoded in place, their
   * payloads kept as views into `c`? A view keeps the whole `ArrayBuffer` of `c` alive, so only
   * if at least 7/8 of it are whole `gossip` frames after `at` — frames whose payloads are kept
   * anyway (the broadcast machine caches them), and cached together, so they also expire
   * together: at most 1/8 of the memory they hold is anything else. A socket's chunk is the
   * bytes of one read, so under load (many frames per read, nearly all `gossip` on an eager link)
   * this saves the copy of every payload; a chunk that fails the test is decoded with copies as
   * before. Judged once per chunk, on its frame headers only (the frames are checked later, one
   * by one, as they are decoded).
   */
  private keepable(c: Uint8Array, at: number): boolean {
    if (c === this.judged) return this.judgedKeep;
    let gossip = 0;
    let pos = at;
    while (c.length - pos >= 6) {
      const n = 4 + readU32(c, pos);
      if (n - 4 < MIN_LENGTH || n - 4 > this.limits.maxFrameBytes || c.length - pos < n) break;
      if (c[pos + 5] === GOSSIP_CODE) gossip += n;
      pos += n;
    }
    this.judged = c;
    this.judgedKeep = gossip * 8 >= c.buffer.byteLength * 7;
    return this.judgedKeep;
  }

  /** Remove and return the next `n` bytes, which span several chunks, as one new buffer. */
  private take(n: number): Uint8Array {
    this.total -= n;
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
