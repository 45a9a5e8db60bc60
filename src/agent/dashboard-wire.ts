/**
 * Messages of the dashboard's overlay crawl on the reserved channel `_rumor.dash`, carried
 * point to point between neighbours in `direct` frames (checksummed and bounded by the frame
 * layer). Binary, versioned, validated on receipt; bad input is a reason, never an exception.
 *
 *   request: version=1, type=1, reqId u32, ttl u8, origin str
 *   report:  version=1, type=2, reqId u32, origin str, addr str, name str,
 *            neighbours u8 count + str each, then 10 float64: uptimeMs, messagesIn,
 *            messagesOut, bytesIn, bytesOut, deliveries, duplicates, droppedFrames,
 *            eventLoopLagMs (NaN = not measured yet), rssBytes
 * where `str` is a u8 byte length and UTF-8 bytes (at most 255).
 */

/** Largest neighbour list a report carries (an active view is 5, up to ~2× while it churns). */
export const MAX_REPORT_NEIGHBORS = 32;
const VERSION = 1;

/** Cumulative counters of one agent, as a report carries them. */
export interface PeerCounters {
  uptimeMs: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  deliveries: number;
  duplicates: number;
  droppedFrames: number;
  /** p99 event-loop delay over the last window (ms); null until measured. */
  eventLoopLagMs: number | null;
  rssBytes: number;
}

const COUNTER_KEYS = ['uptimeMs', 'messagesIn', 'messagesOut', 'bytesIn', 'bytesOut', 'deliveries', 'duplicates', 'droppedFrames', 'eventLoopLagMs', 'rssBytes'] as const;

export type DashMessage =
  | { type: 'request'; reqId: number; ttl: number; origin: string }
  | { type: 'report'; reqId: number; origin: string; addr: string; name: string; neighbors: string[]; counters: PeerCounters };

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function str(s: string): Uint8Array {
  const b = enc.encode(s);
  if (b.length > 255) throw new RangeError(`dashboard message: string longer than 255 bytes (${b.length})`);
  return b;
}

/** Encode a message. Throws RangeError on a string over 255 bytes or too many neighbours. */
export function encodeDash(m: DashMessage): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(6);
  const hv = new DataView(head.buffer);
  head[0] = VERSION;
  head[1] = m.type === 'request' ? 1 : 2;
  hv.setUint32(2, m.reqId >>> 0);
  parts.push(head);
  const pushStr = (s: string): void => {
    const b = str(s);
    parts.push(Uint8Array.of(b.length), b);
  };
  if (m.type === 'request') {
    parts.push(Uint8Array.of(Math.max(0, Math.min(255, m.ttl))));
    pushStr(m.origin);
  } else {
    if (m.neighbors.length > MAX_REPORT_NEIGHBORS) throw new RangeError(`dashboard report: more than ${MAX_REPORT_NEIGHBORS} neighbours`);
    pushStr(m.origin);
    pushStr(m.addr);
    pushStr(m.name);
    parts.push(Uint8Array.of(m.neighbors.length));
    for (const n of m.neighbors) pushStr(n);
    const nums = new Uint8Array(8 * COUNTER_KEYS.length);
    const nv = new DataView(nums.buffer);
    COUNTER_KEYS.forEach((k, i) => nv.setFloat64(8 * i, m.counters[k] ?? NaN));
    parts.push(nums);
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

class Fault extends Error {}

/** Decode and validate a message. Never throws. */
export function decodeDash(b: Uint8Array): { ok: true; msg: DashMessage } | { ok: false; reason: string } {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  const need = (n: number, what: string): void => {
    if (o + n > b.length) throw new Fault(`truncated at ${what}`);
  };
  const u8 = (what: string): number => {
    need(1, what);
    return b[o++];
  };
  const s = (what: string): string => {
    const n = u8(what);
    need(n, what);
    try {
      return dec.decode(b.subarray(o, (o += n)));
    } catch {
      throw new Fault(`${what}: invalid UTF-8`);
    }
  };
  try {
    const version = u8('version');
    if (version !== VERSION) return { ok: false, reason: `version: expected ${VERSION}, got ${version}` };
    const type = u8('type');
    need(4, 'reqId');
    const reqId = v.getUint32(o);
    o += 4;
    let msg: DashMessage;
    if (type === 1) {
      const ttl = u8('ttl');
      msg = { type: 'request', reqId, ttl, origin: s('origin') };
    } else if (type === 2) {
      const origin = s('origin');
      const addr = s('addr');
      const name = s('name');
      const count = u8('neighbours');
      if (count > MAX_REPORT_NEIGHBORS) return { ok: false, reason: `neighbours: ${count} > ${MAX_REPORT_NEIGHBORS}` };
      const neighbors: string[] = [];
      for (let i = 0; i < count; i++) neighbors.push(s('neighbour'));
      need(8 * COUNTER_KEYS.length, 'counters');
      const c: Record<string, number | null> = {};
      for (const k of COUNTER_KEYS) {
        const x = v.getFloat64(o);
        o += 8;
        if (k === 'eventLoopLagMs' && Number.isNaN(x)) c[k] = null;
        else if (!Number.isFinite(x) || x < 0) return { ok: false, reason: `${k}: expected a finite non-negative number` };
        else c[k] = x;
      }
      msg = { type: 'report', reqId, origin, addr, name, neighbors, counters: c as unknown as PeerCounters };
    } else return { ok: false, reason: `type: unknown ${type}` };
    if (o !== b.length) return { ok: false, reason: `${b.length - o} trailing bytes` };
    return { ok: true, msg };
  } catch (e) {
    if (e instanceof Fault) return { ok: false, reason: e.message };
    throw e;
  }
}
