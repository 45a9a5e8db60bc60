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

/** One encoder and one strict decoder for every event (`decode` without `stream` keeps no
 *  state between calls): not two objects per event at every agent. */
const UTF8_ENC = new TextEncoder();
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Encode a user event. */
export function encodeUserEvent(e: UserEvent): Uint8Array {
  return UTF8_ENC.encode(JSON.stringify({ name: e.name, payload: Buffer.from(e.payload).toString('base64'), ltime: e.ltime }));
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
    v = JSON.parse(UTF8.decode(bytes));
  } catch {
    return { ok: false, reason: 'not UTF-8 JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'expected an object' };
  return { ok: true, value: v as Record<string, unknown> };
}

/** Slots of the Lamport event buffer: Serf's `EventBuffer` default, 512 (serf/config.go). */
export const EVENT_BUFFER_SIZE = 512;

/**
 * The Lamport-ordered buffer of user events (Serf's `eventBuffer`, serf.go handleUserEvent): a
 * user event is delivered to handlers at most once, whatever carries it again — a re-broadcast
 * after the broadcast layer's duplicate window (90 s), a replay from a peer, the same event
 * under another message id. Slot `ltime % size` holds the events of that Lamport time (name
 * and payload); an event already there is a duplicate; an event older than the clock minus
 * `size` is stale (its slot may have been reused) and is refused too.
 *
 * Limits: a burst of more than `size` Lamport times between an event and a late copy of it
 * makes the copy stale, so a genuinely new event that arrives that late is refused as well
 * (as in Serf). Two events with the same Lamport time, name and payload are one event.
 */
export class EventBuffer {
  private clock = 0;
  private readonly slots: ({ ltime: number; events: { name: string; payload: Uint8Array }[] } | undefined)[];

  constructor(readonly size = EVENT_BUFFER_SIZE) {
    this.slots = new Array(size);
  }

  /** The highest Lamport time seen. */
  get time(): number {
    return this.clock;
  }

  /** `new` (remember and deliver it), `duplicate` or `stale` (drop it). */
  admit(name: string, payload: Uint8Array, ltime: number): 'new' | 'duplicate' | 'stale' {
    if (ltime > this.clock) this.clock = ltime;
    if (this.clock > this.size && ltime < this.clock - this.size) return 'stale';
    const i = ltime % this.size;
    let slot = this.slots[i];
    if (slot !== undefined && slot.ltime === ltime) {
      if (slot.events.some((e) => e.name === name && sameBytes(e.payload, payload))) return 'duplicate';
    } else {
      slot = { ltime, events: [] };
      this.slots[i] = slot;
    }
    slot.events.push({ name, payload });
    return 'new';
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
