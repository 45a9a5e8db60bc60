/**
 * Application datagrams (specified in `docs/protocol.md`, "Application datagrams"): small
 * point-to-point application messages — the membership machine's ordinary SWIM `m-ping` and
 * `m-ack`, the key-value state's anti-entropy — sent as one UDP datagram from the node's UDP
 * socket (the one its heartbeats use, bound on its listen host:port) instead of a `direct`
 * frame over a TCP connection that would have to be dialed for the purpose. Same framing as the heartbeat
 * datagrams (datagram.ts):
 *
 *     u32 length | u8 version | u8 type (10) | string cluster | string from | string channel
 *       | data (the rest) | u32 crc32c
 *
 * - `cluster`: the sender's cluster name; a node drops a datagram of another cluster
 *   (`cluster-mismatch`), as its TCP handshake refuses a `hello` of another cluster. With a
 *   cluster keyring the whole datagram is sealed (`DatagramSealer`, crypto.ts): its subkey is
 *   derived from the key *and* the cluster name, so a peer without the key, or of another
 *   cluster, cannot make one that opens, and a replayed one is dropped (its counter).
 * - `from`: the sender's advertised address (its member id), as a TCP handshake's `hello.id`.
 * - `channel`: the application channel (`_rumor.m` for membership); `data`: the
 *   application's encoded message, unchanged.
 *
 * Bounded: a whole datagram is at most `MAX_APP_DATAGRAM_BYTES` (a sealed one 43 bytes more),
 * so that with IPv6 and UDP headers it fits the IPv6 minimum MTU of 1280 bytes and is never
 * fragmented; a larger message is refused at encode, and the runtime sends it over TCP
 * instead. Decoding never throws: every malformed datagram is a typed error (the runtime
 * counts it by reason and drops it).
 */
import { Reader, WireFault, Writer, isUint, utf8Length, varintSize } from './bytes.js';
import { crcView } from './crc.js';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, type DecodeError } from './types.js';


/** Type code of an application datagram (the datagram table of datagram.ts: 8, 9 heartbeats). */
export const APP_DATAGRAM_CODE = 10;

/**
 * Largest application datagram before sealing: 1280 (IPv6 minimum MTU) − 40 (IPv6 header) −
 * 8 (UDP header) − 43 (sealing: 27-byte header + 16-byte tag, crypto.ts) = 1189, rounded
 * down to 1180. memberlist's UDP buffer is 1400 bytes (its `UDPBufferSize`); we keep to the
 * smaller size that no IPv4 or IPv6 path fragments.
 */
export const MAX_APP_DATAGRAM_BYTES = 1180;
/** Bounds of the string fields (cluster names are short; ids as `WireLimits.maxIdBytes`). */
export const APP_DATAGRAM_LIMITS = Object.freeze({ maxClusterBytes: 255, maxFromBytes: 320, maxChannelBytes: 255 });

/** An application datagram. */
export interface AppDatagram {
  cluster: string;
  from: string;
  channel: string;
  data: Uint8Array;
}

/** Result of `encodeAppDatagram`. */
export type AppDatagramEncode = { ok: true; bytes: Uint8Array } | { ok: false; reason: string; tooLarge: boolean };
/** Result of `decodeAppDatagram`. */
export type AppDatagramResult = { ok: true; dgram: AppDatagram } | { ok: false; error: DecodeError; detail: string };

/** True when `b` (a plaintext datagram) carries the application datagram type code. */
export function isAppDatagram(b: Uint8Array): boolean {
  return b.length > 5 && b[5] === APP_DATAGRAM_CODE;
}

/** Encode `d`, or say why not (`tooLarge`: only its size is wrong: send it another way). */
export function encodeAppDatagram(d: AppDatagram): AppDatagramEncode {
  const L = APP_DATAGRAM_LIMITS;
  const bad = (reason: string): AppDatagramEncode => ({ ok: false, reason, tooLarge: false });
  if (typeof d.cluster !== 'string' || typeof d.from !== 'string' || typeof d.channel !== 'string') return bad('app datagram: cluster, from and channel must be strings');
  if (!(d.data instanceof Uint8Array)) return bad('app datagram: data must be a Uint8Array');
  const cl = utf8Length(d.cluster);
  const fl = utf8Length(d.from);
  const chl = utf8Length(d.channel);
  if (cl > L.maxClusterBytes) return bad(`app datagram: cluster of ${cl} bytes, maximum ${L.maxClusterBytes}`);
  if (fl === 0 || fl > L.maxFromBytes) return bad(`app datagram: from of ${fl} bytes, must be 1..${L.maxFromBytes}`);
  if (chl === 0 || chl > L.maxChannelBytes) return bad(`app datagram: channel of ${chl} bytes, must be 1..${L.maxChannelBytes}`);
  const length = 2 + varintSize(cl) + cl + varintSize(fl) + fl + varintSize(chl) + chl + d.data.byteLength + 4;
  if (4 + length > MAX_APP_DATAGRAM_BYTES) {
    return { ok: false, reason: `app datagram of ${4 + length} bytes, maximum ${MAX_APP_DATAGRAM_BYTES}`, tooLarge: true };
  }
  const w = new Writer(new Uint8Array(4 + length));
  w.u32(length);
  w.u8(PROTOCOL_VERSION);
  w.u8(APP_DATAGRAM_CODE);
  w.string(d.cluster, cl);
  w.string(d.from, fl);
  w.string(d.channel, chl);
  w.bytes(d.data);
  w.u32(crcView(w.buf.subarray(4, w.pos)));
  return { ok: true, bytes: w.buf };
}

function fail(error: DecodeError, detail: string): AppDatagramResult {
  return { ok: false, error, detail };
}

/** Decode one application datagram (the whole plaintext UDP payload). Never throws. */
export function decodeAppDatagram(b: Uint8Array): AppDatagramResult {
  if (!(b instanceof Uint8Array)) return fail('malformed', 'datagram must be a Uint8Array');
  if (b.length < 4 + 2 + 3 + 4) return fail('bad-length', `app datagram of ${b.length} bytes, minimum 13`);
  if (b.length > MAX_APP_DATAGRAM_BYTES) return fail('frame-too-large', `app datagram of ${b.length} bytes, maximum ${MAX_APP_DATAGRAM_BYTES}`);
  const length = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  if (!isUint(length, MAX_APP_DATAGRAM_BYTES) || length !== b.length - 4) return fail('bad-length', `length prefix ${length} but ${b.length - 4} bytes follow it`);
  const end = b.length;
  const sum = ((b[end - 4] << 24) | (b[end - 3] << 16) | (b[end - 2] << 8) | b[end - 1]) >>> 0;
  const actual = crcView(b.subarray(4, end - 4));
  if (sum !== actual) return fail('bad-checksum', `crc32c ${actual.toString(16)} != ${sum.toString(16)}`);
  if (b[4] < MIN_PROTOCOL_VERSION || b[4] > PROTOCOL_VERSION) return fail('unsupported-version', `version ${b[4]} not in ${MIN_PROTOCOL_VERSION}..${PROTOCOL_VERSION}`);
  if (b[5] !== APP_DATAGRAM_CODE) return fail('unknown-type', `datagram type code ${b[5]}`);
  try {
    const L = APP_DATAGRAM_LIMITS;
    const r = new Reader(b, 6, end - 4);
    const cluster = r.string('app-dgram.cluster', L.maxClusterBytes);
    const from = r.string('app-dgram.from', L.maxFromBytes, true);
    const channel = r.string('app-dgram.channel', L.maxChannelBytes, true);
    const data = r.bytes(r.end - r.pos);
    return { ok: true, dgram: { cluster, from, channel, data } };
  } catch (err) {
    if (err instanceof WireFault) return fail(err.error, err.detail);
    return fail('malformed', `app-dgram: ${String(err)}`);
  }
}
