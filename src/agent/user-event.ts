/**
 * User events on channel `_rumor.event`: UTF-8 JSON `{"name": string, "payload": base64,
 * "ltime": integer}`; `ltime` is the sender's Lamport clock (as Serf's user events carry).
 * Validated on receipt; bad input is a reason, never an exception.
 */

/** A decoded user event. */
export interface UserEvent {
  name: string;
  payload: Uint8Array;
  ltime: number;
}

/** Encode a user event. */
export function encodeUserEvent(e: UserEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ name: e.name, payload: Buffer.from(e.payload).toString('base64'), ltime: e.ltime }));
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** Does `s` hold a C0 control character (NUL included)? Refused in names, as the HTTP API
 *  refuses them; a NUL byte could not be passed to a handler in `RUMOR_USER_EVENT`. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return true;
  return false;
}

/** Decode and validate a user event. Never throws. */
export function decodeUserEvent(bytes: Uint8Array): { ok: true; event: UserEvent } | { ok: false; reason: string } {
  const parsed = parseJsonObject(bytes);
  if (!parsed.ok) return parsed;
  const o = parsed.value;
  if (typeof o.name !== 'string' || o.name.length === 0 || o.name.length > 128 || hasControl(o.name)) {
    return { ok: false, reason: 'name: expected a string of 1..128 chars, no control characters' };
  }
  if (typeof o.payload !== 'string' || !BASE64.test(o.payload)) return { ok: false, reason: 'payload: expected base64' };
  if (typeof o.ltime !== 'number' || !Number.isSafeInteger(o.ltime) || o.ltime < 0) return { ok: false, reason: 'ltime: expected a non-negative integer' };
  return { ok: true, event: { name: o.name, payload: new Uint8Array(Buffer.from(o.payload, 'base64')), ltime: o.ltime } };
}

/** Parse `bytes` as a UTF-8 JSON object. Never throws. */
export function parseJsonObject(bytes: Uint8Array): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, reason: 'not UTF-8 JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'expected an object' };
  return { ok: true, value: v as Record<string, unknown> };
}
