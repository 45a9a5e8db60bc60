/**
 * HyParView configuration: the paper's parameters plus the timers this implementation adds.
 * Re-exported by `hyparview.ts` (import from there).
 */
import type { ConfigResult } from './types.js';

/** Parameters of the HyParView membership machine. */
export interface HyParViewConfig {
  /** Maximum size of the active (dissemination) view: log10(n) + c. */
  activeViewSize: number;
  /** Maximum size of the passive (reserve) view: k · (log10(n) + c). */
  passiveViewSize: number;
  /** Active Random Walk Length: initial TTL of FORWARDJOIN. */
  arwl: number;
  /** Passive Random Walk Length: the FORWARDJOIN hop at which the joiner enters the passive view. */
  prwl: number;
  /** A FORWARDJOIN that arrives with a TTL of at most this (and above 0) ends at a node whose
   *  active view has a free slot: it adds the joiner there instead of walking on to a node that
   *  may be full and evict (hyparview.ts, "Walk end with room"). 0: the paper's walks. */
  walkEndWithRoom: number;
  /** Initial TTL of the SHUFFLE random walk. */
  shuffleTtl: number;
  /** ka: active-view ids carried by a SHUFFLE. */
  shuffleActive: number;
  /** kp: passive-view ids carried by a SHUFFLE. */
  shufflePassive: number;
  /** Mean period of the SHUFFLE timer (each period drawn uniformly in [0.5, 1.5) × this). */
  shuffleIntervalMs: number;
  /** A NEIGHBOR request with no reply after this long counts as failed. */
  neighborTimeoutMs: number;
  /** A JOIN with no reply after this long counts as failed (the link failing ends it sooner). */
  joinTimeoutMs: number;
  /** First delay of the healing backoff (empty active and passive views). */
  repairBaseMs: number;
  /** Cap of the healing backoff. Keep it near the shuffle period so a healed partition is noticed promptly. */
  repairMaxMs: number;
  /**
   * Low-priority NEIGHBOR requests a node with a non-empty but short active view starts per
   * shuffle period. Rejections are not retried before the next period (empty views and link
   * failures still retry at once).
   */
  promotionsPerPeriod: number;
  /** An active view of at most this many members counts as nearly isolated (escalates after `escalateLowAfter`). */
  lowWatermark: number;
  /** Whole shuffle periods without an accepted request after which a node at or below `lowWatermark` escalates. */
  escalateLowAfter: number;
  /** Whole shuffle periods without an accepted request after which a short active view escalates
   *  (not a view exactly one short that was full before: see hyparview.ts). */
  escalateAfter: number;
  /** Whole shuffle periods without an accepted request after which a view exactly one short,
   *  that was full before, escalates (a settled overlay: see hyparview.ts). */
  escalateSettledAfter: number;
  /** Bootstrap retry period (each drawn uniformly in [0.5, 1.5) × this): while the active view
   *  is under half full the node JOINs again through a configured contact (or a passive peer),
   *  and until it has been full once it asks one passive peer per period. */
  joinRetryMs: number;
  /** Period of the contact exchange once the active view has been full: a SHUFFLE sent straight
   *  to a configured contact that is in neither view (addresses cross between islands). */
  rejoinIntervalMs: number;
  /** Contacts kept from `join` (a random sample when more are given, e.g. a DNS name that
   *  resolves to a whole fleet). */
  maxContacts: number;
  /** Bootstrap window, in `joinRetryMs` periods after `join`: during it, losing the last
   *  configured contact from the active view makes the node JOIN through its contacts again
   *  (hyparview.ts, "Concurrent bootstrap"). 0: never. */
  bootstrapWindow: number;
  /** What counts as being cut off from the overlay during the bootstrap window:
   *  `contact-lost` (default): the last configured contact left the active view;
   *  `cut-off`: that, and no active member is a node that added this one as the end of a
   *  FORWARDJOIN walk while a contact was a neighbour or after a contact accepted our JOIN
   *  (such a node reached it through the contact's side of the overlay, so the link to that
   *  side still stands; such a walk end also counts the node as joined again), and the
   *  bootstrap retry waits two retry periods after a contact accepted our JOIN, for those
   *  walks, before JOINing again (`awaitingWalks`). See hyparview.ts, "Concurrent bootstrap". */
  bootstrapRejoin: 'contact-lost' | 'cut-off';
}

/**
 * Defaults.
 * - activeViewSize 5, passiveViewSize 30: the paper's setting for n = 10^4 with c = 1, k = 6
 *   (Leitão et al., DSN 2007, p.9; also libp2p episub "Design Parameters for View Sizes").
 * - arwl 6, prwl 3, shuffleTtl 6, shuffleActive (ka) 3, shufflePassive (kp) 4: paper p.9
 *   (quoted in n0-computer/iroh-gossip `src/proto/hyparview.rs`, "From the paper (p9)").
 * - walkEndWithRoom 0: the paper's walks (the simulator's figures and digests are measured
 *   with them); the TCP runtime's `lan` and `wan` profiles set it (src/net/profiles.ts).
 * - shuffleIntervalMs 10 000: lasp-lang/partisan `HYPARVIEW_DEFAULTS` (10 s); the paper counts
 *   shuffles in rounds and gives no wall-clock period (iroh-gossip uses 60 s, "wild guess").
 * - neighborTimeoutMs 1 000: iroh-gossip's neighbour request timeout is 500 ms ("wild guess");
 *   doubled so a TCP connect plus one request/reply still fits on ~300 ms RTT WAN paths.
 * - joinTimeoutMs 1 000: as neighborTimeoutMs (a JOIN is one request and its reply). The `lan`
 *   and `wan` profiles of the TCP runtime wait longer (src/net/profiles.ts): there a contact
 *   whose process stops or dies is caught by its link's heartbeat timeout, while one that is
 *   only slow (a seed answering a whole fleet's JOINs at once) answers later, and a JOIN given
 *   up is sent again on a new connection, which costs that seed more.
 * - repairBaseMs 1 000, repairMaxMs 10 000: no paper value (the paper has no healing timer);
 *   capped exponential backoff starting near one RTT-bound retry and capped at one shuffle
 *   period, so a node left with empty views notices a healed partition within ~10 s rather
 *   than waiting out a minute-long backoff.
 * - promotionsPerPeriod 1: no paper value (the paper retries the next passive peer after each
 *   rejection). measured: 10k nodes, seed 1, 60 s — NEIGHBOR + reply 378k with unbounded
 *   retries, 113k with 1 per period; every node still ends with >= 2 neighbours, one component.
 * - lowWatermark 1, escalateLowAfter 1, escalateAfter 2: no paper value (the paper has no
 *   escalation). measured: with escalateAfter 6, 10k nodes (seed 1 and 3) still had an island
 *   of 16–34 nodes after 60 s; with 2, one component for seeds 1–3.
 * - escalateSettledAfter 2 (a view exactly one short that was full before): no paper value.
 *   A node stuck at activeViewSize − 1 (degree parity, ~10% of nodes at 60 s) evicts a
 *   stranger every few periods, so the gap wanders; a larger value keeps a small settled
 *   cluster still but leaves fast-join islands at 10^5–10^6 nodes unhealed too long
 *   (measured: see hyparview.ts, "Slower escalation").
 * - joinRetryMs 400: no paper value (the paper's joins are sequential). A few LAN round trips
 *   plus a refused connect. measured (`rumor sim bootstrap`, 10,000 nodes, seed 1): with 500
 *   the star, random, staggered and down-seeds fleets took 5.3–5.6 s to become one component
 *   and the ring 10.45 s to fill every view to 4; with 400: 2.6–4.65 s and 7.9–8.8 s (star,
 *   random, ring, down-seeds). (Measured with JOINs accepted while joining; the final figures
 *   are in docs/results.md.)
 * - rejoinIntervalMs 60 000: Serf re-contacts its seeds and failed members every 30 s
 *   (`reconnect_interval`); twice that, as the exchange only carries addresses.
 * - maxContacts 128: own choice; a DNS answer larger than that (a whole fleet) is sampled, and
 *   128 refused connects cost a joiner ~128 round trips before it has tried them all.
 * - bootstrapWindow 8 (3.2 s at 400 ms): no paper value; long enough for the JOIN walks of a
 *   fleet seeded as a ring or a tree to mix it (hyparview.ts, "Concurrent bootstrap"). The
 *   agent's profiles set another value (src/net/profiles.ts).
 * - bootstrapRejoin `contact-lost`: the rule `rumor sim bootstrap` was measured with
 *   (docs/results.md); the TCP runtime's profiles use `cut-off` (src/net/profiles.ts: a fleet
 *   that all joins one seed re-JOINed that seed after each of its evictions).
 */
export const DEFAULT_HYPARVIEW_CONFIG: HyParViewConfig = {
  activeViewSize: 5,
  passiveViewSize: 30,
  arwl: 6,
  prwl: 3,
  walkEndWithRoom: 0,
  shuffleTtl: 6,
  shuffleActive: 3,
  shufflePassive: 4,
  shuffleIntervalMs: 10_000,
  neighborTimeoutMs: 1_000,
  joinTimeoutMs: 1_000,
  repairBaseMs: 1_000,
  repairMaxMs: 10_000,
  promotionsPerPeriod: 1,
  lowWatermark: 1,
  escalateLowAfter: 1,
  escalateAfter: 2,
  escalateSettledAfter: 2,
  joinRetryMs: 400,
  rejoinIntervalMs: 60_000,
  maxContacts: 128,
  bootstrapWindow: 8,
  bootstrapRejoin: 'contact-lost',
};

function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function isInt(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min;
}

function isPos(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

const INT_FIELDS: ReadonlyArray<readonly [keyof HyParViewConfig, number]> = [
  ['activeViewSize', 1],
  ['passiveViewSize', 1],
  ['arwl', 0],
  ['prwl', 0],
  ['walkEndWithRoom', 0],
  ['shuffleTtl', 1],
  ['shuffleActive', 0],
  ['shufflePassive', 0],
  ['promotionsPerPeriod', 1],
  ['lowWatermark', 0],
  ['escalateLowAfter', 1],
  ['escalateAfter', 1],
  ['escalateSettledAfter', 1],
  ['maxContacts', 1],
  ['bootstrapWindow', 0],
];

const MS_FIELDS: ReadonlyArray<keyof HyParViewConfig> = [
  'shuffleIntervalMs',
  'neighborTimeoutMs',
  'joinTimeoutMs',
  'repairBaseMs',
  'repairMaxMs',
  'joinRetryMs',
  'rejoinIntervalMs',
];

/**
 * Check every field; the reason names the first offending field, e.g.
 * `activeViewSize: expected an integer >= 1, got 0`.
 */
export function validateHyParViewConfig(c: HyParViewConfig): ConfigResult<HyParViewConfig> {
  if (typeof c !== 'object' || c === null) return { ok: false, reason: `expected an object, got ${show(c)}` };
  for (const [name, min] of INT_FIELDS) {
    const v = (c as unknown as Record<string, unknown>)[name];
    if (!isInt(v, min)) return { ok: false, reason: `${name}: expected an integer >= ${min}, got ${show(v)}` };
  }
  if (c.prwl > c.arwl) {
    return { ok: false, reason: `prwl: expected an integer <= arwl (${c.arwl}), got ${c.prwl}` };
  }
  if (c.lowWatermark >= c.activeViewSize) {
    return { ok: false, reason: `lowWatermark: expected an integer < activeViewSize (${c.activeViewSize}), got ${c.lowWatermark}` };
  }
  for (const name of MS_FIELDS) {
    const v = (c as unknown as Record<string, unknown>)[name];
    if (!isPos(v)) return { ok: false, reason: `${name}: expected a finite number of milliseconds > 0, got ${show(v)}` };
  }
  if (c.bootstrapRejoin !== 'contact-lost' && c.bootstrapRejoin !== 'cut-off') {
    return { ok: false, reason: `bootstrapRejoin: expected "contact-lost" or "cut-off", got ${show(c.bootstrapRejoin)}` };
  }
  if (c.repairMaxMs < c.repairBaseMs) {
    return { ok: false, reason: `repairMaxMs: expected a number >= repairBaseMs (${c.repairBaseMs}), got ${c.repairMaxMs}` };
  }
  return { ok: true, config: { ...c } };
}
