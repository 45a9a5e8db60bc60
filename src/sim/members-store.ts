/**
 * The member tables of every simulated node in one shared structure, so that the membership
 * machine (src/proto/members/) runs unchanged at 10^5 nodes: n full tables would be n²
 * entries (10^10 at 10^5), the memory of no machine.
 *
 * Each node sees its table through a `StoreView` (the `MemberStore` the machine was given).
 * Underneath, per member:
 * - a **base** state that every node holds unless it holds another version;
 * - the **versions in flight**: each other state some node holds, with its holder count and a
 *   *version id* (vid). A node that adopts a state leaves its old version and joins the new
 *   one (creating it on first use); a version left by every node is freed; a version held by
 *   every *live* node (registered view) **collapses** into the base and is freed.
 * - per node, a **row** of holder bits indexed by vid: bit v of row x says node x holds
 *   version v. Node-major, so that the checks of one batch (one node, up to 1,024 members)
 *   stay in one row of a few KB instead of touching one member-major bitset of n/8 bytes
 *   each, a cache miss per entry at 10^5 nodes. A freed vid whose bits are all clear (left by
 *   every node) is reused at once; a collapsed one (its bit set in every live row) is
 *   *retired* and its column cleared by one sweep over the rows when enough have retired.
 *   Memory: n rows of (vids in flight)/8 bytes — a wave of 10^4 failures at 10^5 nodes
 *   (suspect and failed versions, ≈ 2·10^4 vids) ≈ 10^5 × 4 KB while it spreads.
 * - per node, its table size and the 64 bucket hashes the anti-entropy sync sends, updated
 *   on each of its writes (the same values a `MapStore` would hold).
 * - static data shared by all: the name `n<id>`, the key hash, the K observer rings (member ids
 *   ordered by the ring hash, with each id's position) and the members of each bucket.
 * - the change log every node's change queue refers to (`SharedChangeLog`, members-log.ts),
 *   its newest pair per member kept in the member's block.
 *
 * What a view answers is exactly what a private table with the same writes would answer,
 * with two documented differences: `since` is the time the version was first adopted by any
 * node (used only to reap tombstones, 24 h by default: no experiment reaches it); and a node
 * that (re)starts registers a view that holds the base — the states every live node agreed
 * on — as a node would after its join push-pull with a settled neighbour (the simulator
 * bootstraps every node with the full list, as a cluster started from one seed list).
 *
 * Measurements at the store boundary (`onCreate`, `onCollapse`): the time the first node marks
 * a member failed, and the time every live node holds it failed — exact, with no event per
 * (node, member).
 */
import type { Rng } from '../proto/types.js';
import { BUCKETS, entryHash, type ChangeLog, type MemberMeta, type MemberStore } from '../proto/members/types.js';
import { ringPosition } from '../proto/members/map-store.js';
import { lineAligned, SharedChangeLog, type NewestRefs } from './members-log.js';

export { lineAligned, SharedChangeLog, type NewestRefs } from './members-log.js';

/** Version ids (columns of the holder rows) at first; doubled when more are in flight. */
const INITIAL_VIDS = 64;

/** Version slots per member at first (alive at the base, then e.g. suspect, failed, and a
 *  refutation's alive at a higher incarnation); a member that needs more doubles every
 *  member's slots (rare: it flapped faster than its changes reached every node). */
const INITIAL_VERSIONS = 4;

/** Offsets in a member's block of `SharedMembers.mi`: its version count, its key hash (as a
 *  signed 32-bit int), then its V vids, their V holder counts, the base state and the V
 *  states (`SharedMembers.BS`: the base state's offset, 2 + 2V). */
const NV = 0;
const KEY = 1;
const VIDS = 2;

/** The smallest power of two ≥ `k` (a member block's stride). */
function strideFor(k: number): number {
  return 2 ** Math.ceil(Math.log2(k));
}

/** Key hash of member id `m` (a 32-bit mix). */
export function intKey(m: number): number {
  return entryHash(m, 0x2545f491);
}

export interface SharedMembersHooks {
  /** A node adopted `state` for `m` first (a version was created). */
  onCreate?(m: number, state: number, now: number): void;
  /** Every live node now holds `state` for `m`. */
  onCollapse?(m: number, state: number, now: number): void;
}

/** A member's bucket from its key hash (`BUCKETS` is a power of two): the key is a uint32, and
 *  `key % BUCKETS` on one of 2^31 or more is a floating-point remainder in V8 (measured,
 *  `--cpu-prof` of `bench:members-merge -- --interleave`: `set`'s bucket line alone ≈ 10 % of
 *  the adoptions' CPU, and `bucketOf` most of the flush's ring shares). Same value. */
const BUCKET_MASK = BUCKETS - 1;

/** `entryHash(key, state)` (types.ts) for a state in [0, 2^31), whose high word is 0, as an
 *  int32 with the same 32 bits: no division, no floating point (two per adoption, on the
 *  bucket hashes; `stateHash` in test/sim/members-store.test.ts checks it equals). */
export function stateHash(key: number, state: number): number {
  let h = key ^ Math.imul(state, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return h ^ (h >>> 16);
}

/** A state the shared table can hold: an int32 (`pack(inc, status)` or -1). */
function checkState(state: number): void {
  if ((state | 0) !== state) throw new RangeError(`members-store: state ${state} is not a 32-bit integer (incarnation over 2^29?)`);
}

export class SharedMembers implements NewestRefs {
  readonly n: number;
  /** The log of (member, state) pairs every node's change queue refers to. */
  readonly changeLog: SharedChangeLog;
  private readonly baseSince: Float64Array;
  /** Versions in flight: member m has V slots (`V`), its versions are slots 0 … nv − 1, in
   *  order of creation; each has its state, first adoption time, holder count and version id
   *  (its column in the holder rows). What a lookup reads is kept together, per member (a
   *  failure wave at 10^5 nodes looks members up ≈ 5·10^9 times, at random: one cache line
   *  each instead of one per array): in `mi`, from m·SI on, the version count nv, the key hash,
   *  the V vids, the V holder counts, the base state and the V states (`NV`, `KEY`, `VIDS`,
   *  `BS`), and in the last int32 (SI − 1, free at every V since 3 + 3V is never a power of
   *  two) the change log's newest pair of m (`newestRef`): 16 int32s (64 bytes) at V = 4, one
   *  cache line since `mi` starts a line (`lineAligned`). SI is a power of two. States
   *  are int32s (`pack(inc, status)`, -1: absent; a state outside that range is refused with
   *  a RangeError — the simulator's incarnations are its virtual seconds): h31m's layout kept
   *  them in a second `Float64Array` block, a second cache line per lookup. */
  private V = INITIAL_VERSIONS;
  private SI = strideFor(3 + 3 * INITIAL_VERSIONS);
  private BS = VIDS + 2 * INITIAL_VERSIONS;
  private mi: Int32Array;
  private vSince: Float64Array;
  /** Holder rows: node x's row is words x·W … x·W + W − 1 (W words, 32·W vids). */
  private rows: Uint32Array;
  private W: number;
  /** Vids never used yet start at `vidTop`; `vidFree`: freed with every bit clear;
   *  `vidRetired`: freed by a collapse, their columns still set in the live rows. */
  private vidTop = 0;
  private readonly vidFree: number[] = [];
  private vidRetired: number[] = [];
  private readonly versioned = new Set<number>();
  private readonly registered: Uint8Array;
  private live = 0;
  private readonly cnt: Int32Array;
  private readonly bh: Uint32Array;
  private baseCount = 0;
  private readonly baseBh = new Uint32Array(BUCKETS);
  private readonly keys: Uint32Array;
  private readonly order: Int32Array[] = [];
  private readonly pos: Int32Array[] = [];
  private readonly bucketStart = new Int32Array(BUCKETS + 1);
  private readonly bucketMembers: Int32Array;
  hooks: SharedMembersHooks = {};

  /** `n` member ids 0..n-1, all in the base at state `initial` (-1: none), `rings` rings. */
  constructor(n: number, rings: number, initial: number) {
    this.n = n;
    this.changeLog = new SharedChangeLog(n, this);
    this.baseSince = new Float64Array(n);
    this.mi = lineAligned(n * this.SI);
    checkState(initial);
    for (let m = 0; m < n; m++) {
      this.mi[m * this.SI + this.BS] = initial;
      this.mi[m * this.SI + this.SI - 1] = -1;
    }
    this.vSince = new Float64Array(n * this.V);
    this.W = INITIAL_VIDS >>> 5;
    this.rows = new Uint32Array(n * this.W);
    this.registered = new Uint8Array(n);
    this.cnt = new Int32Array(n);
    this.bh = new Uint32Array(n * BUCKETS);
    this.keys = new Uint32Array(n);
    for (let m = 0; m < n; m++) {
      this.keys[m] = intKey(m);
      this.mi[m * this.SI + KEY] = this.keys[m] | 0;
    }
    if (initial >= 0) {
      this.baseCount = n;
      for (let m = 0; m < n; m++) this.baseBh[this.keys[m] & BUCKET_MASK] ^= entryHash(this.keys[m], initial);
    }
    const ids = new Int32Array(n);
    const p = new Float64Array(n);
    for (let k = 0; k < rings; k++) {
      for (let m = 0; m < n; m++) {
        ids[m] = m;
        p[m] = ringPosition(this.keys[m], k) * n + m;
      }
      const o = Int32Array.from(ids).sort((a, b) => p[a] - p[b]);
      const at = new Int32Array(n);
      for (let i = 0; i < n; i++) at[o[i]] = i;
      this.order.push(o);
      this.pos.push(at);
    }
    const per = new Int32Array(BUCKETS);
    for (let m = 0; m < n; m++) per[this.keys[m] & BUCKET_MASK]++;
    for (let b = 0; b < BUCKETS; b++) this.bucketStart[b + 1] = this.bucketStart[b] + per[b];
    this.bucketMembers = new Int32Array(n);
    const fill = this.bucketStart.slice(0, BUCKETS);
    for (let m = 0; m < n; m++) this.bucketMembers[fill[this.keys[m] & BUCKET_MASK]++] = m;
  }

  /** Node `x` starts (or restarts): its view holds the base. */
  register(x: number): StoreView {
    if (this.registered[x] === 1) this.release(x);
    this.registered[x] = 1;
    this.live++;
    this.cnt[x] = this.baseCount;
    this.bh.set(this.baseBh, x * BUCKETS);
    return new StoreView(this, x);
  }

  /** Node `x` crashed: its view is gone; versions every remaining live node holds collapse. */
  release(x: number, now = 0): void {
    if (this.registered[x] === 0) return;
    this.lastX = -1;
    this.registered[x] = 0;
    this.live--;
    const row = x * this.W;
    for (const m of [...this.versioned]) {
      const b0 = m * this.SI;
      for (let i = this.mi[b0 + NV] - 1; i >= 0; i--) {
        const v = this.mi[b0 + VIDS + i];
        const o = row + (v >>> 5);
        const bit = 1 << (v & 31);
        if ((this.rows[o] & bit) !== 0) {
          this.rows[o] &= ~bit;
          if (--this.mi[b0 + VIDS + this.V + i] === 0) this.removeVersion(m, i);
        }
      }
      if (this.mi[b0 + NV] === 0) this.versioned.delete(m);
      else {
        for (let i = 0; i < this.mi[b0 + NV]; i++) {
          if (this.live > 0 && this.mi[b0 + VIDS + this.V + i] === this.live) {
            this.collapse(m, i, now);
            break;
          }
        }
      }
    }
    // Bits of retired vids (their columns not swept yet): a restart starts from a clean row.
    this.rows.fill(0, row, row + this.W);
  }

  /** Drop version `i` of `m`, left by every node (its vid, every bit clear, is free at
   *  once; later versions move down). */
  private removeVersion(m: number, i: number): void {
    this.lastX = -1;
    const b0 = m * this.SI;
    const d0 = b0 + this.BS + 1;
    const s0 = m * this.V;
    const V = this.V;
    this.vidFree.push(this.mi[b0 + VIDS + i]);
    const last = --this.mi[b0 + NV];
    for (let j = i; j < last; j++) {
      this.mi[d0 + j] = this.mi[d0 + j + 1];
      this.vSince[s0 + j] = this.vSince[s0 + j + 1];
      this.mi[b0 + VIDS + V + j] = this.mi[b0 + VIDS + V + j + 1];
      this.mi[b0 + VIDS + j] = this.mi[b0 + VIDS + j + 1];
    }
  }

  /** A vid whose column is clear in every row: a free one, a new one, or, when those run out,
   *  the retired ones after one sweep (if they are a quarter of the columns or more; else the
   *  rows double). Amortised: a sweep costs n·W words and frees ≥ 8·W vids. */
  private allocVid(): number {
    const f = this.vidFree.pop();
    if (f !== undefined) return f;
    if (this.vidTop < this.W * 32) return this.vidTop++;
    if (this.vidRetired.length * 4 >= this.W * 32) {
      this.sweep();
      return this.vidFree.pop()!;
    }
    this.growRows();
    return this.vidTop++;
  }

  /** Clear the retired columns in every row; they become free. */
  private sweep(): void {
    const W = this.W;
    const mask = new Uint32Array(W).fill(0xffffffff);
    for (const v of this.vidRetired) mask[v >>> 5] &= ~(1 << (v & 31));
    const rows = this.rows;
    for (let x = 0, o = 0; x < this.n; x++) for (let w = 0; w < W; w++, o++) rows[o] &= mask[w];
    for (const v of this.vidRetired) this.vidFree.push(v);
    this.vidRetired = [];
    this.sweeps++;
  }

  /** Double the vids per row (each row copied into the wider layout). */
  private growRows(): void {
    const W = this.W;
    const W2 = W * 2;
    const grown = new Uint32Array(this.n * W2);
    for (let x = 0; x < this.n; x++) grown.set(this.rows.subarray(x * W, x * W + W), x * W2);
    this.rows = grown;
    this.W = W2;
  }

  /** Slot (0 … nv − 1) of the version of `m` that node `x` holds, or -1 (it holds the base). */
  private held(x: number, m: number): number {
    const b0 = m * this.SI;
    const k = this.mi[b0 + NV];
    if (k === 0) return -1;
    const row = x * this.W;
    // Newest first: in a wave most lookups are duplicates of the change a node just adopted
    // (a node is in at most one version, so the order only changes the cost).
    for (let i = k - 1; i >= 0; i--) {
      const v = this.mi[b0 + VIDS + i];
      if ((this.rows[row + (v >>> 5)] & (1 << (v & 31))) !== 0) return i;
    }
    return -1;
  }

  /** The last `get` (node, member, slot held), for the `set` that usually follows it (the merge
   *  reads the state, then writes the newer one); -1: none (any write forgets it). */
  private lastX = -1;
  private lastM = -1;
  private lastHeld = -1;

  /** @internal */
  get(x: number, m: number): number {
    const i = this.held(x, m);
    this.lastX = x;
    this.lastM = m;
    this.lastHeld = i;
    return this.mi[m * this.SI + this.BS + 1 + i];
  }

  /** @internal */
  set(x: number, m: number, state: number, now: number): void {
    checkState(state);
    const b0 = m * this.SI;
    const held = x === this.lastX && m === this.lastM ? this.lastHeld : this.held(x, m);
    this.lastX = -1;
    const old = this.mi[b0 + this.BS + 1 + held];
    if (old === state) return;
    if (held >= 0) {
      const v = this.mi[b0 + VIDS + held];
      this.rows[x * this.W + (v >>> 5)] &= ~(1 << (v & 31));
      if (--this.mi[b0 + VIDS + this.V + held] === 0) {
        this.removeVersion(m, held);
        if (this.mi[b0 + NV] === 0) this.versioned.delete(m);
      }
    }
    const key = this.mi[b0 + KEY];
    const hb = x * BUCKETS + (key & BUCKET_MASK);
    if (old >= 0) {
      this.bh[hb] ^= stateHash(key, old);
      this.cnt[x]--;
    }
    if (state >= 0) {
      this.bh[hb] ^= stateHash(key, state);
      this.cnt[x]++;
    }
    if (state !== this.mi[b0 + this.BS]) this.join(x, m, state, now);
  }

  private join(x: number, m: number, state: number, now: number): void {
    const b0 = m * this.SI;
    const d0 = b0 + this.BS + 1;
    let i = 0;
    const k = this.mi[b0 + NV];
    while (i < k && this.mi[d0 + i] !== state) i++;
    if (i === k) {
      if (k === this.V) {
        this.widen();
        return this.join(x, m, state, now);
      }
      if (k === 0) this.versioned.add(m);
      this.mi[d0 + i] = state;
      this.vSince[m * this.V + i] = now;
      this.mi[b0 + VIDS + this.V + i] = 0;
      this.mi[b0 + VIDS + i] = this.allocVid();
      this.mi[b0 + NV] = k + 1;
      this.hooks.onCreate?.(m, state, now);
    }
    const v = this.mi[b0 + VIDS + i];
    this.rows[x * this.W + (v >>> 5)] |= 1 << (v & 31);
    if (++this.mi[b0 + VIDS + this.V + i] === this.live) this.collapse(m, i, now);
  }

  /** Double the version slots of every member (their order kept). */
  private widen(): void {
    this.lastX = -1;
    const V = this.V;
    const W = V * 2;
    const n = this.n;
    const SI = strideFor(3 + 3 * W);
    const BS = VIDS + 2 * W;
    const mi = lineAligned(n * SI);
    const si = new Float64Array(n * W);
    for (let m = 0; m < n; m++) {
      const a = m * this.SI;
      const b = m * SI;
      const k = this.mi[a + NV];
      mi[b + NV] = k;
      mi[b + KEY] = this.mi[a + KEY];
      mi[b + BS] = this.mi[a + this.BS];
      mi[b + SI - 1] = this.mi[a + this.SI - 1];
      for (let i = 0; i < k; i++) {
        mi[b + BS + 1 + i] = this.mi[a + this.BS + 1 + i];
        si[m * W + i] = this.vSince[m * V + i];
        mi[b + VIDS + W + i] = this.mi[a + VIDS + V + i];
        mi[b + VIDS + i] = this.mi[a + VIDS + i];
      }
    }
    this.V = W;
    this.SI = SI;
    this.BS = BS;
    this.mi = mi;
    this.vSince = si;
  }

  /** The change log's newest pair of `m` (`SharedChangeLog`), in its block's last int32. */
  newestRef(m: number): number {
    return this.mi[m * this.SI + this.SI - 1];
  }
  setNewestRef(m: number, r: number): void {
    this.mi[m * this.SI + this.SI - 1] = r;
  }

  /** Vid columns per holder row now, and sweeps of retired columns so far (tests). */
  get holderColumns(): number {
    return this.W * 32;
  }
  sweeps = 0;

  /** Version slots per member now (tests). */
  get versionSlots(): number {
    return this.V;
  }

  /** Every live node holds version `i` of `m`: it becomes the base, all versions go. */
  private collapse(m: number, i: number, now: number): void {
    this.lastX = -1;
    const b0 = m * this.SI;
    const state = this.mi[b0 + this.BS + 1 + i];
    const key = this.keys[m];
    const b = key & BUCKET_MASK;
    const old = this.mi[b0 + this.BS];
    if (old >= 0) {
      this.baseBh[b] ^= stateHash(key, old);
      this.baseCount--;
    }
    if (state >= 0) {
      this.baseBh[b] ^= stateHash(key, state);
      this.baseCount++;
    }
    this.mi[b0 + this.BS] = state;
    this.baseSince[m] = this.vSince[m * this.V + i];
    // Its bit is set in every live row: the vid waits for the next sweep (allocVid).
    for (let j = 0; j < this.mi[b0 + NV]; j++) this.vidRetired.push(this.mi[b0 + VIDS + j]);
    this.mi[b0 + NV] = 0;
    this.versioned.delete(m);
    this.hooks.onCollapse?.(m, state, now);
  }

  /** The state every live node agrees on for `m` (the base), or NaN while versions differ. */
  agreed(m: number): number {
    const b0 = m * this.SI;
    return this.mi[b0 + NV] === 0 ? this.mi[b0 + this.BS] : NaN;
  }

  /** Versions in flight (memory figure). */
  versionsInFlight(): number {
    let c = 0;
    for (const m of this.versioned) c += this.mi[m * this.SI + NV];
    return c;
  }

  /** @internal */ since(x: number, m: number): number {
    const i = this.held(x, m);
    return i < 0 ? this.baseSince[m] : this.vSince[m * this.V + i];
  }
  /** @internal */ size(x: number): number {
    return this.cnt[x];
  }
  /** @internal */ bucketHash(x: number, b: number): number {
    return this.bh[x * BUCKETS + b];
  }
  /** @internal */ bucketOf(m: number): number {
    return this.keys[m] & BUCKET_MASK;
  }
  /** @internal */ forEachInBucket(x: number, b: number, fn: (m: number, s: number) => void): void {
    for (let i = this.bucketStart[b]; i < this.bucketStart[b + 1]; i++) {
      const m = this.bucketMembers[i];
      const s = this.get(x, m);
      if (s >= 0) fn(m, s);
    }
  }
  /** @internal */ ringStep(k: number, m: number, i: number): number | undefined {
    const n = this.n;
    if (n <= Math.abs(i) || !(m >= 0 && m < n)) return undefined;
    return this.order[k][(((this.pos[k][m] + i) % n) + n) % n];
  }
}

/** One node's table (the `MemberStore` its machine was given). */
export class StoreView implements MemberStore<number> {
  readonly changeLog: ChangeLog<number>;
  constructor(
    private readonly s: SharedMembers,
    readonly node: number,
  ) {
    this.changeLog = s.changeLog;
  }
  get(m: number): number {
    return m >= 0 && m < this.s.n ? this.s.get(this.node, m) : -1;
  }
  /** `set` calls so far: only this node's writes change its view (a collapse into the base
   *  leaves every state as it was). */
  private writes = 0;
  version(): number {
    return this.writes;
  }
  set(m: number, state: number, now: number): void {
    this.writes++;
    if (m >= 0 && m < this.s.n) this.s.set(this.node, m, state, now);
  }
  since(m: number): number {
    return this.s.since(this.node, m);
  }
  size(): number {
    return this.s.size(this.node);
  }
  random(rng: Rng): number | undefined {
    for (let i = 0; i < 64; i++) {
      const m = rng.int(this.s.n);
      if (this.s.get(this.node, m) >= 0) return m;
    }
    return undefined;
  }
  forEach(fn: (m: number, state: number) => void): void {
    for (let m = 0; m < this.s.n; m++) {
      const st = this.s.get(this.node, m);
      if (st >= 0) fn(m, st);
    }
  }
  bucketOf(m: number): number {
    return this.s.bucketOf(m);
  }
  bucketHash(b: number): number {
    return this.s.bucketHash(this.node, b);
  }
  forEachInBucket(b: number, fn: (m: number, state: number) => void): void {
    this.s.forEachInBucket(this.node, b, fn);
  }
  ringStep(k: number, m: number, i: number): number | undefined {
    return this.s.ringStep(k, m, i);
  }
  meta(m: number): MemberMeta | undefined {
    return m >= 0 && m < this.s.n ? { name: `n${m}`, tags: {} } : undefined;
  }
  setMeta(): void {
    // Names are static in the simulator (n<id>): nothing to store.
  }
}
