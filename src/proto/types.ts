/**
 * Shared vocabulary of the sans-IO protocol core.
 *
 * Every state machine in `src/proto` is a plain object that is *driven*: the driver (the
 * simulator in `src/sim`, the TCP runtime in `src/net`, the browser worker in `src/web`) feeds
 * it inputs — a message from a peer, a timer that fired, a link that went down, a command from
 * the application — together with the current time `now` (milliseconds, driver's clock), and
 * the machine answers by calling methods on its output sink (`Io`). Nothing here reads a
 * clock, draws from `Math.random`, sets a timer or touches a socket: time and randomness are
 * inputs, which is what makes every simulation reproducible bit for bit.
 *
 * Peer identifiers are opaque and generic (`P`): the simulator uses small integers so a
 * million nodes stay cheap; the network runtime uses strings. Machines only compare them
 * with `===` and use them as `Map`/`Set` keys.
 *
 * Outputs go through a sink interface rather than returned arrays so that the hot path of
 * the simulator allocates nothing but the messages themselves.
 */

/** Identifier of a broadcast message. Content-derived or origin+sequence; opaque to proto. */
export type MsgId = string;

/** Deterministic source of randomness, passed in by the driver (see `rng.ts`). */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). `n` must be a positive integer. */
  int(n: number): number;
}

/** Why a neighbour left the active view. Carried by `neighborDown` events. */
export type DownReason =
  /** The peer sent DISCONNECT (it evicted us, or it is shutting down / leaving). */
  | 'disconnected'
  /** The link failed: connection refused / reset, heartbeat timeout, send failed. */
  | 'link-failed'
  /** We evicted the peer ourselves to make room for another (high-priority NEIGHBOR, JOIN). */
  | 'evicted'
  /** We are leaving the overlay. */
  | 'leaving';

// ---------------------------------------------------------------------------------------
// Messages. One discriminated union per protocol; `Message<P>` is the union of all of them.
// Type tags are stable strings; `src/wire` maps them to append-only numeric codes.
// ---------------------------------------------------------------------------------------

/** HyParView membership messages (Leitão et al., DSN 2007, §4). */
export type HyParViewMessage<P> =
  /** A new node asks the contact node to join the overlay (the sender is the new node). */
  | { type: 'join' }
  /** Random walk announcing `peer` (a joining node) with time-to-live `ttl`. */
  | { type: 'forward-join'; peer: P; ttl: number }
  /** Ask the receiver to add the sender to its active view. */
  | { type: 'neighbor'; priority: 'high' | 'low' }
  /** Answer to `neighbor`. */
  | { type: 'neighbor-reply'; accepted: boolean }
  /** The sender removed the receiver from its active view. `alive`: sender keeps running
   *  (so the receiver may keep it in its passive view). */
  | { type: 'disconnect'; alive: boolean }
  /** Shuffle random walk started by `origin`, carrying a sample of its views. */
  | { type: 'shuffle'; origin: P; peers: P[]; ttl: number }
  /** Reply to the shuffle origin with a sample of the receiver's passive view. */
  | { type: 'shuffle-reply'; peers: P[] };

/** One entry of a batched IHAVE. */
export interface IHaveEntry {
  id: MsgId;
  round: number;
}

/** Broadcast messages: Plumtree (Leitão et al., SRDS 2007, §3), also used by the
 *  flooding and fanout-gossip baselines (which only ever send `gossip`). */
export type BroadcastMessage =
  /** Payload push. `round` is the hop count from the origin (0 at the origin's neighbours). */
  | { type: 'gossip'; id: MsgId; round: number; payload: Uint8Array }
  /** Lazy announcement of message ids the sender has (batched). */
  | { type: 'ihave'; entries: IHaveEntry[] }
  /** Ask the receiver to become an eager (tree) link; `id` non-null also requests that payload. */
  | { type: 'graft'; id: MsgId | null; round: number }
  /** Ask the receiver to make the link lazy (the receiver got a duplicate through it). */
  | { type: 'prune' };

/** One entry of a Cyclon view: a peer and the age of the entry (shuffle periods). */
export interface CyclonEntry<P> {
  peer: P;
  age: number;
}

/** Cyclon peer-sampling messages (Voulgaris et al., 2005) — a baseline. */
export type CyclonMessage<P> =
  | { type: 'cyclon-shuffle'; entries: CyclonEntry<P>[] }
  | { type: 'cyclon-reply'; entries: CyclonEntry<P>[] };

/** Every message a rumor node can send or receive. */
export type Message<P> = HyParViewMessage<P> | BroadcastMessage | CyclonMessage<P>;
export type MessageType = Message<unknown>['type'];

// ---------------------------------------------------------------------------------------
// Timers. A machine asks for a timer with `io.timer(delayMs, t)`; the driver calls the
// machine's `handleTimer(t, now)` when it fires. Timers cannot be cancelled: machines keep
// the deadline they care about and ignore stale firings (cheap, and no driver bookkeeping).
// ---------------------------------------------------------------------------------------

export type HyParViewTimer<P> =
  | { type: 'hv-shuffle' }
  /** Retry filling an empty/short active view (partition healing, with backoff). */
  | { type: 'hv-repair'; attempt: number }
  /** A NEIGHBOR request we sent got no reply in time. */
  | { type: 'hv-neighbor-timeout'; peer: P; seq: number }
  /** Bootstrap retry / periodic contact exchange (`seq` identifies the current one). */
  | { type: 'hv-join-retry'; seq: number };

export type BroadcastTimer =
  /** Plumtree: a message announced by IHAVE has not arrived (timeout1 / timeout2); `due`:
   *  the deadline it was set for (identifies the current timer; see Plumtree). */
  | { type: 'pt-missing'; id: MsgId; due: number }
  /** Plumtree: flush the queued IHAVE announcements. */
  | { type: 'pt-ihave-flush' }
  /** Plumtree: drop expired entries from the message cache. */
  | { type: 'pt-cache-gc' }
  /** Fanout gossip: next push round (used when retransmitting for several rounds). */
  | { type: 'fanout-round' };

export type CyclonTimer = { type: 'cyclon-shuffle' };

export type Timer<P> = HyParViewTimer<P> | BroadcastTimer | CyclonTimer;

// ---------------------------------------------------------------------------------------
// Output sinks.
// ---------------------------------------------------------------------------------------

/** Link-level outputs shared by every machine. */
export interface LinkIo<P> {
  /** Send a message. If the peer is unreachable the driver later calls `handleLinkDown`. */
  send(to: P, msg: Message<P>): void;
  /** Open (or keep) a long-lived link to `peer` (active-view member). Failure to connect,
   *  and later failure of the link, are reported with `handleLinkDown(peer)`. */
  connect(peer: P): void;
  /** Close the long-lived link to `peer` after the messages already sent on it. */
  disconnect(peer: P): void;
  /** Fire `t` after `delayMs` milliseconds. */
  timer(delayMs: number, t: Timer<P>): void;
}

/** Events a node reports to its application / driver. */
export type NodeEvent<P> =
  | { type: 'neighbor-up'; peer: P }
  | { type: 'neighbor-down'; peer: P; reason: DownReason };

/** Everything a composed node (`ProtoNode`) emits. */
/**
 * Verdict of a validate-before-forward hook, as gossipsub's validation results: `accept`
 * delivers and forwards; `reject` drops the message as invalid (the driver counts it against
 * the peer it came from); `ignore` drops it without penalty. Rejected and ignored messages
 * are never delivered or forwarded, and their ids are remembered so copies are not re-checked.
 */
export type Verdict = 'accept' | 'reject' | 'ignore';

export interface Io<P> extends LinkIo<P> {
  /** Deliver a broadcast payload to the application — exactly once per message id. */
  deliver(id: MsgId, payload: Uint8Array, round: number, from: P | null): void;
  /** Optional validate-before-forward hook (see `BroadcastIo.validate`). */
  validate?(id: MsgId, payload: Uint8Array, from: P): Verdict;
  /** Membership events. */
  event(e: NodeEvent<P>): void;
}

/** A source of peers for the fanout-gossip baseline: a full membership list or a
 *  peer-sampling view. `sample` writes up to `k` distinct peers other than `exclude`
 *  into `out` and returns how many it wrote. */
export interface PeerSource<P> {
  sample(k: number, exclude: P | null, rng: Rng, out: P[]): number;
}

/** Result of validating a configuration object (no exceptions at boundaries). */
export type ConfigResult<C> = { ok: true; config: C } | { ok: false; reason: string };
