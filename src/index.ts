/**
 * rumor — gossip for Node.js: HyParView membership and Plumtree broadcast over TCP.
 *
 * ```ts
 * import { createNode } from 'rumor';
 * const node = createNode({ port: 7000, name: 'alice' });
 * await node.start();
 * await node.join(['127.0.0.1:7001']);
 * node.on('message', (d) => console.log(d.origin, new TextDecoder().decode(d.data)));
 * node.broadcast('hello');
 * ```
 *
 * See docs/library.md for the full API, profiles, limits and errors.
 */
export {
  createNode,
  RumorNode,
  PayloadTooLargeError,
  type NodeOptions,
  type RumorNodeEvents,
} from './net/rumor-node.js';
export type { Delivery, DeliveryStream } from './net/subscription.js';
export type { Validator, ValidateInput } from './net/validation.js';
export type { DefenceOptions, DefenceStats } from './net/guard.js';
export type { Verdict } from './proto/types.js';
export type { NodeStats, Counts } from './net/stats.js';
export { PROFILES, type ProfileName, type Profile, type NetTimings } from './net/profiles.js';
export type { Logger } from './net/util.js';
export type { DownReason } from './proto/types.js';
export type { NodeConfigInput } from './proto/node.js';
export { DEFAULT_WIRE_LIMITS, PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, type WireLimits } from './wire/index.js';
export { NodeState, StateLimitError, WATCH_BUFFER, type StateEntry, type StateChange, type StateWatch } from './net/state.js';
export { NodeQueries, QueryError, DEFAULT_QUERY_TIMEOUT_MS, type QueryOptions, type QueryRun, type QueryUpdate, type QueryHandler, type QueryAnswer, type IncomingQuery, type QuerySummary } from './net/query.js';
export { DEFAULT_QUERY_CONFIG, PING_QUERY, type QueryConfig } from './proto/query/types.js';
export { DEFAULT_STATE_LIMITS, DEFAULT_STATE_CONFIG, type StateLimits, type StateConfig } from './proto/state/types.js';
export { Keyring, generateKey, keyFingerprint, type EncryptMode, type KeyringResult } from './wire/crypto.js';

// Aggregates (docs/library.md "Aggregates"): `node.aggregate(name, { kind })`.
import { RumorNode as Node_ } from './net/rumor-node.js';
import { Aggregates, aggregateHandle, type AggregateHandle } from './net/aggregates.js';
import type { AggregateKind } from './proto/aggregate/types.js';
export type { AggregateHandle, AggregateEstimate } from './net/aggregates.js';
export { AGGREGATE_KINDS, MAX_AGGREGATE_NAME, type AggregateKind } from './proto/aggregate/types.js';

declare module './net/rumor-node.js' {
  interface RumorNode {
    /** Join aggregate `name` (declared with `kind`, default `avg`): set this node's input with
     *  `set(value)`, read the cluster-wide estimate with `estimate()`, `on('estimate')` or
     *  `for await`. Throws a `TypeError` on a bad name, kind or value. */
    aggregate(name: string, opts?: { kind?: AggregateKind }): AggregateHandle;
  }
}

const aggregatesOf = new WeakMap<Node_, Aggregates>();
Node_.prototype.aggregate = function (this: Node_, name: string, opts: { kind?: AggregateKind } = {}): AggregateHandle {
  let a = aggregatesOf.get(this);
  if (a === undefined) {
    a = new Aggregates(this, null);
    aggregatesOf.set(this, a);
  }
  return aggregateHandle(a, name, opts.kind ?? 'avg');
};

export { GossipLearner, DEFAULT_LEARN_CONFIG, trainCentral, type LearnConfig, type LearnMsg, type LearnEvent, type Shard } from './proto/learn/gossip.js';
export { learnCodec } from './wire/learn.js';
export { featureMeans, centre } from './proto/learn/model.js';
