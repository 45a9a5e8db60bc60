/**
 * Message bodies: the bytes between the type code and the checksum, one layout per type
 * (see the field tables in `docs/protocol.md`).
 *
 * `sizeBody` validates a message against the format's bounds and the limits and returns the
 * exact body size (or the reason it cannot be encoded); `writeBody` then writes it into a
 * buffer of that size; `readBody` parses and validates a body and throws `WireFault` (caught
 * by `frame.ts`) on anything out of bounds. Encoder and decoder enforce the same bounds, so
 * whatever encodes also decodes.
 */
import type { BroadcastMessage, CyclonEntry, IHaveEntry } from '../proto/types.js';
import { Reader, WireFault, Writer, allocBytes, isHex16, isUint, utf8Length, varintSize } from './bytes.js';
import { crcAppend, crcView } from './crc.js';
import { rememberGossip } from './forward.js';
import { TOKEN_BYTES, isToken, readToken, writeToken } from './datagram.js';
import { digestHex, digestMatches, sha256Latin1 } from './envelope.js';
import { FIELD_MAX, type ControlMessage, type WireLimits, type WireMessage, type WireType } from './types.js';

/** Message-id kinds (one byte before the id). */
const ID_NULL = 0;
export const ID_HEX16 = 1;
const ID_STRING = 2;
/** Module-local copies of the field bounds (hot path: no property lookups through imports). */
const MAX_ROUND = FIELD_MAX.round;
const MAX_TTL = FIELD_MAX.ttl;
const MAX_AGE = FIELD_MAX.age;
const MAX_SEQ = FIELD_MAX.seq;
const MAX_VERSION = FIELD_MAX.version;

/** Accumulates the body size; records the first validation failure. */
class Sizer {
  n = 0;
  err: string | null = null;
  constructor(readonly limits: WireLimits) {}

  fail(reason: string): void {
    if (this.err === null) this.err = reason;
  }

  uint(v: unknown, max: number, what: string): void {
    if (!isUint(v, max)) return this.fail(`${what} must be an integer in [0, ${max}], got ${String(v)}`);
    this.n += varintSize(v);
  }

  u8(v: unknown, max: number, what: string): void {
    if (!isUint(v, max)) return this.fail(`${what} must be an integer in [0, ${max}], got ${String(v)}`);
    this.n += 1;
  }

  bool(v: unknown, what: string): void {
    if (typeof v !== 'boolean') return this.fail(`${what} must be a boolean`);
    this.n += 1;
  }

  str(s: unknown, maxBytes: number, what: string, nonEmpty: boolean): void {
    if (typeof s !== 'string') return this.fail(`${what} must be a string`);
    const len = utf8Length(s);
    if (len < 0) return this.fail(`${what} is not well-formed UTF-16 (lone surrogate)`);
    if (len > maxBytes) return this.fail(`${what} is ${len} bytes, limit ${maxBytes}`);
    if (nonEmpty && len === 0) return this.fail(`${what} must not be empty`);
    this.n += varintSize(len) + len;
  }

  peer(p: unknown, what: string): void {
    this.str(p, this.limits.maxIdBytes, what, true);
  }

  id(id: unknown, what: string, nullable: boolean): void {
    if (id === null && nullable) {
      this.n += 1;
    } else if (typeof id === 'string' && isHex16(id)) {
      this.n += 17;
    } else {
      this.n += 1;
      this.str(id, this.limits.maxIdBytes, what, true);
    }
  }

  list(a: unknown, max: number, what: string): a is unknown[] {
    if (!Array.isArray(a)) {
      this.fail(`${what} must be an array`);
      return false;
    }
    if (a.length > max) {
      this.fail(`${what} has ${a.length} entries, limit ${max}`);
      return false;
    }
    this.n += varintSize(a.length);
    return true;
  }
}

/** Exact body size of `msg`, or the reason it cannot be encoded under `limits`. */
export function sizeBody(msg: WireMessage, limits: WireLimits): number | string {
  const s = new Sizer(limits);
  switch (msg.type) {
    case 'hello':
    case 'welcome':
    case 'refuse':
    case 'ping':
    case 'pong':
    case 'direct':
    case 'udp-token':
      sizeControl(s, msg);
      break;
    case 'gossip':
    case 'ihave':
    case 'graft':
    case 'prune':
      sizeBroadcast(s, msg);
      break;
    default:
      sizeMembership(s, msg);
  }
  return s.err ?? s.n;
}

function sizeControl(s: Sizer, msg: ControlMessage): void {
  const L = s.limits;
  switch (msg.type) {
    case 'hello':
      s.u8(msg.versionMin, MAX_VERSION, 'hello.versionMin');
      s.u8(msg.versionMax, MAX_VERSION, 'hello.versionMax');
      if (s.err === null && (msg.versionMin < 1 || msg.versionMin > msg.versionMax)) {
        s.fail(`hello: need 1 <= versionMin <= versionMax, got ${msg.versionMin}..${msg.versionMax}`);
      }
      s.str(msg.cluster, L.maxStringBytes, 'hello.cluster', false);
      s.peer(msg.id, 'hello.id');
      return s.peer(msg.addr, 'hello.addr');
    case 'welcome':
      s.u8(msg.version, MAX_VERSION, 'welcome.version');
      if (s.err === null && msg.version < 1) s.fail('welcome.version must be >= 1');
      s.peer(msg.id, 'welcome.id');
      return s.peer(msg.addr, 'welcome.addr');
    case 'refuse':
      return s.str(msg.reason, L.maxStringBytes, 'refuse.reason', false);
    case 'ping':
    case 'pong':
      return s.uint(msg.seq, MAX_SEQ, msg.type === 'ping' ? 'ping.seq' : 'pong.seq');
    case 'udp-token':
      if (!isToken(msg.token)) return s.fail('udp-token.token must be 16 lowercase hex digits');
      s.n += TOKEN_BYTES;
      return;
    case 'direct':
      s.str(msg.channel, L.maxIdBytes, 'direct.channel', true);
      if (!(msg.data instanceof Uint8Array)) return s.fail('direct.data must be a Uint8Array');
      if (msg.data.length > L.maxPayloadBytes) {
        return s.fail(`direct.data is ${msg.data.length} bytes, limit ${L.maxPayloadBytes}`);
      }
      s.n += varintSize(msg.data.length) + msg.data.length;
      return;
  }
}

function sizeBroadcast(s: Sizer, msg: BroadcastMessage): void {
  const L = s.limits;
  switch (msg.type) {
    case 'gossip':
      s.id(msg.id, 'gossip.id', false);
      s.uint(msg.round, MAX_ROUND, 'gossip.round');
      if (!(msg.payload instanceof Uint8Array)) return s.fail('gossip.payload must be a Uint8Array');
      if (msg.payload.length > L.maxPayloadBytes) {
        return s.fail(`gossip.payload is ${msg.payload.length} bytes, limit ${L.maxPayloadBytes}`);
      }
      s.n += varintSize(msg.payload.length) + msg.payload.length;
      return;
    case 'ihave':
      if (s.list(msg.entries, L.maxIHaveEntries, 'ihave.entries')) {
        for (const e of msg.entries as IHaveEntry[]) {
          s.id(e?.id, 'ihave.entries[].id', false);
          s.uint(e?.round, MAX_ROUND, 'ihave.entries[].round');
        }
      }
      return;
    case 'graft':
      s.id(msg.id, 'graft.id', true);
      return s.uint(msg.round, MAX_ROUND, 'graft.round');
    case 'prune':
      return;
  }
}

/** HyParView and Cyclon messages (and anything unknown). */
function sizeMembership(s: Sizer, msg: WireMessage): void {
  switch (msg.type) {
    case 'join':
      return;
    case 'forward-join':
      s.peer(msg.peer, 'forward-join.peer');
      return s.u8(msg.ttl, MAX_TTL, 'forward-join.ttl');
    case 'neighbor':
      if (msg.priority !== 'high' && msg.priority !== 'low') s.fail("neighbor.priority must be 'high' or 'low'");
      s.n += 1;
      return;
    case 'neighbor-reply':
      return s.bool(msg.accepted, 'neighbor-reply.accepted');
    case 'disconnect':
      return s.bool(msg.alive, 'disconnect.alive');
    case 'shuffle':
      s.peer(msg.origin, 'shuffle.origin');
      s.u8(msg.ttl, MAX_TTL, 'shuffle.ttl');
      return sizePeers(s, msg.peers, 'shuffle.peers');
    case 'shuffle-reply':
      return sizePeers(s, msg.peers, 'shuffle-reply.peers');
    case 'cyclon-shuffle':
    case 'cyclon-reply':
      if (s.list(msg.entries, s.limits.maxPeersPerMessage, `${msg.type}.entries`)) {
        const peerLabel = `${msg.type}.entries[].peer`;
        const ageLabel = `${msg.type}.entries[].age`;
        for (const e of msg.entries as CyclonEntry<string>[]) {
          s.peer(e?.peer, peerLabel);
          s.uint(e?.age, MAX_AGE, ageLabel);
        }
      }
      return;
    default:
      s.fail(`unknown message type ${JSON.stringify((msg as { type: unknown }).type)}`);
  }
}

function sizePeers(s: Sizer, peers: unknown, what: string): void {
  if (s.list(peers, s.limits.maxPeersPerMessage, what)) {
    const each = `${what}[]`;
    for (const p of peers) s.peer(p, each);
  }
}

function writeId(w: Writer, id: string | null): void {
  if (id === null) w.u8(ID_NULL);
  else if (!w.rawId(id, ID_HEX16)) {
    w.u8(ID_STRING);
    w.string(id, utf8Length(id));
  }
}

function writeStr(w: Writer, s: string): void {
  w.string(s, utf8Length(s));
}

/** Write the body of `msg` (already validated by `sizeBody`). */
export function writeBody(w: Writer, msg: WireMessage): void {
  switch (msg.type) {
    case 'hello':
      w.u8(msg.versionMin);
      w.u8(msg.versionMax);
      writeStr(w, msg.cluster);
      writeStr(w, msg.id);
      writeStr(w, msg.addr);
      return;
    case 'welcome':
      w.u8(msg.version);
      writeStr(w, msg.id);
      writeStr(w, msg.addr);
      return;
    case 'refuse':
      return writeStr(w, msg.reason);
    case 'ping':
    case 'pong':
      return w.varint(msg.seq);
    case 'udp-token':
      return writeToken(w, msg.token);
    case 'direct':
      writeStr(w, msg.channel);
      w.varint(msg.data.length);
      return w.bytes(msg.data);
    case 'join':
    case 'prune':
      return;
    case 'forward-join':
      writeStr(w, msg.peer);
      return w.u8(msg.ttl);
    case 'neighbor':
      return w.u8(msg.priority === 'high' ? 1 : 0);
    case 'neighbor-reply':
      return w.u8(msg.accepted ? 1 : 0);
    case 'disconnect':
      return w.u8(msg.alive ? 1 : 0);
    case 'shuffle':
      writeStr(w, msg.origin);
      w.u8(msg.ttl);
      return writePeers(w, msg.peers);
    case 'shuffle-reply':
      return writePeers(w, msg.peers);
    case 'gossip':
      // Round last: forwarding rewrites only the round and the checksum (see forward.ts).
      writeId(w, msg.id);
      w.varint(msg.payload.length);
      w.bytes(msg.payload);
      return w.varint(msg.round);
    case 'ihave':
      w.varint(msg.entries.length);
      for (const e of msg.entries) {
        writeId(w, e.id);
        w.varint(e.round);
      }
      return;
    case 'graft':
      writeId(w, msg.id);
      return w.varint(msg.round);
    case 'cyclon-shuffle':
    case 'cyclon-reply':
      w.varint(msg.entries.length);
      for (const e of msg.entries) {
        writeStr(w, e.peer);
        w.varint(e.age);
      }
      return;
  }
}

function writePeers(w: Writer, peers: string[]): void {
  w.varint(peers.length);
  for (const p of peers) writeStr(w, p);
}

function readId(r: Reader, L: WireLimits, what: string, nullable: boolean): string | null {
  const kind = r.u8(what);
  if (kind === ID_HEX16) return r.hex16(what);
  if (kind === ID_STRING) {
    const s = r.string(what, L.maxIdBytes, true);
    // A 32-char lowercase hex id always travels raw: the string form would be a second
    // encoding of the same value.
    if (isHex16(s)) throw new WireFault('malformed', `${what}: hex id in string form`);
    return s;
  }
  if (kind === ID_NULL && nullable) return null;
  throw new WireFault('malformed', `${what}: bad id kind ${kind}`);
}

function readPeers(r: Reader, L: WireLimits, what: string): string[] {
  const n = r.varint(what, L.maxPeersPerMessage, ' count');
  const out: string[] = [];
  const each = `${what}[]`;
  for (let i = 0; i < n; i++) out.push(r.string(each, L.maxIdBytes, true));
  return out;
}

function readVersion(r: Reader, what: string): number {
  const v = r.u8(what);
  if (v < 1) throw new WireFault('malformed', `${what} must be >= 1`);
  return v;
}

/** Parse the body of a frame of type `type` occupying `r.pos .. r.end`. */
export function readBody(type: WireType, r: Reader, L: WireLimits): WireMessage {
  switch (type) {
    case 'hello': {
      const versionMin = readVersion(r, 'hello.versionMin');
      const versionMax = readVersion(r, 'hello.versionMax');
      if (versionMin > versionMax) throw new WireFault('malformed', 'hello: versionMin > versionMax');
      const cluster = r.string('hello.cluster', L.maxStringBytes);
      const id = r.string('hello.id', L.maxIdBytes, true);
      const addr = r.string('hello.addr', L.maxIdBytes, true);
      return { type, versionMin, versionMax, cluster, id, addr };
    }
    case 'welcome': {
      const version = readVersion(r, 'welcome.version');
      const id = r.string('welcome.id', L.maxIdBytes, true);
      const addr = r.string('welcome.addr', L.maxIdBytes, true);
      return { type, version, id, addr };
    }
    case 'refuse':
      return { type, reason: r.string('refuse.reason', L.maxStringBytes) };
    case 'ping':
    case 'pong':
      return { type, seq: r.varint(type, MAX_SEQ, '.seq') };
    case 'udp-token':
      return { type, token: readToken(r, 'udp-token.token') };
    case 'direct': {
      const channel = r.string('direct.channel', L.maxIdBytes, true);
      const data = r.bytes(r.length('direct.data', L.maxPayloadBytes));
      return { type, channel, data };
    }
    case 'gossip':
      return readGossip(r, L);
    case 'ihave': {
      const n = r.varint('ihave', L.maxIHaveEntries, ' count');
      const entries: IHaveEntry[] = [];
      for (let i = 0; i < n; i++) {
        const id = readId(r, L, 'ihave.entries[].id', false)!;
        entries.push({ id, round: r.varint('ihave.entries[].round', MAX_ROUND) });
      }
      return { type, entries };
    }
    case 'graft': {
      const id = readId(r, L, 'graft.id', true);
      return { type, id, round: r.varint('graft.round', MAX_ROUND) };
    }
    case 'prune':
      return { type };
    default:
      return readMembership(type, r, L);
  }
}

/** HyParView and Cyclon bodies. */
function readMembership(type: WireType, r: Reader, L: WireLimits): WireMessage {
  switch (type) {
    case 'forward-join': {
      const peer = r.string('forward-join.peer', L.maxIdBytes, true);
      return { type, peer, ttl: r.u8('forward-join.ttl') };
    }
    case 'neighbor':
      return { type, priority: r.bool('neighbor.priority') ? 'high' : 'low' };
    case 'neighbor-reply':
      return { type, accepted: r.bool('neighbor-reply.accepted') };
    case 'disconnect':
      return { type, alive: r.bool('disconnect.alive') };
    case 'shuffle': {
      const origin = r.string('shuffle.origin', L.maxIdBytes, true);
      const ttl = r.u8('shuffle.ttl');
      return { type, origin, peers: readPeers(r, L, 'shuffle.peers'), ttl };
    }
    case 'shuffle-reply':
      return { type, peers: readPeers(r, L, 'shuffle-reply.peers') };
    case 'cyclon-shuffle':
    case 'cyclon-reply': {
      const n = r.varint(type, L.maxPeersPerMessage, ' count');
      const entries: CyclonEntry<string>[] = [];
      for (let i = 0; i < n; i++) {
        const peer = r.string(type, L.maxIdBytes, true, '.entries[].peer');
        entries.push({ peer, age: r.varint(type, MAX_AGE, '.entries[].age') });
      }
      return { type, entries };
    }
    case 'join':
      return { type };
    default:
      throw new WireFault('malformed', `no body reader for ${type}`);
  }
}

/** Gossip: the id must be the content-derived id of the payload (the S3 lesson). The usual
 *  raw 16-byte id is read as hex (one flat string, which is also the id handed on), and its
 *  16 bytes are compared with the first 16 of the payload's digest, taken as a latin1 string
 *  (no hex digest made: `sha256Latin1`). The whole frame is copied once into a buffer
 *  of its own — or, when the reader's bytes may be kept (`Reader.keep`, see `FrameDecoder`),
 *  used where it is; the payload is a view into it, and it is remembered so that forwarding
 *  this message needs no re-encoding (see forward.ts). `sum` ≥ 0: the frame's checksum is not
 *  verified yet; it is checked here, before the id (throws `bad-checksum`), over the header,
 *  the payload view and the round — no view of its own for the native CRC call. */
export function readGossip(r: Reader, L: WireLimits, sum = -1): WireMessage {
  const start = r.pos;
  let id: string;
  let raw = false;
  // Where the raw id's 16 bytes are in `r.buf` (compared with the digest's bytes below).
  const idAt = start + 1;
  if (r.u8('gossip.id') === ID_HEX16) {
    id = r.hex16('gossip.id');
    raw = true;
  } else {
    r.pos = start;
    id = readId(r, L, 'gossip.id', false)!;
  }
  const n = r.length('gossip.payload', L.maxPayloadBytes);
  const at = r.pos;
  r.pos += n;
  const roundAt = r.pos - r.start + 6;
  const round = r.varint('gossip.round', MAX_ROUND);
  if (r.pos !== r.end) throw new WireFault('malformed', `gossip: ${r.end - r.pos} trailing bytes`);
  // The frame is `buf[start - 6, end + 4)`: length prefix through checksum (see `decodeChecked`).
  const b = r.buf;
  const from = r.start - 6;
  const size = r.end + 4 - from;
  let owner = b;
  let ownerFrom = from;
  if (!r.keep) {
    owner = allocBytes(size);
    owner.set(new Uint8Array(b.buffer, b.byteOffset + from, size));
    ownerFrom = 0;
  }
  const pAt = ownerFrom + at - from;
  const payload = new Uint8Array(owner.buffer, owner.byteOffset + pAt, n);
  if (sum >= 0) {
    // The frame's checksum, in three parts around the payload view (see `decodeChecked`).
    let c = crcAppend(0, owner, ownerFrom + 4, pAt);
    c = crcView(payload, c);
    c = crcAppend(c, owner, pAt + n, ownerFrom + size - 4);
    if (c !== sum) throw new WireFault('bad-checksum', `crc32c ${c.toString(16)} != ${sum.toString(16)}`);
  }
  // The digest's first 16 bytes against the raw id's, byte by byte: no hex digest (h32f).
  const digest = sha256Latin1(payload);
  if (raw && digestMatches(digest, b, idAt, 16)) {
    rememberGossip(owner, ownerFrom, size, payload, id, roundAt, round);
    return { type: 'gossip', id, round, payload };
  }
  throw new WireFault('bad-id', `gossip.id ${id} does not match payload (expected ${digestHex(digest, 16)})`);
}
