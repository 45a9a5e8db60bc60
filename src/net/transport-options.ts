/**
 * The options of one `Transport` (transport.ts), split out of it to keep that file short.
 * `RumorNode` (rumor-node.ts) builds them from `NodeOptions` and the timing profile
 * (profiles.ts); transport.ts re-exports the type, so importers are unchanged.
 */
import type { NodeConfig } from '../proto/node.js';
import type { MsgId, NodeEvent, Rng, Verdict } from '../proto/types.js';
import type { WireLimits } from '../wire/index.js';
import type { Keyring } from '../wire/crypto.js';
import type { DefenceOptions } from './guard.js';
import type { NetTimings } from './profiles.js';
import type { Logger } from './util.js';

/** Everything a `Transport` needs; `RumorNode` builds it from `NodeOptions` and the profile. */
export interface TransportOptions {
  address: string;
  id: string;
  cluster: string;
  config: NodeConfig;
  timings: NetTimings;
  limits: WireLimits;
  maxQueueBytes: number;
  shedQueueBytes: number;
  maxConnections: number;
  logger: Logger;
  protoRng: Rng;
  /** Cluster keyring (empty: encryption off); see src/wire/crypto.ts. */
  keyring: Keyring;
  onDeliver(id: MsgId, payload: Uint8Array, round: number, from: string | null): void;
  onEvent(e: NodeEvent<string>): void;
  /** A `direct` frame from a connected peer, or an application datagram (`datagram` true:
   *  `from` is the id the datagram names, authenticated by the cluster key when there is one). */
  onDirect(from: string, channel: string, data: Uint8Array, datagram?: boolean): void;
  /** Local address outgoing connections leave from (the node's bind address; undefined for a
   *  wildcard bind: the kernel picks). */
  localAddress?: string;
  /** A dial to `peer` was refused or a connection to it was reset (evidence for applications). */
  onUnreachable?(peer: string): void;
  /** Validate-before-forward hook (see `Io.validate`); reject counts against the sender. */
  validate?(id: MsgId, payload: Uint8Array, from: string): Verdict;
  /** Scoring, rate limits and alarms (guard.ts). */
  defences?: DefenceOptions;
}
