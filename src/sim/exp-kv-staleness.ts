/**
 * `rumor sim kv-staleness`: how long a key-value write takes to reach every node, and what
 * it costs, for rumor's state application (`src/proto/state`: each write pushed at once as a
 * flood over the overlay's neighbours, anti-entropy every 5 s with one peer as repair) against the fixed-interval
 * anti-entropy baseline of chitchat and Cassandra (the *same machine* in the configuration
 * `BASELINE_STATE_CONFIG`: no push, a Scuttlebutt exchange every 1 s with 3 peers).
 *
 * Set-up: `nodes` nodes (default 10,000) build a HyParView + Plumtree overlay (joins 1 ms
 * apart, then 20 s to settle); every node runs the state application. `writers` of them
 * (default 100, spread evenly over the ids) each update one key every `writeIntervalMs`
 * (10 s; staggered) for `writeMs` (30 s): 10 writes per second across the cluster. Both
 * protocols pick anti-entropy peers uniformly from all nodes (the full membership chitchat
 * and Cassandra have).
 *
 * Why writers and not every node: every node holds every owner's keys, so with every node a
 * writer a 10^4-node run holds 10^8 entries (each a JS object in a map) and every baseline
 * digest lists 10^4 owners (3·10^4 digests per simulated second): neither fits the time nor
 * the memory of a shared machine. With 100 writers a node holds 100 owners; the cost per
 * write measured is the same mechanism, and the digest cost of the baseline is *lower* than
 * with 10^4 owners (so the comparison favours the baseline on bytes).
 *
 * Figures: staleness of a write = time from the write until every other live node holds that
 * version or a newer one of the key (p50 / p99 / p100 over all writes; a write not everywhere
 * by the end of the drain — at most `drainMs` = 60 s after the write window, stopped as soon
 * as every write is everywhere — counts as the drain's end
 * and is reported in `unconverged`). Bytes per node per second = every byte of the
 * application (its point-to-point messages — the pushes among them — and the Plumtree GOSSIP /
 * IHAVE / GRAFT / PRUNE of any broadcast it makes (none by default), all at the send boundary, sized by the wire codec with
 * 16-byte node ids, the size of a `host:port` string) over the write window, divided by nodes
 * and seconds.
 */
import { StateMachine } from '../proto/state/kv.js';
import { BASELINE_STATE_CONFIG, DEFAULT_STATE_CONFIG, stateMessageSize, type StateConfig, type StateEvent, type StateMessage, type StateTimer } from '../proto/state/types.js';
import type { AppSpec } from './app-host.js';
import type { ExperimentOptions, ExperimentResult } from './experiments.js';
import { Simulation } from './simulation.js';

/** Encoded size of a node id in the simulator (a `host:port` string and its length byte). */
export const SIM_ID_BYTES = 16;
const JOIN_INTERVAL_MS = 1;
const SETTLE_MS = 20_000;
const WRITE_INTERVAL_MS = 10_000;
const WRITE_MS = 30_000;
const DRAIN_MS = 60_000;
const PLUMTREE_TYPES = ['gossip', 'ihave', 'graft', 'prune'];

/** One row of the experiment. */
export interface KvStalenessRow {
  protocol: 'rumor' | 'anti-entropy';
  staleness_p50_s: number;
  staleness_p99_s: number;
  staleness_p100_s: number;
  bytes_per_node_per_s: number;
  writes: number;
  unconverged: number;
}

interface Write {
  version: number;
  at: number;
  count: number;
  done: number;
}

/** Build the spec of the state application for a simulation of `nodes` nodes. */
export function stateSpec(
  config: StateConfig<number>,
  nodes: number,
  now: () => number,
  onEvent?: (node: number, e: StateEvent<number>, t: number) => void,
): AppSpec<StateMessage<number>, StateTimer, StateEvent<number>> & { machines: (StateMachine<number> | undefined)[] } {
  const machines: (StateMachine<number> | undefined)[] = new Array(nodes);
  const cfg: StateConfig<number> = { ...config, samplePeer: (r) => Math.floor(r * nodes) };
  return {
    name: 'state',
    machines,
    create: (self, rng, io) => (machines[self] = new StateMachine<number>(self, now() + 1, cfg, rng, io, () => SIM_ID_BYTES)),
    size: (msg) => stateMessageSize(msg, () => SIM_ID_BYTES),
    onEvent,
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** One protocol's row (`config` overrides the protocol's configuration: tuning runs). */
export function runOne(protocol: KvStalenessRow['protocol'], nodes: number, writerCount: number, seed: number, config?: StateConfig<number>): KvStalenessRow {
  const writerOf = new Int32Array(nodes).fill(-1);
  const writers: number[] = [];
  for (let i = 0; i < writerCount; i++) {
    const id = Math.floor((i * nodes) / writerCount);
    writerOf[id] = i;
    writers.push(id);
  }
  const writes: Write[][] = writers.map(() => []);
  const known = new Uint16Array(nodes * writerCount);
  const ref: { sim?: Simulation } = {};
  const onEvent = (node: number, e: StateEvent<number>, t: number): void => {
    if (e.type !== 'update' || e.local || e.value === null) return;
    const w = writerOf[e.node as number];
    if (w < 0) return;
    const slot = node * writerCount + w;
    const prev = known[slot];
    if (e.version <= prev) return;
    known[slot] = e.version;
    for (const wr of writes[w]) {
      if (wr.version <= prev || wr.version > e.version) continue;
      wr.count++;
      if (wr.count === nodes - 1) wr.done = t;
    }
  };
  const cfg = config ?? (protocol === 'rumor' ? DEFAULT_STATE_CONFIG : BASELINE_STATE_CONFIG);
  const spec = stateSpec(cfg, nodes, () => ref.sim!.now, onEvent);
  const sim = (ref.sim = new Simulation({ nodes, seed, apps: [spec] }));
  sim.joinAll(JOIN_INTERVAL_MS);
  sim.runFor(nodes * JOIN_INTERVAL_MS + SETTLE_MS);
  const t0 = sim.now;
  const value = new Uint8Array(16);
  for (let i = 0; i < writerCount; i++) {
    const id = writers[i];
    for (let t = Math.floor((i * WRITE_INTERVAL_MS) / writerCount); t < WRITE_MS; t += WRITE_INTERVAL_MS) {
      sim.at(t0 + t, () => {
        const m = spec.machines[id];
        const r = m?.set('load', value, sim.now);
        if (r?.ok) writes[i].push({ version: r.version, at: sim.now, count: 0, done: -1 });
      });
    }
  }
  const before = appBytes(sim);
  sim.runFor(WRITE_MS);
  const bytes = appBytes(sim) - before;
  const all = writes.flat();
  // Drain: until every write is everywhere, at most DRAIN_MS (checked once per second).
  for (let t = 0; t < DRAIN_MS && all.some((w) => w.done < 0); t += 1000) sim.runFor(1000);
  const end = sim.now;
  const staleness = all.map((w) => ((w.done >= 0 ? w.done : end) - w.at) / 1000).sort((a, b) => a - b);
  return {
    protocol,
    staleness_p50_s: round3(quantile(staleness, 0.5)),
    staleness_p99_s: round3(quantile(staleness, 0.99)),
    staleness_p100_s: round3(staleness.at(-1) ?? 0),
    bytes_per_node_per_s: Math.round(bytes / nodes / (WRITE_MS / 1000)),
    writes: all.length,
    unconverged: all.filter((w) => w.done < 0).length,
  };
}

function appBytes(sim: Simulation): number {
  const t = sim.trafficByType();
  let n = sim.apps!.trafficOf('state').bytes;
  for (const k of PLUMTREE_TYPES) n += t[k]?.bytes ?? 0;
  return n;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The experiment (registered in experiments.ts). */
export function kvStaleness(o: ExperimentOptions & { writers?: number }): ExperimentResult {
  const nodes = o.nodes ?? 10_000;
  if (!Number.isInteger(nodes) || nodes < 2) throw new Error(`nodes: expected an integer >= 2, got ${String(nodes)}`);
  const writerCount = Math.min(o.writers ?? 100, nodes);
  const rows: KvStalenessRow[] = [];
  rows.push(runOne('rumor', nodes, writerCount, o.seed));
  o.onProgress?.(0.5);
  rows.push(runOne('anti-entropy', nodes, writerCount, o.seed));
  o.onProgress?.(1);
  return {
    experiment: 'kv-staleness',
    seed: o.seed,
    nodes,
    rows,
    writers: writerCount,
    writeIntervalMs: WRITE_INTERVAL_MS,
    writeMs: WRITE_MS,
    drainMs: DRAIN_MS,
    settleMs: SETTLE_MS,
    joinIntervalMs: JOIN_INTERVAL_MS,
    rumor: `push every write to the overlay neighbours, forwarded once by each node it is news to; anti-entropy every ${DEFAULT_STATE_CONFIG.gossipIntervalMs} ms with ${DEFAULT_STATE_CONFIG.gossipFanout} peer`,
    baseline: `same machine, BASELINE_STATE_CONFIG: no push; anti-entropy every ${BASELINE_STATE_CONFIG.gossipIntervalMs} ms with ${BASELINE_STATE_CONFIG.gossipFanout} peers (chitchat, Cassandra)`,
    peers: 'anti-entropy peers drawn uniformly from all nodes (full membership)',
    bytes: `state messages (pushes included) + Plumtree gossip/ihave/graft/prune over the write window, node ids sized ${SIM_ID_BYTES} bytes`,
    network: 'defaults (uniform 5-25 ms, no loss)',
  };
}
