/**
 * Vocabulary of the membership machine (`machine.ts`): member states, messages, timers,
 * events, configuration with its documented defaults, and the storage interface through
 * which the machine reaches its member table.
 *
 * A member's state is one number, `incarnation · 4 + status` (status 0 alive, 1 suspect,
 * 2 failed, 3 left; -1 absent). Its numeric order *is* SWIM's precedence (Das et al. 2002
 * §4.2, as swift-cluster-membership orders `SWIM.Status`): a higher incarnation wins, and at
 * equal incarnation `left > failed > suspect > alive`. Merging is then `max`.
 */
import type { ConfigResult, Rng } from '../types.js';

export type MemberStatus = 'alive' | 'suspect' | 'failed' | 'left';
export const ALIVE = 0;
export const SUSPECT = 1;
export const FAILED = 2;
export const LEFT = 3;
export const ABSENT = -1;
export const STATUS_NAMES: readonly MemberStatus[] = ['alive', 'suspect', 'failed', 'left'];
/** Largest incarnation (32 bits on the wire). */
export const MAX_INCARNATION = 0xffffffff;

/** `incarnation · 4 + status`. */
export function pack(inc: number, status: number): number {
  return inc * 4 + status;
}
export function statusOf(s: number): number {
  return s % 4;
}
export function incOf(s: number): number {
  return Math.floor(s / 4);
}
/** Up: alive or suspect (probed, listed, may answer). */
export function isUp(s: number): boolean {
  return s >= 0 && s % 4 <= SUSPECT;
}

/** A join: `s` alive where the table held the member not up before (`prev`; -1: absent). */
export function isJoin(s: number, prev: number): boolean {
  return statusOf(s) === ALIVE && (prev < 0 || !isUp(prev));
}

/** Static data of a member: its name and tags (Serf's). */
export interface MemberMeta {
  name: string;
  tags: Record<string, string>;
}

/**
 * The member table as the machine sees it. The agent passes a `MapStore` (map-store.ts); the
 * simulator passes a view of one shared table (src/sim/members-store.ts) that holds each
 * member's versions in flight with a bitset of the nodes holding each, so that 10^5 nodes do
 * not hold 10^10 entries. The machine's logic is the same whichever is passed.
 */
export interface MemberStore<P> {
  /** State of `m` (`pack(inc, status)`), or -1 when absent. */
  get(m: P): number;
  /** Set `m` to `state` (≥ 0) at time `now`, or remove it (-1: reaped). */
  set(m: P, state: number, now: number): void;
  /** When `m` got its current state (ms; a shared store may give the time of the first node). */
  since(m: P): number;
  /** A count that grows with every `set` (so with every change of a state, of the members
   *  present and of the rings' order): what a reader cached from the table holds while it is
   *  unchanged (the detector's ring walk, detector.ts). */
  version(): number;
  /** Present entries (any status). */
  size(): number;
  /** A uniformly random present member, or undefined when empty. */
  random(rng: Rng): P | undefined;
  /** Each present entry. */
  forEach(fn: (m: P, state: number) => void): void;
  /** Anti-entropy buckets: `bucketOf(m)` in [0, BUCKETS); XOR hash per bucket, kept up to date. */
  bucketOf(m: P): number;
  bucketHash(b: number): number;
  /** Each present entry of bucket `b`. */
  forEachInBucket(b: number, fn: (m: P, state: number) => void): void;
  /** The `i`-th successor (`i` ≥ 1; negative: predecessor) of `m` in observer ring `k` over
   *  every member the store knows (present or not; the caller skips by its own view), or
   *  undefined when the ring holds fewer than |i| + 1 members. */
  ringStep(k: number, m: P, i: number): P | undefined;
  /** Name and tags of `m` (undefined when unknown). */
  meta(m: P): MemberMeta | undefined;
  setMeta(m: P, meta: MemberMeta): void;
  /** Where the change queues of the machines over this store keep their (member, state)
   *  pairs (change-queue.ts): one log shared by many tables (the simulator's), or none (each
   *  queue keeps a private one). */
  readonly changeLog?: ChangeLog<P>;
}

/**
 * (member, state) pairs behind 32-bit references, so that a queued change costs 4 bytes
 * (change-queue.ts). A shared log interns each pair once for every queue over it; a private
 * one numbers each push.
 */
export interface ChangeLog<P> {
  /** A reference (a uint32) to "`m` now `state`". */
  ref(m: P, state: number): number;
  member(r: number): P;
  state(r: number): number;
  /** The queue using this log holds no reference made before `first` any more (undefined: it
   *  holds none): a private log frees them; a shared log keeps every pair. */
  release(first: number | undefined): void;
}

/** Anti-entropy buckets per table (a `sync` carries one 32-bit hash per bucket). */
export const BUCKETS = 64;

/** 32-bit mix of a member key hash and its state (the per-entry term of the XOR hashes). */
export function entryHash(keyHash: number, state: number): number {
  let h = (keyHash ^ Math.imul(state | 0, 0x9e3779b1) ^ Math.imul(Math.floor(state / 4294967296), 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------
// Messages (point to point; `src/wire/members.ts` encodes them).
// ---------------------------------------------------------------------------------------

export type MembersMessage<P> =
  /** SWIM ping; answered with `ack` (same `seq`). Both carry a few recent changes
   *  (`ids[i]` now `states[i]`), piggybacked as in SWIM §4.4. */
  | { type: 'm-ping'; seq: number; ids: P[]; states: number[] }
  | { type: 'm-ack'; seq: number; ids: P[]; states: number[] }
  /** SWIM ping-req: probe `target` for me, answer `m-ack` (it answered) or `m-nack` (it did not). */
  | { type: 'm-ping-req'; seq: number; target: P }
  | { type: 'm-nack'; seq: number }
  /** Changes (each `ids[i]` now `states[i]`), coalesced per flush: at most one per link per
   *  flush interval. `metas[i]` only where the sender has the member's meta and the entry is a
   *  join or an update (null otherwise). `sync`: an anti-entropy answer, not a rumour (a
   *  `failed` in it is taken as `suspect`, as memberlist's push-pull merge does). `skip`
   *  (in memory only, never on the wire): entry `i` is left out when bit `i & 31` of word
   *  `skip[i >>> 5]` is set — a flush shares one batch among its links and marks per link the
   *  entries that link must not get (`changesSkipped`); the codec encodes only the kept ones. */
  | { type: 'm-changes'; ids: P[]; states: number[]; metas: (MemberMeta | null)[] | null; sync: boolean; skip?: number[] | null }
  /** Rapid-style alert: the sender, an observer of `subject`, suspects it at `state`. */
  | { type: 'm-alert'; subject: P; state: number }
  /** Anti-entropy opener: the table's size and per-bucket hashes. `join`: the sender knows no
   *  one but itself and asks for the whole table. */
  | { type: 'm-sync'; count: number; hashes: number[]; join: boolean }
  /** Anti-entropy digest of whole buckets (`buckets`), answered by the changes the receiver
   *  knows better and those the digest lacks. */
  | { type: 'm-digest'; buckets: number[]; ids: P[]; states: number[] }
  /** Names and tags wanted: the receiver answers an `m-changes` (`sync`) with its state and
   *  meta of each listed member it knows with a meta. Sent to a member learned without its
   *  meta (a change piggybacked on a ping or in a digest carries none), which knows its own. */
  | { type: 'm-meta-req'; ids: P[] }
  /** Plumtree's PRUNE (`graft` false) and GRAFT (true) for the flood of `m-changes` on an overlay
   *  link (Leitão et al., SRDS 2007, §3): "your batches bring me nothing new, stop sending them"
   *  and "send them again". Only with `pruneFlood` (dissemination.ts). */
  | { type: 'm-prune'; graft: boolean }
  /** With `tallyRepair` (dissemination.ts): `counts`, the sender's tally of `failed` entries
   *  per anti-entropy bucket (BUCKETS numbers, or none), sent to the overlay neighbours that
   *  pruned it; `want`, the buckets whose recent `failed` entries the sender asks for (its
   *  tally, checked a probe period after a neighbour's, was below it there). The answer is
   *  an `m-changes` that is not a sync (a verdict the flood would have brought). */
  | { type: 'm-tally'; counts: number[]; want: number[] };

/** Whether entry `i` of an `m-changes` with exclusion words `skip` is left out (see the type). */
export function changesSkipped(skip: readonly number[] | null | undefined, i: number): boolean {
  return skip != null && (skip[i >>> 5] & (1 << (i & 31))) !== 0;
}

/** The entries of an `m-changes` its receiver gets, as plain arrays (no `skip`): what the codec
 *  encodes. `metas` is null when no kept entry has one. The message itself when nothing is
 *  left out. */
export function keptChanges<P>(msg: Extract<MembersMessage<P>, { type: 'm-changes' }>): Extract<MembersMessage<P>, { type: 'm-changes' }> {
  const skip = msg.skip;
  if (skip == null) return msg;
  const ids: P[] = [];
  const states: number[] = [];
  const metas: (MemberMeta | null)[] = [];
  let someMeta = false;
  for (let i = 0; i < msg.ids.length; i++) {
    if (changesSkipped(skip, i)) continue;
    ids.push(msg.ids[i]);
    states.push(msg.states[i]);
    const meta = msg.metas === null ? null : msg.metas[i];
    metas.push(meta);
    if (meta !== null) someMeta = true;
  }
  return { type: 'm-changes', ids, states, metas: someMeta ? metas : null, sync: msg.sync };
}

export type MembersTimer<P> =
  | { type: 'm-tick'; due: number }
  | { type: 'm-probe-timeout'; seq: number; due: number; indirect: boolean }
  | { type: 'm-relay-timeout'; seq: number; due: number }
  | { type: 'm-suspect-timeout'; subject: P; due: number }
  | { type: 'm-flush'; due: number }
  | { type: 'm-sync-tick'; due: number }
  | { type: 'm-reconnect-tick'; due: number }
  | { type: 'm-reap-tick'; due: number }
  /** The next ping to the dead (armed only while some member failed here lately). */
  | { type: 'm-dead-tick'; due: number }
  /** The anti-entropy sync of a link that came up while members were failing (deferred). */
  | { type: 'm-link-sync'; peer: P; due: number };

/** Events for the user (Serf's names; suspect transitions show in the list only). */
export type MembersEvent<P> =
  | { type: 'member-join'; member: P; incarnation: number }
  | { type: 'member-update'; member: P; incarnation: number }
  | { type: 'member-failed'; member: P; incarnation: number }
  | { type: 'member-leave'; member: P; incarnation: number }
  | { type: 'member-reap'; member: P; status: 'failed' | 'left' }
  /** Two live members claim one name: `winner` keeps it (the smaller address), `loser` does not. */
  | { type: 'member-conflict'; name: string; winner: P; loser: P; self: boolean };

// ---------------------------------------------------------------------------------------
// Configuration.
// ---------------------------------------------------------------------------------------

export interface MembersConfig {
  /** Observer rings K: each member is probed by its K ring predecessors. Default 4 (Rapid
   *  uses K = 10 for its cut detection, ATC 2018 §4.1; we use fewer rings because while
   *  members fail each ring costs one ping + ack per member per probe interval). */
  rings: number;
  /** Probe period (ms). Default 1000 (memberlist DefaultLANConfig ProbeInterval 1 s). The
   *  detector ticks every `probeIntervalMs / rings`; while members are failing (a suspicion or
   *  failure reached the table in the last 10 periods) each tick probes the next ring's
   *  subject (every subject once per period), in a quiet cluster only `quietProbes` per period. */
  probeIntervalMs: number;
  /** Ring subjects probed per probe period in a quiet cluster (≤ rings; round robin over the
   *  rings, so each member is still probed about `quietProbes` times per period by its
   *  observers together). Default 2, measured (`rumor sim membership-failures --nodes 2000
   *  --seed 1`): 1 gave p100 10.9 s at 50 % crashed (target 10 s) at 78 B/s per node steady;
   *  2 gives 9.9 s at 133 B/s; 4 (every subject every period) 9.7 s at 244 B/s. */
  quietProbes: number;
  /** Direct ping timeout (ms). Default 500 (memberlist ProbeTimeout). */
  probeTimeoutMs: number;
  /** Members asked to ping-req a silent subject. Default 3 (memberlist IndirectChecks). */
  indirectChecks: number;
  /** Suspicion timeout multiplier α: min = α · max(1, log10 n) · probeInterval. Default 1
   *  (memberlist SuspicionMult is 4, which gives 16 s of suspicion alone at n = 10^4; our K
   *  observers confirm each other, Rapid's multi-observer evidence, so the minimum can be
   *  shorter: measured in `rumor sim membership-false-positives`). */
  suspicionMult: number;
  /** max = suspicionMaxMult · min. Default 6 (memberlist SuspicionMaxTimeoutMult). */
  suspicionMaxMult: number;
  /** Local health multiplier ceiling (Lifeguard §4.1). Default 8 (memberlist
   *  AwarenessMaxMultiplier): timeouts and the probe period stretch up to 8×. */
  awarenessMax: number;
  /** Coalesced dissemination period (ms): pending changes go to every neighbour in one
   *  message per flush. Default 200 (memberlist GossipInterval 200 ms). */
  flushIntervalMs: number;
  /** Most entries in one `m-changes` / `m-digest`. Default 1024 (≈ 20 KiB over TCP). */
  maxEntriesPerMessage: number;
  /** The floor of the bound on the changes queued for the next flushes (change-queue.ts):
   *  the bound is max(maxQueuedChanges, queueDepthPerMember × members in the table). When
   *  full, a change superseded by a newer queued change of the same member goes first, then
   *  new changes are refused (tail drop; our own entry takes the oldest's place); a refused
   *  change still reaches the neighbours through their other feeders, the piggyback on pings
   *  and acks, and anti-entropy. Default 4096 (Serf's `MaxQueueDepth`, and the
   *  `MinQueueDepth` Consul sets): ≤ 16 KiB of references per node. Alone (with
   *  queueDepthPerMember 0) it refused 130 M changes of the 10^5-node wave and left 6,098 of
   *  10^4 crashed members undetected after 120 s (docs/results.md, "Scale", h28m). */
  maxQueuedChanges: number;
  /** Queued changes allowed per member of the table, above the floor `maxQueuedChanges`
   *  (Serf's dynamic queue depth: max(MinQueueDepth, 2 × cluster size)). Default 2 (Serf's
   *  factor): a failure wave queues at most one verdict per member at each node (superseded
   *  changes coalesce), so the queue takes any wave. Memory: 4 bytes per change queued, up
   *  to 8 bytes per member per node (≤ 800 KB a node at 10^5 members) during a wave. 0: the
   *  fixed bound `maxQueuedChanges` alone. */
  queueDepthPerMember: number;
  /** Recent changes piggybacked on each ping and ack (SWIM §4.4). Default 4 (a ping stays
   *  under 100 bytes); 0 turns piggybacking off. */
  piggybackPerMessage: number;
  /** Each piggybacked change is sent retransmitMult · ⌈log10(n + 1)⌉ times. Default 4
   *  (memberlist RetransmitMult). */
  retransmitMult: number;
  /** Anti-entropy with a random member every (ms). Default 30,000 (memberlist
   *  PushPullInterval 30 s). */
  syncIntervalMs: number;
  /** One random failed member is retried every (ms). Default 30,000 (Serf's reconnect
   *  interval 30 s). */
  reconnectIntervalMs: number;
  /** Failed members are reaped after (ms). Default 24 h (Serf reconnect_timeout 24 h). */
  reconnectTimeoutMs: number;
  /** Left members are reaped after (ms). Default 24 h (Serf tombstone_timeout 24 h). */
  tombstoneTimeoutMs: number;
  /** Reaped (member, state) pairs remembered to refuse resurrection by stale rumours. Default
   *  65,536 (at 24 B each ≈ 1.5 MiB; a member reaped longer ago than both timeouts can only
   *  come back with a higher incarnation, which only the member itself issues). */
  maxReaped: number;
  /** Suspicion timeout when the overlay reported the link reset and the ping got no answer:
   *  the TCP fast path (ms). Default 200. */
  linkFailedSuspicionMs: number;
  /** The node's first incarnation (the agent passes seconds since the epoch, so a restart
   *  beats its previous life; the simulator passes virtual seconds). Default 0. */
  incarnation: number;
  /** Local health on (Lifeguard); off only to measure what it buys. Default true. */
  localHealth: boolean;
  /** Send every message of the indirect stage (ping-reqs, the extra direct ping) and the
   *  alert to a suspect both over `send` and as a datagram, for a driver whose two paths fail
   *  independently (the agent: TCP, where a lost SYN costs a 1 s retransmission, longer than
   *  the stage, and UDP). Default false: in the simulator both are one lossy path, and SWIM
   *  and memberlist send each once. The agent turns it on (measured with bench:faults at 10 %
   *  loss, docs/results.md). */
  indirectBothWays: boolean;
  /** Plumtree-style pruning of the overlay flood (dissemination.ts): a node whose overlay
   *  neighbour's batch of changes brought nothing new asks it to stop (`m-prune`), keeping at
   *  least `FLOOD_FEEDERS` overlay neighbours that send, and asks the pruned ones back
   *  (`m-prune` graft, and an `m-sync` to each) when one of those goes down or is marked
   *  suspect or failed. Default false, measured (2,000 nodes, seed 1, docs/results.md "Scale",
   *  h29m): flooded copies −18 % (10 % crashed) and −4 % (50 %), but detection bytes +12 % and
   *  +38 % (the grafts' syncs), p100 at 90 % crashed 13.7 → 27.3 s. */
  pruneFlood: boolean;
  /** One link-up sync per overlay link instead of one from each end: the end whose id is the
   *  smaller (JavaScript's `<`) opens it at once; the other waits a probe period and opens one
   *  only if none came from the peer meanwhile (ids that the two ends see differently cost that
   *  period, never the sync). One sync → digest → changes round reconciles both tables. A
   *  joining node (only itself in its table) asks as before. In a join burst (a flooded batch
   *  brought news in the last probe period) the smaller end waits a probe period too and the
   *  larger two, so a link replaced meanwhile is never synced (dissemination.ts
   *  `JOIN_BURST_LINK_SYNC_PERIODS`). Default false (the simulator's
   *  figures were measured with a sync from each end); the agent turns it on (measured with
   *  `npm run bench:join-cost`, docs/results.md "One sync per link (h26j)", and h33j). */
  linkSyncOnce: boolean;
  /** The flood's tree set before any traffic (flood-tree.ts): a node takes the whole flood of
   *  `m-changes` from this many overlay neighbours (the first links it got, replaced at random
   *  among the others when one goes down) and prunes every other link at once (`m-prune`), so
   *  each change reaches it about this many times over the overlay instead of once per link.
   *  0: every link carries everything (with `pruneFlood`, the tree learnt from the batches).
   *  Default 0 (docs/results.md, h32m). */
  eagerFeeders: number;
  /** With `eagerFeeders`: repair what the tree misses by tallies (dissemination.ts
   *  `sendTallies`): a node sends each overlay neighbour that pruned it, at most once a
   *  probe period while its table took verdicts, the number of `failed` entries it took per
   *  anti-entropy bucket (`m-tally`, ≈ 100 bytes); the neighbour compares it a probe period
   *  later with its own and pulls the buckets where it is still behind (their recent
   *  `failed` entries, as a flood, not a sync). Default false (docs/results.md, h33w). */
  tallyRepair: boolean;
  /** Which changes a flush relays to this node's ring subjects (dissemination.ts `flush`): true,
   *  every change of the ring's share (bucket mod K); false, only those an overlay neighbour's
   *  flooded batch did not bring (our own verdicts, and those heard over a ring link, a ping
   *  or anti-entropy): a change that came over the overlay is being flooded through our
   *  overlay component already, and the ring links are there for the components no overlay
   *  link enters. Default true (docs/results.md, h33w). */
  ringRelayAll: boolean;
  /** Whether a member's join heard without its meta (name, tags: a ping's piggyback, a digest)
   *  is flooded at once, without it. false: it is flooded when the meta comes (the member's
   *  answer to our `m-meta-req`, or the flood), with it (dissemination.ts `floodMeta`), so our
   *  neighbours, which the member's own flood reaches with its meta, do not each learn it
   *  without and ask the member too. Default true (the simulator's figures); the agent turns it
   *  off: `npm run bench:join-cost -- --nodes 50`, `m-meta-req` 25–73 against 89–171 per join
   *  in alternated runs (docs/results.md, h34j). */
  floodWithoutMeta: boolean;
}

export const DEFAULT_MEMBERS_CONFIG: MembersConfig = Object.freeze({
  rings: 4,
  probeIntervalMs: 1000,
  quietProbes: 2,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  suspicionMult: 1,
  suspicionMaxMult: 6,
  awarenessMax: 8,
  flushIntervalMs: 200,
  maxEntriesPerMessage: 1024,
  maxQueuedChanges: 4096,
  queueDepthPerMember: 2,
  piggybackPerMessage: 4,
  retransmitMult: 4,
  syncIntervalMs: 30_000,
  reconnectIntervalMs: 30_000,
  reconnectTimeoutMs: 24 * 3600_000,
  tombstoneTimeoutMs: 24 * 3600_000,
  maxReaped: 65_536,
  linkFailedSuspicionMs: 200,
  incarnation: 0,
  localHealth: true,
  indirectBothWays: false,
  pruneFlood: false,
  linkSyncOnce: false,
  eagerFeeders: 0,
  tallyRepair: false,
  ringRelayAll: true,
  floodWithoutMeta: true,
});

export function validateMembersConfig(c: MembersConfig): ConfigResult<MembersConfig> {
  const int = (k: keyof MembersConfig, lo: number, hi: number): string | null => {
    const v = c[k];
    return typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? null : `${k}: expected an integer in [${lo}, ${hi}], got ${String(v)}`;
  };
  const checks = [
    int('rings', 1, 16),
    int('probeIntervalMs', 10, 600_000),
    int('quietProbes', 1, 16),
    int('probeTimeoutMs', 1, 600_000),
    int('indirectChecks', 0, 16),
    int('suspicionMaxMult', 1, 100),
    int('awarenessMax', 1, 64),
    int('flushIntervalMs', 1, 600_000),
    int('maxEntriesPerMessage', 16, 65_536),
    int('maxQueuedChanges', 16, 10_000_000),
    int('queueDepthPerMember', 0, 64),
    int('piggybackPerMessage', 0, 64),
    int('retransmitMult', 1, 100),
    int('syncIntervalMs', 100, 86_400_000),
    int('reconnectIntervalMs', 100, 86_400_000),
    int('reconnectTimeoutMs', 1000, 365 * 86_400_000),
    int('tombstoneTimeoutMs', 1000, 365 * 86_400_000),
    int('maxReaped', 0, 10_000_000),
    int('linkFailedSuspicionMs', 0, 600_000),
    int('incarnation', 0, MAX_INCARNATION),
    int('eagerFeeders', 0, 16),
  ];
  for (const e of checks) if (e !== null) return { ok: false, reason: e };
  if (!(typeof c.suspicionMult === 'number' && c.suspicionMult > 0 && c.suspicionMult <= 100)) {
    return { ok: false, reason: `suspicionMult: expected a number in (0, 100], got ${String(c.suspicionMult)}` };
  }
  if (c.probeTimeoutMs >= c.probeIntervalMs) return { ok: false, reason: `probeTimeoutMs: must be below probeIntervalMs (${c.probeIntervalMs}), got ${c.probeTimeoutMs}` };
  if (typeof c.localHealth !== 'boolean') return { ok: false, reason: `localHealth: expected a boolean, got ${String(c.localHealth)}` };
  if (typeof c.indirectBothWays !== 'boolean') return { ok: false, reason: `indirectBothWays: expected a boolean, got ${String(c.indirectBothWays)}` };
  if (typeof c.pruneFlood !== 'boolean') return { ok: false, reason: `pruneFlood: expected a boolean, got ${String(c.pruneFlood)}` };
  if (typeof c.linkSyncOnce !== 'boolean') return { ok: false, reason: `linkSyncOnce: expected a boolean, got ${String(c.linkSyncOnce)}` };
  if (typeof c.tallyRepair !== 'boolean') return { ok: false, reason: `tallyRepair: expected a boolean, got ${String(c.tallyRepair)}` };
  if (typeof c.ringRelayAll !== 'boolean') return { ok: false, reason: `ringRelayAll: expected a boolean, got ${String(c.ringRelayAll)}` };
  if (typeof c.floodWithoutMeta !== 'boolean') return { ok: false, reason: `floodWithoutMeta: expected a boolean, got ${String(c.floodWithoutMeta)}` };
  return { ok: true, config: c };
}

/** Merge `input` over the defaults and validate. */
export function resolveMembersConfig(input: Partial<MembersConfig> = {}): ConfigResult<MembersConfig> {
  return validateMembersConfig({ ...DEFAULT_MEMBERS_CONFIG, ...input });
}
