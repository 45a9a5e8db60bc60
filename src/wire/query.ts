/**
 * Binary codec of the query application (`src/proto/query`), carried in broadcasts (queries)
 * and `direct` frames (acks, responses, relays) on `_app.query` (docs/protocol.md, "Queries").
 * Never JSON.
 *
 * Layout: `version u8 (1)`, `type u8` (1 query, 2 ack, 3 response, 4 relay), then
 * - query: `id varint`, `origin string`, `name string`, `payload bytes`, `nodes count varint` +
 *   strings, `tags count varint` + (`key string`, `pattern string`) each, `timeoutMs varint`,
 *   `ack u8 (0|1)`, `relayFactor u8`;
 * - ack: `id varint`, `responder string`, `rname string`, `final u8 (0|1)`;
 * - response: `id varint`, `responder string`, `rname string`, `payload bytes`, `error string`;
 * - relay: `origin string`, then a response's fields;
 * strings and bytes are `length varint` + bytes; then a CRC-32C (big-endian u32) of everything
 * before it. Sizes are exactly `queryMessageSize` (src/proto/query/types.ts). Decoding checks
 * every bound against the receiver's `QueryConfig` (payloads, names, filter sizes, timeout,
 * relay factor; ids up to 2^48, peer ids up to 255 bytes) and never throws.
 */
import { DEFAULT_QUERY_CONFIG, MAX_QUERY_ERROR_BYTES, queryMessageSize, type QueryConfig, type QueryFilter, type QueryMessage, type QueryResponseMsg } from '../proto/query/types.js';
import { stringIdBytes } from '../proto/state/types.js';
import { utf8Bytes } from '../proto/utf8.js';
import { Reader, WireFault, Writer } from './bytes.js';
import { crcView } from './crc.js';

export const QUERY_CODEC_VERSION = 1;
const TYPE_CODE = { 'q-query': 1, 'q-ack': 2, 'q-response': 3, 'q-relay': 4 } as const;
const MAX_ID_BYTES = 255;
const MAX_QUERY_ID = 2 ** 48;
/** Longest error text of a response (bytes). */
export const MAX_ERROR_BYTES = MAX_QUERY_ERROR_BYTES;

export type QueryCodecResult<V> = { ok: true; value: V } | { ok: false; reason: string };

/** Encode `msg` (string peer ids). Refuses what the decoder would refuse with default limits
 *  (ids over 255 bytes, error texts over 512, malformed strings). */
export function encodeQueryMessage(msg: QueryMessage<string>): QueryCodecResult<Uint8Array> {
  const size = queryMessageSize(msg, stringIdBytes);
  const w = new Writer(new Uint8Array(size));
  w.u8(QUERY_CODEC_VERSION);
  w.u8(TYPE_CODE[msg.type]);
  try {
    switch (msg.type) {
      case 'q-query':
        writeQuery(w, msg);
        break;
      case 'q-ack':
        w.varint(msg.id);
        str(w, msg.responder, MAX_ID_BYTES, 'responder');
        str(w, msg.rname, DEFAULT_QUERY_CONFIG.maxNameBytes, 'rname', true);
        w.u8(msg.final ? 1 : 0);
        break;
      case 'q-response':
        writeResponse(w, msg);
        break;
      case 'q-relay':
        str(w, msg.origin, MAX_ID_BYTES, 'origin');
        writeResponse(w, msg.inner);
        break;
    }
  } catch (e) {
    return { ok: false, reason: String((e as Error).message) };
  }
  w.u32(crcView(w.buf.subarray(0, w.pos)));
  if (w.pos !== size) return { ok: false, reason: `query codec: wrote ${w.pos} bytes, sized ${size}` };
  return { ok: true, value: w.buf };
}

function str(w: Writer, s: string, max: number, what: string, allowEmpty = false): void {
  const n = utf8Bytes(s);
  if (n < 0 || n > max || (n === 0 && !allowEmpty)) throw new Error(`${what} of ${n} bytes (expected ${allowEmpty ? 0 : 1}..${max})`);
  w.string(s, n);
}

function bytes(w: Writer, b: Uint8Array): void {
  w.varint(b.byteLength);
  w.bytes(b);
}

function writeQuery(w: Writer, m: Extract<QueryMessage<string>, { type: 'q-query' }>): void {
  if (!Number.isInteger(m.id) || m.id < 0 || m.id >= MAX_QUERY_ID) throw new Error(`query id ${m.id} out of range`);
  w.varint(m.id);
  str(w, m.origin, MAX_ID_BYTES, 'origin');
  str(w, m.name, DEFAULT_QUERY_CONFIG.maxNameBytes, 'name');
  bytes(w, m.payload);
  w.varint(m.filter.nodes.length);
  for (const n of m.filter.nodes) str(w, n, DEFAULT_QUERY_CONFIG.maxNameBytes, 'node name');
  w.varint(m.filter.tags.length);
  for (const t of m.filter.tags) {
    str(w, t.key, DEFAULT_QUERY_CONFIG.maxNameBytes, 'tag key');
    str(w, t.pattern, DEFAULT_QUERY_CONFIG.maxNameBytes, 'tag pattern', true);
  }
  w.varint(m.timeoutMs);
  w.u8(m.ack ? 1 : 0);
  if (!Number.isInteger(m.relayFactor) || m.relayFactor < 0 || m.relayFactor > 255) throw new Error(`relay factor ${m.relayFactor} out of range`);
  w.u8(m.relayFactor);
}

function writeResponse(w: Writer, r: QueryResponseMsg<string>): void {
  w.varint(r.id);
  str(w, r.responder, MAX_ID_BYTES, 'responder');
  str(w, r.rname, DEFAULT_QUERY_CONFIG.maxNameBytes, 'rname', true);
  bytes(w, r.payload);
  str(w, r.error, MAX_ERROR_BYTES, 'error', true);
}

/** Decode a query message, bounded by the receiver's `config`. Never throws. */
export function decodeQueryMessage(buf: Uint8Array, config: QueryConfig = DEFAULT_QUERY_CONFIG): QueryCodecResult<QueryMessage<string>> {
  const max = 64 * 1024 + config.maxPayloadBytes + config.maxResponseBytes;
  if (buf.byteLength > max) return { ok: false, reason: `query message of ${buf.byteLength} bytes exceeds ${max}` };
  if (buf.byteLength < 6) return { ok: false, reason: 'query message: truncated' };
  const end = buf.byteLength - 4;
  const crc = ((buf[end] << 24) | (buf[end + 1] << 16) | (buf[end + 2] << 8) | buf[end + 3]) >>> 0;
  if (crcView(buf.subarray(0, end)) !== crc) return { ok: false, reason: 'query message: bad checksum' };
  const r = new Reader(buf, 0, end);
  try {
    const v = r.u8('version');
    if (v !== QUERY_CODEC_VERSION) return { ok: false, reason: `query message: unsupported version ${v}` };
    const t = r.u8('type');
    let msg: QueryMessage<string>;
    if (t === TYPE_CODE['q-query']) msg = readQuery(r, config);
    else if (t === TYPE_CODE['q-ack']) msg = { type: 'q-ack', id: r.varint('id', MAX_QUERY_ID - 1), responder: r.string('responder', MAX_ID_BYTES, true), rname: r.string('rname', config.maxNameBytes), final: r.bool('final') };
    else if (t === TYPE_CODE['q-response']) msg = readResponse(r, config);
    else if (t === TYPE_CODE['q-relay']) msg = { type: 'q-relay', origin: r.string('origin', MAX_ID_BYTES, true), inner: readResponse(r, config) };
    else return { ok: false, reason: `query message: unknown type ${t}` };
    if (r.pos !== end) return { ok: false, reason: `query message: ${end - r.pos} trailing bytes` };
    return { ok: true, value: msg };
  } catch (e) {
    if (e instanceof WireFault) return { ok: false, reason: `query message: ${e.detail}` };
    return { ok: false, reason: `query message: ${String((e as Error).message)}` };
  }
}

function readQuery(r: Reader, c: QueryConfig): QueryMessage<string> {
  const id = r.varint('id', MAX_QUERY_ID - 1);
  const origin = r.string('origin', MAX_ID_BYTES, true);
  const name = r.string('name', c.maxNameBytes, true);
  const payload = r.bytes(r.length('payload', c.maxPayloadBytes));
  const filter: QueryFilter = { nodes: [], tags: [] };
  const nn = r.varint('node count', c.maxFilterNodes);
  for (let i = 0; i < nn; i++) filter.nodes.push(r.string('node name', c.maxNameBytes, true));
  const nt = r.varint('tag count', c.maxFilterTags);
  for (let i = 0; i < nt; i++) filter.tags.push({ key: r.string('tag key', c.maxNameBytes, true), pattern: r.string('tag pattern', c.maxNameBytes) });
  const timeoutMs = r.varint('timeoutMs', c.maxTimeoutMs);
  if (timeoutMs < 1) throw new WireFault('malformed', 'timeoutMs: 0');
  const ack = r.bool('ack');
  const relayFactor = r.u8('relayFactor');
  if (relayFactor > c.maxRelayFactor) throw new WireFault('limit-exceeded', `relayFactor: ${relayFactor} exceeds ${c.maxRelayFactor}`);
  return { type: 'q-query', id, origin, name, payload, filter, timeoutMs, ack, relayFactor };
}

function readResponse(r: Reader, c: QueryConfig): QueryResponseMsg<string> {
  return {
    type: 'q-response',
    id: r.varint('id', MAX_QUERY_ID - 1),
    responder: r.string('responder', MAX_ID_BYTES, true),
    rname: r.string('rname', c.maxNameBytes),
    payload: r.bytes(r.length('payload', c.maxResponseBytes)),
    error: r.string('error', MAX_ERROR_BYTES),
  };
}
