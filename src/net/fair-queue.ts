/**
 * Fair queueing of inbound gossip (issue 13 §2: a flooding peer must not slow honest
 * delivery by more than 2×).
 *
 * Without it, every gossip frame is handed to the protocol machine in the socket's `data`
 * callback: a peer that sends a burst of new messages makes the node validate, deliver and
 * forward all of them before it looks at any other socket, and honest messages that arrive
 * meanwhile wait behind the whole burst (measured: p99 945 ms vs 8.5 ms, docs/results.md).
 *
 * Here a node handles at most `turnBudget` gossip frames per event-loop turn. While nothing is
 * queued and the turn's budget is not spent, a frame runs at once (the common, unloaded
 * case: no added latency, no reordering). Otherwise it waits in a queue of its link (the peer
 * it came from) and, inside that, of its origin (the envelope's `origin`; a frame may wait
 * undecoded, its origin read from its header, and is then decoded when served:
 * gossip-inbound.ts); the queues are
 * served round robin, one frame per visit, links first, then the origins of a link, in
 * `setImmediate` passes of `turnBudget` frames (`catchUpBudget` when far behind). A link's
 * backlog therefore never delays another link's frames by more than one frame per link per
 * round, and inside a link (a
 * neighbour that relays a flood along with honest messages) one origin's backlog never
 * delays another origin's.
 *
 * Bursts and floods of one origin (`hotShare`, 8): at most that many frames of one link and
 * origin in a row run as they are read in a turn (a flood's first read no longer runs ahead of
 * every other socket of the turn), and an origin that overflowed its queue on a link in this
 * turn or the last is served at most that many per turn — the rest of the budget goes to the
 * other links and origins; an origin that stops overflowing gets the full budget again. An
 * origin capped by the origin share of a busy node (limits.ts `OriginShare`) is served at the
 * same share wherever its frames wait (gossip-inbound.ts `markHot`), relays included.
 *
 * Express lane (`expressPerTurn`, `quietMs`; h30f): the schedule above costs an honest message
 * about two turns per hop while others wait — read in a poll phase, served in the next check
 * phase, its relay written at the turn's flush pass (connection.ts) and read by the next hop a
 * poll phase later — and each such turn is every node's queued work (bench:flood's sustained
 * flood: 1,150–1,214 flood deliveries during the slowest honest flights, five nodes of one
 * process at 64 a turn). So a frame of a *quiet* origin (at most one frame per `quietMs` at
 * this node on average, bursts of QUIET_BURST), none of whose frames waits on its link, runs as
 * it is read even while frames wait (`offer` answers `express`), at most `expressPerTurn` a
 * turn, and the caller writes what it sends at once (gossip-inbound.ts, connection.ts
 * `writeAtOnce`). A flood or a bulk publisher is not quiet; a flooder that forges a new origin
 * per frame gains at most `expressPerTurn` frames a turn at its read (each still admitted by
 * the per-peer buckets first). This is the sparse-flow priority of flow-queue schedulers (FQ-CoDel,
 * RFC 8290, serves a new or sparse flow's packet ahead of the backlogged flows' round); here a
 * flow is an origin, "sparse" is the quiet test, and the priority extends to the writes the
 * frame causes.
 *
 * Queues are bounded: at most `maxOriginFrames` per origin of a link and `maxLinkFrames`
 * per link. Over a bound, a frame that the caller may not drop — a relay, or a peer's own
 * message within its origin's rate on a link at least 1 s old: something accepted must not be
 * lost silently (h31f; dropped, a bulk publisher's relays were lost for good at bench:net's
 * 3,000/s step, because the lazy repair met the same full queue) — is queued past the bound
 * (`offer`'s `over`, counted in `stats.over`) and the caller holds that link's reads until the
 * next turn (gossip-inbound.ts), so the sender is held back by TCP flow control instead: the
 * queue grows by at most the frame in hand per turn while the pass serves it, and the origin
 * is served at the hot share as one that overflowed (below). Any other
 * frame over a bound is dropped and counted. The caller (gossip-inbound.ts)
 * charges a dropped frame of the peer's own origin to that origin's rate limit (limits.ts
 * `OriginLimits`), and once the origin is over its rate the drop scores against the peer as
 * `rate-excess` (guard.ts): a flooder is quarantined about 100 drops past its rate (on a link
 * under 1 s old, past `youngLinkDrops` drops, whatever its rate), while a
 * neighbour that merely relays a flood, or a publisher within its rate that is ahead of a busy
 * node, is never scored for its drops; while the queue stays full the caller drops the peer's
 * own frames unread (`countUnread`). Relays are never dropped (they wait past the bound, as
 * above); a held link's other frames wait behind it in its TCP stream.
 *
 * Limits: round robin counts frames, not bytes (deficit round robin by bytes would weigh a
 * 1 MB frame as more than a 64 B one; frames of one workload are of similar size). Queued
 * frames keep the socket chunk they were read from alive (the decoder adopts chunks), so the
 * memory held is bounded by `maxLinkFrames` frames plus their chunks per link. A flooder that
 * forges a new origin per message is not scored here (each origin queue stays short; the
 * link's reads are held past the link bound, unscored): it is contained to its link's share
 * of the round robin, and the per-peer frame bucket (limits.ts) scores what it is read at.
 * The schedule is per node: nodes sharing one process (tests, benchmarks) each get a budget.
 */
import type { Message } from '../proto/types.js';

/** A gossip frame as the machine takes it. */
export type GossipFrame = Extract<Message<string>, { type: 'gossip' }>;

export interface FairQueueConfig {
  /** Gossip frames handled per event-loop turn before the rest wait for the next pass. 16,
   *  measured on bench:flood's sustained flood (docs/results.md, h29f): there nearly every
   *  frame waits in a queue, each node serves its full budget every turn, and an honest
   *  message waits about one turn per hop (its relay is written, read and served a turn after
   *  it arrived) — so what it waits behind is the turn's work, every node's budget of it:
   *  the flood messages delivered during the slowest honest flights were 700–1,246 in all 20
   *  runs at 64, and 382–467 in 4 of 8 runs at 16 (702–1,214 in the others: the catch-up
   *  budget below, or a ceiling seen at both budgets; loaded runs, load 8–63). Not a verdict
   *  on the latency: the quiet re-run decides. Throughput is the budget times the turns per second, and turns are
   *  shorter by the same factor (16 frames at ≈ 8–15 µs each is ≈ 0.1–0.25 ms of one node's
   *  work). Earlier, at load 20–48, 64 against 16 showed no difference in the noise (h13f). */
  turnBudget: number;
  /** The budget of a pass that starts with more than 4 × this many frames waiting: a node
   *  that has fallen that far behind (its thread starved by the machine's load, or a bulk
   *  publisher above what it can serve) has lost the latency the small budget keeps, and
   *  serves its backlog in larger slices, so that each turn's fixed costs (the poll, a write
   *  per busy connection) weigh less per frame. 64, the turn budget before h29f. It is also
   *  what the slowest honest flights of bench:flood's sustained flood wait behind (5 × 64
   *  flood deliveries a turn while a backlog lasts); capping one origin at `turnBudget` of it
   *  was tried and not kept: a bulk publisher's backlog then drained too slowly (bench:net at
   *  3,000/s lost messages in one run of four; docs/results.md, h33f). */
  catchUpBudget: number;
  /** Most frames queued per origin of one link. 1,024: a burst of an honest origin at the
   *  bench cluster's 2,000 msgs/s fits half a second behind a busy loop. */
  maxOriginFrames: number;
  /** Most frames of one link and origin run as they are read in a turn (the rest of a burst
   *  runs in the turn's pass, round robin with the other links), and most frames per turn
   *  served from a hot origin of a link: one whose frames on that link were dropped over a
   *  bound in this turn or the last (a flood, or a burst larger than the queue). 8, chosen on
   *  bench:flood (docs/results.md): a flooder's frames that run are forwarded to every
   *  neighbour and run there too, so what one node serves of them per turn is multiplied
   *  across the cluster's turn. An origin that stops overflowing is served at the full budget
   *  from the next turn on; throughput is the turn budget either way. */
  hotShare: number;
  /** Most frames queued per link (all origins). 4,096. */
  maxLinkFrames: number;
  /** Of a peer's own messages, how many may be dropped over a bound on a link younger than
   *  1 s before each further drop scores `rate-excess` against the peer, whatever its origin's
   *  rate limit still allows (gossip-inbound.ts). 4,096: a peer that sends at most the default
   *  origin rate (5,000 messages) in its link's first second has at most 5,000 − 1,024
   *  (`maxOriginFrames`) = 3,976 of them dropped, so it is never scored by this; a flooder is
   *  quarantined after about 4,200 drops instead of spending the origin's 10,000-message burst
   *  first (bench:flood, docs/results.md h23f). */
  youngLinkDrops: number;
  /** Frames per turn that may take the express lane (see the module comment): a frame of a
   *  quiet origin runs as it is read although frames wait, and what it sends is written at
   *  once. 2: an honest origin at bench:flood's 20 msgs/s needs one per hop; a flooder that
   *  forges a new origin per frame gains at most this many frames per turn on top of the turn
   *  budget (h30f, docs/results.md). 0 turns the lane off, and with it the write at once of a
   *  quiet publisher's broadcast (rumor-node.ts). */
  expressPerTurn: number;
  /** An origin is quiet while its frames reach this node at most one per `quietMs` on average,
   *  with bursts of up to QUIET_BURST (4; a virtual-clock bucket per origin, see `seen`): it
   *  is then served in the express lane. 10: an origin at 100 msgs/s or less (bench:flood's
   *  honest publisher sends 20/s; its copies and repairs, a few per message, fit the burst)
   *  is; a flood or a bulk publisher (bench:net's ladder starts at 500/s) is not, and keeps
   *  the fair queue's round robin (h30f, docs/results.md). */
  quietMs: number;
}

export const DEFAULT_FAIR_QUEUE: FairQueueConfig = Object.freeze({ turnBudget: 16, catchUpBudget: 64, maxOriginFrames: 1024, maxLinkFrames: 4096, hotShare: 8, youngLinkDrops: 4096, expressPerTurn: 2, quietMs: 10 });

/** What happened to an offered frame: run now, run now in the express lane (its writes to be
 *  made at once), queued, or dropped over a bound. */
export type Offer = 'run' | 'express' | 'queued' | 'full-origin' | 'full-link';

/** `Item.msg` of the reused item between frames (nothing kept alive). */
const NO_FRAME = new Uint8Array(0);

/** Most origins whose arrivals are kept for the quiet test (then the map restarts: every
 *  origin looks quiet again, for at most `expressPerTurn` frames a turn). */
const MAX_SEEN = 4096;
/** Frames of an origin that may arrive at once and still be quiet (see `quietMs`). */
const QUIET_BURST = 4;
/** How far ahead of now an origin's virtual clock may run (ms): a flood's origin becomes quiet
 *  again at most this long after it stops. */
const QUIET_HORIZON = 1000;

export interface FairQueueStats {
  /** Frames that waited in a queue. */
  queued: number;
  /** Frames of a quiet origin run in the express lane while others waited. */
  express: number;
  /** Frames of a quiet origin that waited in a queue all the same: the turn's lane was spent,
   *  or a frame of the origin already waited on the link (h32f: is the lane taken every time?). */
  expressMissed: number;
  /** Frames dropped over a bound, by bound. */
  dropped: { origin: number; link: number };
  /** Of those, frames dropped unread: a peer's own messages while its queue was full, seen
   *  by their header only (no checksum, no id check, no decode; gossip-inbound.ts). */
  unread: number;
  /** Times a peer's socket was held (not read) until the next turn because its own messages
   *  spent the turn's read budget or a frame was queued past a bound (gossip-inbound.ts). */
  held: number;
  /** Frames queued past a bound with their link's reads held until the next turn, instead of
   *  dropped: relays, and a peer's own messages within its origin's rate on a link at least
   *  1 s old (gossip-inbound.ts, h31f). */
  over: number;
  /** Frames waiting now. */
  depth: number;
  /** Largest depth seen. */
  maxDepth: number;
  /** Passes run (turns that served queued frames), and of them those that started behind and
   *  served at the catch-up budget (`catchUpBudget`), with the frames they served (h33f). */
  passes: number;
  catchUpPasses: number;
  catchUpFrames: number;
}

/** A FIFO queue on a ring of power-of-two capacity (4 to start, doubled when full): no
 *  allocation while its length stays within what it has held (h32f; the array with a head
 *  index and a compaction by `slice` it replaces allocated a new array per 1,024 frames). */
class Fifo<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(4);
  private head = 0;
  size = 0;
  push(x: T): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & (this.items.length - 1)] = x;
    this.size++;
  }
  pop(): T {
    const x = this.items[this.head] as T;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.size--;
    return x;
  }
  clear(): void {
    this.items = new Array<T | undefined>(4);
    this.head = 0;
    this.size = 0;
  }
  private grow(): void {
    const old = this.items;
    const n = old.length;
    const items = new Array<T | undefined>(2 * n);
    for (let i = 0; i < n; i++) items[i] = old[(this.head + i) & (n - 1)];
    this.items = items;
    this.head = 0;
  }
}

/** What a queued frame holds: decoded, or its raw bytes (decoded when served:
 *  gossip-inbound.ts), when it was offered, and where it came from (`src`: the caller's, e.g.
 *  its connection). A pass reads them through one reused object (`LinkQueue.pop`). */
interface Item<S> {
  msg: GossipFrame | Uint8Array;
  at: number;
  src: S;
}

/** One origin's frames on one link, with what the hot-origin share needs: a ring like `Fifo`,
 *  its frames' fields in two parallel arrays (no object per queued frame, h32f). */
class OriginQueue<S> {
  /** Two slots per frame: its message and its source. */
  private refs: unknown[] = new Array<unknown>(8);
  private ats: number[] = [0, 0, 0, 0];
  private head = 0;
  size = 0;
  /** Last turn a frame of this origin on this link was dropped over a bound. */
  droppedTurn = -2;
  /** Frames served in turn `servedTurn`. */
  servedTurn = -1;
  served = 0;

  push(msg: GossipFrame | Uint8Array, at: number, src: S): void {
    if (this.size === this.ats.length) this.grow();
    const k = (this.head + this.size) & (this.ats.length - 1);
    this.refs[2 * k] = msg;
    this.refs[2 * k + 1] = src;
    this.ats[k] = at;
    this.size++;
  }

  /** Take the oldest frame into `out`. */
  popInto(out: Item<S>): void {
    const k = this.head;
    out.msg = this.refs[2 * k] as GossipFrame | Uint8Array;
    out.src = this.refs[2 * k + 1] as S;
    out.at = this.ats[k];
    this.refs[2 * k] = undefined;
    this.refs[2 * k + 1] = undefined;
    this.head = (k + 1) & (this.ats.length - 1);
    this.size--;
  }

  /** Empty again, as new (its rings keep their capacity: `LinkQueue.spare`). */
  reset(): void {
    this.head = 0;
    this.droppedTurn = -2;
    this.servedTurn = -1;
    this.served = 0;
  }

  private grow(): void {
    const n = this.ats.length;
    const refs = new Array<unknown>(4 * n);
    const ats = new Array<number>(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const k = (this.head + i) & (n - 1);
      refs[2 * i] = this.refs[2 * k];
      refs[2 * i + 1] = this.refs[2 * k + 1];
      ats[i] = this.ats[k];
    }
    this.refs = refs;
    this.ats = ats;
    this.head = 0;
  }
}

/** One link's queues: per origin, served round robin. */
class LinkQueue<S> {
  readonly origins = new Map<string, OriginQueue<S>>();
  /** Origins with frames, in service order. */
  readonly ring = new Fifo<string>();
  size = 0;
  /** The last origin queue emptied, kept for the next origin queued (its rings keep their
   *  capacity): under a flood a relay's queue empties and refills every turn, and a new queue
   *  with rings grown again from 4 each time was garbage per turn (h33f). */
  private spare: OriginQueue<S> | null = null;

  push(origin: string, msg: GossipFrame | Uint8Array, at: number, src: S): void {
    let q = this.origins.get(origin);
    if (q === undefined) {
      q = this.spare ?? new OriginQueue<S>();
      this.spare = null;
      this.origins.set(origin, q);
      this.ring.push(origin);
    }
    q.push(msg, at, src);
    this.size++;
  }

  /** The next origin's next frame (round robin), skipping a hot origin (one that overflowed
   *  in this turn or the last) that has had its `hotShare` this turn; null when every origin
   *  of the link is such; else true, the frame in `out`. */
  pop(turn: number, hotShare: number, out: Item<S>): boolean {
    for (let k = this.ring.size; k > 0; k--) {
      const origin = this.ring.pop();
      const q = this.origins.get(origin)!;
      if (q.servedTurn !== turn) {
        q.servedTurn = turn;
        q.served = 0;
      }
      if (q.droppedTurn >= turn - 1 && q.served >= hotShare) {
        this.ring.push(origin);
        continue;
      }
      q.served++;
      q.popInto(out);
      this.size--;
      if (q.size > 0) this.ring.push(origin);
      else {
        this.origins.delete(origin);
        q.reset();
        this.spare = q;
      }
      return true;
    }
    return false;
  }
}

/** Per-node inbound gossip scheduler (see the module comment). */
export class FairInbound<S = null> {
  private readonly links = new Map<string, LinkQueue<S>>();
  /** Links with frames, in service order. */
  private readonly ring = new Fifo<string>();
  private spent = 0;
  /** Frames run in the express lane since the last pass. */
  private express = 0;
  /** Per origin, its virtual clock for the quiet test (`seen`; at most MAX_SEEN origins). */
  private readonly clock = new Map<string, number>();
  /** Passes so far (one per event-loop turn with frames queued). */
  private turn = 0;
  private turnScheduled = false;
  /** Link and origin of the frames run as read in this turn, and how many in a row. */
  private runPeer = '';
  private runOrigin = '';
  private runCount = 0;
  private closed = false;
  /** The last link queue emptied, kept for the next link queued (`LinkQueue.spare`). */
  private spareLink: LinkQueue<S> | null = null;
  /** The frame a pass takes from a queue (one object, reused). */
  private readonly out: Item<S> = { msg: NO_FRAME, at: 0, src: undefined as S };
  readonly stats: FairQueueStats = { queued: 0, express: 0, expressMissed: 0, dropped: { origin: 0, link: 0 }, unread: 0, held: 0, over: 0, depth: 0, maxDepth: 0, passes: 0, catchUpPasses: 0, catchUpFrames: 0 };

  constructor(
    private readonly c: FairQueueConfig,
    /** Hand one frame to the machine (`at`: when its chunk arrived; raw bytes are decoded first). */
    private readonly run: (peer: string, msg: GossipFrame | Uint8Array, at: number, src: S) => void,
  ) {}

  /** A gossip frame from `peer` whose envelope names `origin`. On `run` the caller runs it now
   *  (and this turn's budget is charged); on `queued` it runs later; `full-*`: dropped. With
   *  `over`, a frame over a bound is queued past it (the caller holds the link's reads: see
   *  the module comment). */
  offer(peer: string, origin: string, msg: GossipFrame | Uint8Array, at: number, src?: S, over = false): Offer {
    const quiet = this.quiet(origin, at);
    this.seen(origin, at);
    if (this.stats.depth === 0 && this.spent < this.c.turnBudget && this.runNow(peer, origin)) {
      this.charge();
      return 'run';
    }
    if (quiet && this.express < this.c.expressPerTurn && this.links.get(peer)?.origins.has(origin) !== true) {
      this.express++;
      this.stats.express++;
      return 'express';
    }
    let l = this.links.get(peer);
    if (l === undefined) {
      l = this.spareLink ?? new LinkQueue<S>();
      this.spareLink = null;
      this.links.set(peer, l);
      this.ring.push(peer);
    }
    const q = l.origins.get(origin);
    // Past a bound with the link's reads held: queued, and the origin served at the hot share
    // as one that overflowed (what dropping it did, less the loss).
    const past = over && (l.size >= this.c.maxLinkFrames || (q !== undefined && q.size >= this.c.maxOriginFrames));
    if (past) this.stats.over++;
    else if (l.size >= this.c.maxLinkFrames) {
      this.stats.dropped.link++;
      if (q !== undefined) q.droppedTurn = this.turn;
      return 'full-link';
    } else if (q !== undefined && q.size >= this.c.maxOriginFrames) {
      this.stats.dropped.origin++;
      q.droppedTurn = this.turn;
      return 'full-origin';
    }
    l.push(origin, msg, at, src as S);
    if (past) l.origins.get(origin)!.droppedTurn = this.turn;
    this.stats.queued++;
    if (quiet && this.c.expressPerTurn > 0) this.stats.expressMissed++;
    if (++this.stats.depth > this.stats.maxDepth) this.stats.maxDepth = this.stats.depth;
    this.schedule();
    return 'queued';
  }

  /** Would `offer` run a frame of `origin` from `peer` now (nothing queued, budget left, and not
   *  past the hot share of a run of one link and origin)? No side effect. */
  wouldRun(peer: string, origin: string, at: number): boolean {
    if (this.stats.depth !== 0 || this.spent >= this.c.turnBudget) return this.wouldExpress(peer, origin, at);
    return peer !== this.runPeer || origin !== this.runOrigin || this.runCount < this.c.hotShare || this.wouldExpress(peer, origin, at);
  }

  /** Would a frame of `origin` from `peer` take the express lane now? No side effect. */
  private wouldExpress(peer: string, origin: string, at: number): boolean {
    return this.express < this.c.expressPerTurn && this.quiet(origin, at) && this.links.get(peer)?.origins.has(origin) !== true;
  }

  /** Is `origin` within one frame per `quietMs`, bursts of QUIET_BURST (see `seen`)? */
  private quiet(origin: string, at: number): boolean {
    const clock = this.clock.get(origin);
    return clock === undefined || clock <= at + (QUIET_BURST - 1) * this.c.quietMs;
  }

  /** A frame of `origin` reached this node at `at` (offered, or dropped unread by the caller):
   *  its virtual clock — when it would have sent its frames so far at one per `quietMs` —
   *  moves on by `quietMs` (from now, if it had fallen behind), at most QUIET_HORIZON ahead. */
  seen(origin: string, at: number): void {
    const clock = this.clock.get(origin);
    if (clock === undefined && this.clock.size >= MAX_SEEN) this.clock.clear();
    this.clock.set(origin, Math.min(Math.max(clock ?? at, at) + this.c.quietMs, at + QUIET_HORIZON));
  }

  /** May a frame of `origin` from `peer` run as it is read? At most `hotShare` in a row of one
   *  link and origin per turn (a burst of one origin — a flood's first read — runs at the
   *  turn's pass, round robin with the other links, instead of ahead of them). */
  private runNow(peer: string, origin: string): boolean {
    if (peer !== this.runPeer || origin !== this.runOrigin) {
      this.runPeer = peer;
      this.runOrigin = origin;
      this.runCount = 0;
    }
    return ++this.runCount <= this.c.hotShare;
  }

  /** Serve `origin`'s queued frames on `peer` at the hot share in the next pass, as if they had
   *  just overflowed (gossip-inbound.ts marks a young link's own messages with each one queued). */
  markHot(peer: string, origin: string): void {
    const q = this.links.get(peer)?.origins.get(origin);
    if (q !== undefined) q.droppedTurn = this.turn;
  }

  /** Would a frame of `origin` from `peer` be dropped over a bound now? */
  full(peer: string, origin: string): boolean {
    if (this.stats.depth === 0) return false;
    const l = this.links.get(peer);
    return l !== undefined && (l.size >= this.c.maxLinkFrames || (l.origins.get(origin)?.size ?? 0) >= this.c.maxOriginFrames);
  }

  /** Count a frame of `origin` (default: the peer's own) from `peer` dropped over a bound
   *  unread (never offered: the caller saw `full`). */
  countUnread(peer: string, origin = peer): void {
    const l = this.links.get(peer);
    if (l !== undefined && l.size >= this.c.maxLinkFrames) this.stats.dropped.link++;
    else this.stats.dropped.origin++;
    this.stats.unread++;
    const q = l?.origins.get(origin);
    if (q !== undefined) q.droppedTurn = this.turn;
  }

  /** Forget `peer`'s queued frames (quarantined, or its link is gone). */
  dropLink(peer: string): void {
    const l = this.links.get(peer);
    if (l === undefined) return;
    // Emptied, not deleted: the link stays in the ring once (removed when the pass reaches it).
    this.stats.depth -= l.size;
    l.origins.clear();
    l.ring.clear();
    l.size = 0;
  }

  close(): void {
    this.closed = true;
    this.links.clear();
    this.clock.clear();
    this.stats.depth = 0;
  }

  private charge(): void {
    this.spent++;
    this.schedule();
  }

  /** One pass per turn: reset the budget, then serve queued frames round robin. */
  private schedule(): void {
    if (this.turnScheduled || this.closed) return;
    this.turnScheduled = true;
    setImmediate(() => this.pass());
  }

  /** `peer`'s queue `l` is empty: out of the map, kept as the spare (`spareLink`). */
  private unlink(peer: string, l: LinkQueue<S>): void {
    this.links.delete(peer);
    this.spareLink = l;
  }

  private pass(): void {
    this.turnScheduled = false;
    this.spent = 0;
    this.express = 0;
    this.turn++;
    this.runCount = 0;
    if (this.closed) return;
    const catchUp = this.stats.depth > 4 * this.c.catchUpBudget;
    const budget = catchUp ? Math.max(this.c.turnBudget, this.c.catchUpBudget) : this.c.turnBudget;
    this.stats.passes++;
    // Links visited in a row whose every origin had its hot share: all of them means done.
    let idle = 0;
    while (this.spent < budget && this.ring.size > 0 && idle < this.ring.size) {
      const peer = this.ring.pop();
      const l = this.links.get(peer)!;
      if (l.size === 0) {
        this.unlink(peer, l);
        continue;
      }
      const out = this.out;
      if (!l.pop(this.turn, this.c.hotShare, out)) {
        this.ring.push(peer);
        idle++;
        continue;
      }
      idle = 0;
      this.stats.depth--;
      if (l.size > 0) this.ring.push(peer);
      else this.unlink(peer, l);
      this.spent++;
      const msg = out.msg;
      const src = out.src;
      out.msg = NO_FRAME;
      out.src = undefined as S;
      this.run(peer, msg, out.at, src);
    }
    if (catchUp) {
      this.stats.catchUpPasses++;
      this.stats.catchUpFrames += this.spent;
    }
    if (this.stats.depth > 0) this.schedule();
  }
}
