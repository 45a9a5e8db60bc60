/**
 * Applications over a node: the one interface that membership, key-value state, queries,
 * aggregates and learning implement, and that every driver hosts (the simulator with
 * virtual time at 10^4–10^6 nodes, the TCP runtime under the agent and the library, the
 * browser worker). An application that only one driver can run is a defect: its behaviour
 * at scale would be unmeasured.
 *
 * An application is a sans-IO machine, like HyParView and Plumtree (types.ts): it is built
 * with its node's id, its configuration, an `Rng` and an `AppIo` sink, and then only
 * *driven* — every input carries the driver's `now` (ms), and every output goes through the
 * sink. It never reads a clock, draws from `Math.random`, sets a timer or touches a socket.
 *
 * What the node offers an application (and nothing else):
 * - neighbour changes of the overlay (HyParView's active view): `neighborUp` / `neighborDown`;
 * - point-to-point messages to any peer, neighbour or not (`io.send` → `handleMessage` at the
 *   peer): unreliable and unordered — a message may be lost (loss, partition, crashed peer)
 *   and the sender is not told, except that a driver that learns a peer cannot be reached at
 *   all (connection refused or reset) may say so with `handleUnreachable`;
 * - broadcasts to every node running the same application (`io.broadcast` →
 *   `handleBroadcast` at every other live node, at most once per node; never at the sender),
 *   carried by the node's broadcast machine (Plumtree by default);
 * - timers (`io.timer` → `handleTimer`), never cancelled: keep the deadline you care about and
 *   ignore stale firings. A timer may fire late (a stalled process, a loaded host): an
 *   application that cares (failure detectors) compares `now` with the time it asked for;
 * - events for the user (`io.event`): library events, agent handlers and metrics, simulator
 *   measurements — all see the same values.
 * - a hint for the overlay (`io.peerReconnected`): a member held failed answers again, so the
 *   overlay (which a long partition left in two pieces) joins through it.
 *
 * Messages are typed values (`M`, a discriminated union with a `type` tag). Over TCP each
 * application's messages are encoded by its codec in `src/wire` (binary, versioned,
 * checksummed, bounded; never JSON); the simulator hands the values across as they are and
 * counts their encoded size at the boundary. Applications on one node are independent
 * machines; where one needs another's knowledge (state and queries need the member list),
 * the host wires one's events into the other's typed inputs.
 *
 * Peer ids are opaque and generic (`P`), as everywhere in `src/proto`: small integers in the
 * simulator, `"host:port"` strings over TCP. Compare them with `===` only.
 */
import type { DownReason } from './types.js';

/** What an application asks of its node (see the module comment for the guarantees). */
export interface AppIo<P, M, T, E> {
  /** Send `msg` to `to`, point to point, neighbour or not. Unreliable, unordered. */
  send(to: P, msg: M): void;
  /** Like `send`, for small messages sent often to many peers (failure-detector probes): the
   *  driver may carry it as one datagram (the TCP runtime: UDP, no connection to set up, and
   *  no `handleUnreachable` evidence either). Drivers without datagrams leave it out, and
   *  callers then use `send`; the simulator carries it as an ordinary message. */
  sendDatagram?(to: P, msg: M): void;
  /** Spread `msg` to every other live node running this application (at most once each). */
  broadcast(msg: M): void;
  /** Fire `t` after `delayMs` milliseconds (≥ 0). */
  timer(delayMs: number, t: T): void;
  /** Report `e` to the user of this node. */
  event(e: E): void;
  /** `peer`, which this application held failed, answered a message of its own (the
   *  membership's reconnect loop across a healed partition): the node's overlay may join
   *  through it (HyParView: a JOIN when `peer` is not a neighbour and no JOIN is in flight),
   *  so that the overlay, not only the application's list, is whole again. Only the node
   *  whose own message was answered calls it, not every node that hears of the member. Not
   *  called back synchronously into the application. Drivers without an overlay leave it out. */
  peerReconnected?(peer: P): void;
}

/** An application machine, as every driver hosts it. */
export interface App<P, M, T> {
  /** Begin: arm timers, announce. Neighbours already up were reported before this call. */
  start(now: number): void;
  /** `peer` entered the node's active view. */
  neighborUp(peer: P, now: number): void;
  /** `peer` left the node's active view (`link-failed`: its link broke — evidence, not proof). */
  neighborDown(peer: P, reason: DownReason, now: number): void;
  /** A point-to-point message from `from`; `datagram` true when it came through
   *  `sendDatagram` as a datagram (an answer may go back the same way). */
  handleMessage(from: P, msg: M, now: number, datagram?: boolean): void;
  /** A broadcast of this application from another node. */
  handleBroadcast(msg: M, now: number): void;
  /** A timer this machine asked for fired. */
  handleTimer(t: T, now: number): void;
  /** The driver could not reach `peer` at all (connection refused or reset) for a message of
   *  this application. Optional evidence; drivers that cannot tell never call it. */
  handleUnreachable?(peer: P, now: number): void;
  /** Stop gracefully (a leave): the machine may send its last messages, then is inert. */
  stop(now: number): void;
}
