/**
 * Rate limits and rate alarms of the TCP runtime (issue 13 §2).
 *
 * - `TokenBucket`: `rate` tokens per second up to `burst`; `take(n, now)` spends n or refuses.
 * - `PeerLimits`: per peer, one bucket of frames and one of bytes; a frame over either is
 *   dropped before it reaches the protocol machine, counted (`rateExcess`) and scored.
 * - `OriginLimits`: per broadcast origin (envelope `origin`), a bucket of new broadcasts; a
 *   message over it is ignored by the validate step (not delivered, not forwarded).
 * - `RateAlarm`: an exponentially weighted moving baseline (EWMA) of a per-second rate; the
 *   alarm is raised when a sample exceeds `factor` × baseline (and an absolute floor), as the
 *   S3 operators in 2008 lacked for their climbing gossip rate.
 *
 * Limits: buckets are kept per peer / origin in maps bounded by `maxKeys` (the least recently
 * created key is evicted first); an evicted key starts with a full bucket. Time is any
 * monotonic ms clock passed in.
 */

/** Defaults, per peer unless said. Sources: measured or guesses, said per field. */
export interface LimitsConfig {
  /** Frames per second a peer may send, sustained. Guess, above what the bench cluster
   *  measured per link (20 agents at 2,000 msgs/s ≈ 2 × 2,000 frames/s on a tree link). */
  framesPerSec: number;
  /** Frame burst. Guess: 2 s of sustained rate. */
  frameBurst: number;
  /** Bytes per second a peer may send (64 MiB/s: above loopback rates of the bench). */
  bytesPerSec: number;
  /** Byte burst (2 s). */
  byteBurst: number;
  /** New broadcasts per second one origin may inject (gossipsub leaves it to the app; guess
   *  well above the 2,000 msgs/s total of the bench). */
  originPerSec: number;
  /** Origin burst. */
  originBurst: number;
  /** Most peers / origins tracked. */
  maxKeys: number;
}

export const DEFAULT_LIMITS: LimitsConfig = Object.freeze({
  framesPerSec: 20_000,
  frameBurst: 40_000,
  bytesPerSec: 64 * 1024 * 1024,
  byteBurst: 128 * 1024 * 1024,
  originPerSec: 5_000,
  originBurst: 10_000,
  maxKeys: 10_000,
});

export class TokenBucket {
  private tokens: number;
  private at: number;
  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Spend `n` tokens if available; false (nothing spent) otherwise. */
  take(n: number, now: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
      this.at = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** Insertion-ordered map bounded by `max` keys (oldest evicted). */
function boundedGet<V>(m: Map<string, V>, key: string, max: number, make: () => V): V {
  let v = m.get(key);
  if (v === undefined) {
    if (m.size >= max) m.delete(m.keys().next().value as string);
    v = make();
    m.set(key, v);
  }
  return v;
}

export type FrameVerdict = 'ok' | 'frames' | 'bytes';

/** Token buckets per peer on frames and bytes. */
export class PeerLimits {
  private readonly frames = new Map<string, TokenBucket>();
  private readonly bytes = new Map<string, TokenBucket>();
  constructor(private readonly c: LimitsConfig) {}

  check(peer: string, bytes: number, now: number): FrameVerdict {
    const c = this.c;
    const f = boundedGet(this.frames, peer, c.maxKeys, () => new TokenBucket(c.framesPerSec, c.frameBurst, now));
    if (!f.take(1, now)) return 'frames';
    const b = boundedGet(this.bytes, peer, c.maxKeys, () => new TokenBucket(c.bytesPerSec, c.byteBurst, now));
    return b.take(bytes, now) ? 'ok' : 'bytes';
  }

  forget(peer: string): void {
    this.frames.delete(peer);
    this.bytes.delete(peer);
  }
}

/** A token bucket of new broadcasts per origin. */
export class OriginLimits {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(private readonly c: LimitsConfig) {}

  allow(origin: string, now: number): boolean {
    const c = this.c;
    return boundedGet(this.buckets, origin, c.maxKeys, () => new TokenBucket(c.originPerSec, c.originBurst, now)).take(1, now);
  }
}

export interface AlarmConfig {
  /** Alarm when a 1 s sample exceeds `factor` × its EWMA baseline. Guess: 4. */
  factor: number;
  /** EWMA weight of a new sample (0..1). 0.05 ≈ a 20 s memory at one sample per second. */
  alpha: number;
  /** No alarm below this rate (per second), whatever the baseline (a quiet node's baseline is
   *  near zero). Guess: 100/s. */
  minRate: number;
  /** Samples before any alarm (the baseline warms up). */
  warmup: number;
}

export const DEFAULT_ALARM: AlarmConfig = Object.freeze({ factor: 4, alpha: 0.05, minRate: 100, warmup: 10 });

/** EWMA baseline of a rate; `sample` returns true when the sample is an alarm. */
export class RateAlarm {
  baseline = 0;
  samples = 0;
  /** Alarms raised so far. */
  alarms = 0;
  /** Whether the last sample was over the threshold. */
  active = false;
  constructor(private readonly c: AlarmConfig) {}

  /** Feed one rate sample (per second). Alarmed samples do not move the baseline, so a
   *  sustained climb keeps alarming instead of becoming the new normal. */
  sample(rate: number): boolean {
    const c = this.c;
    const over = this.samples >= c.warmup && rate >= c.minRate && rate > c.factor * this.baseline;
    if (!over) this.baseline = this.samples === 0 ? rate : this.baseline + c.alpha * (rate - this.baseline);
    this.samples++;
    if (over) this.alarms++;
    this.active = over;
    return over;
  }
}

/** Check a partial limits/alarm config: every given field a positive finite number. */
export function checkPositive(o: Record<string, unknown> | undefined, what: string): string | null {
  if (o === undefined) return null;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return `${what}.${k} must be a positive number (got ${String(v)})`;
  }
  return null;
}
