/**
 * The runtime's defences against hostile or broken peers, in one object the transport calls
 * at four points (frame in, bad frame, validate verdict, duplicate) plus a 1 s sampler:
 * per-peer token buckets (limits.ts), peer scores and quarantine (scoring.ts), and rate
 * alarms on the node's own gossip and bad-frame rates (limits.ts `RateAlarm`).
 */
import type { Logger } from './util.js';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { checkPositive, DEFAULT_ALARM, DEFAULT_LIMITS, DEFAULT_SHARE, OriginLimits, OriginShare, PeerLimits, RateAlarm, type AlarmConfig, type LimitsConfig, type ShareConfig, type ShareStats } from './limits.js';
import { DEFAULT_FAIR_QUEUE, type FairQueueConfig, type FairQueueStats } from './fair-queue.js';
import { DEFAULT_SCORING, PeerScores, type Offence, type PeerScore, type ScoringConfig } from './scoring.js';

/** User-facing defence options (`createNode({ defences })`); every field optional. */
export interface DefenceOptions {
  /** Peer scoring; `false` turns scoring and quarantine off (counters are still kept). */
  scoring?: (Partial<Omit<ScoringConfig, 'weights'>> & { weights?: Partial<ScoringConfig['weights']> }) | false;
  /** Per-peer and per-origin token buckets; `false` turns them off. */
  limits?: Partial<LimitsConfig> | false;
  /** Gossip-rate and bad-frame-rate alarms. */
  alarm?: Partial<AlarmConfig>;
  /** Fair queueing of inbound gossip per link and origin (fair-queue.ts); `false` (or
   *  `limits: false`) hands every gossip frame to the machine as it is read. */
  fairQueue?: Partial<FairQueueConfig> | false;
  /** The load-adaptive per-origin share of a busy node's work (limits.ts `OriginShare`).
   *  Off unless given: `{}` turns it on with the defaults; `false` (or `limits: false`) off. */
  share?: Partial<ShareConfig> | false;
}

/** The first problem of `createNode`'s `defences` option as a one-line message, or null: unknown
 *  keys, and numbers out of range (counts, rates and times positive; alarm `alpha` at most 1;
 *  scoring weights ≥ 0 and its threshold negative). */
export function validateDefences(o: unknown): string | null {
  if (o === undefined) return null;
  if (typeof o !== 'object' || o === null) return 'defences: expected an object';
  const d = o as Record<string, unknown>;
  return (
    unknownKey(d, ['scoring', 'limits', 'alarm', 'fairQueue', 'share'], 'defences') ??
    section(d.limits, DEFAULT_LIMITS, 'defences.limits', true) ??
    section(fairQueueRest(d.fairQueue), DEFAULT_FAIR_QUEUE, 'defences.fairQueue', true) ??
    expressProblem((d.fairQueue as { expressPerTurn?: unknown } | false | undefined) || undefined) ??
    section(d.alarm, DEFAULT_ALARM, 'defences.alarm', false) ??
    section(d.share, DEFAULT_SHARE, 'defences.share', true) ??
    alphaProblem((d.alarm as { alpha?: number } | undefined)?.alpha) ??
    busyProblem((d.share as { busyElu?: number } | false | undefined) || undefined) ??
    scoringProblem(d.scoring)
  );
}

/** The alarm's EWMA weight is a fraction (section() has already checked it is positive). */
function alphaProblem(alpha: number | undefined): string | null {
  return alpha !== undefined && alpha > 1 ? `defences.alarm.alpha must be at most 1 (got ${alpha})` : null;
}

/** The share's busy threshold is a utilization (section() has already checked it is positive). */
function busyProblem(share: { busyElu?: number } | undefined): string | null {
  const b = share?.busyElu;
  return b !== undefined && b > 1 ? `defences.share.busyElu must be at most 1 (got ${b})` : null;
}

function unknownKey(o: Record<string, unknown>, known: readonly string[], what: string): string | null {
  const k = Object.keys(o).find((x) => !known.includes(x));
  return k === undefined ? null : `${what}: unknown key ${JSON.stringify(k)} (expected ${known.join(', ')})`;
}

/** The fair-queue section without `expressPerTurn` (checked apart: 0 is allowed, the lane off). */
function fairQueueRest(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const { expressPerTurn: _e, ...rest } = v as Record<string, unknown>;
  return rest;
}

function expressProblem(v: { expressPerTurn?: unknown } | undefined): string | null {
  const x = v?.expressPerTurn;
  if (x === undefined || (typeof x === 'number' && Number.isInteger(x) && x >= 0)) return null;
  return `defences.fairQueue.expressPerTurn must be an integer ≥ 0 (got ${String(x)})`;
}

function section(v: unknown, defaults: object, what: string, mayBeFalse: boolean): string | null {
  if (v === undefined || (mayBeFalse && v === false)) return null;
  if (typeof v !== 'object' || v === null) return `${what}: expected an object${mayBeFalse ? ' or false' : ''}`;
  return unknownKey(v as Record<string, unknown>, Object.keys(defaults), what) ?? checkPositive(v as Record<string, unknown>, what);
}

function scoringProblem(v: unknown): string | null {
  if (v === undefined || v === false) return null;
  if (typeof v !== 'object' || v === null) return 'defences.scoring: expected an object or false';
  const { weights, threshold, ...rest } = v as Record<string, unknown>;
  const bad = unknownKey(v as Record<string, unknown>, Object.keys(DEFAULT_SCORING), 'defences.scoring') ?? checkPositive(rest, 'defences.scoring');
  if (bad !== null) return bad;
  if (threshold !== undefined && (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold >= 0)) {
    return `defences.scoring.threshold must be a negative number (got ${String(threshold)})`;
  }
  if (weights === undefined) return null;
  if (typeof weights !== 'object' || weights === null) return 'defences.scoring.weights: expected an object';
  const w = weights as Record<string, unknown>;
  const unknown = unknownKey(w, Object.keys(DEFAULT_SCORING.weights), 'defences.scoring.weights');
  if (unknown !== null) return unknown;
  const neg = Object.entries(w).find(([, x]) => typeof x !== 'number' || !Number.isFinite(x) || x < 0);
  return neg === undefined ? null : `defences.scoring.weights.${neg[0]} must be a number ≥ 0 (got ${String(neg[1])})`;
}

/** Defence counters and scores, as in `stats().defences`. */
export interface DefenceStats {
  /** Frames dropped over a peer's token bucket, by bucket (`frames`, `bytes`). */
  rateExcess: { frames: number; bytes: number };
  /** Broadcasts ignored because their origin exceeded its rate. */
  originExcess: number;
  /** Validate-hook verdicts on messages from peers. */
  validation: { accept: number; reject: number; ignore: number };
  /** Frames refused from quarantined peers, and quarantines started. */
  quarantine: { refusedFrames: number; started: number; active: string[] };
  /** Per-peer scores (advertised address → score, offence counts, quarantine). */
  scores: Record<string, PeerScore>;
  /** Inbound gossip fair queueing (fair-queue.ts); null when turned off. */
  fairQueue: FairQueueStats | null;
  /** The load-adaptive origin share (limits.ts `OriginShare`); null when turned off. */
  share: ShareStats | null;
  /** Rate alarms: last 1 s rate, its EWMA baseline, whether over, alarms raised. */
  alarms: Record<'gossip' | 'badFrames', { rate: number; baseline: number; active: boolean; raised: number }>;
}

export class PeerGuard {
  readonly scores: PeerScores | null;
  private readonly limits: PeerLimits | null;
  readonly origins: OriginLimits | null;
  /** The origin share, null when off (not given, `share: false` or `limits: false`). */
  readonly share: OriginShare | null;
  private readonly alarms: { gossip: RateAlarm; badFrames: RateAlarm };
  private readonly last = { gossip: 0, badFrames: 0 };
  private lastCounts = { gossip: 0, badFrames: 0 };
  private lastSampleAt = -1;
  /** Fair-queue configuration, null when off (`fairQueue: false` or `limits: false`). */
  readonly fairQueue: FairQueueConfig | null;
  /** The transport's fair-queue counters (set by the transport when it has a queue). */
  fairQueueStats: FairQueueStats | null = null;
  readonly stats: Omit<DefenceStats, 'scores' | 'alarms' | 'quarantine' | 'fairQueue' | 'share'> & { refusedFrames: number } = {
    rateExcess: { frames: 0, bytes: 0 },
    originExcess: 0,
    validation: { accept: 0, reject: 0, ignore: 0 },
    refusedFrames: 0,
  };

  constructor(
    o: DefenceOptions,
    private readonly logger: Logger,
    private readonly onQuarantine: (peer: string, ms: number) => void,
  ) {
    const s = o.scoring;
    this.scores = s === false ? null : new PeerScores({ ...DEFAULT_SCORING, ...s, weights: { ...DEFAULT_SCORING.weights, ...s?.weights } });
    const l = o.limits === false ? null : { ...DEFAULT_LIMITS, ...o.limits };
    this.limits = l === null ? null : new PeerLimits(l);
    this.origins = l === null ? null : new OriginLimits(l);
    this.fairQueue = l === null || o.fairQueue === false ? null : { ...DEFAULT_FAIR_QUEUE, ...o.fairQueue };
    // Opt-in (`share: {}` for the defaults): quiet runs measured no gain for honest p99 and it
    // refuses a within-limits publisher's messages (docs/results.md, "Quiet re-runs ... ninth session").
    this.share = l === null || o.share === undefined || o.share === false ? null : new OriginShare({ ...DEFAULT_SHARE, ...o.share }, l.originPerSec, threadUtilization(), performance.now());
    const a = { ...DEFAULT_ALARM, ...o.alarm };
    this.alarms = { gossip: new RateAlarm(a), badFrames: new RateAlarm(a) };
  }

  /** A frame of `bytes` from `peer` after the handshake: false = drop it. */
  admit(peer: string, bytes: number, now: number): boolean {
    if (this.scores !== null && this.scores.quarantined(peer, now)) {
      this.stats.refusedFrames++;
      return false;
    }
    if (this.limits === null) return true;
    const v = this.limits.check(peer, bytes, now);
    if (v === 'ok') return true;
    this.stats.rateExcess[v]++;
    this.offence(peer, 'rate-excess', now);
    return false;
  }

  quarantined(peer: string, now: number): boolean {
    return this.scores !== null && this.scores.quarantined(peer, now);
  }

  offence(peer: string, offence: Offence, now: number): void {
    if (this.scores === null) return;
    const ms = this.scores.penalize(peer, offence, now);
    if (ms === 0) return;
    this.limits?.forget(peer);
    this.logger.warn({ peer, offence, quarantineMs: ms }, 'rumor: peer score below threshold, quarantined');
    this.onQuarantine(peer, ms);
  }

  /** Feed the node's cumulative gossip-in and bad-frame counters; samples once a second. */
  sample(gossipIn: number, badFrames: number, now: number): void {
    if (this.lastSampleAt < 0) {
      this.lastSampleAt = now;
      this.lastCounts = { gossip: gossipIn, badFrames };
      return;
    }
    const dt = now - this.lastSampleAt;
    if (dt < 1000) return;
    const rates = { gossip: ((gossipIn - this.lastCounts.gossip) * 1000) / dt, badFrames: ((badFrames - this.lastCounts.badFrames) * 1000) / dt };
    this.lastSampleAt = now;
    this.lastCounts = { gossip: gossipIn, badFrames };
    for (const k of ['gossip', 'badFrames'] as const) {
      this.last[k] = rates[k];
      const base = this.alarms[k].baseline;
      if (this.alarms[k].sample(rates[k])) {
        this.logger.warn({ rate: Math.round(rates[k]), baseline: Math.round(base) }, `rumor: ${k === 'gossip' ? 'gossip' : 'bad-frame'} rate above its baseline`);
      }
    }
  }

  snapshot(now: number): DefenceStats {
    const scores = this.scores === null ? {} : this.scores.snapshot(now);
    const al = (k: 'gossip' | 'badFrames') => ({
      rate: Math.round(this.last[k] * 10) / 10,
      baseline: Math.round(this.alarms[k].baseline * 10) / 10,
      active: this.alarms[k].active,
      raised: this.alarms[k].alarms,
    });
    return {
      rateExcess: { ...this.stats.rateExcess },
      originExcess: this.stats.originExcess,
      validation: { ...this.stats.validation },
      quarantine: {
        refusedFrames: this.stats.refusedFrames,
        started: this.scores === null ? 0 : this.scores.quarantinedTotal,
        active: Object.keys(scores).filter((p) => scores[p].quarantinedForMs > 0),
      },
      scores,
      fairQueue: this.fairQueueStats === null ? null : { ...this.fairQueueStats, dropped: { ...this.fairQueueStats.dropped } },
      share: this.share?.snapshot() ?? null,
      alarms: { gossip: al('gossip'), badFrames: al('badFrames') },
    };
  }
}

/** This thread's event-loop utilization since the previous call (the first call: since the
 *  thread started), 0..1; one meter per node. */
function threadUtilization(): () => number {
  let prev: EventLoopUtilization | null = null;
  return () => {
    const cur = performance.eventLoopUtilization();
    const u = prev === null ? cur.utilization : performance.eventLoopUtilization(cur, prev).utilization;
    prev = cur;
    return Number.isFinite(u) ? u : 0;
  };
}
