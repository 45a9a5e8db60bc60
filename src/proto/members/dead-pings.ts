/**
 * Pings to the dead (memberlist's "gossip to the dead", its `GossipToTheDeadTime`), the part
 * of the failure detector (detector.ts) that talks to members it has already given up on.
 *
 * SWIM stops probing a member once it is declared failed; memberlist keeps gossiping to dead
 * members for 30 s so that a member that was only cut off learns of its verdict and refutes.
 * Here a member marked `failed` is still pinged, one such member per half probe interval (on
 * its own timer, not stretched by local health: such a ping accuses no one), for
 * `reconnectIntervalMs` after its verdict, then in a slow phase (below) until Serf's reconnect
 * loop, dissemination.ts, has tried it. The ping carries the member's own `failed` entry and ours, and nothing waits
 * for its answer (no timeout, no suspicion): a member that was only cut off hears it is
 * failed and refutes, and its ack carries the refutation back. The other way, a ping from a
 * member we hold `failed` is answered with its entry and ours (`tellFailed`, used by the
 * detector's `onPing`). Why: a host cut off for a few seconds (bench:faults `rejoin_ms`) or a
 * partition healed (`heal_ms`) otherwise waits for a new overlay link (HyParView's repair,
 * backed off while the links were down) or the 30 s reconnect loop; measured rejoin
 * 284–1,330 ms and heal 1–17 s over the runs of docs/results.md.
 *
 * Differs from memberlist: memberlist picks its gossip targets at random among alive and
 * recently dead members alike; we keep the dead on their own round robin (at most
 * `DEAD_CAP` of them, the newest), and add two shortcuts (`afterMessage`): a node that
 * refutes on the ack of its own ping to the dead sends the refutation straight back to the
 * acker (which holds it failed and is no link of it), and a failed member coming back sets
 * off pings to up to `RETURN_BURST` more of our dead at once (a healed partition brings its
 * whole side back).
 *
 * The overlay after a short partition (issue 20; absent from memberlist, which has no partial
 * view): the pings to the dead bring the lists back within a second of the heal, before any
 * reconnect tick finds a member still `failed` (dissemination.ts `reconnectTick`, which is
 * what tells HyParView to JOIN through the other side). Each side's overlay had dropped the
 * other side's peers (their links failed) and nothing else joins them again: bench:faults
 * (10 hosts, 5/5, rumor only) measured the lists whole 343 ms after a 5 s partition but the
 * overlay one connected graph only 51 s after (escalations through the original contact).
 * So when members suspect or failed here come back at least `RETURNS_FOR_HINT` times within
 * `RETURN_WINDOW_PERIODS` probe periods (a side coming back, not one host: a host that was
 * cut off repairs its own links, and every node JOINing through it would be a storm), the
 * overlay is told (`reconnected`, the same hint as an answered reconnect: HyParView JOINs
 * through that member unless it is a neighbour already) — by `HINTS_PER_RETURN` nodes of
 * the cluster on average (each node that sees the side return draws with probability
 * HINTS_PER_RETURN / members: every node hinting made 299 JOINs at the heal of `rumor sim
 * membership-partition --nodes 300 --seed 2`, against 12 from the reconnect loop alone), and
 * at most one draw per `HINT_PERIODS` probe periods. With once per `reconnectIntervalMs` (30 s) instead, the second of two
 * partitions 23 s apart (bench:faults `--partition-s 5,15`) was not hinted and its overlay
 * took 5.6 s to merge.
 *
 * The slow phase (differs from memberlist, which stops at 30 s): `reconnectIntervalMs` after
 * its verdict a member moves to a second round robin, pinged one member every
 * `SLOW_PERIODS` probe periods (2 s at the default 1 s), until the reconnect loop has tried it
 * (dissemination.ts `reconnectTick`, `tried`), it is back, failed anew or reaped, or
 * `SLOW_WINDOWS` reconnect intervals after its verdict. Why: a partition that outlasted the
 * 30 s of fast pings (bench:faults `heal_ms` after a 30 s partition: the verdicts came ≈ 3–5 s
 * in, so the fast pings stopped ≈ 3–5 s after the heal — or before it, for a partition a
 * little longer) otherwise heals only when some node's reconnect tick, once per 30 s, happens
 * to pick a member of the other side. Cost: ≤ 1 datagram of two entries per node per
 * `SLOW_PERIODS` periods while the slow list is not empty.
 *
 * Limits: only the `DEAD_CAP` most recent failures are pinged, in each phase (after a larger
 * mass failure the older ones wait for the reconnect loop); a ping lost on the way is not
 * retried until the member's next turn in the round robin; after a mass failure every node
 * keeps its slow pings to crashed members for `SLOW_WINDOWS` reconnect intervals (the
 * reconnect loop's random pick rarely tries one of its 64).
 */
import { DeadList } from './dead-list.js';
import type { Rng } from '../types.js';
import { ALIVE, FAILED, statusOf, type MembersConfig, type MembersMessage, type MembersTimer, type MemberStore } from './types.js';

/** What the pings to the dead need from the detector. */
export interface DeadPingHost<P> {
  readonly self: P;
  datagram(to: P, msg: MembersMessage<P>): void;
  timer(delayMs: number, t: MembersTimer<P>): void;
  /** A member failed here came back as one of a side (see the module comment): the overlay
   *  may be split from it (`AppIo.peerReconnected`). */
  reconnected(m: P): void;
  /** The next probe sequence number (shared with the detector's probes, so that an ack to a
   *  ping to the dead is never taken for the ack of a probe). */
  nextSeq(): number;
}

/** Most recently failed members remembered for pings to the dead (the newest are kept: a
 *  mass failure costs one extra ping per node and probe period, not one per failure). */
const DEAD_CAP = 64;

/** Probe periods between two pings of the slow phase (see the module comment): "every few
 *  seconds, one member at a time" — 2 s at the default 1 s probe interval, so each side of a
 *  partition of 5 + 5 hosts sends a ping across every ≈ 0.4 s in all. */
const SLOW_PERIODS = 2;
/** The slow phase ends `SLOW_WINDOWS` × `reconnectIntervalMs` after the verdict (5 min at
 *  the default 30 s) for a member the reconnect loop has not tried by then: the bound on what
 *  a node spends pinging members that really crashed. */
const SLOW_WINDOWS = 10;

/** Members pinged at once when a member failed here comes back (see `afterMessage`). */
const RETURN_BURST = 8;

/** Returns of suspect or failed members within `RETURN_WINDOW_PERIODS` probe periods that make a node
 *  hint its overlay (see the module comment): 2, so one host coming back hints nothing at the
 *  other nodes. */
const RETURNS_FOR_HINT = 2;
const RETURN_WINDOW_PERIODS = 5;
/** Overlay hints expected in the whole cluster when a side comes back (see the module
 *  comment): with 4, no node of N hints with probability (1 − 4/N)^N < 2 % (e^−4); the
 *  reconnect loop and HyParView's escalations remain behind it. */
const HINTS_PER_RETURN = 4;
/** Probe periods between two overlay hints of one node (its JOINs: one per 10 s on `lan`). */
const HINT_PERIODS = 10;

/** Period of the pings to the dead: half a probe interval (memberlist gossips to a dead
 *  member for 30 s, every 200 ms to 3 random members, dead ones included: about 1.7 times a
 *  second per node at N = 10; one per probe interval left bench:faults' rejoin slower than
 *  Serf's in some runs, docs/results.md). */
function deadPingPeriod(probeIntervalMs: number): number {
  return Math.max(1, Math.round(probeIntervalMs / 2));
}

/** Changes for a message to `m`, which `self` holds `failed` at `s`: `m`'s entry and ours,
 *  after the recent changes `pg` when given. */
export function tellFailed<P>(
  store: MemberStore<P>,
  self: P,
  m: P,
  s: number,
  pg: { ids: P[]; states: number[] } | null,
): { ids: P[]; states: number[] } {
  // Two slots left under the codec's 64 changes per ping or ack (src/wire/members.ts).
  const ids = pg === null ? [] : pg.ids.slice(0, 62);
  const states = pg === null ? [] : pg.states.slice(0, 62);
  ids.push(m);
  states.push(s);
  const mine = store.get(self);
  if (mine >= 0) {
    ids.push(self);
    states.push(mine);
  }
  return { ids, states };
}

export class DeadPings<P> {
  /** Members failed here lately, oldest first, and when. */
  private readonly dead = new DeadList<P>(DEAD_CAP);
  /** The slow phase: members failed here more than `reconnectIntervalMs` ago that the
   *  reconnect loop has not tried yet, oldest first (module comment); its round robin; when
   *  its next ping is due. */
  private readonly slow = new DeadList<P>(DEAD_CAP);
  private slowDue = -Infinity;
  /** An `m-dead-tick` is armed. */
  private deadArmed = false;
  /** A member failed here came back during the message being handled (see `afterMessage`). */
  private returned = false;
  /** When the last burst of pings to the dead on a return was sent. */
  private burstAt = -Infinity;
  /** When the last returns of members suspect or failed here happened (newest last, at most
   *  `RETURNS_FOR_HINT`). */
  private readonly returnTimes: number[] = [];
  /** When the overlay was last hinted (`reconnected`). */
  private hintAt = -Infinity;

  constructor(
    private readonly host: DeadPingHost<P>,
    private readonly config: MembersConfig,
    private readonly store: MemberStore<P>,
    private readonly rng: Rng,
  ) {}

  /** Every half probe interval while the dead list is not empty (its own timer: not stretched
   *  by local health, and not held up by a stalled tick — a ping to the dead accuses no one),
   *  one member failed here within `reconnectIntervalMs`, round robin, gets a ping with its own
   *  `failed` entry and ours (see the module comment); its answer is not awaited. Every
   *  `SLOW_PERIODS` probe periods, one member of the slow phase does too. */
  deadTick(now: number): void {
    this.deadArmed = false;
    const window = this.config.reconnectIntervalMs;
    while (this.dead.length > 0 && now - this.dead.failedAt(0) > window) {
      this.pushSlow(this.dead.member(0), this.dead.failedAt(0));
      this.dead.removeAt(0);
    }
    while (this.slow.length > 0 && now - this.slow.failedAt(0) > SLOW_WINDOWS * window) this.slow.removeAt(0);
    this.pingDeadOnes(1);
    if (this.slow.length > 0 && now >= this.slowDue) {
      this.slowDue = now + this.slowPeriod();
      this.pingSlowOnes(1);
    }
    this.armDead(now);
  }

  /** The reconnect loop sent `m` an `m-sync` (dissemination.ts `reconnectTick`): it has tried
   *  the member, whose slow pings stop. */
  tried(m: P): void {
    const i = this.slow.indexOf(m);
    if (i >= 0) this.slow.removeAt(i);
  }

  private slowPeriod(): number {
    return SLOW_PERIODS * this.config.probeIntervalMs;
  }

  private pushSlow(m: P, failedAt: number): void {
    this.slow.push(m, failedAt);
    if (this.slow.length > DEAD_CAP) this.slow.removeAt(0);
  }

  /** The timer: every half probe period while a member is in the fast phase, else when the
   *  next slow ping is due, while one is in the slow phase. */
  private armDead(now: number): void {
    if (this.deadArmed || this.dead.length + this.slow.length === 0) return;
    this.deadArmed = true;
    const d = this.dead.length > 0 ? deadPingPeriod(this.config.probeIntervalMs) : Math.max(1, this.slowDue - now);
    this.host.timer(d, { type: 'm-dead-tick', due: now + d });
  }

  /** Ping the next `count` members of the fast phase's round robin. Returns how many. */
  private pingDeadOnes(count: number): number {
    return this.pingRound(this.dead, count);
  }

  /** The same over the slow phase's round robin. */
  private pingSlowOnes(count: number): void {
    this.pingRound(this.slow, count);
  }

  /** Ping the next `count` members of `list`'s round robin (its `turn`), each with its own
   *  `failed` entry and ours; entries no longer failed leave the list. Returns how many were
   *  pinged (fewer once the round has gone round the whole list). */
  private pingRound(list: DeadList<P>, count: number): number {
    const first = new Set<P>();
    while (list.length > 0 && first.size < count) {
      if (list.turn >= list.length) list.turn = 0;
      const i = list.turn;
      const m = list.member(i);
      if (!this.pingable(m)) {
        list.removeAt(i);
        continue;
      }
      if (first.has(m)) break; // went round the whole list
      first.add(m);
      list.turn = i + 1;
      this.pingDead(m);
    }
    return first.size;
  }

  /** Still `failed` in our table (not back, not reaped). */
  private pingable(m: P): boolean {
    const s = this.store.get(m);
    return s >= 0 && statusOf(s) === FAILED;
  }

  private pingDead(m: P): void {
    const seq = this.host.nextSeq();
    this.host.datagram(m, { type: 'm-ping', seq, ...tellFailed(this.store, this.host.self, m, this.store.get(m), null) });
  }

  /**
   * After a message from `from` was merged. Two shortcuts for a host that was cut off, or a
   * partition that healed, where each side holds the other `failed`:
   * - `refuted`: the message (an ack to our ping to the dead) said we are failed and we
   *   refuted. The refutation goes back to `from` at once (a ping carrying our entry, its
   *   answer not awaited): `from` holds us failed and is not among our links, so otherwise it
   *   would wait for our next ping to it or another route.
   * - a member failed here came back (alive at a higher incarnation): the ones that failed
   *   with it may well be back too, so the next `RETURN_BURST` of our dead are pinged now,
   *   each with its own entry and our current one — at most once per probe interval. A real
   *   crash never comes back, so this costs nothing then.
   * Measured with bench:faults, docs/results.md.
   */
  afterMessage(from: P, refuted: boolean, now: number): void {
    const self = this.host.self;
    if (refuted && from !== self) {
      const mine = this.store.get(self);
      if (mine >= 0) this.host.datagram(from, { type: 'm-ping', seq: this.host.nextSeq(), ids: [self], states: [mine] });
    }
    if (!this.returned) return;
    this.returned = false;
    if (now < this.burstAt + this.config.probeIntervalMs) return;
    this.burstAt = now;
    const sent = this.pingDeadOnes(RETURN_BURST);
    if (sent < RETURN_BURST) this.pingSlowOnes(RETURN_BURST - sent);
  }

  /** `m`, suspect or failed here, is alive again: the overlay hint when a side is coming back
   *  (module comment). */
  private back(m: P, now: number): void {
    const times = this.returnTimes;
    times.push(now);
    if (times.length > RETURNS_FOR_HINT) times.shift();
    const window = RETURN_WINDOW_PERIODS * this.config.probeIntervalMs;
    if (times.length < RETURNS_FOR_HINT || now - times[0] > window) return;
    if (now < this.hintAt + HINT_PERIODS * this.config.probeIntervalMs) return;
    this.hintAt = now;
    const n = Math.max(1, this.store.size());
    if (n > HINTS_PER_RETURN && this.rng.next() * n >= HINTS_PER_RETURN) return;
    this.host.reconnected(m);
  }

  /** `m` (not this node) changed to status `st` in the table (`wasDown`: it was suspect or
   *  failed before; `wasAlive`: it was `alive`): it leaves the dead lists (either phase) when back alive or failed anew,
   *  and enters the fast one (newest) when failed. */
  changed(m: P, st: number, now: number, wasDown: boolean, wasAlive = false): void {
    if (st === ALIVE && wasDown) this.back(m, now);
    if (st !== ALIVE && st !== FAILED) return;
    // A member we held `alive` is in neither list: each change to `alive` passes here and
    // takes it out. So a failure wave's verdicts (most adopted over `alive`) skip the two
    // searches, whose presence filters, 2 KB a node, missed the cache at each adoption.
    const i = wasAlive ? -1 : this.dead.indexOf(m);
    const j = i >= 0 || wasAlive ? -1 : this.slow.indexOf(m);
    if (i >= 0) this.dead.removeAt(i);
    if (j >= 0) this.slow.removeAt(j);
    // A member failed here is back: see `afterMessage`.
    if ((i >= 0 || j >= 0) && st === ALIVE) this.returned = true;
    if (st === FAILED) {
      this.dead.push(m, now);
      if (this.dead.length > DEAD_CAP) this.dead.removeAt(0);
      this.armDead(now);
    }
  }
}
