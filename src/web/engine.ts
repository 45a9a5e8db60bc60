/**
 * The slice of `src/sim`'s `Simulation` the web app drives, as an interface, plus the
 * factory that builds one. Keeping the app's logic (spread.ts, converge.ts, overlay.ts)
 * against this interface lets it run unchanged in the Web Worker, in Node tests and in the
 * benchmark.
 */
import { Simulation, type SimObserver, type SimOptions } from '../sim/simulation.js';

export type { SimObserver };
/** Options of a simulation: the simulator's own. */
export type EngineOptions = SimOptions;

/** What the app needs from a simulation. */
export interface Engine {
  readonly now: number;
  observer?: SimObserver;
  joinAll(intervalMs?: number): void;
  join(node: number, contacts: number[]): void;
  runFor(ms: number): void;
  runUntil(t: number): void;
  crash(nodes: number[]): void;
  failPercent(p: number): number[];
  setLoss(r: number): void;
  broadcast(from?: number): string;
  isAlive(n: number): boolean;
  liveNodes(): number[];
  cutLink(a: number, b: number): void;
  node(n: number): { activeView(): readonly number[] };
}

/** Build a simulation of `src/sim` (the real protocol code). */
export function createEngine(o: EngineOptions): Engine {
  return new Simulation(o);
}
