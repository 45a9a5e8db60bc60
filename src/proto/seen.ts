/**
 * Bounded cache of broadcast message ids already seen and, optionally, of their payloads.
 *
 * Shared by the broadcast machines (Plumtree, flooding, fanout gossip):
 * - the *seen set* gives exactly-once delivery: an id stays in it for `seenTtlMs` after it
 *   was first seen (Plumtree's `receivedMsgs`, SRDS 2007 Alg. 1);
 * - the *payload cache* keeps the payload (and the round at which this node forwards it)
 *   for `payloadTtlMs`, so that Plumtree can answer a GRAFT;
 * - both are bounded by `maxEntries`: when full, the oldest id (and its payload) is evicted.
 *
 * Both maps are `Map`s in insertion order, and entries are inserted with a non-decreasing
 * `now`, so the oldest entry is always the first one: expiry and eviction are O(1) per entry
 * and no per-entry timer exists. Garbage collection runs on the `pt-cache-gc` timer, which a
 * machine keeps armed only while the cache is non-empty (`armGc` / `onGcTimer`).
 *
 * Exactly-once holds only within `seenTtlMs` (and while fewer than `maxEntries` newer ids
 * arrived): a copy that arrives after its id was forgotten is delivered again. Choose
 * `seenTtlMs` well above the time a message can stay in flight (including GRAFT recovery).
 */
import type { BroadcastTimer, ConfigResult, MsgId } from './types.js';

/** A cached payload with the round this node forwards it with (see `Plumtree`). */
export interface CachedPayload {
  payload: Uint8Array;
  /** Round carried by this node's own pushes/announcements of the message. */
  round: number;
  /** Time the payload was cached. */
  at: number;
}

/** The only timer a cache needs; immutable and shared by every machine. */
export const CACHE_GC_TIMER: BroadcastTimer = Object.freeze({ type: 'pt-cache-gc' });

/** Anything that can set a broadcast timer (a `BroadcastIo`). */
export interface TimerSink {
  timer(delayMs: number, t: BroadcastTimer): void;
}

export class SeenCache {
  /** id -> time first seen. Insertion order is time order. */
  private readonly seen = new Map<MsgId, number>();
  /** id -> cached payload; keys are a subset of `seen`'s. */
  private readonly payloads = new Map<MsgId, CachedPayload>();
  private gcArmed = false;
  /** Minimum delay between two GC runs, so a steady stream does not fire one per message. */
  private readonly gcSlackMs: number;

  /**
   * @param seenTtlMs how long an id is remembered (> 0).
   * @param payloadTtlMs how long a payload is kept (0: never keep payloads; ≤ seenTtlMs).
   * @param maxEntries bound on remembered ids (and so on payloads).
   */
  constructor(
    private readonly seenTtlMs: number,
    private readonly payloadTtlMs: number,
    private readonly maxEntries: number,
  ) {
    const minTtl = payloadTtlMs > 0 ? Math.min(payloadTtlMs, seenTtlMs) : seenTtlMs;
    this.gcSlackMs = Math.max(1, Math.floor(minTtl / 10));
  }

  /** True if `id` is remembered. */
  has(id: MsgId): boolean {
    return this.seen.has(id);
  }

  /**
   * Remember `id` (and its payload if payloads are kept). Returns false, changing nothing,
   * if `id` was already remembered.
   */
  add(id: MsgId, now: number, payload?: Uint8Array, round = 0): boolean {
    if (this.seen.has(id)) return false;
    this.seen.set(id, now);
    if (payload !== undefined && this.payloadTtlMs > 0) this.payloads.set(id, { payload, round, at: now });
    if (this.seen.size > this.maxEntries) {
      const oldest = this.seen.keys().next().value as MsgId;
      this.seen.delete(oldest);
      this.payloads.delete(oldest);
    }
    return true;
  }

  /** The cached payload of `id`, if still kept. */
  payload(id: MsgId): CachedPayload | undefined {
    return this.payloads.get(id);
  }

  /** Number of remembered ids. */
  get size(): number {
    return this.seen.size;
  }

  /** Number of cached payloads. */
  get payloadCount(): number {
    return this.payloads.size;
  }

  /** Cached payloads, oldest first. */
  cachedPayloads(): IterableIterator<[MsgId, CachedPayload]> {
    return this.payloads.entries();
  }

  /** Drop payloads older than the payload TTL and ids older than the seen TTL. */
  gc(now: number): void {
    for (const [id, p] of this.payloads) {
      if (p.at + this.payloadTtlMs > now) break;
      this.payloads.delete(id);
    }
    for (const [id, at] of this.seen) {
      if (at + this.seenTtlMs > now) break;
      this.seen.delete(id);
      this.payloads.delete(id);
    }
  }

  /** Earliest time at which some entry expires; Infinity when empty. */
  nextExpiry(): number {
    let t = Infinity;
    for (const p of this.payloads.values()) {
      t = p.at + this.payloadTtlMs;
      break;
    }
    for (const at of this.seen.values()) {
      t = Math.min(t, at + this.seenTtlMs);
      break;
    }
    return t;
  }

  /** Arm the GC timer if the cache is non-empty and no GC timer is pending. */
  armGc(now: number, io: TimerSink): void {
    if (this.gcArmed || this.seen.size === 0) return;
    this.gcArmed = true;
    io.timer(Math.max(this.nextExpiry() - now, this.gcSlackMs), CACHE_GC_TIMER);
  }

  /** Handle a `pt-cache-gc` firing: collect, then re-arm while non-empty. */
  onGcTimer(now: number, io: TimerSink): void {
    this.gcArmed = false;
    this.gc(now);
    this.armGc(now, io);
  }
}

// ---------------------------------------------------------------------------------------
// Small validation helpers shared by the broadcast machines' config validators.
// ---------------------------------------------------------------------------------------

/** Constraint on one numeric config field. */
export interface NumberRule {
  integer?: boolean;
  /** Inclusive lower bound. */
  min?: number;
  /** Exclusive lower bound (e.g. 0 for "positive"). */
  above?: number;
}

/** Check `obj[field]` against `rule`; returns a reason starting with the field name, or null. */
export function checkNumber(obj: Record<string, unknown>, field: string, rule: NumberRule): string | null {
  const v = obj[field];
  const what = describeRule(rule);
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${field}: must be ${what} (got ${show(v)})`;
  if (rule.integer && !Number.isInteger(v)) return `${field}: must be ${what} (got ${v})`;
  if (rule.min !== undefined && v < rule.min) return `${field}: must be ${what} (got ${v})`;
  if (rule.above !== undefined && v <= rule.above) return `${field}: must be ${what} (got ${v})`;
  return null;
}

function describeRule(rule: NumberRule): string {
  const kind = rule.integer ? 'an integer' : 'a finite number';
  if (rule.above !== undefined) return `${kind} > ${rule.above}`;
  if (rule.min !== undefined) return `${kind} >= ${rule.min}`;
  return kind;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  if (v === null) return 'null';
  return typeof v;
}

/** Validate `c` field by field against `rules`; builds a config of exactly those fields. */
export function checkFields<C>(c: unknown, rules: Record<keyof C & string, NumberRule | 'boolean'>): ConfigResult<C> {
  if (typeof c !== 'object' || c === null) return { ok: false, reason: `config: must be an object (got ${show(c)})` };
  const obj = c as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of Object.keys(rules)) {
    const rule = rules[field as keyof C & string];
    if (rule === 'boolean') {
      if (typeof obj[field] !== 'boolean') return { ok: false, reason: `${field}: must be a boolean (got ${show(obj[field])})` };
    } else {
      const reason = checkNumber(obj, field, rule);
      if (reason !== null) return { ok: false, reason };
    }
    out[field] = obj[field];
  }
  return { ok: true, config: out as C };
}
