/**
 * Seeded generation of valid, mutated and random frames for the fuzzer (bench/fuzz.ts) and its
 * small sample in `npm test` (test/wire/fuzz.test.ts), plus the decoder-side harness.
 *
 * Every case is a function of (seed, index) only: `caseAt(seed, i)` rebuilds case i, so a
 * crash report names the seed and the index and replays it alone.
 *
 * Cases: a valid message of every type with random fields (`randomMessage`) encoded with
 * `encodeFrame`, then one mutation: none; bit flips with the old checksum (bad checksum);
 * bit flips, byte overwrites, truncation, extension, another type code, another version or a
 * splice with a second frame — each with the checksum recomputed (valid checksum, broken
 * body); a random length prefix; pure random bytes. A fraction is also sealed with the
 * fuzzer's cluster key (`encrypted`), and of those some are corrupted after sealing (the
 * decryption must refuse them). Heartbeat datagrams get the same treatment.
 */
import { createHash } from 'node:crypto';
import { Sfc32 } from '../src/proto/rng.js';
import { crcRange } from '../src/wire/crc.js';
import { DatagramOpener, DatagramSealer, Keyring, StreamOpener, StreamSealer } from '../src/wire/crypto.js';
import {
  FrameDecoder,
  TYPE_CODES,
  decodeDatagram,
  decodeFrame,
  encodeDatagram,
  encodeFrame,
  messageIdFor,
  type WireMessage,
} from '../src/wire/index.js';

/** The fuzzer's cluster key and cluster name (fixed: the seed decides everything else). */
export const FUZZ_KEY = createHash('sha256').update('rumor fuzz key').digest('base64');
export const FUZZ_CLUSTER = 'rumor';

const TYPES = Object.keys(TYPE_CODES) as WireMessage['type'][];

function str(r: Sfc32, max: number): string {
  const n = r.u32() % (max + 1);
  let s = '';
  for (let i = 0; i < n; i++) {
    const k = r.u32() % 10;
    // Mostly ASCII, some multi-byte and astral characters (lone surrogates are refused by the
    // encoder: they reach the decoders through the mutations).
    s += k < 7 ? String.fromCharCode(32 + (r.u32() % 95)) : k < 9 ? String.fromCharCode(0x80 + (r.u32() % 0x7780)) : String.fromCodePoint(0x10000 + (r.u32() % 0xfffff));
  }
  return s;
}

function peer(r: Sfc32): string {
  return r.u32() % 4 === 0 ? str(r, 30) || 'x' : `10.${r.u32() % 256}.${r.u32() % 256}.${r.u32() % 256}:${r.u32() % 65536}`;
}

function bytes(r: Sfc32, max: number): Uint8Array {
  const b = new Uint8Array(r.u32() % (max + 1));
  for (let i = 0; i < b.length; i++) b[i] = r.u32() & 0xff;
  return b;
}

function hexId(r: Sfc32): string {
  return Buffer.from(Uint8Array.from({ length: 16 }, () => r.u32() & 0xff)).toString('hex');
}

function peers(r: Sfc32): string[] {
  return Array.from({ length: r.u32() % 13 }, () => peer(r));
}

/** A valid message of type `type` with random fields. */
export function randomMessage(r: Sfc32, type: WireMessage['type']): WireMessage {
  const u = (n: number): number => r.u32() % n;
  switch (type) {
    case 'hello': {
      const a = 1 + u(255);
      const b = 1 + u(255);
      return { type, versionMin: Math.min(a, b), versionMax: Math.max(a, b), cluster: str(r, 30), id: peer(r), addr: peer(r) };
    }
    case 'welcome':
      return { type, version: 1 + u(255), id: peer(r), addr: peer(r) };
    case 'refuse':
      return { type, reason: str(r, 60) };
    case 'ping':
    case 'pong':
      return { type, seq: r.u32() };
    case 'direct':
      return { type, channel: peer(r), data: bytes(r, 512) };
    case 'udp-token':
      return { type, token: Buffer.from(Uint8Array.from({ length: 8 }, () => r.u32() & 0xff)).toString('hex') };
    case 'join':
    case 'prune':
      return { type };
    case 'forward-join':
      return { type, peer: peer(r), ttl: u(256) };
    case 'neighbor':
      return { type, priority: u(2) === 0 ? 'high' : 'low' };
    case 'neighbor-reply':
      return { type, accepted: u(2) === 0 };
    case 'disconnect':
      return { type, alive: u(2) === 0 };
    case 'shuffle':
      return { type, origin: peer(r), peers: peers(r), ttl: u(256) };
    case 'shuffle-reply':
      return { type, peers: peers(r) };
    case 'gossip': {
      const payload = bytes(r, 2048);
      return { type, id: messageIdFor(payload), round: u(0x10000), payload };
    }
    case 'ihave':
      return { type, entries: Array.from({ length: u(41) }, () => ({ id: u(3) === 0 ? str(r, 40) || 'i' : hexId(r), round: u(0x10000) })) };
    case 'graft':
      return { type, id: u(3) === 0 ? null : hexId(r), round: u(0x10000) };
    case 'cyclon-shuffle':
    case 'cyclon-reply':
      return { type, entries: Array.from({ length: u(13) }, () => ({ peer: peer(r), age: u(0x10000) })) };
  }
}

/** Rewrite the length prefix and the CRC-32C of a frame-shaped buffer (valid checksum). */
function refit(b: Uint8Array): Uint8Array {
  if (b.length < 10) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  v.setUint32(0, b.length - 4);
  v.setUint32(b.length - 4, crcRange(0, b, 4, b.length - 4));
  return b;
}

/** Mutation names (index = mutation code), for the report. */
export const MUTATIONS = ['none', 'flip-bad-crc', 'flip', 'overwrite', 'truncate', 'extend', 'type', 'version', 'splice', 'length', 'random'] as const;

/** One fuzz case. `encrypted`: `bytes` is a sealed stream (header + records); `corrupted`: it was
 *  altered after sealing. `datagram`: a heartbeat datagram instead of a stream frame. */
export interface FuzzCase {
  bytes: Uint8Array;
  type: WireMessage['type'] | 'hb-ping' | 'hb-pong';
  mutation: (typeof MUTATIONS)[number];
  encrypted: boolean;
  corrupted: boolean;
  datagram: boolean;
}

function mutate(r: Sfc32, frame: Uint8Array, m: number): Uint8Array {
  const b = Uint8Array.from(frame);
  const u = (n: number): number => r.u32() % Math.max(1, n);
  switch (MUTATIONS[m]) {
    case 'none':
      return b;
    case 'flip-bad-crc': {
      for (let k = 1 + u(8); k > 0; k--) b[u(b.length)] ^= 1 << u(8);
      return b;
    }
    case 'flip': {
      for (let k = 1 + u(8); k > 0; k--) b[4 + u(b.length - 8)] ^= 1 << u(8);
      return refit(b);
    }
    case 'overwrite': {
      for (let k = 1 + u(6); k > 0; k--) b[6 + u(b.length - 10)] = r.u32() & 0xff;
      return refit(b);
    }
    case 'truncate':
      return refit(Uint8Array.from([...b.subarray(0, 6 + u(b.length - 10)), 0, 0, 0, 0]));
    case 'extend': {
      const extra = bytes(r, 64);
      const out = new Uint8Array(b.length + extra.length);
      out.set(b.subarray(0, b.length - 4));
      out.set(extra, b.length - 4);
      return refit(out);
    }
    case 'type':
      b[5] = r.u32() & 0xff;
      return refit(b);
    case 'version':
      b[4] = r.u32() & 0xff;
      return refit(b);
    case 'splice': {
      const other = encodeFrame(randomMessage(r, TYPES[u(TYPES.length)]));
      if (!other.ok) return b;
      const cut = 6 + u(b.length - 10);
      const from = 6 + u(other.frame.length - 10);
      return refit(Uint8Array.from([...b.subarray(0, cut), ...other.frame.subarray(from)]));
    }
    case 'length':
      new DataView(b.buffer).setUint32(0, r.u32() % 3 === 0 ? r.u32() : u(b.length + 16));
      return b;
    default:
      return bytes(r, 96);
  }
}

const SEALING = new Keyring([FUZZ_KEY]);

/** Case `i` of the run with `seed` (see the module comment). */
export function caseAt(seed: number, i: number): FuzzCase {
  const r = new Sfc32((seed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  const datagram = r.u32() % 16 === 0;
  const m = r.u32() % MUTATIONS.length;
  let plain: Uint8Array;
  let type: FuzzCase['type'];
  if (datagram) {
    type = r.u32() % 2 === 0 ? 'hb-ping' : 'hb-pong';
    const d = encodeDatagram({ type, token: Buffer.from(Uint8Array.from({ length: 8 }, () => r.u32() & 0xff)).toString('hex'), seq: r.u32() });
    if (!d.ok) throw new Error(`fuzz generator: ${type} not encodable: ${d.reason}`);
    plain = mutate(r, d.frame, m);
  } else {
    type = TYPES[r.u32() % TYPES.length];
    const enc = encodeFrame(randomMessage(r, type));
    if (!enc.ok) throw new Error(`fuzz generator: ${type} not encodable: ${enc.reason}`);
    plain = mutate(r, enc.frame, m);
  }
  const encrypted = r.u32() % 5 === 0;
  if (!encrypted) return { bytes: plain, type, mutation: MUTATIONS[m], encrypted, corrupted: false, datagram };
  const sealed = datagram ? new DatagramSealer(SEALING, FUZZ_CLUSTER).seal(plain) : new StreamSealer(SEALING, FUZZ_CLUSTER).seal(plain);
  const corrupted = r.u32() % 2 === 0;
  if (corrupted) {
    // 1..4 flips at distinct bit positions (two flips of one bit would undo each other).
    const bits = new Set<number>();
    for (let k = 1 + (r.u32() % 4); k > 0; k--) bits.add(r.u32() % (sealed.length * 8));
    for (const b of bits) sealed[b >>> 3] ^= 1 << (b & 7);
  }
  return { bytes: sealed, type, mutation: MUTATIONS[m], encrypted, corrupted, datagram };
}

/** What decoding one case produced. `violation`: a broken promise of the decoders (they must
 *  never throw, a valid frame must decode, a corrupted sealed record must not open). */
export interface Outcome {
  ok: number;
  rejected: number;
  violation: string | null;
}

const OPEN_KEYS = new Keyring([FUZZ_KEY]);

/** Feed one case to every decoder that applies: `decodeFrame` or `decodeDatagram`, a streaming
 *  `FrameDecoder` fed in two pieces, the `StreamOpener`/`DatagramOpener` for sealed cases. */
export function runDecoders(c: FuzzCase, split: number): Outcome {
  const out: Outcome = { ok: 0, rejected: 0, violation: null };
  try {
    if (c.datagram) {
      let plain: Uint8Array | null = c.bytes;
      if (c.encrypted) {
        const o = new DatagramOpener(OPEN_KEYS, FUZZ_CLUSTER).open(c.bytes);
        if (o.ok && c.corrupted) out.violation = 'a corrupted sealed datagram opened';
        plain = o.ok ? o.plain : null;
      }
      if (plain !== null) {
        const r = decodeDatagram(plain);
        if (r.ok) out.ok++;
        else out.rejected++;
        if (!r.ok && c.mutation === 'none' && !c.corrupted) out.violation = `valid ${c.type} datagram rejected: ${r.error}`;
      } else out.rejected++;
      return out;
    }
    let plain: Uint8Array[] = [c.bytes];
    if (c.encrypted) {
      const op = new StreamOpener(OPEN_KEYS, FUZZ_CLUSTER, 4 << 20);
      op.push(c.bytes.subarray(0, split % (c.bytes.length + 1)));
      op.push(c.bytes.subarray(split % (c.bytes.length + 1)));
      plain = [];
      for (let s = op.next(), n = 0; s.type !== 'need'; s = op.next(), n++) {
        if (n > 4) return { ...out, violation: 'opener yields more steps than records' };
        if (s.type === 'error') break;
        plain.push(s.bytes);
      }
      if (plain.length > 0 && c.corrupted) out.violation = 'a corrupted sealed record opened';
      if (plain.length === 0) {
        out.rejected++;
        return out;
      }
    }
    const whole = plain.length === 1 ? plain[0] : Buffer.concat(plain);
    const one = decodeFrame(whole);
    if (one.ok) out.ok++;
    else out.rejected++;
    if (!one.ok && c.mutation === 'none') out.violation = `valid ${c.type} frame rejected: ${one.error} ${one.detail}`;
    const d = new FrameDecoder(undefined, { detectEncrypted: true });
    const cut = split % (whole.length + 1);
    d.push(whole.subarray(0, cut));
    d.push(whole.subarray(cut));
    for (let r = d.next(), n = 0; r !== null; r = d.next(), n++) {
      if (n > whole.length) return { ...out, violation: 'stream decoder yields more results than bytes' };
      if (!r.ok && r.fatal) break;
    }
  } catch (err) {
    out.violation = `threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
  }
  return out;
}
