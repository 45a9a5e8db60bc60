/**
 * Minimum cluster membership (issue 4): who is in the cluster, with a status, an
 * incarnation number and tags — the list `rumor members` prints. Sans-IO: it takes `now`
 * and an `Rng`, and emits through a `MembersIo` sink; the agent (src/agent) drives it.
 *
 * How it works, in SWIM's terms (Das, Gupta, Motivala, DSN 2002, §4.2 "suspicion" and
 * §4.3 "infection-style dissemination"):
 * - Every node keeps a member table keyed by advertised address: `{name, addr, status,
 *   incarnation, tags, updatedAt}`, its own entry `alive`.
 * - Every change is a *delta* spread by flooding the HyParView active view, SWIM's
 *   infection-style dissemination restricted to neighbours: the node where the change
 *   happens sends `members-delta` to each neighbour; a node that receives one applies it
 *   and forwards, to every neighbour but the sender, only the entries that changed its
 *   table. An entry version is applied once per node, so each node forwards it at most
 *   once and the flood stops by itself (about n × (active view − 1) messages per change).
 *   Entries that change the table through anti-entropy (a push or a pull, below) are
 *   flooded on the same way, so news that missed the flood (sent over a link that broke)
 *   travels on from the first node that gets it by any path.
 *   A node's own `alive` entry travels this way from the push to its first neighbour (and
 *   again whenever it regains one after having none): the neighbour's table changes, so it
 *   floods the entry on.
 *   Why not Plumtree (which carries user events): membership changes come in bursts exactly
 *   when the overlay churns (a fleet joining, nodes failing), when Plumtree's tree edges
 *   are being cut and a node cut off waits `ihaveTimeoutMs` for a GRAFT. A flood takes every
 *   path of the active view at once, so a change reaches each node along the shortest
 *   live path (measured, bench/cluster N = 20: see docs/results.md). Changes are rare and
 *   small, so the flood's redundancy costs little.
 * - Anti-entropy repairs what the flood missed, digest first (Scuttlebutt's reconciliation,
 *   van Renesse et al. 2008 §3, with a whole-table hash in front):
 *   - every `syncIntervalMs` the node sends one random neighbour `members-sync`: a 64-bit
 *     hash of its *up* entries' `(addr, incarnation, status)` (a few dozen bytes, whatever
 *     the table size). Equal hash: done. Different: the receiver answers with its digest
 *     (`members-digest`, `answer: true`);
 *   - a `members-digest` lists `(addr, incarnation, status)` for every entry, no names or
 *     tags (about a third of a full entry). Its receiver sends back (`members-pull`) the
 *     full entries it knows better or the sender lacks (up ones only), and, when asked
 *     (`answer`), its own digest so that the first side can do the same;
 *   - on each new neighbour the node pushes its whole table (`members-push`); the receiver
 *     merges it and answers (`members-pull`) with what the pusher lacks or holds stale. A new
 *     link usually means a node that lacks everything (a joiner), and a push gives it the
 *     table in half a round trip (the neighbour's push), where a digest would take a whole
 *     one (digest, then pull) on a join's critical path.
 *   The periodic part is memberlist's `pushPull` with the full state replaced by a hash, then
 *   a digest, as chitchat's `ALGORITHM.md` does with per-node versions.
 * - Failure detection reuses HyParView's: active links are TCP connections with
 *   heartbeats. When a neighbour's link fails (`link-failed`), the node asks the driver to
 *   *probe* it (a fresh TCP connect + handshake). A failed probe marks the peer `failed`
 *   and floods that.
 * - Refutation: a node that learns it is `suspect` or `failed` (or `left`) while it is
 *   alive re-announces itself `alive` with `incarnation + 1`, which beats the rumour.
 * - Precedence (a total order, as in swift-cluster-membership's `SWIM.Status`): higher
 *   incarnation wins; at equal incarnation `left > failed > suspect > alive`.
 * - Graceful leave floods the node's own entry as `left`.
 * - `failed` and `left` entries are kept `reapAfterMs` (default 24 h: Serf's
 *   `reconnect_timeout` and `tombstone_timeout` defaults) then removed.
 *
 * Events: `member-join` (new or returning member), `member-update` (name or tags changed),
 * `member-failed`, `member-leave`. Transitions between `alive` and `suspect` emit nothing
 * (as in Serf).
 *
 * Limits (the minimum promised by issue 4, not SWIM):
 * - No indirect probing (SWIM's ping-req): a probe is one direct TCP attempt, so in a
 *   partition each node declares failed the peers it had links to across the cut, and the
 *   news spreads over the links left on its side; members of the other side that no node of
 *   this side was linked to (or whose only detector here is cut off from the rest of the
 *   side) stay `alive` here. After healing, anti-entropy and refutation bring everyone back
 *   `alive`.
 * - Only active-view neighbours detect failures; a node whose every neighbour dies at
 *   the same time is detected only when someone else's link to it fails (possibly never).
 * - No suspicion timeout: this node never originates `suspect` (it accepts it from peers,
 *   so a later full membership can be compatible on the wire).
 * - A link-up push is O(n) (the whole table), and so is a digest (about 25 bytes per member,
 *   sent when the periodic hashes differ); an idle, converged cluster sends only the hash. The hash
 *   skips `failed`/`left` entries (nodes that joined after a failure never insert them, see
 *   below, so including them would make hashes differ for `reapAfterMs`): anti-entropy
 *   therefore does not repair `failed` vs `left` of the same member (both are down; the
 *   flood carries the exact status).
 * - An unknown member learned already `failed`/`left` is not inserted (it would bounce
 *   between nodes after reaping, for lack of real tombstones).
 *
 * Full membership (a later issue) will add: suspicion with a Lifeguard timeout and
 * indirect probes through k other members, dead-node
 * tombstones with GC as in chitchat, and name conflict resolution.
 *
 * Differs from SWIM: no periodic ping of random members (HyParView's link heartbeats
 * stand in for it); dissemination by flooding the active view (each node forwards a change
 * once, to every neighbour) rather than piggybacking on pings to random members.
 *
 * Wire format: JSON text (UTF-8), validated by `decodeMembersMessage` (bad input is
 * returned as a reason, never thrown):
 * `{"type":"members-delta"|"members-pull","members":[{"name","addr","status","incarnation",
 *   "tags":{..}}]}`, `{"type":"members-digest","answer":bool,"digest":[["host:port",
 *   incarnation, status 0 alive|1 suspect|2 failed|3 left], ...]}`,
 *   `{"type":"members-sync","hash":"<16 hex digits>"}`; `members-push` has the shape of a delta.
 */
import type { DownReason, Rng } from './types.js';

/** Status of a member. Ordered for precedence: `alive < suspect < failed < left`. */
export type MemberStatus = 'alive' | 'suspect' | 'failed' | 'left';

const RANK: Record<MemberStatus, number> = { alive: 0, suspect: 1, failed: 2, left: 3 };
const BY_RANK: readonly MemberStatus[] = ['alive', 'suspect', 'failed', 'left'];

/** One member as carried on the wire. */
export interface MemberState {
  name: string;
  /** Advertised `host:port`: the key of the table. */
  addr: string;
  status: MemberStatus;
  incarnation: number;
  tags: Record<string, string>;
}

/** One entry of the member table. */
export interface Member extends MemberState {
  /** Driver time (ms) of the last change of this entry. */
  updatedAt: number;
}

/** One digest entry: `[addr, incarnation, status rank]` (0 alive, 1 suspect, 2 failed, 3 left). */
export type DigestEntry = [addr: string, incarnation: number, status: number];

/** Messages of the membership protocol (type-tagged). */
export type MembersMessage =
  /** Changes, flooded over the neighbours (see the module comment). */
  | { type: 'members-delta'; members: MemberState[] }
  /** Periodic anti-entropy: hash of the sender's up entries (`tableHash`), point to point. */
  | { type: 'members-sync'; hash: string }
  /** What the sender knows, without names or tags; `answer`: send your digest back too. */
  | { type: 'members-digest'; answer: boolean; digest: DigestEntry[] }
  /** On a new link: the sender's whole table, point to point. */
  | { type: 'members-push'; members: MemberState[] }
  /** Answer to a digest or a push: the entries the receiver knows better, or the sender lacks. */
  | { type: 'members-pull'; members: MemberState[] };

/** Timers of the membership machine. */
export type MembersTimer = { type: 'members-sync' };

/** Events reported to the application. */
export type MembersEvent = {
  type: 'member-join' | 'member-update' | 'member-failed' | 'member-leave';
  member: Member;
};

/** Output sink of the membership machine. */
export interface MembersIo {
  /** Send point to point to a connected neighbour (the driver encodes the message). */
  sendTo(peer: string, msg: MembersMessage): void;
  /** Try a fresh connection to `peer`; answer with `handleProbeResult`. */
  probe(peer: string): void;
  /** Fire `t` after `delayMs`. */
  timer(delayMs: number, t: MembersTimer): void;
  /** A membership event. */
  event(e: MembersEvent): void;
}

/** Configuration of the membership machine. */
export interface MembersConfig {
  /** Anti-entropy period with one random neighbour. Default 30 000 ms: memberlist's
   *  `PushPullInterval` (config.go, DefaultLANConfig). */
  syncIntervalMs: number;
  /** How long `failed`/`left` entries stay before removal. Default 24 h: Serf's
   *  `reconnect_timeout` and `tombstone_timeout` defaults. */
  reapAfterMs: number;
}

/** Defaults (sources in `MembersConfig`). */
export const DEFAULT_MEMBERS_CONFIG: Readonly<MembersConfig> = { syncIntervalMs: 30_000, reapAfterMs: 24 * 3600_000 };

/** The node's own identity. `incarnation` is where to start (persisted by the driver). */
export interface MembersSelf {
  name: string;
  addr: string;
  tags: Record<string, string>;
  incarnation: number;
}

/** True if `a` takes precedence over `b` (SWIM order: incarnation, then status). */
export function supersedes(a: { incarnation: number; status: MemberStatus }, b: { incarnation: number; status: MemberStatus }): boolean {
  if (a.incarnation !== b.incarnation) return a.incarnation > b.incarnation;
  return RANK[a.status] > RANK[b.status];
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => b[k] === a[k]);
}

/** FNV-1a over `s`, then `x`, from `h` (32-bit). */
function fnv(h: number, s: string, x: number): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xff, 0x01000193);
  for (let k = 0; k < 4; k++) h = Math.imul(h ^ ((x >>> (8 * k)) & 0xff), 0x01000193);
  return h >>> 0;
}

/**
 * 64-bit hash (16 hex digits) of the up (`alive`/`suspect`) entries' `(addr, incarnation,
 * status)`, independent of order: the sum of per-entry hashes, with two FNV-1a seeds. Two
 * tables with the same up entries have the same hash; a difference is missed with
 * probability about 2^-64.
 */
export function tableHash(entries: Iterable<{ addr: string; incarnation: number; status: MemberStatus }>): string {
  let h1 = 0;
  let h2 = 0;
  for (const m of entries) {
    if (m.status !== 'alive' && m.status !== 'suspect') continue;
    // Incarnations are safe integers: hash the low 32 bits and the rest separately.
    const hi = Math.floor(m.incarnation / 0x1_0000_0000);
    const lo = m.incarnation >>> 0;
    h1 = (h1 + fnv(fnv(0x811c9dc5, m.addr, lo), m.status, hi)) >>> 0;
    h2 = (h2 + fnv(fnv(0x050c5d1f, m.addr, lo ^ 0x5bd1e995), m.status, hi)) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}

function wire(m: MemberState): MemberState {
  return { name: m.name, addr: m.addr, status: m.status, incarnation: m.incarnation, tags: { ...m.tags } };
}

/** The membership state machine of one node. */
export class MembersMachine {
  private readonly table = new Map<string, Member>();
  private readonly neighbors: string[] = [];
  private readonly probing = new Set<string>();
  private readonly selfAddr: string;
  private started = false;

  constructor(
    self: MembersSelf,
    private readonly config: MembersConfig,
    private readonly rng: Rng,
    private readonly io: MembersIo,
  ) {
    this.selfAddr = self.addr;
    const inc = Number.isSafeInteger(self.incarnation) && self.incarnation >= 0 ? self.incarnation : 0;
    this.table.set(self.addr, { name: self.name, addr: self.addr, status: 'alive', incarnation: inc, tags: { ...self.tags }, updatedAt: 0 });
  }

  /** Start: arm the anti-entropy timer; announce ourselves now if we already have a
   *  neighbour, else when the first one comes up (`handleNeighborUp`). */
  start(now: number): void {
    if (this.started) return;
    this.started = true;
    this.self().updatedAt = now;
    if (this.neighbors.length > 0) this.announce();
    this.io.timer(this.config.syncIntervalMs, { type: 'members-sync' });
  }

  /** Flood our own entry (unless we left). */
  private announce(): void {
    const me = this.self();
    if (me.status !== 'left') this.flood([wire(me)], null);
  }

  /** Send `members` as one delta to every neighbour except `except` (the one it came from). */
  private flood(members: MemberState[], except: string | null): void {
    for (const peer of this.neighbors) {
      if (peer !== except) this.io.sendTo(peer, { type: 'members-delta', members });
    }
  }

  /** Our own entry (live object: do not mutate). */
  self(): Member {
    return this.table.get(this.selfAddr)!;
  }

  /** Every entry, sorted by address (copies). */
  members(): Member[] {
    return [...this.table.values()].sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0)).map((m) => ({ ...m, tags: { ...m.tags } }));
  }

  /** Entry of `addr`, if known (copy). */
  get(addr: string): Member | undefined {
    const m = this.table.get(addr);
    return m === undefined ? undefined : { ...m, tags: { ...m.tags } };
  }

  /** Replace our tags: a new incarnation, flooded. */
  setTags(tags: Record<string, string>, now: number): void {
    const me = this.self();
    if (me.status === 'left') return;
    me.tags = { ...tags };
    me.incarnation++;
    me.updatedAt = now;
    this.flood([wire(me)], null);
  }

  /** Graceful leave: flood our entry as `left`. Idempotent. */
  leave(now: number): void {
    const me = this.self();
    if (me.status === 'left') return;
    me.status = 'left';
    me.updatedAt = now;
    this.flood([wire(me)], null);
  }

  /** A neighbour came up: push it our whole table (it merges it, floods on what changed its
   *  table, and answers with what we lack). Our own entry is in the push, so a node that gets
   *  its first neighbour (or regains one) is announced to every node through that flood, not
   *  only to this neighbour; no separate delta is needed. */
  handleNeighborUp(peer: string, _now: number): void {
    if (!this.neighbors.includes(peer)) this.neighbors.push(peer);
    this.io.sendTo(peer, { type: 'members-push', members: [...this.table.values()].map(wire) });
  }

  /** A neighbour went down; a failed link triggers a probe of a member we believe alive. */
  handleNeighborDown(peer: string, reason: DownReason, _now: number): void {
    const i = this.neighbors.indexOf(peer);
    if (i >= 0) this.neighbors.splice(i, 1);
    if (reason !== 'link-failed' || peer === this.selfAddr || this.probing.has(peer)) return;
    const m = this.table.get(peer);
    if (m === undefined || (m.status !== 'alive' && m.status !== 'suspect')) return;
    this.probing.add(peer);
    this.io.probe(peer);
  }

  /** Result of a probe asked with `io.probe`. */
  handleProbeResult(peer: string, ok: boolean, now: number): void {
    if (!this.probing.delete(peer) || ok) return;
    const m = this.table.get(peer);
    if (m === undefined || (m.status !== 'alive' && m.status !== 'suspect')) return;
    this.apply({ ...wire(m), status: 'failed' }, now);
    this.flood([wire(this.table.get(peer)!)], null);
  }

  /** A message from the neighbour `from`. */
  handleMessage(from: string, msg: MembersMessage, now: number): void {
    switch (msg.type) {
      case 'members-delta':
      case 'members-pull':
        this.mergeAndFlood(from, msg.members, now);
        return;
      case 'members-sync':
        if (msg.hash !== tableHash(this.table.values())) this.io.sendTo(from, { type: 'members-digest', answer: true, digest: this.digest() });
        return;
      case 'members-digest': {
        const theirs = new Map<string, { incarnation: number; status: MemberStatus }>();
        for (const [addr, incarnation, rank] of msg.digest) theirs.set(addr, { incarnation, status: BY_RANK[rank] });
        this.answerDigest(from, theirs, now);
        if (msg.answer) this.io.sendTo(from, { type: 'members-digest', answer: false, digest: this.digest() });
        return;
      }
      case 'members-push': {
        const theirs = new Map<string, MemberState>();
        for (const m of msg.members) theirs.set(m.addr, m);
        this.mergeAndFlood(from, msg.members, now);
        this.answerDigest(from, theirs, now);
      }
    }
  }

  /** Merge received entries; flood the ones that changed our table to every neighbour but
   *  `from`, whatever brought them (a delta, or a push or pull of anti-entropy): news that
   *  reaches a node by any path travels on, so a delta lost with a link that broke during a
   *  join storm is carried on by the next push that brings it (not 30 s later by a sync). */
  private mergeAndFlood(from: string, members: readonly MemberState[], now: number): void {
    const changed: MemberState[] = [];
    for (const m of members) if (this.merge(m, now)) changed.push(wire(m));
    if (changed.length > 0) this.flood(changed, from);
  }

  /** Send `to` the entries we know better than its digest `theirs`, or that it lacks (up
   *  ones); first refute what it believes about us, if needed. */
  private answerDigest(to: string, theirs: Map<string, { incarnation: number; status: MemberStatus }>, now: number): void {
    const aboutMe = theirs.get(this.selfAddr);
    if (aboutMe !== undefined) this.refuteIfNeeded(aboutMe, now);
    const reply: MemberState[] = [];
    for (const m of this.table.values()) {
      const t = theirs.get(m.addr);
      if (t === undefined ? m.status === 'alive' || m.status === 'suspect' : supersedes(m, t)) reply.push(wire(m));
    }
    if (reply.length > 0) this.io.sendTo(to, { type: 'members-pull', members: reply });
  }

  /** Timer fired: send our table's hash to one random neighbour, and reap old entries. */
  handleTimer(t: MembersTimer, now: number): void {
    if (t.type !== 'members-sync') return;
    this.io.timer(this.config.syncIntervalMs, t);
    this.reap(now);
    if (this.neighbors.length === 0 || this.self().status === 'left') return;
    const peer = this.neighbors[this.rng.int(this.neighbors.length)];
    this.io.sendTo(peer, { type: 'members-sync', hash: tableHash(this.table.values()) });
  }

  /** Remove `failed`/`left` entries older than `reapAfterMs`. */
  reap(now: number): void {
    for (const [addr, m] of this.table) {
      if (addr === this.selfAddr) continue;
      if ((m.status === 'failed' || m.status === 'left') && now - m.updatedAt >= this.config.reapAfterMs) this.table.delete(addr);
    }
  }

  /** `(addr, incarnation, status)` of every entry. */
  digest(): DigestEntry[] {
    const out: DigestEntry[] = [];
    for (const m of this.table.values()) out.push([m.addr, m.incarnation, RANK[m.status]]);
    return out;
  }

  /** Merge one received entry: refute rumours about ourselves, apply newer news of others.
   *  True when the entry changed our table (so a delta carrying it travels on). */
  private merge(m: MemberState, now: number): boolean {
    if (m.addr === this.selfAddr) {
      this.refuteIfNeeded(m, now);
      return false;
    }
    const cur = this.table.get(m.addr);
    if (cur === undefined ? m.status === 'failed' || m.status === 'left' : !supersedes(m, cur)) return false;
    this.apply(m, now);
    return true;
  }

  private refuteIfNeeded(m: { incarnation: number; status: MemberStatus }, now: number): void {
    const me = this.self();
    if (me.status === 'left') return;
    const rumour = m.status !== 'alive' && m.incarnation >= me.incarnation;
    const stale = m.incarnation > me.incarnation;
    if (!rumour && !stale) return;
    me.incarnation = m.incarnation + 1;
    me.updatedAt = now;
    this.flood([wire(me)], null);
  }

  /** Store `m` (already known to supersede) and emit the matching event. */
  private apply(m: MemberState, now: number): void {
    const cur = this.table.get(m.addr);
    const next: Member = { ...wire(m), updatedAt: now };
    this.table.set(m.addr, next);
    const was = cur === undefined ? null : cur.status;
    const up = next.status === 'alive' || next.status === 'suspect';
    let type: MembersEvent['type'] | null = null;
    if (up && (was === null || was === 'failed' || was === 'left')) type = 'member-join';
    else if (next.status === 'failed' && was !== 'failed') type = 'member-failed';
    else if (next.status === 'left' && was !== 'left') type = 'member-leave';
    else if (up && cur !== undefined && (cur.name !== next.name || !sameTags(cur.tags, next.tags))) type = 'member-update';
    if (type !== null) this.io.event({ type, member: { ...next, tags: { ...next.tags } } });
  }
}

// ---------------------------------------------------------------------------------------
// Encoding (JSON) and validation.
// ---------------------------------------------------------------------------------------

/** Bounds checked on receipt. */
export const MEMBERS_LIMITS = { maxMembers: 10_000, maxName: 256, maxAddr: 262, maxTags: 64, maxTagKey: 128, maxTagValue: 1024 } as const;

const TYPES = new Set(['members-delta', 'members-push', 'members-pull', 'members-sync', 'members-digest']);
const STATUSES = new Set(['alive', 'suspect', 'failed', 'left']);

/** One encoder and one strict decoder for every message, made once rather than per call. */
const ENCODER = new TextEncoder();
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Encode a message as UTF-8 JSON. */
export function encodeMembersMessage(msg: MembersMessage): Uint8Array {
  return ENCODER.encode(JSON.stringify(msg));
}

/** Parse UTF-8 JSON that must be an object (the JSON payloads of the agent). Never throws. */
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

/** Decode and validate a message. Never throws. */
export function decodeMembersMessage(bytes: Uint8Array): { ok: true; msg: MembersMessage } | { ok: false; reason: string } {
  const parsed = parseJsonObject(bytes);
  if (!parsed.ok) return parsed;
  const o = parsed.value as { type?: unknown; members?: unknown };
  if (typeof o.type !== 'string' || !TYPES.has(o.type)) return { ok: false, reason: `type: unknown ${JSON.stringify(o.type)}` };
  if (o.type === 'members-sync') {
    const h = (o as { hash?: unknown }).hash;
    return typeof h === 'string' && /^[0-9a-f]{16}$/.test(h) ? { ok: true, msg: { type: 'members-sync', hash: h } } : { ok: false, reason: 'hash: expected 16 hex digits' };
  }
  if (o.type === 'members-digest') return decodeDigest(o as Record<string, unknown>);
  if (!Array.isArray(o.members)) return { ok: false, reason: 'members: expected an array' };
  if (o.members.length > MEMBERS_LIMITS.maxMembers) return { ok: false, reason: `members: more than ${MEMBERS_LIMITS.maxMembers}` };
  const members: MemberState[] = [];
  for (let i = 0; i < o.members.length; i++) {
    const r = checkMember(o.members[i]);
    if (typeof r === 'string') return { ok: false, reason: `members[${i}].${r}` };
    members.push(r);
  }
  return { ok: true, msg: { type: o.type as 'members-delta' | 'members-push' | 'members-pull', members } };
}

function decodeDigest(o: Record<string, unknown>): { ok: true; msg: MembersMessage } | { ok: false; reason: string } {
  if (typeof o.answer !== 'boolean') return { ok: false, reason: 'answer: expected true or false' };
  if (!Array.isArray(o.digest)) return { ok: false, reason: 'digest: expected an array' };
  if (o.digest.length > MEMBERS_LIMITS.maxMembers) return { ok: false, reason: `digest: more than ${MEMBERS_LIMITS.maxMembers}` };
  const digest: DigestEntry[] = [];
  for (let i = 0; i < o.digest.length; i++) {
    const e: unknown = o.digest[i];
    if (!Array.isArray(e) || e.length !== 3) return { ok: false, reason: `digest[${i}]: expected [addr, incarnation, status]` };
    const [addr, inc, rank] = e as unknown[];
    if (!validAddr(addr)) return { ok: false, reason: `digest[${i}][0]: expected "host:port"` };
    if (typeof inc !== 'number' || !Number.isSafeInteger(inc) || inc < 0) return { ok: false, reason: `digest[${i}][1]: expected a non-negative integer` };
    if (rank !== 0 && rank !== 1 && rank !== 2 && rank !== 3) return { ok: false, reason: `digest[${i}][2]: expected a status 0..3` };
    digest.push([addr, inc, rank]);
  }
  return { ok: true, msg: { type: 'members-digest', answer: o.answer, digest } };
}

const ADDR = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/;

function validAddr(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MEMBERS_LIMITS.maxAddr && ADDR.test(v);
}

function checkMember(v: unknown): MemberState | string {
  if (typeof v !== 'object' || v === null) return 'expected an object';
  const m = v as Record<string, unknown>;
  if (typeof m.name !== 'string' || m.name.length === 0 || m.name.length > MEMBERS_LIMITS.maxName) return 'name: expected a string of 1..256 chars';
  if (!validAddr(m.addr)) return 'addr: expected "host:port"';
  if (typeof m.status !== 'string' || !STATUSES.has(m.status)) return 'status: expected alive|suspect|failed|left';
  if (typeof m.incarnation !== 'number' || !Number.isSafeInteger(m.incarnation) || m.incarnation < 0) return 'incarnation: expected a non-negative integer';
  if (typeof m.tags !== 'object' || m.tags === null || Array.isArray(m.tags)) return 'tags: expected an object';
  const tags: Record<string, string> = {};
  const entries = Object.entries(m.tags as Record<string, unknown>);
  if (entries.length > MEMBERS_LIMITS.maxTags) return `tags: more than ${MEMBERS_LIMITS.maxTags}`;
  for (const [k, t] of entries) {
    if (k.length === 0 || k.length > MEMBERS_LIMITS.maxTagKey || k === '__proto__') return 'tags: key of 1..128 chars expected';
    if (typeof t !== 'string' || t.length > MEMBERS_LIMITS.maxTagValue) return `tags.${k}: expected a string of at most 1024 chars`;
    tags[k] = t;
  }
  return { name: m.name, addr: m.addr, status: m.status as MemberStatus, incarnation: m.incarnation, tags };
}
