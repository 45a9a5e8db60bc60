/**
 * How the broadcast experiments build their overlay (experiments.ts, exp-corruption.ts): every
 * node joins, one per `JOIN_INTERVAL_MS`, through a node that has joined; the overlay settles for
 * `STABILISE_MS`; `WARMUP_BROADCASTS` broadcasts, one per `BROADCAST_INTERVAL_MS`, shape
 * Plumtree's tree before anything is measured. One place, so the experiments stay comparable.
 */
import type { Simulation } from './simulation.js';

export const JOIN_INTERVAL_MS = 1;
export const STABILISE_MS = 60_000;
export const WARMUP_BROADCASTS = 3;
export const BROADCAST_INTERVAL_MS = 1000;

/** `n` (default `dflt`) as a node count of at least `min`, or a one-line error. */
export function checkNodes(n: number | undefined, dflt: number, min = 2): number {
  const v = n ?? dflt;
  if (!Number.isInteger(v) || v < min) throw new Error(`nodes: expected an integer >= ${min}, got ${String(v)}`);
  return v;
}

/** Join every node of `sim` (`nodes` of them), let the overlay settle, warm the broadcast up. */
export function warmOverlay(sim: Simulation, nodes: number): Simulation {
  sim.joinAll(JOIN_INTERVAL_MS);
  sim.runFor(nodes * JOIN_INTERVAL_MS + STABILISE_MS);
  for (let i = 0; i < WARMUP_BROADCASTS; i++) {
    sim.broadcast();
    sim.runFor(BROADCAST_INTERVAL_MS);
  }
  return sim;
}
