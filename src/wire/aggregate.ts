/**
 * Binary codec of the aggregate machines' messages (src/proto/aggregate), carried in `direct`
 * frames on the channel `_app.agg.<name>` (the frame brings the length and the CRC-32C).
 * Never JSON. Layout (big-endian):
 *
 *   u8 version (1) | u8 type (1 push, 2 flow, 3 extreme) | u8 kind (0 avg … 4 max)
 *   push:    u32 epoch | u32 tag | f64 s  | f64 w  | u8 n | n bytes hint (UTF-8; n = 0: none)
 *   flow:    f64 fv    | f64 fw  | f64 ev | f64 ew
 *   extreme: u32 epoch | u32 tag | f64 value | u8 n | n bytes hint
 *
 * Bounded: a hint is at most 64 bytes, so a message is at most 92 bytes; decoding checks the
 * exact length, the version, the codes, every float finite (weights and flows too) and the
 * hint's UTF-8, and never throws.
 */
import type { AggMsg, AggregateKind } from '../proto/aggregate/types.js';
import { AGGREGATE_KINDS, aggregateMsgSize, KIND_CODE } from '../proto/aggregate/types.js';

export { aggregateMsgSize };

export const AGGREGATE_CODEC_VERSION = 1;
export const MAX_HINT_BYTES = 64;
/** Largest encoded message. */
export const MAX_AGGREGATE_MSG_BYTES = 3 + 8 + 16 + 1 + MAX_HINT_BYTES;

type Result<V> = { ok: true; value: V } | { ok: false; reason: string };
const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const T_PUSH = 1;
const T_FLOW = 2;
const T_EXTREME = 3;

/** Encode a message with string peer ids. */
export function encodeAggregate(msg: AggMsg<string>): Result<Uint8Array> {
  const kind = KIND_CODE[msg.kind];
  if (kind === undefined) return { ok: false, reason: `aggregate codec: unknown kind ${String(msg.kind)}` };
  let hint: Uint8Array | null = null;
  if (msg.type !== 'flow' && msg.hint !== null) {
    hint = enc.encode(msg.hint);
    if (hint.length === 0 || hint.length > MAX_HINT_BYTES) return { ok: false, reason: `aggregate codec: hint must be 1-${MAX_HINT_BYTES} bytes` };
  }
  const size = aggregateMsgSize(msg, hint?.length ?? 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = AGGREGATE_CODEC_VERSION;
  out[2] = kind;
  if (msg.type === 'flow') {
    out[1] = T_FLOW;
    const xs = [msg.fv, msg.fw, msg.ev, msg.ew];
    if (!xs.every(Number.isFinite)) return { ok: false, reason: 'aggregate codec: non-finite flow' };
    xs.forEach((x, i) => dv.setFloat64(3 + 8 * i, x));
    return { ok: true, value: out };
  }
  if (!isU32(msg.epoch) || !isU32(msg.tag)) return { ok: false, reason: 'aggregate codec: epoch and tag must be u32' };
  out[1] = msg.type === 'push' ? T_PUSH : T_EXTREME;
  dv.setUint32(3, msg.epoch);
  dv.setUint32(7, msg.tag);
  const xs = msg.type === 'push' ? [msg.s, msg.w] : [msg.value];
  if (!xs.every(Number.isFinite)) return { ok: false, reason: 'aggregate codec: non-finite value' };
  xs.forEach((x, i) => dv.setFloat64(11 + 8 * i, x));
  const at = 11 + 8 * xs.length;
  out[at] = hint?.length ?? 0;
  if (hint !== null) out.set(hint, at + 1);
  return { ok: true, value: out };
}

/** Decode a message (never throws). */
export function decodeAggregate(b: Uint8Array): Result<AggMsg<string>> {
  if (b.length < 3) return { ok: false, reason: 'aggregate codec: truncated header' };
  if (b[0] !== AGGREGATE_CODEC_VERSION) return { ok: false, reason: `aggregate codec: unsupported version ${b[0]}` };
  const kind: AggregateKind | undefined = AGGREGATE_KINDS[b[2]];
  if (kind === undefined) return { ok: false, reason: `aggregate codec: unknown kind code ${b[2]}` };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const t = b[1];
  if (t === T_FLOW) {
    if (b.length !== 35) return { ok: false, reason: `aggregate codec: flow message must be 35 bytes, got ${b.length}` };
    const xs = [0, 1, 2, 3].map((i) => dv.getFloat64(3 + 8 * i));
    if (!xs.every(Number.isFinite)) return { ok: false, reason: 'aggregate codec: non-finite flow' };
    return { ok: true, value: { type: 'flow', kind, fv: xs[0], fw: xs[1], ev: xs[2], ew: xs[3] } };
  }
  if (t !== T_PUSH && t !== T_EXTREME) return { ok: false, reason: `aggregate codec: unknown type code ${t}` };
  const nums = t === T_PUSH ? 2 : 1;
  const at = 11 + 8 * nums;
  if (b.length < at + 1) return { ok: false, reason: 'aggregate codec: truncated message' };
  const n = b[at];
  if (n > MAX_HINT_BYTES || b.length !== at + 1 + n) return { ok: false, reason: 'aggregate codec: bad hint length' };
  let hint: string | null = null;
  if (n > 0) {
    try {
      hint = dec.decode(b.subarray(at + 1, at + 1 + n));
    } catch {
      return { ok: false, reason: 'aggregate codec: hint is not UTF-8' };
    }
  }
  const epoch = dv.getUint32(3);
  const tag = dv.getUint32(7);
  const x = dv.getFloat64(11);
  const y = t === T_PUSH ? dv.getFloat64(19) : 0;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return { ok: false, reason: 'aggregate codec: non-finite value' };
  if (t === T_PUSH) return { ok: true, value: { type: 'push', kind, epoch, tag, s: x, w: y, hint } };
  return { ok: true, value: { type: 'extreme', kind, epoch, tag, value: x, hint } };
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** The codec as the TCP application host expects it (src/net/app-host.ts `AppCodec`). */
export const aggregateCodec = { encode: encodeAggregate, decode: decodeAggregate };
