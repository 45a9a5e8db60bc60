/**
 * Messages between the page (main thread) and the simulation worker. Every request carries a
 * `seq`; the worker answers each request with exactly one reply of the same `seq` (a state, a
 * result, or an `error` with a one-line reason). Large arrays travel as transferable typed
 * arrays so a 10,000-node state costs one copy-free postMessage.
 */

/** Broadcast protocol choices of the spread view. */
export type SpreadProtocol = 'fanout' | 'flood' | 'plumtree';

export const SPREAD_PROTOCOLS: readonly SpreadProtocol[] = ['fanout', 'flood', 'plumtree'];

export const PROTOCOL_LABELS: Record<SpreadProtocol, string> = {
  fanout: 'Fanout gossip over full membership',
  flood: 'Flooding over HyParView',
  plumtree: 'Plumtree over HyParView',
};

export interface SpreadParams {
  protocol: SpreadProtocol;
  nodes: number;
  fanout: number;
  seed: number;
  /** Message loss probability 0..1. */
  loss: number;
}

export interface ConvergeParams {
  protocol: SpreadProtocol;
  /** Gossip interval, seconds (Serf input). */
  interval: number;
  fanout: number;
  nodes: number;
  lossPct: number;
  failedPct: number;
  /** Number of seeds to average over. */
  seeds: number;
}

export interface OverlayParams {
  nodes: number;
  seed: number;
}

export type Request =
  | { type: 'spread-init'; seq: number; params: SpreadParams }
  | { type: 'spread-start'; seq: number; origin: number }
  | { type: 'spread-step'; seq: number; rounds: number }
  | { type: 'spread-crash'; seq: number; nodes: number[] }
  | { type: 'spread-cut'; seq: number; a: number; b: number }
  | { type: 'spread-fail'; seq: number; percent: number }
  | { type: 'spread-loss'; seq: number; loss: number }
  | { type: 'converge-run'; seq: number; params: ConvergeParams }
  /** Stop the convergence run of request `target` at its next step (no reply of its own:
   *  the run answers `cancelled`). */
  | { type: 'converge-cancel'; seq: number; target: number }
  | { type: 'overlay-init'; seq: number; params: OverlayParams }
  | { type: 'overlay-fail'; seq: number; percent: number }
  | { type: 'overlay-crash'; seq: number; nodes: number[] }
  | { type: 'overlay-advance'; seq: number; ms: number }
  | { type: 'bench-plumtree'; seq: number; nodes: number; seed: number };

export interface SpreadStats {
  /** Rumors started on this cluster (1 for the first). */
  rumor: number;
  /** Hop count shown (0 = the origin only). */
  round: number;
  /** log_f(n) for the protocol's fanout f (fanout, or the active-view size over HyParView). */
  logfn: number;
  f: number;
  infected: number;
  alive: number;
  /** Payload messages (gossip) sent for the rumor so far. */
  payloadMsgs: number;
  /** Payload messages received by a node that already had the rumor. */
  duplicates: number;
  /** Relative message redundancy: payloadMsgs / (infected − 1) − 1. */
  rmr: number;
  /** Control messages (IHAVE, GRAFT, PRUNE) sent since the rumor started. */
  controlMsgs: number;
  /** True once no node learns the rumor any more (every live node has it, or spread stopped). */
  done: boolean;
  /** Virtual milliseconds since the rumor started. */
  elapsedMs: number;
}

export interface SpreadState {
  type: 'spread-state';
  seq: number;
  n: number;
  /** Per node: hop at which it got the rumor, −1 if not (yet); only hops ≤ stats.round shown. */
  hop: Int32Array;
  /** Per node: 1 alive, 0 crashed. */
  alive: Uint8Array;
  /** Pairs (from, to): the link that first carried the rumor to `to`. */
  edges: Int32Array;
  /** Pairs (a, b), a < b: current overlay links (HyParView active views), empty for fanout. */
  links: Int32Array;
  stats: SpreadStats;
}

export interface SeriesBand {
  /** Time axis, seconds. */
  t: number[];
  mean: number[];
  p5: number[];
  p95: number[];
}

export interface ConvergeResult {
  type: 'converge-result';
  seq: number;
  params: ConvergeParams;
  measured: SeriesBand;
  /** Mean time (s) to reach 99% and 100% of live nodes, null if some seed never did. */
  t99: number | null;
  t100: number | null;
  /** Mean over seeds of bytes sent + received per node during the spread. */
  bytesPerNode: number;
  /** Bytes per node per second over the spread (send + receive), mean over seeds. */
  bytesPerNodePerSec: number;
  wallMs: number;
}

export interface OverlayState {
  type: 'overlay-state';
  seq: number;
  n: number;
  alive: Uint8Array;
  /** Undirected active-view links (a, b) with a < b. */
  links: Int32Array;
  /** inDegree histogram: index = in-degree, value = number of live nodes. */
  inDegreeHist: number[];
  clustering: number;
  /** Live nodes whose active view is not full. */
  notFull: number;
  /** Connected components among live nodes. */
  components: number;
  timeMs: number;
}

export interface BenchResult {
  type: 'bench-result';
  seq: number;
  nodes: number;
  /** Wall time to build the overlay (join + settle), ms. */
  joinWallMs: number;
  /** Wall time from the broadcast until the last node delivered it, ms. */
  broadcastWallMs: number;
  delivered: number;
  alive: number;
  /** Virtual time from the broadcast to the last delivery, ms. */
  virtualMs: number;
}

export type Reply =
  | SpreadState
  | ConvergeResult
  | OverlayState
  | BenchResult
  /** `done` of `total` steps (convergence: seeds); `phase` and `fraction` (0..1) of the
   *  current one when the run reports within a seed. */
  | { type: 'progress'; seq: number; done: number; total: number; phase?: 'overlay' | 'spread'; fraction?: number }
  | { type: 'cancelled'; seq: number }
  | { type: 'error'; seq: number; reason: string };
