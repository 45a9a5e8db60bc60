/**
 * The simulator's option and hook types (`Simulation`, simulation.ts): what a run is built
 * from, the hooks an experiment (`SimGuard`) or a view (`SimObserver`) plugs in, and the
 * traffic figures it returns.
 */
import type { NodeConfigInput } from '../proto/node.js';
import type { Message, MsgId, Verdict } from '../proto/types.js';
import type { AnyAppSpec } from './app-host.js';
import type { NetworkConfig } from './scenario-types.js';

export interface SimOptions {
  nodes: number;
  seed: number;
  protocol?: NodeConfigInput;
  network?: Partial<NetworkConfig>;
  /** Peer source of the fanout baseline: the membership view (default) or a uniform sample
   *  of all nodes (the talk's / epidemic-analysis model). */
  fanoutPeers?: 'membership' | 'full';
  /** Payload size of `broadcast()` messages in bytes. Default 64. */
  payloadBytes?: number;
  /** Applications hosted on every node (app-host.ts). Default: none. */
  apps?: readonly AnyAppSpec[];
  /** Defences and attackers of an experiment (exp-corruption.ts). Default: none (then the
   *  simulator takes no extra path and its output is bit-identical to one without it). */
  guard?: SimGuard;
}

/** An experiment's hooks on message arrival and validation (exp-corruption.ts). */
export interface SimGuard {
  /** A message from `from` reaches live node `to`: return it (or a replacement, e.g. a copy
   *  corrupted on the wire) to process it, or null to drop it (a bad frame, a quarantined
   *  peer, a Byzantine sender's dropped forward). */
  arrive(from: number, to: number, msg: Message<number>, now: number): Message<number> | null;
  /** Plumtree's validate-before-forward hook of node `node`; absent: no validation. */
  validate?(node: number, id: MsgId, payload: Uint8Array, from: number): Verdict;
}

/** Hooks for visualisation (web UI). Called synchronously; must not mutate the simulation. */
export interface SimObserver {
  onSend?(from: number, to: number, msg: Message<number>, t: number): void;
  onDeliver?(node: number, id: MsgId, round: number, from: number | null, t: number): void;
  onLinkDown?(a: number, b: number, t: number): void;
}

/** Message counts and bytes by type, taken at the send boundary. */
export type TrafficByType = Record<string, { messages: number; bytes: number }>;
