/**
 * Aggregates over a cluster, with no coordinator: which machine computes which kind.
 *
 * - `avg`: flow updating (flow.ts) by default — loss-robust and self-correcting, no epochs —
 *   or push-sum (push-sum.ts) with `protocol: 'push-sum'`;
 * - `sum`, `count`: push-sum with epochs (one origin per epoch holds the weight);
 * - `min`, `max`: gossiped extremes with epochs (extreme.ts).
 *
 * Every machine is an `App` (src/proto/app.ts) plus `set(value, now)` (the node's input) and
 * `estimate()`; it emits an `estimate` event after each of its rounds. The wire codec is
 * `src/wire/aggregate.ts`.
 */
import type { App, AppIo } from '../app.js';
import type { Rng } from '../types.js';
import { Extreme } from './extreme.js';
import { FlowUpdating } from './flow.js';
import { PushSum } from './push-sum.js';
import type { AggEvent, AggMsg, AggregateConfig, AggregateKind, AggregateProtocol, AggTimer } from './types.js';

export * from './types.js';
export { PushSum } from './push-sum.js';
export { FlowUpdating } from './flow.js';
export { Extreme } from './extreme.js';

/** An aggregate machine as hosts drive it. */
export interface AggregateMachine<P> extends App<P, AggMsg<P>, AggTimer> {
  /** Set this node's input (the caller validated it with `checkValue`). */
  set(value: number, now: number): void;
  /** The cluster's member list, when the host knows it; `allRun`: every member runs this
   *  aggregate (push-sum and extremes then pick uniform targets from it; otherwise they probe
   *  it for runners: peers.ts). Flow updating ignores it. Shared, read only. */
  setMembers(members: readonly P[], allRun?: boolean): void;
  /** The value this node reports now (null: none yet). */
  estimate(): number | null;
}

/** The protocol a kind uses (`avg` may choose). */
export function protocolOf(kind: AggregateKind, protocol?: AggregateProtocol): AggregateProtocol | 'extreme' {
  if (kind === 'min' || kind === 'max') return 'extreme';
  if (kind === 'avg') return protocol ?? 'flow';
  return 'push-sum';
}

/** Build the machine computing `kind`. */
export function createAggregate<P>(
  self: P,
  kind: AggregateKind,
  config: AggregateConfig,
  rng: Rng,
  io: AppIo<P, AggMsg<P>, AggTimer, AggEvent>,
  protocol?: AggregateProtocol,
): AggregateMachine<P> {
  const p = protocolOf(kind, protocol);
  if (p === 'extreme') return new Extreme<P>(self, kind as 'min' | 'max', config, rng, io);
  if (p === 'flow') {
    if (kind !== 'avg') throw new Error(`aggregate: flow updating computes avg only, not ${kind}`);
    return new FlowUpdating<P>(self, config, rng, io);
  }
  return new PushSum<P>(self, kind as 'avg' | 'sum' | 'count', config, rng, io);
}
