/**
 * The two roles a protocol machine can play inside a node, as interfaces.
 *
 * - A *membership* machine (HyParView, Cyclon) keeps the node's partial view of the
 *   overlay and reports neighbours coming and going.
 * - A *broadcast* machine (Plumtree, flooding, fanout gossip) spreads application payloads
 *   over the neighbours the membership machine provides.
 *
 * `ProtoNode` (node.ts) composes one of each; drivers talk to `ProtoNode`, except the simulator,
 * whose `SimNode` (src/sim/sim-node.ts) builds the same pair with `createMachines` and routes
 * to them itself (fewer objects per simulated node).
 */
import type {
  BroadcastMessage,
  BroadcastTimer,
  CyclonMessage,
  CyclonTimer,
  DownReason,
  HyParViewMessage,
  HyParViewTimer,
  LinkIo,
  MsgId,
  Verdict,
} from './types.js';

/** Outputs of a membership machine: link operations plus neighbour changes. */
export interface MembershipIo<P> extends LinkIo<P> {
  /** `peer` entered the active view (its link is usable for dissemination). */
  neighborUp(peer: P): void;
  /** `peer` left the active view. */
  neighborDown(peer: P, reason: DownReason): void;
}

export interface MembershipMachine<P> {
  /** Join the overlay through the first reachable of `contacts` (retried with backoff). */
  join(contacts: readonly P[], now: number): void;
  handleMessage(from: P, msg: HyParViewMessage<P> | CyclonMessage<P>, now: number): void;
  handleTimer(t: HyParViewTimer<P> | CyclonTimer, now: number): void;
  /** The link to `peer` failed, or could not be opened. */
  handleLinkDown(peer: P, now: number): void;
  /** Leave gracefully: DISCONNECT every neighbour; the machine is inert afterwards. */
  leave(now: number): void;
  /** Current neighbours used for dissemination (HyParView: active view). */
  activeView(): readonly P[];
  /** Reserve peers (HyParView: passive view; Cyclon: empty). */
  passiveView(): readonly P[];
  /** An application learned that `peer`, which it held failed, answers again (a healed
   *  partition): join the overlay through it if it is not a neighbour (HyParView: a JOIN when
   *  none is in flight). True when something was started. Absent: the machine ignores it. */
  reconnect?(peer: P, now: number): boolean;
}

/** Outputs of a broadcast machine. */
export interface BroadcastIo<P> {
  send(to: P, msg: BroadcastMessage): void;
  timer(delayMs: number, t: BroadcastTimer): void;
  deliver(id: MsgId, payload: Uint8Array, round: number, from: P | null): void;
  /** Optional validate-before-forward hook (Plumtree only): called once per new message id
   *  received from a peer, before it is delivered or forwarded. Synchronous, so the machine
   *  stays sans-IO: the verdict is an input value. Absent = every message is accepted. */
  validate?(id: MsgId, payload: Uint8Array, from: P): Verdict;
}

export interface BroadcastMachine<P> {
  /** Originate a broadcast (delivers locally too). Returns false if `id` was already seen. */
  broadcast(id: MsgId, payload: Uint8Array, now: number): boolean;
  handleMessage(from: P, msg: BroadcastMessage, now: number): void;
  handleTimer(t: BroadcastTimer, now: number): void;
  neighborUp(peer: P, now: number): void;
  neighborDown(peer: P, now: number): void;
}
