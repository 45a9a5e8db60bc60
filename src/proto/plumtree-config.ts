/**
 * Plumtree configuration (plumtree.ts): the paper's timers (timeout1, timeout2, §3), the
 * optimisation threshold (§3.7), and the batching and cache bounds this implementation adds,
 * with each default's source and its validation. Re-exported by `plumtree.ts` (import from
 * there).
 */
import { checkFields } from './seen.js';
import type { ConfigResult } from './types.js';

/** Parameters of the Plumtree broadcast machine. */
export interface PlumtreeConfig {
  /** timeout1: wait after the first IHAVE for an id before grafting its announcer (ms). */
  ihaveTimeoutMs: number;
  /** timeout2: wait after a GRAFT before grafting the next announcer (ms); < timeout1. */
  graftTimeoutMs: number;
  /** Delay before queued IHAVE announcements are sent (ms). */
  ihaveFlushMs: number;
  /** Maximum entries in one IHAVE message. */
  maxIHaveBatch: number;
  /** Hop difference that triggers the tree optimisation (§3.7). */
  optimizationThreshold: number;
  /** How long payloads are kept to answer GRAFTs (ms); ≤ seenTtlMs. */
  cacheTtlMs: number;
  /** How long ids are remembered for exactly-once delivery (ms). */
  seenTtlMs: number;
  /** Bound on remembered ids (and cached payloads); the oldest is evicted first. */
  maxCacheEntries: number;
  /** Bound on the bytes of cached payloads; past it the oldest payloads are dropped early
   *  (their ids stay remembered, so delivery stays exactly-once; a GRAFT for one goes
   *  unanswered and the requester grafts its next announcer). */
  maxCacheBytes: number;
  /** Announce cached ids to a neighbour when it comes up (see "Differs from the paper"). */
  syncOnNeighborUp: boolean;
}

/**
 * Defaults. The paper gives no timer values (timeout1 "considering the diameter of the
 * overlay and a target maximum recovery latency", p.8; timeout2 "in the order of an average
 * round trip time to a neighbor", p.9); iroh-gossip's are "guesses" (80/40 ms, 5 ms IHAVE
 * batching, 30 s cache, 90 s ids). Ours are guesses tuned for a LAN and for the simulator's
 * default one-way latency of 10–50 ms uniform (RTT ≤ 100 ms).
 */
export const DEFAULT_PLUMTREE_CONFIG: PlumtreeConfig = Object.freeze({
  // Guess, then measured (test/proto/plumtree.test.ts network: random degree-5 graph,
  // fixed per-link one-way delays 10–50 ms, 40 broadcasts, mean RMR after 5 warm-up
  // broadcasts): 80/40 ms (iroh) → 0.14–0.46 at n = 100; 150/80 → 0.01–0.18; 250/120 →
  // ≤ 0.02; 400/150 → 0.000 at n = 100 (8 seeds) and n = 1000 (3 seeds). A shorter
  // timeout1 GRAFTs before the tree path delivers, and each such GRAFT costs a duplicate.
  ihaveTimeoutMs: 400,
  // ≈ the worst RTT of the simulator's default latency (2 × 50 ms) plus margin (paper p.9).
  graftTimeoutMs: 150,
  // Guess: iroh-gossip uses 5 ms; a little longer batches more ids per IHAVE.
  ihaveFlushMs: 10,
  // Guess: keeps an IHAVE well under a few KiB with typical ids.
  maxIHaveBatch: 64,
  // Paper p.12 (experiment settings), as quoted by iroh-gossip.
  optimizationThreshold: 7,
  // iroh-gossip default (message cache 30 s).
  cacheTtlMs: 30_000,
  // iroh-gossip default (received-id retention 90 s).
  seenTtlMs: 90_000,
  // Measured (SeenCache, 16-byte ids): ≈ 66 B per entry besides the id and payload, so
  // 100,000 entries ≈ 7 MB per node. That is 10 s of exactly-once history at 10,000
  // broadcasts/s (10,000 entries held only 1 s there, and a 20-node TCP run at 2,000
  // msgs/s keeps the cache full); below ≈ 1,100 msgs/s the 90 s seenTtlMs binds first.
  maxCacheEntries: 100_000,
  // 16 MiB. A GRAFT comes within ihaveFlushMs + ihaveTimeoutMs + graftTimeoutMs of the
  // message (≈ 0.2 s on the lan profile, 1.6 s on wan); js-libp2p gossipsub keeps 5 s of
  // messages (mcache: 5 heartbeats of 1 s) to answer IWANTs. 16 MiB holds ≈ 15,000 payloads
  // of 1 KiB: 1.5 s at 10,000 msgs/s, the whole cacheTtlMs below ≈ 500 msgs/s. Measured
  // (bench/net, 20 nodes, full rate ladder): with 64 MiB the retained payloads (up to
  // 10 × 64 MiB per worker process, computed from the bound) made the 10,000/s step cost 8.9 µs per message per node (p99 137 ms) and
  // 11,000/s overload (p50 0.5 s); with 16 MiB 7.5 µs (p99 79 ms) and 11,000/s held (p99
  // 104 ms). Without a byte bound a stream of 64 KiB payloads could hold maxCacheEntries ×
  // 64 KiB = 6.4 GB until cacheTtlMs passes.
  maxCacheBytes: 16 * 1024 * 1024,
  // Our addition (see module comment); on by default.
  syncOnNeighborUp: true,
});

/** Validate a Plumtree configuration; the reason starts with the offending field. */
export function validatePlumtreeConfig(c: unknown): ConfigResult<PlumtreeConfig> {
  const r = checkFields<PlumtreeConfig>(c, {
    ihaveTimeoutMs: { above: 0 },
    graftTimeoutMs: { above: 0 },
    ihaveFlushMs: { min: 0 },
    maxIHaveBatch: { integer: true, min: 1 },
    optimizationThreshold: { integer: true, min: 1 },
    cacheTtlMs: { min: 0 },
    seenTtlMs: { above: 0 },
    maxCacheEntries: { integer: true, min: 1 },
    maxCacheBytes: { integer: true, min: 0 },
    syncOnNeighborUp: 'boolean',
  });
  if (!r.ok) return r;
  const k = r.config;
  if (k.graftTimeoutMs >= k.ihaveTimeoutMs) {
    return { ok: false, reason: `graftTimeoutMs: must be smaller than ihaveTimeoutMs (got ${k.graftTimeoutMs} >= ${k.ihaveTimeoutMs})` };
  }
  if (k.cacheTtlMs > k.seenTtlMs) {
    return { ok: false, reason: `cacheTtlMs: must not exceed seenTtlMs (got ${k.cacheTtlMs} > ${k.seenTtlMs})` };
  }
  return r;
}
