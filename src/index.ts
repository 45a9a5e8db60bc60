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
export { Keyring, generateKey, keyFingerprint, type EncryptMode, type KeyringResult } from './wire/crypto.js';
