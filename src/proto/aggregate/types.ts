/**
 * Types shared by the aggregate machines (push-sum.ts, flow.ts, extreme.ts): kinds, messages,
 * timers, events, configuration and the checks of user input (names, values, kinds). See
 * `index.ts` for which machine computes which kind.
 */

/** What an aggregate computes over the live nodes' values. */
export type AggregateKind = 'avg' | 'sum' | 'count' | 'min' | 'max';
export const AGGREGATE_KINDS: readonly AggregateKind[] = ['avg', 'sum', 'count', 'min', 'max'];
/** Wire code of each kind (index in AGGREGATE_KINDS). */
export const KIND_CODE: Record<AggregateKind, number> = { avg: 0, sum: 1, count: 2, min: 3, max: 4 };

/** Which protocol computes an average: push-sum (epochs) or flow updating (self-correcting). */
export type AggregateProtocol = 'push-sum' | 'flow';

/** An instance of an epoch-based computation: epoch number, then a random tag breaking ties
 *  between nodes that started the same epoch independently (the larger pair wins). */
export interface Instance {
  epoch: number;
  tag: number;
}

/** Messages of the aggregate machines (one union: one codec, one channel per aggregate). */
export type AggMsg<P> =
  /** Push-sum share: mass (s, w) of instance (epoch, tag), and one peer id the sender knows
   *  (piggybacked peer sampling; null when it knows none but the target). */
  | { type: 'push'; kind: AggregateKind; epoch: number; tag: number; s: number; w: number; hint: P | null }
  /** Flow updating: the sender's flow towards the target (value part `fv`, weight part `fw`)
   *  and the sender's estimate pair (`ev` / `ew` is its average). */
  | { type: 'flow'; kind: AggregateKind; fv: number; fw: number; ev: number; ew: number }
  /** Gossiped extreme of instance (epoch, tag). */
  | { type: 'extreme'; kind: AggregateKind; epoch: number; tag: number; value: number; hint: P | null };

/** The one timer: a gossip round, due at `due` (stale firings are ignored). */
export interface AggTimer {
  type: 'round';
  due: number;
}

/** What a node reports after each of its rounds. */
export interface AggEvent {
  type: 'estimate';
  /** Current estimate (null: none yet, e.g. no weight has reached this node). */
  value: number | null;
  /** Rounds this estimate has been computed over (rounds of the current epoch, or of the
   *  node's life for flow updating). */
  rounds: number;
  /** Largest relative difference between this node's estimate and the estimates carried by
   *  the messages it received since its previous round (null: none received). A local
   *  convergence indicator: 0 when its neighbourhood agrees. */
  spread: number | null;
  epoch: number;
}

/** Configuration of an aggregate machine. */
export interface AggregateConfig {
  /** Gossip period (one round), ms. Default 1000: Kempe et al. and Jelasity et al. reason in
   *  synchronous rounds; one second is the period of Serf's/memberlist's gossip family. */
  periodMs: number;
  /** Push targets per round (push-sum, extremes). Default 2: each keeps a third and sends a
   *  third to two peers — fewer rounds than the paper's single target (measured with
   *  `rumor sim aggregation --fanout 1` against the default: docs/results.md). */
  fanout: number;
  /** Rounds per epoch (push-sum, extremes); Infinity disables restarts. Default 60: the
   *  issue's target is 1e-6 within 40 rounds at 10^5 nodes; 60 leaves a margin (measured
   *  figures in docs/results.md). */
  epochRounds: number;
  /** Known runners kept per aggregate (push-sum, extremes; peers.ts). Default 32: of the
   *  order of Cyclon's cache; only used without a member list that every member runs. */
  cacheSize: number;
}

export const DEFAULT_AGGREGATE_CONFIG: AggregateConfig = { periodMs: 1000, fanout: 2, epochRounds: 60, cacheSize: 32 };

/** Longest aggregate name (bytes): the application's channel `_app.agg.<name>` stays ≤ 64. */
export const MAX_AGGREGATE_NAME = 56;
const NAME_RE = /^[A-Za-z0-9._-]+$/;

export type Check<V> = { ok: true; value: V } | { ok: false; reason: string };

/** Validate an aggregate name (letters, digits, '.', '-', '_'; 1–56 characters). */
export function checkAggregateName(name: unknown): Check<string> {
  if (typeof name !== 'string' || name.length === 0) return { ok: false, reason: 'aggregate name: expected a non-empty string' };
  if (name.length > MAX_AGGREGATE_NAME) return { ok: false, reason: `aggregate name: at most ${MAX_AGGREGATE_NAME} characters, got ${name.length}` };
  if (!NAME_RE.test(name)) return { ok: false, reason: `aggregate name: only letters, digits, '.', '-' and '_' allowed, got ${JSON.stringify(name)}` };
  return { ok: true, value: name };
}

/** Validate a kind. */
export function checkKind(kind: unknown): Check<AggregateKind> {
  if (typeof kind === 'string' && (AGGREGATE_KINDS as readonly string[]).includes(kind)) return { ok: true, value: kind as AggregateKind };
  return { ok: false, reason: `aggregate kind: expected one of ${AGGREGATE_KINDS.join(', ')}, got ${JSON.stringify(kind)}` };
}

/** Validate an input value: a finite number, |v| ≤ 1e15 (sums of 10^6 such stay exact to
 *  about 1e-6 relative in doubles). */
export function checkValue(v: unknown): Check<number> {
  if (typeof v !== 'number' || !Number.isFinite(v)) return { ok: false, reason: `aggregate value: expected a finite number, got ${String(v)}` };
  if (Math.abs(v) > 1e15) return { ok: false, reason: `aggregate value: |value| must be at most 1e15, got ${v}` };
  return { ok: true, value: v };
}

/** Relative difference of a and b (absolute when both are near 0). */
export function relDiff(a: number, b: number): number {
  const d = Math.abs(a - b);
  const m = Math.max(Math.abs(a), Math.abs(b));
  return m > 1e-12 ? d / m : d;
}

/** Encoded size in bytes of `msg` (the codec in `src/wire/aggregate.ts`; a test holds them
 *  equal) when each peer id takes `idBytes` bytes: the simulator counts bytes with it. */
export function aggregateMsgSize<P>(msg: AggMsg<P>, idBytes: number): number {
  if (msg.type === 'flow') return 3 + 32;
  const hint = msg.hint === null ? 0 : idBytes;
  return msg.type === 'push' ? 3 + 8 + 16 + 1 + hint : 3 + 8 + 8 + 1 + hint;
}

/** Bytes of the `direct` frame carrying `dataBytes` on a channel of `channelBytes` (< 128
 *  each): frame header and CRC (10), the channel string and the data, each length-prefixed
 *  (src/wire/body.ts; a test holds them equal). */
export function directFrameBytes(dataBytes: number, channelBytes: number): number {
  return 10 + 1 + channelBytes + 1 + dataBytes;
}
