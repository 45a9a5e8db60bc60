/**
 * Binary codec of the key-value state application (`src/proto/state`), carried in `direct`
 * frames and broadcasts on `_app.state` (docs/protocol.md, "Key-value state"). Never JSON.
 *
 * Layout: `version u8 (1)`, `type u8` (1 syn, 2 ack, 3 delta, 4 push, 5 sum), then
 * - sum: `owners varint`, `lo u32`, `hi u32` (big-endian; the digest's sum, digest-sum.ts);
 * - syn: `digest`;  ack: `digest`, `deltas`;  delta and push: `deltas`;
 * - digest: `count varint`, then per owner `node string`, `generation varint`, `maxVersion varint`;
 * - deltas: `count varint`, then per owner `node string`, `generation`, `fromVersion`,
 *   `toVersion` (varints), `reset u8 (0|1)`, `lastGcVersion varint`, `count varint`, then per
 *   entry `key string`, `version varint`, `kind u8` (0 tombstone, 1 value), value bytes
 *   (`length varint` + bytes) when kind is 1;
 * and a CRC-32C (big-endian u32) of everything before it. Sizes are exactly
 * `stateMessageSize` (src/proto/state/types.ts). Decoding checks every bound (message size,
 * counts, key and value sizes from the limits, node ids up to 255 bytes, versions ascending
 * within an owner) and never throws.
 */
import type { DigestEntry, KvEntry, NodeDelta, StateLimits, StateMessage } from '../proto/state/types.js';
import { DEFAULT_STATE_LIMITS, stateMessageSize, stringIdBytes, utf8Bytes } from '../proto/state/types.js';
import { Reader, WireFault, Writer } from './bytes.js';
import { crcView } from './crc.js';

export const STATE_CODEC_VERSION = 1;
const TYPE_CODE = { syn: 1, ack: 2, delta: 3, push: 4, sum: 5 } as const;
/** Longest node id (`host:port`). */
const MAX_ID_BYTES = 255;
/** Largest state message accepted (the frame limit is 1 MiB; the machine stays under 65,000). */
export const MAX_STATE_MESSAGE_BYTES = 1024 * 1024;
const MAX_COUNT = 100_000;
const MAX_VERSION = Number.MAX_SAFE_INTEGER;

export type StateCodecResult<V> = { ok: true; value: V } | { ok: false; reason: string };

/** Encode `msg` (string node ids). Refuses ids over 255 bytes and messages over 1 MiB. */
export function encodeStateMessage(msg: StateMessage<string>): StateCodecResult<Uint8Array> {
  const size = stateMessageSize(msg, stringIdBytes);
  if (size > MAX_STATE_MESSAGE_BYTES) return { ok: false, reason: `state message of ${size} bytes exceeds ${MAX_STATE_MESSAGE_BYTES}` };
  const w = new Writer(new Uint8Array(size));
  w.u8(STATE_CODEC_VERSION);
  w.u8(TYPE_CODE[msg.type]);
  try {
    if (msg.type === 'sum') {
      if (![msg.lo, msg.hi].every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) throw new Error('sum lanes must be u32');
      w.varint(msg.owners);
      w.u32(msg.lo);
      w.u32(msg.hi);
    } else {
      if (msg.type === 'syn' || msg.type === 'ack') writeDigest(w, msg.digest);
      if (msg.type !== 'syn') writeDeltas(w, msg.deltas);
    }
  } catch (e) {
    return { ok: false, reason: String((e as Error).message) };
  }
  w.u32(crcView(w.buf.subarray(0, w.pos)));
  if (w.pos !== size) return { ok: false, reason: `state codec: wrote ${w.pos} bytes, sized ${size}` };
  return { ok: true, value: w.buf };
}

function id(w: Writer, s: string): void {
  const n = utf8Bytes(s);
  if (n < 1 || n > MAX_ID_BYTES) throw new Error(`node id of ${n} bytes (expected 1..${MAX_ID_BYTES})`);
  w.string(s, n);
}

function writeDigest(w: Writer, d: readonly DigestEntry<string>[]): void {
  w.varint(d.length);
  for (const e of d) {
    id(w, e.node);
    w.varint(e.generation);
    w.varint(e.maxVersion);
  }
}

function writeDeltas(w: Writer, ds: readonly NodeDelta<string>[]): void {
  w.varint(ds.length);
  for (const d of ds) {
    id(w, d.node);
    w.varint(d.generation);
    w.varint(d.fromVersion);
    w.varint(d.toVersion);
    w.u8(d.reset ? 1 : 0);
    w.varint(d.lastGcVersion);
    w.varint(d.entries.length);
    for (const e of d.entries) {
      const k = utf8Bytes(e.key);
      if (k < 1) throw new Error('empty or malformed key');
      w.string(e.key, k);
      w.varint(e.version);
      if (e.value === null) w.u8(0);
      else {
        w.u8(1);
        w.varint(e.value.byteLength);
        w.bytes(e.value);
      }
    }
  }
}

/** Decode a state message; `limits` bound keys and values (the receiver's). Never throws. */
export function decodeStateMessage(bytes: Uint8Array, limits: StateLimits = DEFAULT_STATE_LIMITS): StateCodecResult<StateMessage<string>> {
  if (bytes.byteLength > MAX_STATE_MESSAGE_BYTES) return { ok: false, reason: `state message of ${bytes.byteLength} bytes exceeds ${MAX_STATE_MESSAGE_BYTES}` };
  if (bytes.byteLength < 6) return { ok: false, reason: 'state message: truncated' };
  const end = bytes.byteLength - 4;
  const crc = ((bytes[end] << 24) | (bytes[end + 1] << 16) | (bytes[end + 2] << 8) | bytes[end + 3]) >>> 0;
  if (crcView(bytes.subarray(0, end)) !== crc) return { ok: false, reason: 'state message: bad checksum' };
  const r = new Reader(bytes, 0, end);
  try {
    const v = r.u8('version');
    if (v !== STATE_CODEC_VERSION) return { ok: false, reason: `state message: unsupported version ${v}` };
    const t = r.u8('type');
    let msg: StateMessage<string>;
    if (t === TYPE_CODE.syn) msg = { type: 'syn', digest: readDigest(r) };
    else if (t === TYPE_CODE.ack) msg = { type: 'ack', digest: readDigest(r), deltas: readDeltas(r, limits) };
    else if (t === TYPE_CODE.delta) msg = { type: 'delta', deltas: readDeltas(r, limits) };
    else if (t === TYPE_CODE.push) msg = { type: 'push', deltas: readDeltas(r, limits) };
    else if (t === TYPE_CODE.sum) msg = { type: 'sum', owners: r.varint('owners', MAX_COUNT), lo: u32(r), hi: u32(r) };
    else return { ok: false, reason: `state message: unknown type ${t}` };
    if (r.pos !== end) return { ok: false, reason: `state message: ${end - r.pos} trailing bytes` };
    return { ok: true, value: msg };
  } catch (e) {
    if (e instanceof WireFault) return { ok: false, reason: `state message: ${e.detail}` };
    return { ok: false, reason: `state message: ${String((e as Error).message)}` };
  }
}

function u32(r: Reader): number {
  let n = 0;
  for (let i = 0; i < 4; i++) n = n * 256 + r.u8('sum');
  return n;
}

function readDigest(r: Reader): DigestEntry<string>[] {
  const n = r.varint('digest count', MAX_COUNT);
  const out: DigestEntry<string>[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ node: r.string('node', MAX_ID_BYTES, true), generation: r.varint('generation', MAX_VERSION), maxVersion: r.varint('maxVersion', MAX_VERSION) });
  }
  return out;
}

function readDeltas(r: Reader, L: StateLimits): NodeDelta<string>[] {
  const n = r.varint('delta count', MAX_COUNT);
  const out: NodeDelta<string>[] = [];
  for (let i = 0; i < n; i++) {
    const node = r.string('node', MAX_ID_BYTES, true);
    const generation = r.varint('generation', MAX_VERSION);
    const fromVersion = r.varint('fromVersion', MAX_VERSION);
    const toVersion = r.varint('toVersion', MAX_VERSION);
    const reset = r.bool('reset');
    const lastGcVersion = r.varint('lastGcVersion', MAX_VERSION);
    const count = r.varint('entry count', MAX_COUNT);
    const entries: KvEntry[] = [];
    let prev = fromVersion;
    for (let j = 0; j < count; j++) {
      const key = r.string('key', L.maxKeyBytes, true);
      const version = r.varint('version', MAX_VERSION);
      if (version <= prev) throw new WireFault('malformed', `entry versions must ascend above fromVersion (${version} after ${prev})`);
      prev = version;
      const kind = r.u8('kind');
      if (kind > 1) throw new WireFault('malformed', `entry kind: expected 0 or 1, got ${kind}`);
      const value = kind === 1 ? r.bytes(r.length('value', L.maxValueBytes)) : null;
      entries.push({ key, version, value });
    }
    if (toVersion !== 0 && toVersion < prev) throw new WireFault('malformed', `toVersion ${toVersion} below the last entry's version ${prev}`);
    out.push({ node, generation, fromVersion, toVersion, reset, lastGcVersion, entries });
  }
  return out;
}
