/**
 * The codec of the gossip-learning application (`src/proto/learn/gossip.ts`): one message,
 * a model pushed to a peer, or the peer's model sent back in reply (push-pull). Binary,
 * versioned, checksummed, bounded; never JSON.
 *
 *     u8 version (1) | u8 type (1 = model, 2 = reply) | u32 age | u32 count | count × f32 | u32 crc32c
 *
 * Integers big-endian, parameters IEEE-754 float32 little-endian (copied as a block on every
 * little-endian host); the CRC-32C covers every byte before it. `count` is at most
 * `MAX_LEARN_PARAMS` (checked before anything is allocated), non-finite parameters are
 * refused at both ends (one NaN would poison every model it is averaged into).
 */
import { crcView } from './crc.js';
import type { LearnMsg } from '../proto/learn/gossip.js';

export const LEARN_WIRE_VERSION = 1;
const TYPE_MODEL = 1;
const TYPE_REPLY = 2;
const HEADER = 1 + 1 + 4 + 4;
/** At most 2^18 parameters (1 MiB of float32): 130× the 14×14 softmax model. */
export const MAX_LEARN_PARAMS = 1 << 18;
const MAX_AGE = 0xffff_ffff;

export type LearnCodecResult<V> = { ok: true; value: V } | { ok: false; reason: string };

/** Encoded size of a model message of `count` parameters. */
export function learnMsgSize(count: number): number {
  return HEADER + 4 * count + 4;
}

function finite(p: Float32Array): boolean {
  for (let k = 0; k < p.length; k++) if (!Number.isFinite(p[k])) return false;
  return true;
}

export function encodeLearn(msg: LearnMsg): LearnCodecResult<Uint8Array> {
  if (msg.type !== 'model' && msg.type !== 'reply') return { ok: false, reason: `learn: unknown message type ${String((msg as { type?: unknown }).type)}` };
  const p = msg.params;
  if (!(p instanceof Float32Array)) return { ok: false, reason: 'learn: params must be a Float32Array' };
  if (p.length > MAX_LEARN_PARAMS) return { ok: false, reason: `learn: ${p.length} parameters, limit ${MAX_LEARN_PARAMS}` };
  if (!Number.isInteger(msg.age) || msg.age < 0 || msg.age > MAX_AGE) return { ok: false, reason: `learn: age must be an integer in [0, ${MAX_AGE}], got ${msg.age}` };
  if (!finite(p)) return { ok: false, reason: 'learn: a parameter is not finite' };
  const out = new Uint8Array(learnMsgSize(p.length));
  const dv = new DataView(out.buffer);
  out[0] = LEARN_WIRE_VERSION;
  out[1] = msg.type === 'model' ? TYPE_MODEL : TYPE_REPLY;
  dv.setUint32(2, msg.age);
  dv.setUint32(6, p.length);
  for (let k = 0; k < p.length; k++) dv.setFloat32(HEADER + 4 * k, p[k], true);
  dv.setUint32(out.length - 4, crcView(out.subarray(0, out.length - 4)));
  return { ok: true, value: out };
}

export function decodeLearn(b: Uint8Array): LearnCodecResult<LearnMsg> {
  if (b.length < HEADER + 4) return { ok: false, reason: `learn: ${b.length} bytes is shorter than a header` };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = dv.getUint32(6);
  if (count > MAX_LEARN_PARAMS) return { ok: false, reason: `learn: ${count} parameters, limit ${MAX_LEARN_PARAMS}` };
  if (b.length !== learnMsgSize(count)) return { ok: false, reason: `learn: ${b.length} bytes, ${count} parameters need ${learnMsgSize(count)}` };
  const sum = dv.getUint32(b.length - 4);
  const crc = crcView(b.subarray(0, b.length - 4));
  if (crc !== sum) return { ok: false, reason: `learn: bad checksum (crc32c ${crc.toString(16)} != ${sum.toString(16)})` };
  if (b[0] !== LEARN_WIRE_VERSION) return { ok: false, reason: `learn: unsupported version ${b[0]}` };
  if (b[1] !== TYPE_MODEL && b[1] !== TYPE_REPLY) return { ok: false, reason: `learn: unknown type ${b[1]}` };
  const params = new Float32Array(count);
  for (let k = 0; k < count; k++) params[k] = dv.getFloat32(HEADER + 4 * k, true);
  if (!finite(params)) return { ok: false, reason: 'learn: a parameter is not finite' };
  return { ok: true, value: { type: b[1] === TYPE_MODEL ? 'model' : 'reply', age: dv.getUint32(2), params } };
}

/** The codec as the TCP runtime's application host takes it (`AppSpec.codec`). */
export const learnCodec = { encode: encodeLearn, decode: decodeLearn };
