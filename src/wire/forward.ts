/**
 * Forwarding a received `gossip` frame without re-encoding it.
 *
 * A Plumtree node forwards every new message to its eager peers with `round + 1` and nothing
 * else changed. The `gossip` body puts `round` last (just before the checksum, see
 * `docs/protocol.md` §3), so the forwarded frame differs from the received one only in its
 * last bytes: the round varint and the CRC-32C. The decoder copies a received `gossip` frame
 * once into a buffer it owns (the payload handed to the machine is a view into that copy) and
 * remembers it here; when the runtime then encodes a `gossip` carrying that very payload
 * object, the same id and a round whose varint has the same length, the copy's round and CRC
 * are rewritten in place and the copy itself becomes the outgoing frame (shared by every
 * eager peer). The new CRC is derived from the verified one: CRC-32C steps are invertible,
 * so the old round bytes are "un-appended" and the new ones appended (a few table look-ups,
 * no pass over the payload). Result: no second payload copy and no second CRC of ~1 KB per
 * forwarded message; the bytes are exactly what `encodeFrame` would produce
 * (property-tested in test/wire/forward.test.ts).
 *
 * Purely a cache: one entry, keyed by the payload object's identity (plus id and round), and
 * a frame is rewritten at most once — after it has been handed out it is never mutated; any
 * other request falls back to the ordinary encoder. The SHA-256 id check and the CRC check
 * on receipt are unchanged.
 */
import { varintSize } from './bytes.js';
import { crcAppend, crcUnappend } from './crc.js';

const EMPTY = new Uint8Array(0);

/** The remembered frame (see module comment): `lastBuf[lastFrom, lastFrom + lastSize)`. Its
 *  `Uint8Array` is made only when it is first handed out (a node that forwards nothing — a
 *  leaf of the tree — never pays for it), or is `lastBuf` itself when it is the whole buffer. */
let lastPayload: Uint8Array | null = null;
let lastId = '';
let lastBuf: Uint8Array = EMPTY;
let lastFrom = 0;
let lastSize = 0;
let lastFrame: Uint8Array | null = null;
/** Offset of the round varint in the frame, its value, and whether the frame was handed out. */
let lastRoundAt = 0;
let lastRound = 0;
let handedOut = false;

/** Called by the decoder: `buf[from, from + size)` (owned, never written by anyone else) is a
 *  verified `gossip` frame whose payload view is `payload`, whose id is `id`, and whose round
 *  varint `round` starts at frame offset `roundAt` and ends where the checksum starts. */
export function rememberGossip(buf: Uint8Array, from: number, size: number, payload: Uint8Array, id: string, roundAt: number, round: number): void {
  lastPayload = payload;
  lastId = id;
  lastBuf = buf;
  lastFrom = from;
  lastSize = size;
  lastFrame = from === 0 && size === buf.length ? buf : null;
  lastRoundAt = roundAt;
  lastRound = round;
  handedOut = false;
}

/** Forget the remembered frame (tests; never needed for correctness). */
export function forgetGossip(): void {
  lastPayload = null;
  lastBuf = EMPTY;
  lastFrame = null;
}

/**
 * The frame of `gossip {id, round, payload}` built from the remembered received frame, or
 * null when it cannot be (other payload or id, round varint of another length, frame already
 * handed out with another round). `round` must already be validated by the caller
 * (`encodeFrame` checks it against the format bound first).
 */
export function forwardFrame(id: string, round: number, payload: Uint8Array): Uint8Array | null {
  if (payload !== lastPayload || id !== lastId) return null;
  const f = (lastFrame ??= new Uint8Array(lastBuf.buffer, lastBuf.byteOffset + lastFrom, lastSize));
  if (round === lastRound) {
    handedOut = true;
    return f;
  }
  const end = f.length - 4;
  if (handedOut || varintSize(round) !== end - lastRoundAt) return null;
  const old = ((f[end] << 24) | (f[end + 1] << 16) | (f[end + 2] << 8) | f[end + 3]) >>> 0;
  const base = crcUnappend(old, f, lastRoundAt, end);
  let v = round;
  let p = lastRoundAt;
  while (v >= 0x80) {
    f[p++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  f[p] = v;
  const crc = crcAppend(base, f, lastRoundAt, end);
  f[end] = crc >>> 24;
  f[end + 1] = (crc >>> 16) & 0xff;
  f[end + 2] = (crc >>> 8) & 0xff;
  f[end + 3] = crc & 0xff;
  lastRound = round;
  handedOut = true;
  return f;
}
