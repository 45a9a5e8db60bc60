/**
 * Bounded cache of broadcast message ids already seen and, optionally, of their payloads.
 *
 * Shared by the broadcast machines (Plumtree, flooding, fanout gossip):
 * - the *seen set* gives exactly-once delivery: an id stays in it for `seenTtlMs` after it
 *   was first seen (Plumtree's `receivedMsgs`, SRDS 2007 Alg. 1);
 * - the *payload cache* keeps the payload (and the round at which this node forwards it)
 *   for `payloadTtlMs`, so that Plumtree can answer a GRAFT;
 * - both are bounded by `maxEntries`: when full, the oldest id (and its payload) is evicted;
 * - the payloads are also bounded by `maxPayloadBytes` (sum of their lengths): past it, the
 *   oldest payloads are dropped early (their ids stay remembered), so a stream of large
 *   payloads cannot hold `maxEntries` × payload size bytes.
 *
 * Layout (compact, because the simulator holds one cache per node, 10^6 of them): entries
 * live in a ring in insertion order, which is time order (entries are added with a
 * non-decreasing `now`), as two parallel arrays — `refs` holds `[id, payload buffer |
 * undefined]` and `nums` holds `[firstSeenAt, round and payload span]` (an all-number array,
 * stored unboxed; see `packed`: the round and the span share one number, 8 B per entry less
 * than one each, h34s). A payload is kept as its `ArrayBuffer` and its offset and length there, not
 * as its view object, and `payload` makes a view when asked (a GRAFT): in the runtime every
 * delivered payload's view would otherwise live `payloadTtlMs` (30 s), each one copied by two
 * scavenges and promoted — about 80 B per delivery of the survivors that set a scavenge's
 * pause under a flood (h32f, docs/results.md); the buffer is shared by the frames of one socket
 * read or slab. A payload of 2 MiB or more, at an offset of 16 MiB or more, or of a round
 * outside [0, 256) is kept as itself. The four bounds live in one `CacheLimits` object shared
 * by the caches built with the same bounds (4 fields less per cache). The oldest entry is at the ring's head, so expiry and eviction are O(1)
 * per entry, allocate nothing and need no per-entry timer. Payloads expire in the same order;
 * `payOff` counts the head entries whose payload is already dropped. Lookup by id is a linear
 * scan while the cache holds at most `LINEAR_MAX` entries (a simulated node typically
 * remembers a handful of ids: no hash table at all), and one `Map` id → entry number beyond.
 * Garbage collection runs on the `pt-cache-gc` timer, which a machine keeps armed only while
 * the cache is non-empty (`armGc` / `onGcTimer`).
 *
 * Cost (measured, /tmp micro-benchmark: 100,000 entries with 16-character string ids,
 * `heapUsed` delta after GC, ids and payloads excluded): ≈ 66 B per entry (ring 32 B, `Map`
 * entry and its share of the hash table; the payload span added 8 B to the ring, which the
 * packed round took back) — the previous two-`Map` layout with a payload
 * object per entry took 153 B. A full cache (10,000 entries, every add evicting) does
 * add + 2 × has in ≈ 0.23 µs, where deleting the oldest through a `Map` iterator took
 * ≈ 7 µs (the iterator skips the deleted-entry holes left at the front of the table).
 *
 * Exactly-once holds only within `seenTtlMs` (and while fewer than `maxEntries` newer ids
 * arrived): a copy that arrives after its id was forgotten is delivered again. Choose
 * `seenTtlMs` well above the time a message can stay in flight (including GRAFT recovery).
 */
import type { BroadcastTimer, ConfigResult, MsgId } from './types.js';

/** The only timer a cache needs; immutable and shared by every machine. */
export const CACHE_GC_TIMER: BroadcastTimer = Object.freeze({ type: 'pt-cache-gc' });

/** Anything that can set a broadcast timer (a `BroadcastIo`). */
export interface TimerSink {
  timer(delayMs: number, t: BroadcastTimer): void;
}

/** Up to this many entries, lookups scan the ring instead of using a `Map` (measured: a
 *  scan of 16 ids costs about as much as one `Map` lookup, and saves the hash table). */
const LINEAR_MAX = 16;
/** A payload kept as its buffer is described by one number, `round` × ROUND_UNIT +
 *  `byteOffset` × SPAN + `byteLength` (≥ 0): lengths below 2^21 (2 MiB), offsets below 2^24
 *  (16 MiB: socket reads and the wire's slabs are 64 KiB), rounds below 2^8 (hops), 53 bits,
 *  exact in a double. Any other entry (a payload kept as itself, or none) has −1 − `round`
 *  (< 0; rounds are non-negative integers, the wire's uints). */
const SPAN = 2 ** 21;
const MAX_SPAN_OFFSET = 2 ** 24;
const ROUND_UNIT = SPAN * MAX_SPAN_OFFSET;
const MAX_PACKED_ROUND = 2 ** 8;

/** `nums[2s + 1]` of an entry of round `round` whose payload is not kept as a buffer. */
function unpacked(round: number): number {
  return -1 - round;
}

/** The round of an entry from its `nums[2s + 1]`. */
function roundOf(v: number): number {
  return v >= 0 ? Math.floor(v / ROUND_UNIT) : -1 - v;
}

/** The bounds of a cache, shared by every cache built with the same ones. */
interface CacheLimits {
  readonly seenTtlMs: number;
  readonly payloadTtlMs: number;
  readonly maxEntries: number;
  readonly maxPayloadBytes: number;
  /** Minimum delay between two GC runs, so a steady stream does not fire one per message. */
  readonly gcSlackMs: number;
}

/** The limits the last cache was built with: every node of one simulation (or one runtime)
 *  builds its cache from the same config, so one object serves them all. */
let lastLimits: CacheLimits | null = null;

function limitsFor(seenTtlMs: number, payloadTtlMs: number, maxEntries: number, maxPayloadBytes: number): CacheLimits {
  const l = lastLimits;
  if (l !== null && l.seenTtlMs === seenTtlMs && l.payloadTtlMs === payloadTtlMs && l.maxEntries === maxEntries && l.maxPayloadBytes === maxPayloadBytes) return l;
  const minTtl = payloadTtlMs > 0 ? Math.min(payloadTtlMs, seenTtlMs) : seenTtlMs;
  lastLimits = Object.freeze({ seenTtlMs, payloadTtlMs, maxEntries, maxPayloadBytes, gcSlackMs: Math.max(1, Math.floor(minTtl / 10)) });
  return lastLimits;
}
/** Ring capacity before the first growth (entries), and after it: 4, then 12 at once (not 8),
 *  then ≈ 1.5× (18, 27, …). A simulated node's ring grows while the caches of every node
 *  have been promoted to the collector's old generation, so each outgrown ring is old
 *  garbage for a full collection: 4 → 12 leaves 160 B of it per node where 4 → 8 → 12 left
 *  448 B (the bench's 10 broadcasts end at 12 either way; docs/results.md, h35s). */
const INITIAL_CAPACITY = 4;
const SECOND_CAPACITY = 12;

/** The cache and id `has` answered false for last, while that cache added nothing since:
 *  `add` of that id (Plumtree's validate-then-remember of a new id) skips its own lookup.
 *  Module-wide, not a field: no memory per cache (the simulator holds 10^6 of them). */
let missedIn: SeenCache | null = null;
let missedId: MsgId = '';
function noteMiss(c: SeenCache, id: MsgId): void {
  missedIn = c;
  missedId = id;
}

export class SeenCache {
  /** Two slots per entry: id, and its payload (undefined once dropped or never kept) as the
   *  payload's `ArrayBuffer` (its span in `nums`), or the payload itself when its span or
   *  its round does not fit. */
  private refs: (MsgId | Uint8Array | ArrayBufferLike | undefined)[] = [];
  /** Two slots per entry: time first seen, and the round with the payload's span in its
   *  buffer (≥ 0: see SPAN) or −1 − round (the payload object kept, or none). Numbers only
   *  (unboxed). */
  private nums: number[] = [];
  /** Ring capacity in entries (`refs.length / 2` once allocated). */
  private cap = 0;
  /** Ring slot of the oldest entry. */
  private head = 0;
  private count = 0;
  /** Entries from the head whose payload is already dropped (or that never had one). */
  private payOff = 0;
  private payloads = 0;
  /** Sum of the kept payloads' lengths. */
  private payBytes = 0;
  /** id → entry number (entries are numbered in insertion order; `headNo` is the oldest's),
   *  only while more than `LINEAR_MAX` entries are held. Numbers, unlike ring slots, survive
   *  `grow`, so the index is never rebuilt while the ring grows. */
  private index: Map<MsgId, number> | null = null;
  private headNo = 0;
  /** The id added last. It stays remembered while the cache is non-empty (entries go oldest
   *  first, so it is dropped last), and an IHAVE or a duplicate is nearly always about it:
   *  checked before the ring, whose two arrays are two more memory accesses (a simulated
   *  node's cache is rarely in the processor's cache). */
  private newest: MsgId | undefined = undefined;
  private gcArmed = false;
  private readonly lim: CacheLimits;

  /**
   * @param seenTtlMs how long an id is remembered (> 0).
   * @param payloadTtlMs how long a payload is kept (0: never keep payloads; ≤ seenTtlMs).
   * @param maxEntries bound on remembered ids (and so on payloads).
   * @param maxPayloadBytes bound on the sum of the kept payloads' lengths (default: none).
   */
  constructor(seenTtlMs: number, payloadTtlMs: number, maxEntries: number, maxPayloadBytes = Infinity) {
    this.lim = limitsFor(seenTtlMs, payloadTtlMs, maxEntries, maxPayloadBytes);
  }

  /** True if `id` is remembered. */
  has(id: MsgId): boolean {
    if ((id === this.newest && this.count > 0) || this.find(id) >= 0) return true;
    noteMiss(this, id);
    return false;
  }

  /** The number of `id` if remembered, else -1: ids are numbered 0, 1, 2, … in the order
   *  they were added, and a number is never reused (Plumtree's IHAVE withdrawal compares it
   *  with `nextNumber` at its last flush). */
  numberOf(id: MsgId): number {
    if (this.count > 0 && id === this.newest) return this.headNo + this.count - 1;
    if (this.index !== null) return this.index.get(id) ?? -1;
    const s = this.find(id);
    if (s < 0) return -1;
    return this.headNo + (s >= this.head ? s - this.head : s + this.cap - this.head);
  }

  /** The number the next id added will get (see `numberOf`). */
  get nextNumber(): number {
    return this.headNo + this.count;
  }

  /**
   * Remember `id` (and its payload if payloads are kept). Returns false, changing nothing,
   * if `id` was already remembered.
   */
  add(id: MsgId, now: number, payload?: Uint8Array, round = 0): boolean {
    // Only an add makes a missed id known (expiry and eviction only forget), so an id `has`
    // just missed needs no second lookup.
    if ((missedIn !== this || id !== missedId) && this.has(id)) return false;
    missedIn = null;
    const lim = this.lim;
    if (this.count === lim.maxEntries) this.dropOldest();
    else if (this.count === this.cap) this.grow();
    let s = this.head + this.count;
    if (s >= this.cap) s -= this.cap;
    const keep = payload !== undefined && lim.payloadTtlMs > 0;
    this.refs[2 * s] = id;
    this.nums[2 * s] = now;
    if (!keep) {
      this.refs[2 * s + 1] = undefined;
      this.nums[2 * s + 1] = unpacked(round);
    } else if (payload.byteLength < SPAN && payload.byteOffset < MAX_SPAN_OFFSET && round >= 0 && round < MAX_PACKED_ROUND && Number.isInteger(round)) {
      this.refs[2 * s + 1] = payload.buffer;
      this.nums[2 * s + 1] = round * ROUND_UNIT + payload.byteOffset * SPAN + payload.byteLength;
    } else {
      this.refs[2 * s + 1] = payload;
      this.nums[2 * s + 1] = unpacked(round);
    }
    this.count++;
    this.newest = id;
    if (keep) {
      this.payloads++;
      this.payBytes += payload.byteLength;
      if (this.payBytes > lim.maxPayloadBytes) this.dropPayloads(false, 0);
    } else if (this.payOff === this.count - 1) this.payOff++; // nothing to drop later
    if (this.index !== null) this.index.set(id, this.headNo + this.count - 1);
    else if (this.count > LINEAR_MAX) this.buildIndex();
    return true;
  }

  /** The cached payload of `id`, if still kept. */
  payload(id: MsgId): Uint8Array | undefined {
    const s = this.find(id);
    return s < 0 ? undefined : this.payloadAt(s);
  }

  /** The round `id` was cached with (0 if unknown). */
  round(id: MsgId): number {
    const s = this.find(id);
    return s < 0 ? 0 : roundOf(this.nums[2 * s + 1]);
  }

  /** A read-only hint for a driver that loads a coming input's state ahead of it (the
   *  simulator's `loadAhead`): touches this object. No effect; the value means nothing. */
  warm(): number {
    return this.count + this.cap;
  }

  /** The same for the ring's two arrays (their headers: `warm`'s next level). */
  warmArrays(): number {
    return this.refs.length + this.nums.length;
  }

  /** The same for the ring: the newest entry's slots in both arrays, where a lookup starts
   *  and next to where an add writes (`warmArrays`' next level). */
  warmRing(): number {
    if (this.count === 0) return 0;
    const s = this.slot(this.count - 1);
    // Compared, not returned: a small integer, where a double would be boxed per call.
    return (this.nums[2 * s] >= 0 ? 1 : 0) + (this.refs[2 * s] === undefined ? 0 : 1);
  }

  /** Number of remembered ids. */
  get size(): number {
    return this.count;
  }

  /** Number of cached payloads. */
  get payloadCount(): number {
    return this.payloads;
  }

  /** Sum of the cached payloads' lengths (bytes). */
  get payloadBytes(): number {
    return this.payBytes;
  }

  /** Call `fn(id, round)` for every cached payload, oldest first. */
  forEachPayload(fn: (id: MsgId, round: number) => void): void {
    for (let i = this.payOff; i < this.count; i++) {
      const s = this.slot(i);
      if (this.refs[2 * s + 1] !== undefined) fn(this.refs[2 * s] as MsgId, roundOf(this.nums[2 * s + 1]));
    }
  }

  /** Drop payloads older than the payload TTL and ids older than the seen TTL. */
  gc(now: number): void {
    this.dropPayloads(true, now);
    const ttl = this.lim.seenTtlMs;
    while (this.count > 0 && this.nums[2 * this.head] + ttl <= now) this.dropOldest();
  }

  /** Earliest time at which some entry expires; Infinity when empty. */
  nextExpiry(): number {
    if (this.count === 0) return Infinity;
    let t = this.nums[2 * this.head] + this.lim.seenTtlMs;
    for (let i = this.payOff; i < this.count; i++) {
      const s = this.slot(i);
      if (this.refs[2 * s + 1] === undefined) continue;
      t = Math.min(t, this.nums[2 * s] + this.lim.payloadTtlMs);
      break;
    }
    return t;
  }

  /** Arm the GC timer if the cache is non-empty and no GC timer is pending. */
  armGc(now: number, io: TimerSink): void {
    if (this.gcArmed || this.count === 0) return;
    this.gcArmed = true;
    io.timer(Math.max(this.nextExpiry() - now, this.lim.gcSlackMs), CACHE_GC_TIMER);
  }

  /** Handle a `pt-cache-gc` firing: collect, then re-arm while non-empty. */
  onGcTimer(now: number, io: TimerSink): void {
    this.gcArmed = false;
    this.gc(now);
    this.armGc(now, io);
  }

  // -------------------------------------------------------------------------------------

  /** The payload kept at ring slot `s`, if any (a view made from its buffer and span). */
  private payloadAt(s: number): Uint8Array | undefined {
    const p = this.refs[2 * s + 1];
    if (p === undefined) return undefined;
    const v = this.nums[2 * s + 1];
    return v < 0 ? (p as Uint8Array) : new Uint8Array(p as ArrayBufferLike, Math.floor(v / SPAN) % MAX_SPAN_OFFSET, v % SPAN);
  }

  /** The length of the payload kept at ring slot `s` (0: none). */
  private payloadLength(s: number): number {
    const p = this.refs[2 * s + 1];
    if (p === undefined) return 0;
    const v = this.nums[2 * s + 1];
    return v < 0 ? (p as Uint8Array).byteLength : v % SPAN;
  }

  /** Ring slot of the `i`-th oldest entry. */
  private slot(i: number): number {
    const s = this.head + i;
    return s >= this.cap ? s - this.cap : s;
  }

  /** Ring slot of `id`, or -1. */
  private find(id: MsgId): number {
    if (this.index !== null) {
      const no = this.index.get(id);
      return no === undefined ? -1 : this.slot(no - this.headNo);
    }
    // Newest first: an IHAVE or a duplicate is nearly always about a recent message.
    const refs = this.refs;
    for (let i = this.count - 1; i >= 0; i--) {
      const s = this.slot(i);
      if (refs[2 * s] === id) return s;
    }
    return -1;
  }

  /** Drop payloads oldest first (their ids stay): those past the payload TTL at `now` when
   *  `expired`, else while their sum is over `maxPayloadBytes`. Never the newest payload. */
  private dropPayloads(expired: boolean, now: number): void {
    while (this.payOff < this.count - (expired ? 0 : 1)) {
      const s = this.slot(this.payOff);
      if (this.refs[2 * s + 1] !== undefined) {
        if (expired ? this.nums[2 * s] + this.lim.payloadTtlMs > now : this.payBytes <= this.lim.maxPayloadBytes) break;
        this.payBytes -= this.payloadLength(s);
        this.refs[2 * s + 1] = undefined;
        this.payloads--;
      }
      this.payOff++;
    }
  }

  /** Forget the oldest entry (and its payload). */
  private dropOldest(): void {
    const h = this.head;
    const id = this.refs[2 * h] as MsgId;
    if (this.refs[2 * h + 1] !== undefined) {
      this.payloads--;
      this.payBytes -= this.payloadLength(h);
    }
    this.refs[2 * h] = undefined;
    this.refs[2 * h + 1] = undefined;
    this.head = h + 1 === this.cap ? 0 : h + 1;
    this.headNo++;
    this.count--;
    if (this.payOff > 0) this.payOff--;
    if (this.index !== null) {
      this.index.delete(id);
      if (this.count === 0) this.index = null;
    }
  }

  /** Enlarge the full ring (4, 12, 18, 27, … ≈ 1.5×, at most `maxEntries`), oldest entry
   *  to slot 0. */
  private grow(): void {
    const cap = Math.min(this.lim.maxEntries, this.cap === 0 ? INITIAL_CAPACITY : this.cap === INITIAL_CAPACITY ? SECOND_CAPACITY : this.cap + (this.cap >> 1));
    const refs = new Array<MsgId | Uint8Array | ArrayBufferLike | undefined>(2 * cap).fill(undefined);
    const nums = new Array<number>(2 * cap).fill(0);
    for (let i = 0; i < this.count; i++) {
      const s = this.slot(i);
      refs[2 * i] = this.refs[2 * s];
      refs[2 * i + 1] = this.refs[2 * s + 1];
      nums[2 * i] = this.nums[2 * s];
      nums[2 * i + 1] = this.nums[2 * s + 1];
    }
    this.refs = refs;
    this.nums = nums;
    this.cap = cap;
    this.head = 0;
  }

  private buildIndex(): void {
    const m = new Map<MsgId, number>();
    for (let i = 0; i < this.count; i++) m.set(this.refs[2 * this.slot(i)] as MsgId, this.headNo + i);
    this.index = m;
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
