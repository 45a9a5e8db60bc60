/**
 * The simulator's host for applications (`src/proto/app.ts`): any `App` — membership,
 * key-value state, queries, aggregates, learning — runs on every simulated node, driven by
 * the same event queue, network model and overlay as HyParView and Plumtree.
 *
 * An application is given to the simulation as an `AppSpec` (`new Simulation({ apps: [spec]
 * })`): how to build one machine per node, the encoded size of its messages (its `src/wire`
 * codec's, frame included: bytes are counted at the boundary, the values themselves are
 * handed across as they are), and an optional hook that receives every event it emits (the
 * experiment's metrics). What the host provides, per the guarantees of `AppIo`:
 * - `send(to, msg)`: a datagram through the simulator's network model — dropped if the
 *   target is not alive (crashed, or never started), across a partition (checked at send and
 *   at delivery), or lost (`network.loss`); otherwise delivered after one latency draw (plus a
 *   slow node's delay) to the target's incarnation that was alive at send time. The sender is
 *   never told (no `handleUnreachable`: the simulated crashes are silent for applications).
 * - `broadcast(msg)`: carried by the node's broadcast machine (Plumtree by default) as a
 *   broadcast whose id is `<app name>:<origin>:<seq>` (the app channel) and whose payload is
 *   a buffer of the message's encoded size, so Plumtree's GOSSIP / IHAVE / GRAFT and their
 *   bytes are the real ones; the message value rides along in a side table keyed by the
 *   payload buffer (a `WeakMap`: it goes when Plumtree's cache drops the payload). Each
 *   other live node gets `handleBroadcast` once; the origin does not.
 * - `timer(delay, t)`: an event on the queue for this incarnation of the node (stale after a
 *   crash or restart).
 * - `neighborUp` / `neighborDown`: the node's overlay machine's active-view changes, with
 *   their reason, at the time of the input that caused them.
 * - `event(e)`: handed to the spec's `onEvent(node, e, now)` and counted by `e.type`.
 * - `peerReconnected(peer)`: handed at once to the node's overlay machine (HyParView JOINs
 *   through `peer` when it is not a neighbour and no JOIN is in flight; its messages go
 *   through the network model, nothing calls back into the application); counted in
 *   `reconnects` and, when a JOIN was sent, `rejoins`.
 *
 * Life cycle: a node's applications are built and `start`ed when the node starts (after its
 * overlay `join` is sent: no neighbour is up yet); a crash drops them silently (no `stop`,
 * nothing sent; their timers and messages in flight are stale); a restarted node gets fresh
 * machines. `Simulation.leave(node)` (a graceful leave) calls `stop` and then crashes the node.
 *
 * Cost model: one `SimAppIo` object per node and application (the sink, which knows its
 * node and application index), no closure per node; events of an application carry the
 * application's index in the high bits of the event kind. With no application hosted the
 * simulator takes none of these paths, draws nothing more from its generators and schedules
 * nothing more: its outputs are bit-identical to a simulator without this file.
 */
import type { App, AppIo } from '../proto/app.js';
import type { Rng } from '../proto/types.js';
import type { SimEngine } from './sim-engine.js';

/** How the simulator hosts one application. */
export interface AppSpec<M, T, E> {
  /** Application name: the broadcast channel prefix and the key of its traffic figures. */
  readonly name: string;
  /** Build the machine of node `self` (at its start or restart). */
  create(self: number, rng: Rng, io: AppIo<number, M, T, E>): App<number, M, T>;
  /** Encoded size of `msg` in bytes, frame included (the application's wire codec). */
  size(msg: M): number;
  /** Every event the application emits, with its node and the virtual time. */
  onEvent?(node: number, e: E, now: number): void;
  /** Node `node` crashed (its machine is dropped without `stop`): release what `create` set
   *  aside for it outside the machine (a shared store's view, say). */
  dispose?(node: number): void;
}

/** An `AppSpec` of any application (the host treats messages, timers, events opaquely). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAppSpec = AppSpec<any, any, any>;

/** Traffic of one application, counted at the send boundary (before loss). */
export interface AppTraffic {
  /** Point-to-point messages sent and their encoded bytes. */
  messages: number;
  bytes: number;
  /** Broadcasts originated and the encoded bytes of their messages (Plumtree's traffic to
   *  carry them is in `Simulation.trafficByType()`). */
  broadcasts: number;
  broadcastBytes: number;
  /** Events emitted, by their `type` tag (events without one under `"?"`). */
  events: Record<string, number>;
}

/** The sink of one application on one node. */
export class SimAppIo implements AppIo<number, unknown, unknown, unknown> {
  constructor(
    private readonly host: AppHost,
    readonly node: number,
    readonly index: number,
  ) {}
  send(to: number, msg: unknown): void {
    this.host.sim._appSend(this.node, this.index, to, msg);
  }
  /** Every point-to-point message is already a datagram through the network model. */
  sendDatagram(to: number, msg: unknown): void {
    this.host.sim._appSend(this.node, this.index, to, msg);
  }
  broadcast(msg: unknown): void {
    this.host.broadcast(this.node, this.index, msg);
  }
  timer(delayMs: number, t: unknown): void {
    this.host.sim._appTimer(this.node, this.index, delayMs, t);
  }
  event(e: unknown): void {
    this.host.event(this.node, this.index, e);
  }
  peerReconnected(peer: number): void {
    this.host.reconnected(this.node, peer);
  }
}

/** One application's value in flight in a broadcast payload (see the module comment). */
interface Carried {
  index: number;
  msg: unknown;
}

/** The applications of a simulation: their specs, traffic counters and broadcast channel. */
export class AppHost {
  readonly specs: readonly AnyAppSpec[];
  private readonly traffic: AppTraffic[];
  /** Per application, bytes sent by each node id (point to point; restarts carry on). */
  private readonly nodeBytes: Float64Array[];
  private readonly carried = new WeakMap<Uint8Array, Carried>();
  private seq = 0;
  /** `peerReconnected` calls so far, and the overlay JOINs they started (a peer already a
   *  neighbour, or a JOIN in flight, starts none). */
  reconnects = 0;
  rejoins = 0;

  constructor(
    readonly sim: SimEngine,
    specs: readonly AnyAppSpec[],
  ) {
    if (specs.length > 7) throw new Error(`apps: at most 7 applications per simulation, got ${specs.length}`);
    const names = new Set<string>();
    for (const s of specs) {
      if (typeof s.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(s.name)) throw new Error(`apps: bad application name ${JSON.stringify(s.name)}`);
      if (names.has(s.name)) throw new Error(`apps: duplicate application name ${JSON.stringify(s.name)}`);
      names.add(s.name);
    }
    this.specs = specs;
    this.traffic = specs.map(() => ({ messages: 0, bytes: 0, broadcasts: 0, broadcastBytes: 0, events: {} }));
    this.nodeBytes = specs.map(() => new Float64Array(sim.n));
  }

  /** Build (not start) the applications of `node`. */
  create(node: number, rng: Rng): App<number, unknown, unknown>[] {
    return this.specs.map((s, i) => s.create(node, rng, new SimAppIo(this, node, i)));
  }

  /** @internal The node's applications were dropped (crash). */
  dispose(node: number): void {
    for (const s of this.specs) s.dispose?.(node);
  }

  /** @internal Count a point-to-point message of application `index` from `node`; returns its size. */
  countSend(node: number, index: number, msg: unknown): number {
    const sz = this.specs[index].size(msg);
    const t = this.traffic[index];
    t.messages++;
    t.bytes += sz;
    this.nodeBytes[index][node] += sz;
    return sz;
  }

  /** @internal Originate an application broadcast at `node`. */
  broadcast(node: number, index: number, msg: unknown): void {
    const sz = this.specs[index].size(msg);
    const t = this.traffic[index];
    t.broadcasts++;
    t.broadcastBytes += sz;
    const payload = new Uint8Array(sz);
    this.carried.set(payload, { index, msg });
    this.sim._appBroadcast(node, `${this.specs[index].name}:${node}:${this.seq++}`, payload);
  }

  /** @internal The application value carried by a delivered payload, if it is one. */
  carriedBy(payload: Uint8Array): Carried | undefined {
    return this.carried.get(payload);
  }

  /** @internal */
  event(node: number, index: number, e: unknown): void {
    const type = typeof e === 'object' && e !== null && typeof (e as { type?: unknown }).type === 'string' ? (e as { type: string }).type : '?';
    const ev = this.traffic[index].events;
    ev[type] = (ev[type] ?? 0) + 1;
    this.specs[index].onEvent?.(node, e, this.sim.now);
  }

  /** @internal An application of `node` says `peer` answers again: the overlay may JOIN through it. */
  reconnected(node: number, peer: number): void {
    this.reconnects++;
    if (this.sim._appReconnect(node, peer)) this.rejoins++;
  }

  /** Traffic of application `name` so far. */
  trafficOf(name: string): AppTraffic {
    const i = this.specs.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`app: unknown application ${JSON.stringify(name)}`);
    const t = this.traffic[i];
    return { ...t, events: { ...t.events } };
  }

  /** Point-to-point bytes sent so far by `node` for application `name`. */
  bytesSentBy(name: string, node: number): number {
    const i = this.specs.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`app: unknown application ${JSON.stringify(name)}`);
    return this.nodeBytes[i][node];
  }
}
