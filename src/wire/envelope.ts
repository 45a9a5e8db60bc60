/**
 * Broadcast envelope and content-derived message ids.
 *
 * The library wraps every application broadcast in an envelope (origin, per-origin sequence
 * number, channel, origin timestamp, data) before it reaches the broadcast machine; the
 * envelope bytes are the `gossip` payload, and the message id is derived from them:
 * `messageIdFor(bytes)` = lowercase hex of the first 16 bytes of SHA-256(bytes). Because the
 * id names the content, a receiver recomputes it (see `readGossip` in `body.ts`) and drops a
 * payload that was corrupted or spoofed in transit instead of delivering and re-spreading it.
 * Including origin and seq makes two broadcasts of identical data distinct messages.
 */
import * as nodeCrypto from 'node:crypto';
import { Reader, WireFault, Writer, MAX_VARINT, isUint, utf8Length, varintSize } from './bytes.js';

/** Application payload wrapper (see module comment). */
export interface Envelope {
  /** Id of the node that broadcast the message ("host:port"). */
  origin: string;
  /** Per-origin sequence number (integer ≥ 0). */
  seq: number;
  /** Application channel / topic name (may be empty). */
  channel: string;
  /** Origin's wall-clock time at broadcast, ms since the Unix epoch (integer ≥ 0). */
  timestamp: number;
  /** Application data. */
  data: Uint8Array;
}

/** Envelope format version (first byte). */
export const ENVELOPE_VERSION = 1;
/** Longest origin, in UTF-8 bytes (same bound as `DEFAULT_WIRE_LIMITS.maxIdBytes`). */
export const ENVELOPE_MAX_ORIGIN_BYTES = 320;
/** Longest channel name, in UTF-8 bytes. */
export const ENVELOPE_MAX_CHANNEL_BYTES = 255;

/** Why `e` cannot be encoded, or null if it can. */
export function checkEnvelope(e: Envelope): string | null {
  const o = typeof e.origin === 'string' ? utf8Length(e.origin) : -2;
  if (o === -2) return 'envelope.origin must be a string';
  if (o < 0) return 'envelope.origin is not well-formed UTF-16';
  if (o === 0 || o > ENVELOPE_MAX_ORIGIN_BYTES) return `envelope.origin must be 1..${ENVELOPE_MAX_ORIGIN_BYTES} bytes, got ${o}`;
  if (!isUint(e.seq, MAX_VARINT)) return `envelope.seq must be a safe integer >= 0, got ${String(e.seq)}`;
  const c = typeof e.channel === 'string' ? utf8Length(e.channel) : -2;
  if (c === -2) return 'envelope.channel must be a string';
  if (c < 0) return 'envelope.channel is not well-formed UTF-16';
  if (c > ENVELOPE_MAX_CHANNEL_BYTES) return `envelope.channel is ${c} bytes, limit ${ENVELOPE_MAX_CHANNEL_BYTES}`;
  if (!isUint(e.timestamp, MAX_VARINT)) return `envelope.timestamp must be a safe integer >= 0, got ${String(e.timestamp)}`;
  if (!(e.data instanceof Uint8Array)) return 'envelope.data must be a Uint8Array';
  return null;
}

/**
 * Encode an envelope: `u8 version=1 | string origin | varint seq | string channel |
 * varint timestamp | data (the rest)`. Throws RangeError naming the field if `e` is
 * invalid (call `checkEnvelope` first to get the reason as a value).
 */
export function encodeEnvelope(e: Envelope): Uint8Array {
  const bad = checkEnvelope(e);
  if (bad !== null) throw new RangeError(bad);
  const o = utf8Length(e.origin);
  const c = utf8Length(e.channel);
  const size =
    1 + varintSize(o) + o + varintSize(e.seq) + varintSize(c) + c + varintSize(e.timestamp) + e.data.length;
  const w = new Writer(new Uint8Array(size));
  w.u8(ENVELOPE_VERSION);
  w.string(e.origin, o);
  w.varint(e.seq);
  w.string(e.channel, c);
  w.varint(e.timestamp);
  w.bytes(e.data);
  return w.buf;
}

/** Decode an envelope; never throws. `data` is a view into `b` (no copy). */
export function decodeEnvelope(b: Uint8Array): { ok: true; envelope: Envelope } | { ok: false; reason: string } {
  const e = readEnvelope(b);
  return typeof e === 'string' ? { ok: false, reason: e } : { ok: true, envelope: e };
}

/** `decodeEnvelope` without the result wrapper (the delivery hot path): the envelope, or the
 *  reason it is invalid. Never throws. */
export function readEnvelope(b: Uint8Array): Envelope | string {
  const e: Envelope = { origin: '', seq: 0, channel: '', timestamp: 0, data: EMPTY };
  const bad = readEnvelopeInto(b, e);
  return bad ?? e;
}

const EMPTY = new Uint8Array(0);
/** The reader of `readEnvelopeInto`, reused (decoding never nests). */
const READER = new Reader(EMPTY, 0, 0);

/**
 * Decode the envelope `b` into the caller's object `out` (every field is overwritten; the
 * delivery hot path reuses one object and allocates only `data`, a view into `b`). Returns
 * null, or the reason `b` is invalid (then `out` holds garbage). Never throws. With `data`
 * false, `out.data` is left empty (no view made: the validate step reads only the head).
 */
export function readEnvelopeInto(b: Uint8Array, out: Envelope, data = true): string | null {
  if (!(b instanceof Uint8Array)) return 'envelope must be a Uint8Array';
  const r = READER.reset(b, 0, b.length, false);
  try {
    const v = r.u8('envelope.version');
    if (v !== ENVELOPE_VERSION) return `envelope.version ${v} unsupported (want ${ENVELOPE_VERSION})`;
    out.origin = r.string('envelope.origin', ENVELOPE_MAX_ORIGIN_BYTES, true);
    out.seq = r.varint('envelope.seq', MAX_VARINT);
    out.channel = r.string('envelope.channel', ENVELOPE_MAX_CHANNEL_BYTES);
    out.timestamp = r.varint('envelope.timestamp', MAX_VARINT);
    out.data = data ? new Uint8Array(b.buffer, b.byteOffset + r.pos, b.length - r.pos) : EMPTY;
    return null;
  } catch (err) {
    if (err instanceof WireFault) return err.detail;
    return `envelope: ${String(err)}`;
  } finally {
    r.release();
  }
}

/** One-shot SHA-256 (`crypto.hash`, Node ≥ 20.12) when available: no Hash object per call
 *  (measured: the hash object set-up cost more than hashing a 1 KB payload). */
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer' | 'hex' | 'latin1') => Buffer | string }).hash;

/** SHA-256 of `bytes` (32 bytes). */
export function sha256(bytes: Uint8Array): Buffer {
  return oneShot !== undefined ? (oneShot('sha256', bytes, 'buffer') as Buffer) : nodeCrypto.createHash('sha256').update(bytes).digest();
}

/** SHA-256 of `bytes` as 64 lowercase hex digits. Cheaper than `sha256` on the hot path: the
 *  digest never becomes a Buffer (measured, 1 KB: one-shot to hex 1.6 µs, to a Buffer 2.4 µs —
 *  each Buffer is a separately allocated backing store). */
export function sha256Hex(bytes: Uint8Array): string {
  return oneShot !== undefined ? (oneShot('sha256', bytes, 'hex') as string) : nodeCrypto.createHash('sha256').update(bytes).digest('hex');
}

/** SHA-256 of `bytes` as a 32-character string, one character per digest byte (latin1: char
 *  code k is byte k). For comparing a digest with raw bytes (`digestMatches`): half the string
 *  of `sha256Hex` and no hex encoding (measured, /tmp micro-benchmark, 80-byte payloads: 265
 *  against 295–330 ns per call; h32f). */
export function sha256Latin1(bytes: Uint8Array): string {
  return oneShot !== undefined ? (oneShot('sha256', bytes, 'latin1') as string) : nodeCrypto.createHash('sha256').update(bytes).digest().toString('latin1');
}

/** Do `b[at, at + n)` equal the first `n` bytes of the digest `d` (from `sha256Latin1`)? */
export function digestMatches(d: string, b: Uint8Array, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (d.charCodeAt(i) !== b[at + i]) return false;
  return true;
}

/** The first `n` bytes of the digest `d` (from `sha256Latin1`) as lowercase hex. */
export function digestHex(d: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += d.charCodeAt(i).toString(16).padStart(2, '0');
  return s;
}

/** The message id of a SHA-256 digest: lowercase hex of its first 16 bytes. */
export function idOfDigest(d: Buffer): string {
  return d.toString('hex', 0, 16);
}

/** Content-derived message id: lowercase hex of the first 16 bytes of SHA-256(bytes). */
export function messageIdFor(envelopeBytes: Uint8Array): string {
  return sha256Hex(envelopeBytes).slice(0, 32);
}
