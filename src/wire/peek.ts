/**
 * A look at a raw frame's header fields without decoding it: no checksum, no schema, no id
 * check. For a receiver that has already decided to drop a class of frames unread (issue 13
 * §2: the own messages of a peer whose queue is full, src/net/gossip-inbound.ts), so that a
 * flood costs a few byte reads per frame instead of a CRC-32C, a SHA-256 and the objects of a
 * decoded message. Nothing read here is trusted beyond "which bucket to charge the drop to".
 *
 * Layout read (docs/protocol.md §3): `length u32 | version u8 | type u8 | body | crc u32`; a
 * `gossip` body starts `idKind u8 (1 = 16 raw bytes) | id | payload length varint | payload`,
 * and its payload (the envelope, envelope.ts) starts `version u8 | origin length varint |
 * origin bytes`.
 */
import { ID_HEX16 } from './body.js';
import { ENVELOPE_VERSION } from './envelope.js';
import { readU32 } from './frame.js';
import { TYPE_CODES } from './types.js';

const GOSSIP_CODE = TYPE_CODES.gossip;

/** A canonical LEB128 varint of at most 4 bytes at `b[i]` (before `end`): its value, with the
 *  next index in `NEXT[0]`; -1 when there is none. (No array per call: this runs per frame.) */
const NEXT = new Int32Array(1);
function varintAt(b: Uint8Array, i: number, end: number): number {
  let v = 0;
  let mul = 1;
  for (let k = 0; k < 4 && i < end; k++) {
    const byte = b[i++];
    v += (byte & 0x7f) * mul;
    if (byte < 0x80) {
      NEXT[0] = i;
      return v;
    }
    mul *= 128;
  }
  return -1;
}

/**
 * True when `frame` (one whole frame, length prefix through checksum, unchecked) is a `gossip`
 * frame with a raw 16-byte id whose envelope names `origin` (its UTF-8 bytes). False for any
 * other frame or any malformed one — which the caller then decodes as usual.
 */
export function gossipFromOrigin(frame: Uint8Array, origin: Uint8Array): boolean {
  if (!gossipOriginRange(frame, SCRATCH) || SCRATCH[1] !== origin.length) return false;
  const i = SCRATCH[0];
  for (let k = 0; k < origin.length; k++) if (frame[i + k] !== origin[k]) return false;
  return true;
}

/** `gossipFromOrigin`'s range, reused. */
const SCRATCH = new Int32Array(2);

/**
 * Where the envelope's origin lies in `frame` (one whole frame, unchecked), for a receiver that
 * queues `gossip` frames per origin before decoding them (src/net/gossip-inbound.ts): true with
 * `out[0]` its first byte's index and `out[1]` its length, when `frame` is a `gossip` frame with
 * a raw 16-byte id whose length prefix says exactly this frame and whose payload starts with a
 * well-formed envelope header; false otherwise (the caller decodes the frame as usual). The
 * bytes are not trusted: the frame is decoded and checked in full before it is used.
 */
export function gossipOriginRange(frame: Uint8Array, out: Int32Array): boolean {
  const end = frame.length - 4;
  if (end < 6 + 1 + 16 || frame[5] !== GOSSIP_CODE || frame[6] !== ID_HEX16) return false;
  if (readU32(frame, 0) !== frame.length - 4) return false;
  const len = varintAt(frame, 6 + 1 + 16, end);
  if (len < 0 || NEXT[0] + len > end) return false;
  return originAt(frame, NEXT[0], NEXT[0] + len, out);
}

/** The same for an envelope (a `gossip` payload, decoded or not): where its origin lies. */
export function envelopeOriginRange(payload: Uint8Array, out: Int32Array): boolean {
  return originAt(payload, 0, payload.length, out);
}

/** The origin of the envelope at `b[i, end)`: its range into `out`, false when malformed. */
function originAt(b: Uint8Array, i: number, end: number, out: Int32Array): boolean {
  if (i >= end || b[i++] !== ENVELOPE_VERSION) return false;
  const o = varintAt(b, i, end);
  if (o < 0 || NEXT[0] + o > end) return false;
  out[0] = NEXT[0];
  out[1] = o;
  return true;
}
