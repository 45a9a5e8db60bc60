/**
 * Binary codec of the membership machine's messages (`src/proto/members/`), specified in
 * `docs/protocol.md` ("Membership messages").
 *
 * A membership message travels as the `data` of a `direct` frame on the channel
 * `MEMBERS_CHANNEL`; that frame carries the length, protocol version and CRC-32C (frame.ts),
 * so a corrupted membership message is dropped with its frame. Inside, the layout is
 *
 *     u8 codec version (1) | u8 type | body
 *
 * with append-only type codes (`MEMBERS_TYPE_CODES`). Every count and string is bounded
 * (`MEMBERS_LIMITS`) at encode (refused with a reason) and at decode (rejected with a reason,
 * never thrown). Peer ids and names are length-prefixed UTF-8; integers are varints; a state is
 * `varint incarnation (≤ 2^32 − 1)` and `u8 status (0 alive, 1 suspect, 2 failed, 3 left)`.
 *
 * `membersSize(msg, peerBytes)` gives the exact encoded size of the whole `direct` frame for
 * any peer type: the simulator charges its messages with it (peer ids there are integers,
 * charged as the address they stand for).
 */
import type { MemberMeta, MembersMessage } from '../proto/members/types.js';
import { BUCKETS, MAX_INCARNATION, changesSkipped, keptChanges } from '../proto/members/types.js';
import { Reader, WireFault, Writer, utf8Length, varintSize } from './bytes.js';

/** Channel of the `direct` frames that carry membership messages. */
export const MEMBERS_CHANNEL = '_rumor.m';
/** Version byte of this codec. */
export const MEMBERS_CODEC_VERSION = 1;

/** Type codes. APPEND-ONLY: never reused nor renumbered. */
export const MEMBERS_TYPE_CODES = {
  'm-ping': 1,
  'm-ack': 2,
  'm-ping-req': 3,
  'm-nack': 4,
  'm-changes': 5,
  'm-alert': 6,
  'm-sync': 7,
  'm-digest': 8,
  'm-meta-req': 9,
  'm-prune': 10,
  'm-tally': 11,
} as const satisfies Record<MembersMessage<string>['type'], number>;

const BY_CODE: (MembersMessage<string>['type'] | undefined)[] = [];
for (const [t, c] of Object.entries(MEMBERS_TYPE_CODES)) BY_CODE[c] = t as MembersMessage<string>['type'];

/** Bounds of the format. */
export const MEMBERS_LIMITS = Object.freeze({
  /** Entries in one `m-changes` or `m-digest` (the machine sends ≤ 4 × maxEntriesPerMessage). */
  maxEntries: 65_536,
  /** Peer id (address) bytes: a DNS name + port (docs/protocol.md, maxIdBytes). */
  maxIdBytes: 320,
  /** Name bytes, tag key and value bytes; tags per member. */
  maxNameBytes: 256,
  maxTagBytes: 512,
  maxTags: 64,
  /** Ids in one `m-meta-req`. */
  maxMetaReq: 64,
  /** Sequence numbers and incarnations: 32 bits. */
  maxSeq: 0xffffffff,
});

/** Bytes of the `direct` frame around a membership body: length 4 + version 1 + type 1 +
 *  channel string + data length varint + crc 4 (frame.ts / docs/protocol.md). */
function frameAround(body: number): number {
  return 4 + 1 + 1 + 1 + MEMBERS_CHANNEL.length + varintSize(body) + body + 4;
}

function metaSize(m: MemberMeta | null): number {
  if (m === null) return 1;
  let n = 1 + strSize(m.name);
  const keys = Object.keys(m.tags);
  n += varintSize(keys.length);
  for (const k of keys) n += strSize(k) + strSize(m.tags[k]);
  return n;
}

function strSize(s: string): number {
  const l = utf8Length(s);
  return varintSize(l) + l;
}

function stateSize(s: number): number {
  return varintSize(Math.floor(s / 4)) + 1;
}

/** Exact bytes of the `direct` frame carrying `msg`; `peerBytes(p)` is a peer id's encoded
 *  size (length prefix included). */
export function membersSize<P>(msg: MembersMessage<P>, peerBytes: (p: P) => number): number {
  return frameAround(bodyBytes(msg, peerBytes));
}

/** Bytes of the membership body (version, type, fields). */
function bodyBytes<P>(msg: MembersMessage<P>, peerBytes: (p: P) => number): number {
  let n = 2;
  switch (msg.type) {
    case 'm-ping':
    case 'm-ack':
      n += varintSize(msg.seq) + varintSize(msg.ids.length);
      for (let i = 0; i < msg.ids.length; i++) n += peerBytes(msg.ids[i]) + stateSize(msg.states[i]);
      break;
    case 'm-nack':
      n += varintSize(msg.seq);
      break;
    case 'm-ping-req':
      n += varintSize(msg.seq) + peerBytes(msg.target);
      break;
    case 'm-alert':
      n += peerBytes(msg.subject) + stateSize(msg.state);
      break;
    case 'm-changes':
      n += changesBytes(msg, peerBytes);
      break;
    case 'm-sync':
      n += varintSize(msg.count) + 1 + 1 + 4 * msg.hashes.length;
      break;
    case 'm-digest':
      n += 1 + msg.buckets.length + varintSize(msg.ids.length);
      for (let i = 0; i < msg.ids.length; i++) n += peerBytes(msg.ids[i]) + stateSize(msg.states[i]);
      break;
    case 'm-meta-req':
      n += varintSize(msg.ids.length);
      for (const id of msg.ids) n += peerBytes(id);
      break;
    case 'm-prune':
      n += 1;
      break;
    case 'm-tally':
      n += 2 + msg.want.length;
      for (const c of msg.counts) n += varintSize(c);
      break;
  }
  return n;
}

/** Bytes of an `m-changes` body after the type: flags, count, and the entries its receiver
 *  gets (those its `skip` leaves out are not encoded; `metas` are encoded only when a kept
 *  entry has one: `keptChanges`). No copy: the simulator sizes every link's message. */
function changesBytes<P>(msg: Extract<MembersMessage<P>, { type: 'm-changes' }>, peerBytes: (p: P) => number): number {
  const skip = msg.skip ?? null;
  let kept = 0;
  let n = 0;
  let metaBytes = 0;
  let someMeta = false;
  for (let i = 0; i < msg.ids.length; i++) {
    if (changesSkipped(skip, i)) continue;
    kept++;
    n += peerBytes(msg.ids[i]) + stateSize(msg.states[i]);
    if (msg.metas === null) continue;
    const meta = msg.metas[i];
    metaBytes += metaSize(meta);
    if (meta !== null) someMeta = true;
  }
  // A message without `skip` keeps its metas array as given (all null is still encoded).
  if (skip === null ? msg.metas !== null : someMeta) n += metaBytes;
  return 1 + varintSize(kept) + n;
}

/** Bytes of one `m-changes` entry without a meta (what `changesBytes` adds per kept entry). */
export function changeEntryBytes<P>(id: P, state: number, peerBytes: (p: P) => number): number {
  return peerBytes(id) + stateSize(state);
}

/** Exact bytes of the `direct` frame of an `m-changes` without metas whose `kept` entries sum
 *  to `entryBytes` (`changeEntryBytes`): `membersSize` of such a message, from those two
 *  sums (the simulator sizes every link's share of a flush's batch from the batch's entry
 *  sizes, src/sim/members-app.ts). */
export function changesFrameBytes(kept: number, entryBytes: number): number {
  return frameAround(2 + 1 + varintSize(kept) + entryBytes);
}

export type MembersEncodeResult = { ok: true; data: Uint8Array } | { ok: false; reason: string };
export type MembersDecodeResult = { ok: true; msg: MembersMessage<string> } | { ok: false; reason: string };

function checkState(s: unknown, what: string): string | null {
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || Math.floor(s / 4) > MAX_INCARNATION) return `${what}: bad state ${String(s)}`;
  return null;
}

function checkStr(s: unknown, max: number, what: string, nonEmpty: boolean): string | null {
  if (typeof s !== 'string') return `${what}: expected a string`;
  const l = utf8Length(s);
  if (l < 0) return `${what}: not well-formed UTF-16`;
  if (l > max) return `${what}: ${l} bytes, limit ${max}`;
  if (nonEmpty && l === 0) return `${what}: empty`;
  return null;
}

function checkMeta(m: MemberMeta | null, what: string): string | null {
  if (m === null) return null;
  const e = checkStr(m.name, MEMBERS_LIMITS.maxNameBytes, `${what}.name`, true);
  if (e !== null) return e;
  const keys = Object.keys(m.tags);
  if (keys.length > MEMBERS_LIMITS.maxTags) return `${what}.tags: ${keys.length} tags, limit ${MEMBERS_LIMITS.maxTags}`;
  for (const k of keys) {
    const ek = checkStr(k, MEMBERS_LIMITS.maxTagBytes, `${what}.tags key`, true) ?? checkStr(m.tags[k], MEMBERS_LIMITS.maxTagBytes, `${what}.tags[${k}]`, false);
    if (ek !== null) return ek;
  }
  return null;
}

function entries(ids: string[], states: number[], max: number): string | null {
  if (ids.length !== states.length) return 'ids and states differ in length';
  if (ids.length > max) return `${ids.length} entries, limit ${max}`;
  for (let i = 0; i < ids.length; i++) {
    const e = checkStr(ids[i], MEMBERS_LIMITS.maxIdBytes, `ids[${i}]`, true) ?? checkState(states[i], `states[${i}]`);
    if (e !== null) return e;
  }
  return null;
}

function validate(msg: MembersMessage<string>): string | null {
  const L = MEMBERS_LIMITS;
  const seq = (v: number): string | null => (Number.isInteger(v) && v >= 0 && v <= L.maxSeq ? null : `seq: bad value ${String(v)}`);
  switch (msg.type) {
    case 'm-ping':
    case 'm-ack':
      return seq(msg.seq) ?? entries(msg.ids, msg.states, 64);
    case 'm-nack':
      return seq(msg.seq);
    case 'm-ping-req':
      return seq(msg.seq) ?? checkStr(msg.target, L.maxIdBytes, 'target', true);
    case 'm-alert':
      return checkStr(msg.subject, L.maxIdBytes, 'subject', true) ?? checkState(msg.state, 'state');
    case 'm-changes':
    case 'm-digest': {
      if (msg.type === 'm-changes' && msg.skip != null && msg.skip.length !== (msg.ids.length + 31) >>> 5) {
        return `skip: ${msg.skip.length} words for ${msg.ids.length} entries, expected ${(msg.ids.length + 31) >>> 5}`;
      }
      const e0 = entries(msg.ids, msg.states, L.maxEntries);
      if (e0 !== null) return e0;
      if (msg.type === 'm-changes' && msg.metas !== null && msg.metas.length !== msg.ids.length) return 'metas and ids differ in length';
      if (msg.type === 'm-digest' && (msg.buckets.length > BUCKETS || msg.buckets.some((b) => !(Number.isInteger(b) && b >= 0 && b < BUCKETS)))) return 'buckets: bad list';
      // `entries` checked the ids and states.
      if (msg.type === 'm-changes' && msg.metas !== null) {
        for (let i = 0; i < msg.ids.length; i++) {
          const em = checkMeta(msg.metas[i], `metas[${i}]`);
          if (em !== null) return em;
        }
      }
      return null;
    }
    case 'm-sync':
      if (!(Number.isInteger(msg.count) && msg.count >= 0 && msg.count <= L.maxSeq)) return `count: bad value ${String(msg.count)}`;
      if (msg.hashes.length !== BUCKETS) return `hashes: expected ${BUCKETS}, got ${msg.hashes.length}`;
      if (msg.hashes.some((h) => !(Number.isInteger(h) && h >= 0 && h <= 0xffffffff))) return 'hashes: bad value';
      return typeof msg.join === 'boolean' ? null : 'join: expected a boolean';
    case 'm-meta-req':
      if (msg.ids.length > L.maxMetaReq) return `${msg.ids.length} ids, limit ${L.maxMetaReq}`;
      for (let i = 0; i < msg.ids.length; i++) {
        const e = checkStr(msg.ids[i], L.maxIdBytes, `ids[${i}]`, true);
        if (e !== null) return e;
      }
      return null;
    case 'm-prune':
      return typeof msg.graft === 'boolean' ? null : 'graft: expected a boolean';
    case 'm-tally':
      if (msg.counts.length !== 0 && msg.counts.length !== BUCKETS) return `counts: expected 0 or ${BUCKETS}, got ${msg.counts.length}`;
      if (msg.counts.some((c) => !(Number.isInteger(c) && c >= 0 && c <= L.maxSeq))) return 'counts: bad value';
      if (msg.want.length > BUCKETS || msg.want.some((b) => !(Number.isInteger(b) && b >= 0 && b < BUCKETS))) return 'want: bad list';
      return null;
  }
}

function writeState(w: Writer, s: number): void {
  w.varint(Math.floor(s / 4));
  w.u8(s % 4);
}

function writeStr(w: Writer, s: string): void {
  w.string(s, utf8Length(s));
}

/** Encode `msg` (the `data` of a `direct` frame on `MEMBERS_CHANNEL`). */
export function encodeMembers(given: MembersMessage<string>): MembersEncodeResult {
  const code = (MEMBERS_TYPE_CODES as Record<string, number>)[given.type];
  if (code === undefined) return { ok: false, reason: `unknown membership message type ${JSON.stringify(given.type)}` };
  const err = validate(given);
  if (err !== null) return { ok: false, reason: `${given.type}: ${err}` };
  // A batch shared among links (`skip`): only the entries this link gets are encoded.
  const msg = given.type === 'm-changes' ? keptChanges(given) : given;
  const w = new Writer(new Uint8Array(bodyBytes(msg, strSize)));
  w.u8(MEMBERS_CODEC_VERSION);
  w.u8(code);
  switch (msg.type) {
    case 'm-ping':
    case 'm-ack':
      w.varint(msg.seq);
      w.varint(msg.ids.length);
      for (let i = 0; i < msg.ids.length; i++) {
        writeStr(w, msg.ids[i]);
        writeState(w, msg.states[i]);
      }
      break;
    case 'm-nack':
      w.varint(msg.seq);
      break;
    case 'm-ping-req':
      w.varint(msg.seq);
      writeStr(w, msg.target);
      break;
    case 'm-alert':
      writeStr(w, msg.subject);
      writeState(w, msg.state);
      break;
    case 'm-changes':
      w.u8((msg.sync ? 1 : 0) | (msg.metas !== null ? 2 : 0));
      w.varint(msg.ids.length);
      for (let i = 0; i < msg.ids.length; i++) {
        writeStr(w, msg.ids[i]);
        writeState(w, msg.states[i]);
        if (msg.metas !== null) writeMeta(w, msg.metas[i]);
      }
      break;
    case 'm-sync':
      w.varint(msg.count);
      w.u8(msg.join ? 1 : 0);
      w.u8(msg.hashes.length);
      for (const h of msg.hashes) w.u32(h);
      break;
    case 'm-digest':
      w.u8(msg.buckets.length);
      for (const b of msg.buckets) w.u8(b);
      w.varint(msg.ids.length);
      for (let i = 0; i < msg.ids.length; i++) {
        writeStr(w, msg.ids[i]);
        writeState(w, msg.states[i]);
      }
      break;
    case 'm-meta-req':
      w.varint(msg.ids.length);
      for (const id of msg.ids) writeStr(w, id);
      break;
    case 'm-prune':
      w.u8(msg.graft ? 1 : 0);
      break;
    case 'm-tally':
      w.u8(msg.counts.length);
      for (const c of msg.counts) w.varint(c);
      w.u8(msg.want.length);
      for (const b of msg.want) w.u8(b);
      break;
  }
  if (w.pos !== w.buf.length) throw new Error(`members codec: sized ${w.buf.length} bytes, wrote ${w.pos}`);
  return { ok: true, data: w.buf };
}

function writeMeta(w: Writer, m: MemberMeta | null): void {
  if (m === null) {
    w.u8(0);
    return;
  }
  w.u8(1);
  writeStr(w, m.name);
  const keys = Object.keys(m.tags);
  w.varint(keys.length);
  for (const k of keys) {
    writeStr(w, k);
    writeStr(w, m.tags[k]);
  }
}

function readState(r: Reader, what: string): number {
  const inc = r.varint(`${what} incarnation`, MAX_INCARNATION);
  const st = r.u8(`${what} status`);
  if (st > 3) throw new WireFault('malformed', `${what} status: ${st} is not 0..3`);
  return inc * 4 + st;
}

/** One entry's meta (the field names in errors are `meta …`). The tags are built as a plain
 *  object; a `__proto__` key is defined as an own property, never the prototype. (Building them
 *  in an `Object.create(null)` dictionary and spreading it into a plain object, as before, was
 *  the largest part of decoding a join's `m-changes`: docs/results.md, h35j.) */
function readMeta(r: Reader): MemberMeta | null {
  const has = r.u8('meta');
  if (has === 0) return null;
  if (has !== 1) throw new WireFault('malformed', `meta: flag ${has}`);
  const L = MEMBERS_LIMITS;
  const name = r.string('meta name', L.maxNameBytes, true);
  const n = r.varint('meta tag count', L.maxTags);
  const tags: Record<string, string> = {};
  for (let i = 0; i < n; i++) {
    const k = r.string('meta tag key', L.maxTagBytes, true);
    const v = r.string('meta tag value', L.maxTagBytes);
    if (k === '__proto__') Object.defineProperty(tags, k, { value: v, enumerable: true, writable: true, configurable: true });
    else tags[k] = v;
  }
  return { name, tags };
}

function readEntries(r: Reader, withMeta: boolean, max: number = MEMBERS_LIMITS.maxEntries): { ids: string[]; states: number[]; metas: (MemberMeta | null)[] | null } {
  const n = r.varint('entry count', max);
  // Each entry takes at least 3 bytes: refuse a count the bytes left cannot hold.
  r.need(3 * n, 'entries');
  const ids: string[] = [];
  const states: number[] = [];
  const metas: (MemberMeta | null)[] | null = withMeta ? [] : null;
  for (let i = 0; i < n; i++) {
    ids.push(r.string('id', MEMBERS_LIMITS.maxIdBytes, true));
    states.push(readState(r, 'state'));
    if (metas !== null) metas.push(readMeta(r));
  }
  return { ids, states, metas };
}

function readBody(r: Reader, type: MembersMessage<string>['type']): MembersMessage<string> {
  const seq = (): number => r.varint('seq', MEMBERS_LIMITS.maxSeq);
  switch (type) {
    case 'm-ping':
    case 'm-ack': {
      const s = seq();
      const e = readEntries(r, false, 64);
      return { type, seq: s, ids: e.ids, states: e.states };
    }
    case 'm-nack':
      return { type, seq: seq() };
    case 'm-ping-req':
      return { type, seq: seq(), target: r.string('target', MEMBERS_LIMITS.maxIdBytes, true) };
    case 'm-alert':
      return { type, subject: r.string('subject', MEMBERS_LIMITS.maxIdBytes, true), state: readState(r, 'state') };
    case 'm-changes': {
      const flags = r.u8('flags');
      if (flags > 3) throw new WireFault('malformed', `flags: ${flags}`);
      const e = readEntries(r, (flags & 2) !== 0);
      return { type, ids: e.ids, states: e.states, metas: e.metas, sync: (flags & 1) !== 0 };
    }
    case 'm-sync': {
      const count = r.varint('count', MEMBERS_LIMITS.maxSeq);
      const join = r.bool('join');
      const nb = r.u8('bucket count');
      if (nb !== BUCKETS) throw new WireFault('malformed', `bucket count: expected ${BUCKETS}, got ${nb}`);
      r.need(4 * nb, 'hashes');
      const hashes: number[] = [];
      for (let i = 0; i < nb; i++) {
        const b = r.buf;
        const p = r.pos;
        hashes.push(((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0);
        r.pos += 4;
      }
      return { type, count, join, hashes };
    }
    case 'm-digest': {
      const buckets = readBucketList(r, 'bucket');
      const e = readEntries(r, false);
      return { type, buckets, ids: e.ids, states: e.states };
    }
    case 'm-meta-req': {
      const n = r.varint('id count', MEMBERS_LIMITS.maxMetaReq);
      r.need(2 * n, 'ids');
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push(r.string('id', MEMBERS_LIMITS.maxIdBytes, true));
      return { type, ids };
    }
    case 'm-prune':
      return { type, graft: r.bool('graft') };
    case 'm-tally': {
      const nc = r.u8('count count');
      if (nc !== 0 && nc !== BUCKETS) throw new WireFault('malformed', `count count: expected 0 or ${BUCKETS}, got ${nc}`);
      const counts: number[] = [];
      for (let i = 0; i < nc; i++) counts.push(r.varint('count', MEMBERS_LIMITS.maxSeq));
      const want = readBucketList(r, 'want');
      return { type, counts, want };
    }
  }
}

/** A list of anti-entropy bucket numbers (`m-digest`'s buckets, `m-tally`'s wants): a u8 count,
 *  at most BUCKETS, then one u8 each, below BUCKETS; errors name the field as `what`. */
function readBucketList(r: Reader, what: string): number[] {
  const n = r.u8(`${what} count`);
  if (n > BUCKETS) throw new WireFault('limit-exceeded', `${what} count: ${n}, limit ${BUCKETS}`);
  const list: number[] = [];
  for (let i = 0; i < n; i++) {
    const b = r.u8(what);
    if (b >= BUCKETS) throw new WireFault('malformed', `${what}: ${b} is not below ${BUCKETS}`);
    list.push(b);
  }
  return list;
}

/** Decode the `data` of a membership `direct` frame. Never throws. */
export function decodeMembers(data: Uint8Array): MembersDecodeResult {
  try {
    const r = new Reader(data, 0, data.length);
    const version = r.u8('version');
    if (version !== MEMBERS_CODEC_VERSION) return { ok: false, reason: `unsupported membership codec version ${version}` };
    const code = r.u8('type');
    const type = BY_CODE[code];
    if (type === undefined) return { ok: false, reason: `unknown membership message type code ${code}` };
    const msg = readBody(r, type);
    if (r.pos !== data.length) return { ok: false, reason: `${type}: ${data.length - r.pos} trailing bytes` };
    return { ok: true, msg };
  } catch (e) {
    if (e instanceof WireFault) return { ok: false, reason: `${e.error}: ${e.detail}` };
    throw e;
  }
}
