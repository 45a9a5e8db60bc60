/**
 * Rate limits and rate alarms of the TCP runtime (issue 13 §2).
 *
 * - `TokenBucket`: `rate` tokens per second up to `burst`; `take(n, now)` spends n or refuses.
 * - `PeerLimits`: per peer, one bucket of frames and one of bytes; a frame over either is
 *   dropped before it reaches the protocol machine, counted (`rateExcess`) and scored.
 * - `OriginLimits`: per broadcast origin (envelope `origin`), a bucket of new broadcasts; a
 *   message over it is ignored by the validate step (not delivered, not forwarded).
 * - `OriginShare`: a load-adaptive per-origin share of a busy node's work (below).
 * - `RateAlarm`: an exponentially weighted moving baseline (EWMA) of a per-second rate; the
 *   alarm is raised when a sample exceeds `factor` × baseline (and an absolute floor), as the
 *   S3 operators in 2008 lacked for their climbing gossip rate.
 *
 * Limits: buckets are kept per peer / origin in maps bounded by `maxKeys` (the least recently
 * created key is evicted first); an evicted key starts with a full bucket. Time is any
 * monotonic ms clock passed in.
 *
 * The origin share (`OriginShare`, opt-in: `defences.share`, off unless given; issue 13 §2: "a flooding peer cannot slow the delivery of
 * honest traffic by more than 2×"). The static per-origin bucket cannot tell a flooder that
 * keeps under it (bench:flood `--only sustained`: 4,500 messages/s, 90 % of 5,000/s) from an
 * honest bulk publisher, and what such an origin costs is paid by every node of the cluster:
 * each of its messages is checked, delivered and relayed everywhere (measured: 22,500
 * deliveries/s in the bench's one thread, its event-loop utilization 0.3–0.7 and 20–35 GCs in
 * 4.5 s at load 12–18, honest p99 3.7–12×; docs/results.md, h28f). So the ceiling stays static and the share adapts
 * to the node's load, as a CPU scheduler's fair share does:
 * - Every `tickMs` (100 ms) the node's load is the event-loop utilization (ELU) of its thread
 *   over the tick (Node's `performance.eventLoopUtilization`, injected here as a function), and
 *   each origin's rate is the gossip frames of that origin the node was offered in the tick.
 * - Busy (ELU ≥ `busyElu`): the node's capacity is estimated as the rate it admitted, scaled
 *   to the threshold (admitted × busyElu / ELU, a linear cost model), and the fair share is that
 *   capacity divided by the active origins (those with a frame in the tick). An origin over
 *   both its fair share and `minPerSec` is capped at max(fair share, `minPerSec`).
 * - A capped origin's new messages past its cap in a tick are refused at the node where the
 *   origin is the sending peer (its ingress: gossip-inbound.ts), counted (`dropped`), not
 *   scored (it is within the static limit); its relayed copies elsewhere are not refused (a
 *   dropped relay would come back through Plumtree's IHAVE and GRAFT) but served at the fair
 *   queue's hot share (fair-queue.ts).
 * - Idle (ELU < `busyElu` / 2): every cap grows by a quarter per tick and is lifted once it
 *   reaches the static origin rate; between the two thresholds caps hold (hysteresis).
 * An origin that offers more in a tick than twice the static rate allows a tick is past the share's
 * remit: its frames go on to the fair queue, whose drops, charged to the origin's rate and
 * counted on a young link, quarantine a burst flooder within about 4,200 drops (measured:
 * refused by the share instead, a burst flooder was quarantined after 415 ms instead of 125–170
 * and 1,905 of its messages delivered instead of 520; docs/results.md, h28f).
 * A publisher alone on a node (one active origin) is never capped, whatever the load: bench:net's
 * lone bulk publisher is never refused (its ramp lines print `share-refused 0`). Limits: a bulk publisher above
 * `minPerSec` that shares a busy node with other publishers is cut to its fair share (raise
 * `minPerSec`, or `share: false`). ELU is per thread: nodes that share a thread (tests,
 * benchmarks) see one another's load as their own — as nodes sharing a CPU do. A flooder that
 * forges a new origin per message has no origin over its share; the per-peer frame bucket
 * bounds it. Messages refused at the ingress are lost (the origin must re-send), as those over
 * the static bucket are.
 * Why opt-in: three quiet runs of bench:flood `--only sustained` with it gave honest p99 3.83×,
 * 3.79× and 1.92× the no-flood run, five without it 2.22×, 3.57×, 4.48×, 2.86×, 3.58× (load < 2; docs/results.md,
 * quiet re-runs of the ninth session): no gain that holds on an idle machine, while it refused
 * ~15,000 messages of a publisher within every static limit in each run.
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
    if (!this.has(n, now)) return false;
    this.tokens -= n;
    return true;
  }

  /** Are `n` tokens available now? Spends nothing. */
  has(n: number, now: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
      this.at = now;
    }
    return this.tokens >= n;
  }
}

/** `key`'s bucket in an insertion-ordered map bounded by `max` keys (oldest evicted), made
 *  full at `now` when absent. No closure: it runs for every frame (a `make` callback here was
 *  the largest allocation of bench:flood's sustained flood, h29f). */
function bucketOf(m: Map<string, TokenBucket>, key: string, max: number, rate: number, burst: number, now: number): TokenBucket {
  let v = m.get(key);
  if (v === undefined) {
    if (m.size >= max) m.delete(m.keys().next().value as string);
    v = new TokenBucket(rate, burst, now);
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
    const f = bucketOf(this.frames, peer, c.maxKeys, c.framesPerSec, c.frameBurst, now);
    if (!f.take(1, now)) return 'frames';
    const b = bucketOf(this.bytes, peer, c.maxKeys, c.bytesPerSec, c.byteBurst, now);
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
    return bucketOf(this.buckets, origin, c.maxKeys, c.originPerSec, c.originBurst, now).take(1, now);
  }

  /** Would `allow` admit a message of `origin` now? Spends nothing (gossip-inbound.ts: a
   *  message within its origin's rate waits past a full queue instead of being dropped). */
  within(origin: string, now: number): boolean {
    const c = this.c;
    return bucketOf(this.buckets, origin, c.maxKeys, c.originPerSec, c.originBurst, now).has(1, now);
  }
}

/** The origin share's settings (see the module comment). Sources said per field. */
export interface ShareConfig {
  /** Event-loop utilization of the node's thread (0..1) over a tick at or above which the node
   *  is busy. 0.1, measured (docs/results.md, h28f; load 10–30): bench:flood's five nodes, one
   *  thread, run at 0.03–0.10 without a flood and at 0.31–0.73 under the 4,500/s sustained
   *  flood (honest p99 3.7–12× the no-flood run's); an ELU of 0.1 is a tenth of a core, so a
   *  busy node at this threshold still has headroom, and only origins over `minPerSec` are
   *  ever capped. */
  busyElu: number;
  /** Rate (messages/s) under which an origin is never capped, and the least cap. 1,000: half
   *  the bench cluster's 2,000 messages/s total rate (limits.ts `originPerSec`'s source), a
   *  fifth of the static origin rate. */
  minPerSec: number;
  /** Sampling period, ms. 100: a flood is capped 100–200 ms into it (250 ms left the slowest
   *  honest messages of bench:flood `sustained` in the flood's uncapped first half second,
   *  docs/results.md h28f); ticks run lazily on the next frame, and the first after an idle
   *  spell only restarts the count (its ELU is the idle spell's). */
  tickMs: number;
}

export const DEFAULT_SHARE: ShareConfig = Object.freeze({ busyElu: 0.1, minPerSec: 1000, tickMs: 100 });

/** The origin share's counters and current caps, as in `stats().defences.share`. */
export interface ShareStats {
  /** Whether the last tick found the node busy, and its event-loop utilization then. */
  busy: boolean;
  elu: number;
  /** Origins capped now → their cap, messages/s. */
  capped: Record<string, number>;
  /** New messages refused at their ingress past their origin's cap. */
  dropped: number;
  /** Caps set so far (an origin newly capped, or its cap lowered). */
  cuts: number;
}

/** A load-adaptive per-origin share of a busy node's work (see the module comment). */
export class OriginShare {
  /** Frames offered per origin in this tick, and admitted ones (all origins). */
  private offered = new Map<string, number>();
  private admitted = 0;
  /** Capped origins: cap (messages/s), messages admitted in this tick and frames from the
   *  origin itself in this tick (its ingress). */
  private readonly caps = new Map<string, { perSec: number; used: number; ingress: number }>();
  private tickAt: number;
  readonly stats = { busy: false, elu: 0, dropped: 0, cuts: 0 };

  constructor(
    private readonly c: ShareConfig,
    /** The static origin rate (limits' `originPerSec`): a cap that grows past it is lifted. */
    private readonly ceiling: number,
    /** The thread's event-loop utilization since the previous call (0..1). */
    private readonly utilization: () => number,
    now: number,
    private readonly maxKeys = DEFAULT_LIMITS.maxKeys,
  ) {
    this.tickAt = now;
    utilization();
  }

  /** A gossip frame of `origin`; `ingress`: the origin is the peer that sent it (the only place
   *  a frame is refused). False: refused (past the origin's cap in this tick). */
  admit(origin: string, ingress: boolean, now: number): boolean {
    if (now - this.tickAt >= this.c.tickMs) this.tick(now);
    this.count(origin);
    const cap = this.caps.get(origin);
    if (cap !== undefined && ingress && !this.overStatic(cap)) {
      if (this.spent(cap)) {
        this.stats.dropped++;
        return false;
      }
      cap.used++;
    }
    this.admitted++;
    return true;
  }

  /** A frame of `origin` from the origin itself, seen before it is decoded (gossip-inbound.ts
   *  skimming): true when it is refused (counted as offered and dropped); false when it must be
   *  decoded and go through `admit` (not capped, or within its cap in this tick). */
  refuseUnread(origin: string, now: number): boolean {
    if (now - this.tickAt >= this.c.tickMs) this.tick(now);
    const cap = this.caps.get(origin);
    if (cap === undefined || !this.spent(cap) || this.overStatic(cap)) return false;
    this.count(origin);
    this.stats.dropped++;
    return true;
  }

  /** Count a frame offered by `origin` in this tick (at most `maxKeys` origins tracked). */
  private count(origin: string): void {
    if (this.offered.size < this.maxKeys || this.offered.has(origin)) this.offered.set(origin, (this.offered.get(origin) ?? 0) + 1);
  }

  /** Whether a capped origin has used its cap for this tick. */
  private spent(cap: { perSec: number; used: number }): boolean {
    return cap.used >= (cap.perSec * this.c.tickMs) / 1000;
  }

  /** More of an origin's own frames in this tick than twice the static rate allows a tick: a
   *  burst over the static limit, left to it (the fair queue's drops, their charging and the
   *  young-link count quarantine such a flooder sooner than the share's refusals would). Twice,
   *  not once: at once the bench's paced flooder, catching up in bursts on a loaded machine,
   *  got 40,000 deliveries through instead of 23,000 (docs/results.md, h28f); a publisher
   *  within the static rate on average cannot stay over twice it for long (its 10,000 burst). */
  private overStatic(cap: { ingress: number }): boolean {
    return ++cap.ingress > (2 * this.ceiling * this.c.tickMs) / 1000;
  }

  /** Whether `origin` is capped now (its relayed frames are served at the hot share). */
  capped(origin: string): boolean {
    return this.caps.has(origin);
  }

  private tick(now: number): void {
    const sec = (now - this.tickAt) / 1000;
    this.tickAt = now;
    const u = this.utilization();
    this.stats.elu = u;
    this.stats.busy = u >= this.c.busyElu;
    if (this.stats.busy && this.offered.size >= 2) {
      const fair = (((this.admitted * this.c.busyElu) / u) / sec) / this.offered.size;
      const cap = Math.max(fair, this.c.minPerSec);
      for (const [origin, n] of this.offered) {
        if (n / sec <= cap) continue;
        const had = this.caps.get(origin);
        if (had !== undefined && had.perSec <= cap) continue;
        if (had === undefined && this.caps.size >= this.maxKeys) continue;
        this.caps.set(origin, { perSec: cap, used: 0, ingress: 0 });
        this.stats.cuts++;
      }
    } else if (u < this.c.busyElu / 2) {
      // A quarter more per tick elapsed (ticks run lazily, on the next frame).
      const grow = 1.25 ** Math.max(1, Math.floor((sec * 1000) / this.c.tickMs));
      for (const [origin, cap] of this.caps) {
        cap.perSec *= grow;
        if (cap.perSec >= this.ceiling) this.caps.delete(origin);
      }
    }
    for (const cap of this.caps.values()) cap.used = cap.ingress = 0;
    this.offered = new Map();
    this.admitted = 0;
  }

  snapshot(): ShareStats {
    return { ...this.stats, elu: Math.round(this.stats.elu * 1000) / 1000, capped: Object.fromEntries([...this.caps].map(([o, c]) => [o, Math.round(c.perSec)])) };
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
