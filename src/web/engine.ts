/**
 * The slice of `src/sim`'s `Simulation` the web app drives, as an interface, plus the
 * factory that builds one. Keeping the app's logic (spread.ts, converge.ts, overlay.ts)
 * against this interface lets it run unchanged in the Web Worker, in Node tests and in the
 * benchmark.
 */
import { Simulation } from '../sim/simulation.js';
import type { NodeConfigInput } from '../proto/node.js';
import type { Message } from '../proto/types.js';
import type { NetworkConfig } from '../sim/scenario-types.js';

export interface SimObserver {
  onSend?(from: number, to: number, msg: Message<number>, t: number): void;
  onDeliver?(node: number, id: string, round: number, from: number | null, t: number): void;
  onLinkDown?(a: number, b: number, t: number): void;
}

export interface EngineOptions {
  nodes: number;
  seed: number;
  protocol?: NodeConfigInput;
  network?: Partial<NetworkConfig>;
  fanoutPeers?: 'membership' | 'full';
  /** Payload size of broadcasts in bytes (sim default 64). */
  payloadBytes?: number;
}

/** What the app needs from a simulation. */
export interface Engine {
  readonly now: number;
  observer?: SimObserver;
  joinAll(intervalMs?: number): void;
  join(node: number, contacts: number[]): void;
  runFor(ms: number): void;
  crash(nodes: number[]): void;
  failPercent(p: number): number[];
  setLoss(r: number): void;
  broadcast(from?: number): string;
  isAlive(n: number): boolean;
  liveNodes(): number[];
  node(n: number): { activeView(): readonly number[]; handleLinkDown(peer: number, now: number): void };
}

/** Build a simulation of `src/sim` (the real protocol code). */
export function createEngine(o: EngineOptions): Engine {
  return new Simulation(o) as unknown as Engine;
}
