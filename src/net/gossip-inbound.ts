/**
 * Inbound gossip of the TCP runtime (issue 13 §2), between the connections and the protocol
 * machine: fair queueing per link and origin (fair-queue.ts), the charging of dropped frames
 * to their origin's rate limit, duplicate scoring, and the cheap path for a flood.
 *
 * - `offer`: a decoded gossip frame runs now, waits in the fair queue, or is dropped over a
 *   queue bound. Over a bound, a relay (another origin than the peer) and a peer's own message
 *   on a link at least 1 s old whose origin's rate limit has a token left are not dropped:
 *   they wait past the bound and the connection's reads are held until the next turn
 *   (`mayWait`, `holdTurn`; h31f), so a bulk publisher or a relay of its messages is held back
 *   by TCP flow control and nothing accepted is lost — dropped, bench:net's publisher at
 *   3,000/s lost messages for good (5,086 of 6,000 reached all 20 nodes; docs/results.md).
 *   A dropped frame of the peer's own origin spends a token of that origin's rate
 *   limit (limits.ts `OriginLimits`), as a validated one does; once the origin is over its
 *   rate each such drop scores `rate-excess` against the peer. A neighbour relaying a flood,
 *   or a publisher within its rate that is ahead of a busy node, is never scored for drops.
 * - Skimming: once a frame of the peer's own origin has been dropped over a bound, its
 *   connection is marked `skimming` and each next frame is looked at before it is decoded
 *   (connection.ts → `onSkim`): while the peer's queue stays full, a frame whose header says
 *   `gossip` of the peer's own origin (wire/peek.ts) is dropped unread — no CRC-32C, no SHA-256
 *   id check, no message object — and charged and scored as above. Measured on bench:flood
 *   (docs/results.md): the flooder's first read burst was ≈ 7,000 frames decoded in one
 *   event-loop turn; unread, the same burst costs a few byte comparisons per frame, and the
 *   rate excess that quarantines the flooder is reached in that turn. Anything else (another
 *   origin, a control frame, a malformed header) is decoded as usual, and skimming stops as
 *   soon as the queue has room again.
 * - Read budget (`countOwn`): per connection and event-loop turn, the peer's own gossip frames
 *   read cost 8 each when decoded and 1 when skimmed, out of 1,024; once spent, the connection
 *   is held (connection.ts `holdReads`: the rest stays undecoded, the socket is paused, TCP
 *   flow control holds the peer back) until the next turn. A flooder then costs a node at most
 *   128 decoded or 1,024 skimmed frames per turn, instead of everything one poll phase reads
 *   (libuv reads up to 32 × 64 KiB from a ready socket: ≈ 20,000 small frames); the 128 are
 *   twice the turn budget, so a peer that sends faster than it is served still overflows its
 *   queue (hot share, skimming and drop charging as above), and an honest publisher is read
 *   as fast as it can be served. Relayed frames of other origins and control frames are not
 *   counted (they wait behind a held connection's own frames, as TCP orders them anyway).
 * - Young links: a link younger than 1 s whose peer's own messages must wait in the fair queue
 *   has them served at the hot share (8 per turn, fair-queue.ts `markHot`) from the first,
 *   not at the full turn budget until they first overflow: a flooder that starts as soon as it
 *   is connected reaches the cluster at 8 messages per turn, not 64. And on such a link, once
 *   more than `youngLinkDrops` (4,096) of the peer's own messages were dropped over a bound,
 *   each further drop scores `rate-excess` even while the origin's rate limit has tokens left:
 *   a peer that overflows our queue by that much in its link's first second sent more than
 *   the origin's sustained rate (5,000/s) on top of a full queue, so a flooder is quarantined
 *   after about 4,200 drops instead of after spending the origin's 10,000-message burst
 *   (bench:flood: about half the frames read before the quarantine; docs/results.md, h23f).
 * - Origin share (limits.ts `OriginShare`): before the fair queue, every frame is counted for its
 *   origin's share of a busy node; one of an origin capped there, from the origin itself (its
 *   ingress), past its cap in the tick, is refused (counted in `stats().defences.share`) and
 *   charged as a frame dropped over a queue bound is: its read cost, a token of its origin's
 *   rate limit (scored past that rate), and on a young link the `youngLinkDrops` count (a
 *   flood capped by the share before its quarantine is still quarantined after about 4,200
 *   refusals). A publisher within the static rate is never scored for the share: in its link's
 *   first second it has at most 5,000 messages, of which the share admits its first tick's
 *   (uncapped, ≥ 1 tick at its rate) and then `minPerSec` (1,000/s), so fewer than
 *   `youngLinkDrops` (4,096) are refused (with `minPerSec` set much lower, a publisher near
 *   the static rate on a new link can be). Once one is refused the connection skims (below):
 *   its peer's next own frames past the cap in the tick are refused from their header alone
 *   (no CRC-32C, no SHA-256 id check; the refused flood cost its ingress ≈ 16 µs a frame
 *   decoded, h22f). Relayed frames of a capped origin are never refused, but wait at the hot share.
 * - Undecoded queueing (`skim`, h29f): once a connection has delivered a gossip frame, each next
 *   frame is looked at before it is decoded. While the fair queue has frames waiting (or the
 *   turn's budget is spent), a frame whose header says `gossip` is queued as its raw bytes under
 *   its link and the origin read from its header (wire/peek.ts `gossipOriginRange`), after the
 *   per-peer admission every frame gets (transport.ts `onFrame`); it is decoded — CRC-32C,
 *   SHA-256 id check, schema — only when the fair queue serves it, and then run at once. Two
 *   things follow. An honest frame that a neighbour sends behind a relayed flood (one link,
 *   one TCP stream: f0 → f2 in bench:flood) no longer waits, at its read, for the decode of
 *   every flood frame ahead of it in the stream: those cost a header look each, and their
 *   decode is spread over the turns that serve them. And the frame served is the last one
 *   decoded when its machine forwards it, so the forward reuses the received bytes
 *   (wire/forward.ts keeps one frame: with frames decoded at read and run later, it had been
 *   overwritten for every queued frame — one run of bench:flood's sustained flood re-encoded
 *   18,917 of its 20,414 relays; now none of 20,916). A frame
 *   that fails its decode when served is counted as the connection's bad frame then
 *   (transport.ts `onBadFrame`), never run. Unloaded (nothing waiting) a frame is decoded in
 *   place and run as before.
 * - `run`: hand a frame to the machine; one that caused neither a validation nor a delivery was
 *   a duplicate, and scores as one.
 * - `validator`: the application's validate hook as the machine calls it (Io `validate`):
 *   counted by verdict, a throw or a bad return value taken as `ignore`, a `reject` scored
 *   against the peer the message came from.
 *
 * Limits: waiting past a bound (h31f) trades quarantine speed for no loss on a link older
 * than 1 s: a peer that floods its own messages there is read as fast as it is served (the
 * hot share, its reads held each turn) and spends its origin's burst (10,000) at that pace
 * before it is scored, where the drops over the bound spent it at the speed the socket was
 * read; it reaches the cluster at the hot share meanwhile, as it did before its quarantine.
 * A held link's relays of honest origins wait behind it in its TCP stream, and a node that
 * stays behind moves its backlog to the sender's send queue (bounded: IHAVEs shed, then the
 * link closed as `overflow`, connection.ts) — counted and repaired as a link failure. A frame queued undecoded is checked only when served, so a corrupted one is counted
 * as a bad frame a turn or more after it arrived (and not at all if its link is dropped first),
 * and it keeps its socket read buffer alive meanwhile, as a queued decoded frame's payload view
 * did; a frame split across two socket reads cannot be looked at and is decoded at its read as
 * before. A skimmed frame's checksum is never verified, so a corrupted frame of a flooding
 * peer is counted as a dropped gossip frame, not as a bad frame (it is dropped either way,
 * and charged to the peer that sent it on its own connection). Only the peer's own origin is
 * skimmed: a flood relayed under other origins is decoded frame by frame (and bounded by the
 * link's queue and the per-peer frame bucket). A held connection's other frames (relays,
 * control, heartbeats over TCP) wait one turn with its own; a young link's honest publisher
 * is served at the hot share for its first second (a burst of more than its queue, 1,024, in
 * that second loses the excess at this hop, charged to its origin's rate and not scored
 * within it; one whose burst in that second overflows the queue by more than `youngLinkDrops`
 * is quarantined, where an older link would only score it past the origin's 10,000-message
 * burst — the price of cutting a flood's start short; the drops are counted per connection,
 * so a peer's new connection starts a new count). The costs 8 and 1 set how many frames of each kind fit in a turn; they are not
 * the measured cost ratio, which was larger (bench:flood traces at load 13–30: ≈ 16 µs per
 * decoded frame of the flooder against ≈ 0.5 µs per skimmed one; docs/results.md, h22f).
 */
import type { Message, MsgId, Verdict } from '../proto/types.js';
import { decodeFrame, envelopeOriginRange, gossipFromOrigin, gossipOriginRange, type DecodeResult, type WireLimits } from '../wire/index.js';
import type { Connection } from './connection.js';
import { writeAtOnce } from './flush-scheduler.js';
import { FairInbound, type GossipFrame } from './fair-queue.js';
import type { PeerGuard } from './guard.js';
import type { StatsCounters } from './stats.js';

/** Read budget per connection and turn for its peer's own gossip frames: a decoded frame
 *  costs DECODE_COST, a skimmed one 1; once spent the connection is held until the next turn.
 *  1,024: 128 decoded frames or 1,024 skimmed ones (about two 64 KiB socket reads of 64-byte
 *  messages), a guess for a fraction of a millisecond of work per turn. */
const OWN_READ_BUDGET = 1024;
/** What decoding a gossip frame costs against skimming it (CRC-32C, SHA-256 id check and the
 *  message objects against a few byte comparisons and counters). 8: 128 decoded frames per
 *  turn, twice the fair queue's turn budget (see the module comment); 16 (64 decoded, the
 *  turn budget itself) let a flooder's queue settle below its bound, never overflow, and be
 *  served at the full budget (bench:flood traces, docs/results.md). */
const DECODE_COST = 8;
/** A link this young (ms since its connection was accepted or dialed) whose peer's own
 *  messages must wait in the fair queue has them served at the hot share at once (fair-queue.ts
 *  `markHot`), not at the full turn budget until they first overflow. */
const YOUNG_MS = 1000;
/** Most peer addresses whose UTF-8 bytes are cached for skimming (then the cache restarts). */
const MAX_ORIGIN_BYTES = 1024;
/** Reused: where a gossip frame's or envelope's origin lies (wire/peek.ts). */
const RANGE = new Int32Array(2);

/** What the inbound path needs from the transport. */
export interface GossipInboundHost {
  readonly defences: PeerGuard;
  readonly counters: StatsCounters;
  isClosed(): boolean;
  /** True while a machine call runs (a frame must then be queued through `drive`). */
  isDriving(): boolean;
  drive(fn: (now: number) => void): void;
  /** Feed one message to the idle machine and flush what it produced. */
  feed(peer: string, msg: Message<string>): void;
  handle(peer: string, msg: Message<string>, now: number): void;
  /** Log an exception thrown by the machine or a hook. */
  logThrow(err: unknown): void;
  /** The wire limits frames are decoded with. */
  readonly limits: WireLimits;
  /** A frame queued undecoded that failed its decode when served (counted as the connection's
   *  decoder would have: transport.ts `onBadFrame`). */
  badFrame(c: Connection, r: Extract<DecodeResult, { ok: false }>): void;
}

/** The application's validate hook as the transport takes it. */
export type ValidateHook = (id: MsgId, payload: Uint8Array, from: string) => Verdict;

export class GossipInbound {
  /** Null when fair queueing is off (`defences.fairQueue: false` or `limits: false`). */
  private readonly fair: FairInbound<Connection | null> | null;
  /** The last origin other than a link's peer read from a raw frame, and its bytes: most
   *  frames relayed on a link carry the same origin, so its string is made once. */
  private lastOrigin = '';
  private lastOriginBytes = new Uint8Array(0);
  private readonly utf8In = new TextDecoder();
  private readonly originBytes = new Map<string, Uint8Array>();
  private readonly utf8 = new TextEncoder();
  /** Validate-hook calls so far (a gossip frame that caused neither a call nor a delivery was
   *  a duplicate). */
  private validations = 0;
  /** Per connection, this turn's read budget spent on its peer's own gossip frames. */
  private readonly ownRead = new Map<Connection, number>();
  /** Connections whose reads are held until the next turn (`countOwn`). */
  private readonly held = new Set<Connection>();
  private turnScheduled = false;
  /** Per young connection, its peer's own frames dropped over a queue bound so far. */
  private readonly youngDrops = new WeakMap<Connection, number>();

  constructor(private readonly host: GossipInboundHost) {
    const fq = host.defences.fairQueue;
    this.fair = fq === null ? null : new FairInbound<Connection | null>(fq, (peer, msg, at, c) => (msg instanceof Uint8Array ? this.runRaw(peer, msg, at, c!) : this.run(peer, msg, at)));
    host.defences.fairQueueStats = this.fair?.stats ?? null;
  }

  /** A decoded gossip frame from `peer` on `c` (see the module comment). */
  offer(c: Connection, peer: string, msg: GossipFrame, now: number): void {
    const share = this.host.defences.share;
    if (this.fair === null && share === null) return this.run(peer, msg, now);
    // The origin, as a string made only when it is neither the peer nor the last one seen.
    const p = msg.payload;
    const origin = envelopeOriginRange(p, RANGE) ? this.originOf(peer, p, RANGE[0], RANGE[1]) : peer;
    const own = origin === peer;
    // An origin over its share of a busy node: refused at its ingress (limits.ts OriginShare),
    // charged as a frame dropped over a queue bound (read cost, origin token, young-link count).
    if (share !== null && !share.admit(origin, own, now)) {
      c.skimming = true;
      this.countOwn(c, DECODE_COST);
      return this.chargeDrop(c, peer, now);
    }
    if (this.fair === null) return this.run(peer, msg, now);
    // From now on its next frames are looked at before they are decoded (`skim`).
    c.skimming = true;
    // Over a bound, a frame that must not be lost waits past it, its link's reads held.
    const over = this.fair.full(peer, origin) && this.mayWait(c, peer, own, now);
    const r = this.fair.offer(peer, origin, msg, now, c, over);
    if (over) this.holdTurn(c);
    if (r === 'express') return writeAtOnce(() => this.run(peer, msg, now));
    // A capped origin's frames that wait are served at the hot share, and so are a young
    // link's own messages, from the start.
    if (r === 'queued' && ((own && now - c.createdAt < YOUNG_MS) || share?.capped(origin) === true)) this.fair.markHot(peer, origin);
    if (own) this.countOwn(c, DECODE_COST);
    if (r === 'run') this.run(peer, msg, now);
    else if (r !== 'queued' && own) {
      c.skimming = true;
      this.chargeDrop(c, peer, now);
    }
  }

  /** Connection hook while `skimming`: true when `frame` was taken undecoded (dropped unread,
   *  or queued raw; see the module comment). */
  skim(c: Connection, frame: Uint8Array, now: number): boolean {
    const peer = c.peer;
    if (peer === null || c.state !== 'open') {
      c.skimming = false;
      return false;
    }
    if (this.fair === null) return this.skimCapped(c, peer, frame, now);
    if (!gossipOriginRange(frame, RANGE)) return false;
    const origin = this.originOf(peer, frame, RANGE[0], RANGE[1]);
    const own = origin === peer;
    const fair = this.fair;
    // The unloaded case: decoded in place and run now by `offer`, as before.
    if (fair.wouldRun(peer, origin, now)) return false;
    const full = fair.full(peer, origin);
    // Over a bound, a relay or an own message within its origin's rate waits past it, and the
    // link's reads are held until the next turn (see the module comment).
    const over = full && this.mayWait(c, peer, own, now);
    const share = this.host.defences.share;
    if (own && ((full && !over) || (share?.capped(peer) === true && share.refuseUnread(peer, now)))) return this.dropOwnUnread(c, peer, frame, full, now);
    if (!this.admitCounted(c, peer, frame, now)) return true;
    c.lastProtoAt = now;
    if (share !== null && !share.admit(origin, own, now)) {
      this.countOwn(c, 1);
      this.chargeDrop(c, peer, now);
      return true;
    }
    const r = fair.offer(peer, origin, frame, now, c, over);
    if (over) this.holdTurn(c);
    if (r === 'express') {
      writeAtOnce(() => this.runRaw(peer, frame, now, c));
      return true;
    }
    if (r === 'queued' && ((own && now - c.createdAt < YOUNG_MS) || share?.capped(origin) === true)) fair.markHot(peer, origin);
    if (own) this.countOwn(c, DECODE_COST);
    if (r === 'run') this.runRaw(peer, frame, now, c);
    else if (r !== 'queued' && own) this.chargeDrop(c, peer, now);
    return true;
  }

  /** Without fair queueing (the origin share alone): a capped peer's own frames past its cap
   *  in the tick are refused from their header. */
  private skimCapped(c: Connection, peer: string, frame: Uint8Array, now: number): boolean {
    const share = this.host.defences.share;
    if (share?.capped(peer) !== true) {
      c.skimming = false;
      return false;
    }
    if (!gossipFromOrigin(frame, this.bytesOf(peer))) return false;
    if (!share.refuseUnread(peer, now)) return false;
    return this.dropOwnUnread(c, peer, frame, false, now);
  }

  /** Count a gossip frame read and admit it as every frame after the handshake is
   *  (transport.ts `onFrame`): false when refused (the peer destroyed once quarantined). */
  private admitCounted(c: Connection, peer: string, frame: Uint8Array, now: number): boolean {
    const { counters, defences } = this.host;
    counters.received.add('gossip', frame.length);
    if (!defences.admit(peer, frame.length, now)) {
      if (defences.quarantined(peer, now)) c.destroy('quarantined', false);
      return false;
    }
    counters.gossipIn++;
    return true;
  }

  /** Drop a frame of `peer`'s own origin unread (its queue full, or past its share), charged
   *  as a frame dropped over a bound. */
  private dropOwnUnread(c: Connection, peer: string, frame: Uint8Array, full: boolean, now: number): boolean {
    if (!this.admitCounted(c, peer, frame, now)) return true;
    if (full) this.fair!.countUnread(peer);
    this.fair?.seen(peer, now);
    this.chargeDrop(c, peer, now);
    this.countOwn(c, 1);
    return true;
  }

  /** The origin named at `frame[at, at + len)`: `peer` itself, the last other origin seen, or a
   *  new string. */
  private originOf(peer: string, frame: Uint8Array, at: number, len: number): string {
    if (sameBytes(frame, at, len, this.bytesOf(peer))) return peer;
    if (sameBytes(frame, at, len, this.lastOriginBytes)) return this.lastOrigin;
    this.lastOriginBytes = frame.slice(at, at + len);
    this.lastOrigin = this.utf8In.decode(this.lastOriginBytes);
    return this.lastOrigin;
  }

  /** A raw frame queued by `skim`, served: decoded (checksum, id check, schema) and run. */
  private runRaw(peer: string, frame: Uint8Array, at: number, c: Connection): void {
    const r = decodeFrame(frame, this.host.limits);
    if (!r.ok) return this.host.badFrame(c, r);
    if (r.msg.type !== 'gossip') return this.host.badFrame(c, { ok: false, error: 'malformed', detail: `${r.msg.type} frame with a gossip header`, fatal: false });
    this.run(peer, r.msg, at);
  }

  /** Charge `cost` to `c`'s own-frame read budget of this turn; once spent, hold its reads
   *  until the next turn (see the module comment). */
  private countOwn(c: Connection, cost: number): void {
    const spent = (this.ownRead.get(c) ?? 0) + cost;
    this.ownRead.set(c, spent);
    if (spent >= OWN_READ_BUDGET) this.holdTurn(c);
    else this.scheduleTurn();
  }

  /** Hold `c`'s reads until the next turn. */
  private holdTurn(c: Connection): void {
    if (!this.held.has(c)) {
      c.holdReads();
      this.held.add(c);
      if (this.fair !== null) this.fair.stats.held++;
    }
    this.scheduleTurn();
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.nextTurn());
  }

  /** May a frame over a queue bound wait past it (its link's reads then held) instead of being
   *  dropped? A relay always (it is never charged or scored, and dropping it lost it for good
   *  when the lazy repair met the same full queue); a peer's own message when its link is at
   *  least YOUNG_MS old and its origin's rate limit has a token for it (spent when it is
   *  validated). A young link's own messages and an origin over its rate are dropped and
   *  charged as before: that is how a flood is quarantined. */
  private mayWait(c: Connection, peer: string, own: boolean, now: number): boolean {
    if (!own) return true;
    if (now - c.createdAt < YOUNG_MS) return false;
    return this.host.defences.origins?.within(peer, now) !== false;
  }

  /** A new turn: budgets restart, held connections are read again. */
  private nextTurn(): void {
    this.turnScheduled = false;
    this.ownRead.clear();
    if (this.held.size === 0) return;
    const list = [...this.held];
    this.held.clear();
    for (const c of list) c.releaseReads();
  }

  /** The hook `v` wrapped as the machine's Io `validate` (see the module comment). */
  validator(v: ValidateHook): ValidateHook {
    const h = this.host;
    return (id, payload, from) => {
      this.validations++;
      let verdict: Verdict;
      try {
        verdict = v(id, payload, from);
      } catch (err) {
        h.logThrow(err);
        verdict = 'ignore';
      }
      if (verdict !== 'accept' && verdict !== 'reject' && verdict !== 'ignore') verdict = 'ignore';
      h.defences.stats.validation[verdict]++;
      if (verdict === 'reject') h.drive((now) => h.defences.offence(from, 'rejected', now));
      return verdict;
    };
  }

  /** Forget `peer`'s queued frames (quarantined). */
  dropLink(peer: string): void {
    this.fair?.dropLink(peer);
  }

  close(): void {
    this.fair?.close();
    this.held.clear();
    this.ownRead.clear();
  }

  /** A dropped frame of `peer`'s own origin spends a token of the origin's rate limit; past
   *  the limit it scores against the peer, and so does each drop past `youngLinkDrops` on a
   *  link under 1 s old (see the module comment). */
  private chargeDrop(c: Connection, peer: string, now: number): void {
    const d = this.host.defences;
    if (d.origins?.allow(peer, now) === false) return d.offence(peer, 'rate-excess', now);
    if (d.fairQueue === null || now - c.createdAt >= YOUNG_MS) return;
    const n = (this.youngDrops.get(c) ?? 0) + 1;
    this.youngDrops.set(c, n);
    if (n > d.fairQueue.youngLinkDrops) d.offence(peer, 'rate-excess', now);
  }

  /** Feed a gossip frame to the machine; one that caused neither a validation nor a delivery
   *  was a duplicate, and scores as one. */
  private run(peer: string, msg: GossipFrame, at: number): void {
    const h = this.host;
    if (h.isClosed() || h.defences.quarantined(peer, at)) return;
    if (h.isDriving()) return h.drive((n) => h.handle(peer, msg, n));
    const before = h.counters.deliveredRemote + this.validations;
    h.feed(peer, msg);
    if (h.counters.deliveredRemote + this.validations === before) h.defences.offence(peer, 'duplicate', at);
  }

  private bytesOf(peer: string): Uint8Array {
    let b = this.originBytes.get(peer);
    if (b === undefined) {
      if (this.originBytes.size >= MAX_ORIGIN_BYTES) this.originBytes.clear();
      b = this.utf8.encode(peer);
      this.originBytes.set(peer, b);
    }
    return b;
  }
}

/** Are `frame[at, at + len)` and `b` the same bytes? */
function sameBytes(frame: Uint8Array, at: number, len: number, b: Uint8Array): boolean {
  if (b.length !== len) return false;
  for (let k = 0; k < len; k++) if (frame[at + k] !== b[k]) return false;
  return true;
}
