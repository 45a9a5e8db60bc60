/**
 * Peer scoring and quarantine (issue 13 §2; used by the TCP runtime via src/net/scoring.ts and by the simulator's Byzantine experiment), in the spirit of gossipsub v1.1's peer score,
 * reduced to penalties: every peer starts at 0; each offence subtracts its weight; the
 * penalty decays exponentially with `halfLifeMs`, so occasional offences (a duplicate that
 * Plumtree's tree building produces anyway, a stray bad frame) are forgiven and only a
 * sustained stream drives a peer below `threshold`. Then the peer is quarantined: its
 * connections are closed, its frames and dials refused, for `quarantineBaseMs` × 2^(n−1) on
 * its n-th quarantine, capped at `quarantineMaxMs`. When the quarantine ends the score
 * restarts at 0 (the quarantine count is kept, so a repeat offender is banned longer).
 *
 * Offences: `bad-frame` (decoder rejected a frame, or a frame out of place), `decrypt-fail`
 * (a frame that fails authentication, counted by the encryption layer when present),
 * `rejected` (the validate hook rejected a message it forwarded), `duplicate` (a gossip
 * frame for an id we already had: Plumtree prunes such a link after one, so a stream of them
 * is a flood), `rate-excess` (a frame over the peer's token buckets, limits.ts).
 *
 * Differs from gossipsub: no positive score (time in mesh, first deliveries), no IP
 * colocation penalty (every test peer is on loopback; an operator behind NAT would be
 * punished), one threshold (graylist = disconnect).
 *
 * Limits: scores are per advertised address (the peer id); a peer that changes its address
 * starts clean. At most `maxPeers` peers are tracked (oldest entries evicted first).
 */

export type Offence = 'bad-frame' | 'decrypt-fail' | 'rejected' | 'duplicate' | 'rate-excess';
export const OFFENCES: readonly Offence[] = ['bad-frame', 'decrypt-fail', 'rejected', 'duplicate', 'rate-excess'];

export interface ScoringConfig {
  /** Penalty per offence. Guesses with a rationale: a rejected message is proof of lying (10);
   *  a bad frame or failed decryption is proof of garbage (5); a rate excess is a flood (1 per
   *  dropped frame); a duplicate is normal up to a few per message in Plumtree (0.2). */
  weights: Record<Offence, number>;
  /** Disconnect and quarantine below this score. −100: 10 rejected messages, 20 bad frames,
   *  100 dropped frames or 500 duplicates within about one half-life. */
  threshold: number;
  /** Half-life of penalties (ms). 60 s, guess (gossipsub's decay intervals are ~1 s with
   *  factors chosen per topic; a minute forgives the odd offence). */
  halfLifeMs: number;
  /** First quarantine (ms): 30 s. Guess, one Plumtree cache TTL. */
  quarantineBaseMs: number;
  /** Longest quarantine (ms): 1 h (memberlist-style suspicion never bans; Serf has none; an
   *  hour keeps a broken peer out without needing an operator). */
  quarantineMaxMs: number;
  /** Most peers tracked. */
  maxPeers: number;
}

export const DEFAULT_SCORING: ScoringConfig = Object.freeze({
  weights: Object.freeze({ 'bad-frame': 5, 'decrypt-fail': 5, rejected: 10, duplicate: 0.2, 'rate-excess': 1 }),
  threshold: -100,
  halfLifeMs: 60_000,
  quarantineBaseMs: 30_000,
  quarantineMaxMs: 3_600_000,
  maxPeers: 10_000,
});

interface PeerRecord {
  penalty: number;
  at: number;
  counts: Record<Offence, number>;
  quarantines: number;
  until: number;
}

/** One peer's score as reported in `stats().scores`. */
export interface PeerScore {
  score: number;
  counts: Record<Offence, number>;
  quarantines: number;
  /** Remaining quarantine (ms), 0 when not quarantined. */
  quarantinedForMs: number;
}

export class PeerScores {
  private readonly peers = new Map<string, PeerRecord>();
  /** Peers quarantined so far (total). */
  quarantinedTotal = 0;
  constructor(readonly config: ScoringConfig = DEFAULT_SCORING) {}

  /** Count an offence; returns the quarantine length (ms) if it drove the peer below the
   *  threshold, else 0. A quarantined peer is not penalised further. */
  penalize(peer: string, offence: Offence, now: number, times = 1): number {
    const r = this.record(peer, now);
    r.counts[offence] += times;
    if (r.until > now) return 0;
    this.decay(r, now);
    r.penalty += this.config.weights[offence] * times;
    if (-r.penalty >= this.config.threshold) return 0;
    r.quarantines++;
    this.quarantinedTotal++;
    const c = this.config;
    const len = Math.min(c.quarantineMaxMs, c.quarantineBaseMs * 2 ** (r.quarantines - 1));
    r.until = now + len;
    r.penalty = 0;
    return len;
  }

  quarantined(peer: string, now: number): boolean {
    const r = this.peers.get(peer);
    return r !== undefined && r.until > now;
  }

  score(peer: string, now: number): number {
    const r = this.peers.get(peer);
    if (r === undefined) return 0;
    this.decay(r, now);
    return -r.penalty;
  }

  snapshot(now: number): Record<string, PeerScore> {
    const out: Record<string, PeerScore> = {};
    for (const [p, r] of this.peers) {
      this.decay(r, now);
      out[p] = {
        score: Math.round(-r.penalty * 100) / 100,
        counts: { ...r.counts },
        quarantines: r.quarantines,
        quarantinedForMs: Math.max(0, Math.round(r.until - now)),
      };
    }
    return out;
  }

  private record(peer: string, now: number): PeerRecord {
    let r = this.peers.get(peer);
    if (r === undefined) {
      if (this.peers.size >= this.config.maxPeers) {
        // Evict the oldest entry that is not quarantined (a ban must not be evictable by churn).
        for (const [k, v] of this.peers) if (v.until <= now) { this.peers.delete(k); break; }
      }
      r = { penalty: 0, at: now, counts: { 'bad-frame': 0, 'decrypt-fail': 0, rejected: 0, duplicate: 0, 'rate-excess': 0 }, quarantines: 0, until: 0 };
      this.peers.set(peer, r);
    }
    return r;
  }

  private decay(r: PeerRecord, now: number): void {
    if (now <= r.at) return;
    r.penalty *= 0.5 ** ((now - r.at) / this.config.halfLifeMs);
    r.at = now;
  }
}
