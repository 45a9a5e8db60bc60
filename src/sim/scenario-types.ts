/**
 * The typed form of a simulation scenario (after parsing and validation by scenario-schema.ts).
 * A scenario describes nodes, protocol, network model, and a timeline of events.
 * Times are virtual milliseconds from the start of the run.
 */
import type { NodeConfigInput } from '../proto/node.js';

export type LatencyModel =
  | { kind: 'constant'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  /** Log-normal with the given median and sigma (of the underlying normal). */
  | { kind: 'lognormal'; medianMs: number; sigma: number };

export interface NetworkConfig {
  latency: LatencyModel;
  /** Probability that any one message is lost (0..1). Links are TCP-like, so loss models a
   *  lossy path whose retransmissions exceeded the message's usefulness. */
  loss: number;
  /** How the other end of a link learns that a peer crashed: `rst` after one one-way latency
   *  (a crashed process: the kernel resets the connection), `timeout` after `ms` (a silent host). */
  failureDetection: { kind: 'rst' } | { kind: 'timeout'; ms: number };
  /** Time to give up connecting to an unreachable (partitioned / silent) host. */
  connectTimeoutMs: number;
}

export type TimelineEvent =
  /** Every node joins, one every `intervalMs`, through a random node that joined before. */
  | { at: number; type: 'join-all'; intervalMs: number }
  /** Crash `percent` % of the live nodes at once, chosen at random. */
  | { at: number; type: 'fail'; percent: number }
  /** Crash the given nodes. */
  | { at: number; type: 'crash'; nodes: number[] }
  /** Split live nodes into `groups` random groups; links across groups fail, messages are dropped. */
  | { at: number; type: 'partition'; groups: number }
  | { at: number; type: 'heal' }
  /** `count` broadcasts, one every `intervalMs`, each from a random live node (or node `from`). */
  | { at: number; type: 'broadcast'; count: number; intervalMs: number; from?: number }
  /** Churn for `durationMs`: crash and (re)join nodes at the given rates per second. */
  | { at: number; type: 'churn'; durationMs: number; joinPerSec: number; leavePerSec: number }
  /** Make `percent` % of live nodes slow: each message they process is delayed by `delayMs`. */
  | { at: number; type: 'slow'; percent: number; delayMs: number }
  /** Change the message loss rate from now on. */
  | { at: number; type: 'loss'; rate: number }
  /** Record overlay health (degree histogram, clustering, path length, components). */
  | { at: number; type: 'snapshot'; label?: string };

export interface Scenario {
  name: string;
  nodes: number;
  seed: number;
  protocol: NodeConfigInput;
  network: NetworkConfig;
  timeline: TimelineEvent[];
  /** Virtual time at which the run stops (ms). Default: last event + 10 s. */
  endMs?: number;
}
