/**
 * UDP heartbeat datagrams (specified in `docs/protocol.md`, "Heartbeat datagrams").
 *
 * An idle HyParView link is kept alive by a UDP `hb-ping` from the dialer, answered by an
 * `hb-pong` from the acceptor: two datagrams per heartbeat instead of three TCP segments
 * (PING, PONG and the delayed ACK). Each datagram uses the stream framing unchanged:
 *
 *     u32 length | u8 version | u8 type | token (8 bytes) | seq (varint) | u32 crc32c
 *
 * `token` is the link's 64-bit random token, chosen by the acceptor and sent to the dialer
 * over the TCP connection in a `udp-token` frame: it maps a datagram to its connection and
 * makes a stray or spoofed datagram (which cannot know the token) recognisable. The datagram
 * type codes (8, 9) come from the same append-only table as the stream codes but are never
 * valid inside a TCP stream (the stream decoder rejects them as `unknown-type`).
 *
 * Decoding never throws: a datagram that is too short, too long, fails its checksum, its
 * version, its type or its bounds is returned as a typed error (the runtime counts it by
 * reason and drops it).
 */
import { Reader, WireFault, Writer, isUint, toHex, varintSize } from './bytes.js';
import { crcView } from './crc.js';
import { FIELD_MAX, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, type DecodeError, type EncodeResult } from './types.js';


/** Bytes of a link token on the wire (64 bits). */
export const TOKEN_BYTES = 8;

/** Datagram type codes (APPEND-ONLY; reserved next to the stream codes in `TYPE_CODES`). */
export const DATAGRAM_TYPE_CODES = {
  'hb-ping': 8,
  'hb-pong': 9,
} as const;

/** Type tag of a heartbeat datagram. */
export type DatagramType = keyof typeof DATAGRAM_TYPE_CODES;

/** A heartbeat datagram. `token`: 16 lowercase hex digits; `seq`: the dialer's sequence. */
export interface Datagram {
  type: DatagramType;
  token: string;
  seq: number;
}

/** Result of `decodeDatagram`. */
export type DatagramResult = { ok: true; dgram: Datagram } | { ok: false; error: DecodeError; detail: string };

/** Largest heartbeat datagram: framing (10) + token (8) + a 5-byte varint seq. */
export const MAX_DATAGRAM_BYTES = 4 + 1 + 1 + TOKEN_BYTES + 5 + 4;
/** Smallest heartbeat datagram (1-byte seq). */
const MIN_DATAGRAM_BYTES = 4 + 1 + 1 + TOKEN_BYTES + 1 + 4;

function hexNibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** True when `t` is a link token: exactly 16 lowercase hex digits. */
export function isToken(t: unknown): t is string {
  if (typeof t !== 'string' || t.length !== 2 * TOKEN_BYTES) return false;
  for (let i = 0; i < t.length; i++) if (hexNibble(t.charCodeAt(i)) < 0) return false;
  return true;
}

/** Write a token (checked with `isToken`) as 8 raw bytes. */
export function writeToken(w: Writer, token: string): void {
  for (let i = 0; i < TOKEN_BYTES; i++) {
    w.u8((hexNibble(token.charCodeAt(2 * i)) << 4) | hexNibble(token.charCodeAt(2 * i + 1)));
  }
}

/** Read 8 raw bytes as a token (throws `WireFault` when truncated). */
export function readToken(r: Reader, what: string): string {
  r.need(TOKEN_BYTES, what);
  const t = toHex(r.buf, r.pos, TOKEN_BYTES);
  r.pos += TOKEN_BYTES;
  return t;
}

/** Encode a heartbeat datagram, or say which field is out of bounds. */
export function encodeDatagram(d: Datagram): EncodeResult {
  if (d === null || typeof d !== 'object') return { ok: false, reason: 'datagram must be an object' };
  const code = (DATAGRAM_TYPE_CODES as Record<string, number | undefined>)[d.type];
  if (code === undefined) return { ok: false, reason: `datagram.type must be "hb-ping" or "hb-pong", got ${String(d.type)}` };
  if (!isToken(d.token)) return { ok: false, reason: `${d.type}.token must be 16 lowercase hex digits` };
  if (!isUint(d.seq, FIELD_MAX.seq)) return { ok: false, reason: `${d.type}.seq must be an integer in [0, ${FIELD_MAX.seq}], got ${String(d.seq)}` };
  const length = 1 + 1 + TOKEN_BYTES + varintSize(d.seq) + 4;
  const w = new Writer(new Uint8Array(4 + length));
  w.u32(length);
  w.u8(PROTOCOL_VERSION);
  w.u8(code);
  writeToken(w, d.token);
  w.varint(d.seq);
  w.u32(crcView(w.buf.subarray(4, w.pos)));
  return { ok: true, frame: w.buf };
}

function fail(error: DecodeError, detail: string): DatagramResult {
  return { ok: false, error, detail };
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** Decode one heartbeat datagram (the whole UDP payload). Never throws. */
export function decodeDatagram(b: Uint8Array): DatagramResult {
  if (!(b instanceof Uint8Array)) return fail('malformed', 'datagram must be a Uint8Array');
  if (b.length < MIN_DATAGRAM_BYTES) return fail('bad-length', `datagram of ${b.length} bytes, minimum ${MIN_DATAGRAM_BYTES}`);
  if (b.length > MAX_DATAGRAM_BYTES) return fail('frame-too-large', `datagram of ${b.length} bytes, maximum ${MAX_DATAGRAM_BYTES}`);
  const length = u32(b, 0);
  if (length !== b.length - 4) return fail('bad-length', `length prefix ${length} but ${b.length - 4} bytes follow it`);
  const end = b.length;
  const sum = u32(b, end - 4);
  const actual = crcView(b.subarray(4, end - 4));
  if (sum !== actual) return fail('bad-checksum', `crc32c ${actual.toString(16)} != ${sum.toString(16)}`);
  const version = b[4];
  if (version < MIN_PROTOCOL_VERSION || version > PROTOCOL_VERSION) {
    return fail('unsupported-version', `version ${version} not in ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`);
  }
  const code = b[5];
  const type: DatagramType | undefined =
    code === DATAGRAM_TYPE_CODES['hb-ping'] ? 'hb-ping' : code === DATAGRAM_TYPE_CODES['hb-pong'] ? 'hb-pong' : undefined;
  if (type === undefined) return fail('unknown-type', `datagram type code ${code}`);
  try {
    const r = new Reader(b, 6, end - 4);
    const token = readToken(r, `${type}.token`);
    const seq = r.varint(type, FIELD_MAX.seq, '.seq');
    if (r.pos !== r.end) return fail('malformed', `${type}: ${r.end - r.pos} trailing bytes`);
    return { ok: true, dgram: { type, token, seq } };
  } catch (err) {
    if (err instanceof WireFault) return fail(err.error, err.detail);
    return fail('malformed', `${type}: ${String(err)}`);
  }
}
