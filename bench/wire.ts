/**
 * Wire codec benchmark: the hand-written binary codec of `src/wire` against Protocol
 * Buffers (protobufjs, reflection with its generated encoders) for the hot messages.
 * Both variants use the same framing (length, version, type, CRC-32C) and the same checks
 * on decode (bounds, and for gossip the content-derived id), so only the body codec differs.
 *
 * Run: node --import tsx bench/wire.ts     Writes bench/results/wire.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import protobuf from 'protobufjs';
import { crc32c } from '@node-rs/crc32';
import { DEFAULT_WIRE_LIMITS, TYPE_CODES, decodeFrame, encodeFrame, messageIdFor, type WireMessage } from '../src/wire/index.js';

const PROTO = `
syntax = "proto3";
message Gossip { bytes id = 1; uint32 round = 2; bytes payload = 3; }
message IHaveEntry { bytes id = 1; uint32 round = 2; }
message IHave { repeated IHaveEntry entries = 1; }
message Shuffle { string origin = 1; repeated string peers = 2; uint32 ttl = 3; }
`;
const root = protobuf.parse(PROTO).root;
const PB = { gossip: root.lookupType('Gossip'), ihave: root.lookupType('IHave'), shuffle: root.lookupType('Shuffle') };

type Hot = Extract<WireMessage, { type: 'gossip' | 'ihave' | 'shuffle' }>;

const hexToBytes = (h: string): Uint8Array => Buffer.from(h, 'hex');
const bytesToHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');

/** Protobuf variant of encodeFrame for the hot messages (same framing as rumor). */
function pbEncode(msg: Hot): Uint8Array {
  let body: Uint8Array;
  if (msg.type === 'gossip') body = PB.gossip.encode({ id: hexToBytes(msg.id), round: msg.round, payload: msg.payload }).finish();
  else if (msg.type === 'ihave') body = PB.ihave.encode({ entries: msg.entries.map((e) => ({ id: hexToBytes(e.id), round: e.round })) }).finish();
  else body = PB.shuffle.encode({ origin: msg.origin, peers: msg.peers, ttl: msg.ttl }).finish();
  const f = new Uint8Array(10 + body.length);
  const dv = new DataView(f.buffer);
  dv.setUint32(0, f.length - 4);
  f[4] = 1;
  f[5] = TYPE_CODES[msg.type];
  f.set(body, 6);
  dv.setUint32(f.length - 4, crc32c(f.subarray(4, f.length - 4)));
  return f;
}

/** Protobuf variant of decodeFrame with the same checks rumor makes. */
function pbDecode(f: Uint8Array): Hot | string {
  const dv = new DataView(f.buffer, f.byteOffset, f.length);
  const len = dv.getUint32(0);
  if (len + 4 !== f.length || len > DEFAULT_WIRE_LIMITS.maxFrameBytes) return 'bad-length';
  if (dv.getUint32(f.length - 4) !== crc32c(f.subarray(4, f.length - 4))) return 'bad-checksum';
  if (f[4] !== 1) return 'unsupported-version';
  const body = f.subarray(6, f.length - 4);
  const L = DEFAULT_WIRE_LIMITS;
  try {
    if (f[5] === TYPE_CODES.gossip) {
      const m = PB.gossip.decode(body) as unknown as { id: Uint8Array; round: number; payload: Uint8Array };
      if (m.id.length !== 16 || m.round > 0xffff || m.payload.length > L.maxPayloadBytes) return 'malformed';
      const id = bytesToHex(m.id);
      if (id !== messageIdFor(m.payload)) return 'bad-id';
      return { type: 'gossip', id, round: m.round, payload: m.payload };
    }
    if (f[5] === TYPE_CODES.ihave) {
      const m = PB.ihave.decode(body) as unknown as { entries: Array<{ id: Uint8Array; round: number }> };
      if (m.entries.length > L.maxIHaveEntries) return 'limit-exceeded';
      const entries = m.entries.map((e) => ({ id: bytesToHex(e.id), round: e.round }));
      if (m.entries.some((e) => e.id.length !== 16 || e.round > 0xffff)) return 'malformed';
      return { type: 'ihave', entries };
    }
    if (f[5] === TYPE_CODES.shuffle) {
      const m = PB.shuffle.decode(body) as unknown as { origin: string; peers: string[]; ttl: number };
      if (m.peers.length > L.maxPeersPerMessage || m.ttl > 255) return 'limit-exceeded';
      if (m.origin.length === 0 || m.peers.some((p) => p.length === 0 || p.length > L.maxIdBytes)) return 'malformed';
      return { type: 'shuffle', origin: m.origin, peers: m.peers, ttl: m.ttl };
    }
  } catch {
    return 'malformed';
  }
  return 'unknown-type';
}

function rumorRoundTrip(msg: Hot): number {
  const e = encodeFrame(msg);
  if (!e.ok) throw new Error(e.reason);
  const d = decodeFrame(e.frame);
  if (!d.ok) throw new Error(d.detail);
  return e.frame.length;
}

function pbRoundTrip(msg: Hot): number {
  const f = pbEncode(msg);
  const d = pbDecode(f);
  if (typeof d === 'string') throw new Error(d);
  return f.length;
}

/** Rate of `fn` (calls per second) over one timed window of `ms` milliseconds. */
function window(fn: () => number, ms: number): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 64; i++) fn();
    n += 64;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

/** Median rates of several functions, measured in interleaved windows so that load from
 *  other processes on the machine hits every variant alike. */
function measure(fns: Array<() => number>, rounds = 7, ms = 200): number[] {
  for (const fn of fns) window(fn, 150); // warm-up
  const rates: number[][] = fns.map(() => []);
  for (let r = 0; r < rounds; r++) fns.forEach((fn, i) => rates[i].push(window(fn, ms)));
  return rates.map((xs) => xs.sort((a, b) => a - b)[xs.length >> 1]);
}

const payload = new Uint8Array(1024).map((_, i) => (i * 31 + 7) & 0xff);
const hex16 = (i: number): string => messageIdFor(new Uint8Array([i & 0xff, i >> 8]));
const cases: Array<{ name: string; msg: Hot }> = [
  { name: 'gossip (1 KiB payload)', msg: { type: 'gossip', id: messageIdFor(payload), round: 3, payload } },
  { name: 'ihave (32 entries)', msg: { type: 'ihave', entries: Array.from({ length: 32 }, (_, i) => ({ id: hex16(i), round: i % 8 })) } },
  {
    name: 'shuffle (8 peers)',
    msg: { type: 'shuffle', origin: '10.0.0.1:7946', ttl: 6, peers: Array.from({ length: 8 }, (_, i) => `10.0.${i}.${i * 7 + 1}:7946`) },
  },
];

// Sanity: both codecs round-trip every case before being timed.
for (const c of cases) {
  const d = pbDecode(pbEncode(c.msg));
  if (typeof d === 'string' || JSON.stringify(d.type) !== JSON.stringify(c.msg.type)) throw new Error(`pb ${c.name}`);
}

const results: Array<{ message: string; codec: string; opsPerSec: number; frameBytes: number }> = [];
for (const c of cases) {
  const [a, b] = measure([() => rumorRoundTrip(c.msg), () => pbRoundTrip(c.msg)]);
  results.push({ message: c.name, codec: 'rumor-binary', opsPerSec: Math.round(a), frameBytes: rumorRoundTrip(c.msg) });
  results.push({ message: c.name, codec: 'protobufjs', opsPerSec: Math.round(b), frameBytes: pbRoundTrip(c.msg) });
}

const pad = (s: string, n: number): string => s.padEnd(n);
console.log(`${pad('message', 24)}${pad('codec', 14)}${pad('encode+decode/s', 18)}frame bytes`);
for (const r of results) console.log(`${pad(r.message, 24)}${pad(r.codec, 14)}${pad(r.opsPerSec.toLocaleString('en-US'), 18)}${r.frameBytes}`);
const speedups = cases.map((c) => {
  const a = results.find((r) => r.message === c.name && r.codec === 'rumor-binary')!;
  const b = results.find((r) => r.message === c.name && r.codec === 'protobufjs')!;
  return { message: c.name, rumorOverProtobuf: Number((a.opsPerSec / b.opsPerSec).toFixed(2)) };
});
for (const s of speedups) console.log(`${pad(s.message, 24)}rumor-binary / protobufjs = ${s.rumorOverProtobuf}x`);

mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/wire.json',
  JSON.stringify(
    { bench: 'wire', date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, results, speedups },
    null,
    2,
  ) + '\n',
);
console.log('wrote bench/results/wire.json');
