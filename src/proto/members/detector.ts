/**
 * The failure detector of the membership machine (machine.ts has the protocol's module
 * comment): ring probing, SWIM's ping / ping-req / nack, Lifeguard's local health multiplier
 * and suspicion timeouts that shrink with confirmations, Rapid-style alerts between the
 * observers of a subject, and the TCP fast path.
 *
 * Transport of the probes: an ordinary ping (and its ack) goes by `datagram` (the agent: one
 * UDP datagram each, no connection to set up); an answer goes back the way its question came.
 * Over `send` (TCP in the agent) goes everything after a first failure: the indirect stage
 * (ping-reqs, the relays' pings and their acks or nacks) and its one extra direct ping
 * (memberlist's TCP fallback ping), so that a lossy path, or one that drops UDP, costs a
 * retransmission rather than a suspicion — measured with bench:faults (10 % loss at every
 * host for 60 s, N = 10): datagram ping-reqs gave 8 members listed not alive and 4 failed,
 * where TCP ones gave none then; and the fast probe after a link reset, which needs a refused
 * dial as evidence. With `indirectBothWays` (the agent) the indirect stage and the alert to a
 * suspect also go as datagrams, so that a lost SYN (a 1 s retransmission, longer than the
 * stage) does not decide alone: later runs of the same bench at load 20–45 listed 9–10
 * members not alive (2–6 failed) with TCP alone; the runs with both are in docs/results.md.
 * A quiet cluster only sends datagrams.
 *
 * Pings to the dead (memberlist's "gossip to the dead": members failed here are still pinged
 * for `reconnectIntervalMs`, then more slowly until the reconnect loop has tried them, so that
 * one that was only cut off hears its verdict and refutes)
 * are in dead-pings.ts, with their reasons and figures; the detector feeds them its table
 * changes and the messages it handles.
 */
import { DeadPings, tellFailed } from './dead-pings.js';
import type { Rng } from '../types.js';
import {
  ALIVE,
  FAILED,
  SUSPECT,
  incOf,
  isUp,
  pack,
  statusOf,
  type MembersConfig,
  type MembersMessage,
  type MembersTimer,
  type MemberStore,
} from './types.js';

/** What the detector needs from its machine. */
export interface DetectorHost<P> {
  readonly self: P;
  send(to: P, msg: MembersMessage<P>): void;
  /** Send a small probe message as a datagram where the driver has them (else as `send`). */
  datagram(to: P, msg: MembersMessage<P>): void;
  timer(delayMs: number, t: MembersTimer<P>): void;
  /** Our observation: `m` (at `state`) did not answer; mark it suspect and spread that. */
  markSuspect(m: P, state: number, now: number): void;
  /** The suspicion of `m` at `state` expired: mark it failed and spread that. `now`-urgent
   *  (`urgent`): send it to the neighbours at once instead of at the next flush. */
  markFailed(m: P, state: number, now: number, urgent?: boolean): void;
  /** Current overlay neighbours (preferred relays: their links were alive a moment ago). */
  neighbors(): Iterable<P>;
  /** Members failed here came back as a side: the overlay may be split from `m`
   *  (dead-pings.ts; `AppIo.peerReconnected`). */
  reconnected(m: P): void;
  /** Recent changes to piggyback on a ping or ack, and those received on one. */
  piggyback(): { ids: P[]; states: number[] };
  absorb(ids: P[], states: number[], now: number): void;
}

interface Probe<P> {
  target: P;
  /** The target's state when probed (its incarnation is the one we may accuse). */
  state: number;
  indirect: boolean;
  expectedNacks: number;
  nacks: number;
  /** Relays taken from our recent responders (their silence is evidence against us). */
  trusted: number;
  /** Started by a link reset (TCP fast path): indirect checks at once, short suspicion. */
  fast: boolean;
  due: number;
  /** Members asked to ping the target for us (an ack is taken from them or the target only). */
  relays: P[];
}

/** Probe periods after a suspicion or failure during which every ring's subject is probed
 *  each period (instead of one ring in turn). */
const ALARM_PERIODS = 10;

/** Recent responders remembered as preferred relays. */
const RECENT = 8;

interface Relay<P> {
  requester: P;
  seq: number;
  target: P;
  /** The ping-req came as a datagram: the ack or nack goes back as one. */
  dgram: boolean;
}

interface Suspicion<P> {
  state: number;
  start: number;
  accusers: Set<P>;
  fast: boolean;
  due: number;
}

/** Verdicts checked by our own probe at once (`verify`): a sync lists up to a few thousand
 *  entries, and a healed partition would otherwise set off a probe of each. */
const MAX_VERIFYING = 64;

export class Detector<P> {
  /** Lifeguard's local health multiplier score, 0 (healthy) … awarenessMax − 1. */
  health = 0;
  private seq = 0;
  private turn = 0;
  private readonly probes = new Map<number, Probe<P>>();
  private readonly probing = new Map<P, number>();
  private readonly relays = new Map<number, Relay<P>>();
  private readonly suspicions = new Map<P, Suspicion<P>>();
  /** Members that answered our last probes, newest last: the first relays we ask. */
  private readonly recent: P[] = [];
  /** When a suspicion or a failure last reached our table (-∞: never). */
  private troubleAt = -Infinity;
  /** The alive subject each ring had at the last tick (a new one is probed at once). */
  private readonly lastSubject: (P | undefined)[] = [];
  /** The table's `version` when a tick's walks all met no suspect (-1: none), and each ring's
   *  subject and its state then: reused while the version holds (`tick`). */
  private walkedAt = -1;
  private readonly walkSubject: P[] = [];
  private readonly walkState: number[] = [];
  /** Pings to the dead (dead-pings.ts). */
  private readonly deadPings: DeadPings<P>;
  /** Verdicts we took as suspicions (`verify`): member → the `suspect` state we hold. */
  private readonly verifying = new Map<P, number>();

  constructor(
    private readonly host: DetectorHost<P>,
    private readonly config: MembersConfig,
    private readonly rng: Rng,
    private readonly store: MemberStore<P>,
  ) {
    this.deadPings = new DeadPings<P>(
      {
        self: host.self,
        datagram: (to, msg) => host.datagram(to, msg),
        timer: (d, t) => host.timer(d, t),
        reconnected: (m) => host.reconnected(m),
        nextSeq: () => ++this.seq,
      },
      config,
      store,
      rng,
    );
  }

  /** Multiplier of every timeout and of the probe period: health + 1 (1 with local health off). */
  private scale(): number {
    return this.config.localHealth ? this.health + 1 : 1;
  }

  private addHealth(d: number): void {
    if (!this.config.localHealth) return;
    this.health = Math.max(0, Math.min(this.config.awarenessMax - 1, this.health + d));
  }

  /** A timer that fired `late` ms after its due time: a stall of this process (Lifeguard §4.1:
   *  timers firing late are a sign of local trouble). True when it is late enough to count. */
  private stalled(late: number): boolean {
    if (!this.config.localHealth || late <= this.config.probeTimeoutMs) return false;
    this.addHealth(Math.ceil(late / this.config.probeIntervalMs));
    return true;
  }

  // ------------------------------------------------------------------ probing

  start(now: number): void {
    const d = this.rng.int(this.config.probeIntervalMs);
    this.host.timer(d, { type: 'm-tick', due: now + d });
  }

  /** One probe tick every `probeInterval / K`: the suspects before each ring's subject, and
   *  one ring's subject — in a quiet cluster every K / quietProbes ticks (`quietProbes` probes
   *  per period, round robin over the rings: each member, probed in turn by its K observers,
   *  is still probed about `quietProbes` times per period), while members are failing every
   *  tick (each subject once per period, Rapid's full monitoring). */
  tick(due: number, now: number): void {
    // Woken from a stall: give the answers that waited with us a chance first.
    const stalled = this.stalled(now - due);
    const period = Math.max(1, Math.round((this.config.probeIntervalMs * this.scale()) / this.config.rings));
    this.host.timer(period, { type: 'm-tick', due: now + period });
    if (stalled) return;
    const K = this.config.rings;
    const t = this.turn++;
    // A suspicion or a failure reached our table lately: members are failing around us.
    const alarm = this.troubled(now);
    const step = Math.max(1, Math.round(K / Math.min(K, this.config.quietProbes)));
    const ring = alarm ? t % K : t % step === 0 ? Math.floor(t / step) % K : -1;
    // The table unchanged since walks that met no suspect: the same subjects, none new (the
    // walks were 13.5 % of a settled 2·10^4-node simulation's samples; docs/results.md, h36m).
    const v = this.store.version();
    if (this.walkedAt === v) {
      if (ring >= 0) this.probe(this.walkSubject[ring], this.walkState[ring], false, now);
    } else {
      this.walkedAt = v; // (a walk that meets a suspect or no subject resets it)
      for (let k = 0; k < K; k++) this.probeRing(k, k === ring, now);
    }
    // Co-observers we came to suspect meanwhile are no longer expected to confirm.
    for (const [m, sp] of this.suspicions) this.retime(m, sp, now);
  }

  /** Probe every suspect between this node and its first alive successor in ring `k` (a run
   *  of crashed members is walked in parallel), and that successor when `alive` is set or
   *  when it is new (its predecessor failed or left: we took over as its observer, and it
   *  should not wait K periods for its first probe from us). Its subject kept for `tick`. */
  private probeRing(k: number, alive: boolean, now: number): void {
    for (let i = 1; i <= 64; i++) {
      const m = this.store.ringStep(k, this.host.self, i);
      if (m === undefined || m === this.host.self) break;
      const s = this.store.get(m);
      if (!isUp(s)) continue;
      if (statusOf(s) === ALIVE) {
        const fresh = this.lastSubject[k] !== undefined && this.lastSubject[k] !== m;
        this.lastSubject[k] = m;
        this.walkSubject[k] = m;
        this.walkState[k] = s;
        if (alive || fresh) this.probe(m, s, false, now);
        return;
      }
      this.walkedAt = -1;
      this.probe(m, s, false, now);
    }
    this.walkedAt = -1;
  }

  /** The pings to the dead's timer (`m-dead-tick`; dead-pings.ts). */
  deadTick(now: number): void {
    this.deadPings.deadTick(now);
  }

  /** The reconnect loop tried failed member `m` (dead-pings.ts, the slow phase). */
  reconnectTried(m: P): void {
    this.deadPings.tried(m);
  }

  /** After a message from `from` was merged (`refuted`: it made us refute): the pings to the
   *  dead's two shortcuts (dead-pings.ts, `afterMessage`). */
  afterMessage(from: P, refuted: boolean, now: number): void {
    this.deadPings.afterMessage(from, refuted, now);
  }

  /** Subjects this node observes now (its first up successor in each ring). */
  subjects(): P[] {
    const out: P[] = [];
    for (const m of this.subjectsByRing()) if (m !== undefined && !out.includes(m)) out.push(m);
    return out;
  }

  /** This node's subject in each ring k (index k; undefined where the ring has none). */
  subjectsByRing(): (P | undefined)[] {
    const out: (P | undefined)[] = new Array<P | undefined>(this.config.rings).fill(undefined);
    for (let k = 0; k < this.config.rings; k++) {
      for (let i = 1; i <= 64; i++) {
        const m = this.store.ringStep(k, this.host.self, i);
        if (m === undefined || m === this.host.self) break;
        if (statusOf(this.store.get(m)) !== ALIVE) continue;
        out[k] = m;
        break;
      }
    }
    return out;
  }

  /** A suspicion or a failure reached our table in the last `ALARM_PERIODS` probe periods. */
  troubled(now: number): boolean {
    return now - this.troubleAt < ALARM_PERIODS * this.config.probeIntervalMs;
  }

  /** The observers of `m` in this node's view: its first up predecessor in each ring. */
  observersOf(m: P): P[] {
    const out: P[] = [];
    for (let k = 0; k < this.config.rings; k++) {
      for (let i = 1; i <= 64; i++) {
        const o = this.store.ringStep(k, m, -i);
        if (o === undefined || o === m) break;
        if (!isUp(this.store.get(o))) continue;
        if (!out.includes(o)) out.push(o);
        break;
      }
    }
    return out;
  }

  private probe(m: P, state: number, fast: boolean, now: number): void {
    if (this.probing.has(m)) return;
    const seq = ++this.seq;
    const t = this.config.probeTimeoutMs * this.scale();
    const p: Probe<P> = { target: m, state, indirect: false, expectedNacks: 0, nacks: 0, trusted: 0, fast, due: now + t, relays: [] };
    this.probes.set(seq, p);
    this.probing.set(m, seq);
    // A fast probe needs a dial (refused: the process is gone); an ordinary one a datagram.
    // A verdict we check (`verify`) rides on the ping: a live subject hears it and refutes.
    const v = this.verifying.get(m);
    const changes = v === undefined ? this.host.piggyback() : tellFailed(this.store, this.host.self, m, v, this.host.piggyback());
    const ping: MembersMessage<P> = { type: 'm-ping', seq, ...changes };
    if (fast) this.host.send(m, ping);
    else this.host.datagram(m, ping);
    if (fast) this.indirect(seq, p, now);
    this.host.timer(t, { type: 'm-probe-timeout', seq, due: p.due, indirect: p.indirect });
  }

  /** Ask up to `indirectChecks` members to ping `p.target` for us: those that answered our
   *  own latest probes first (alive a moment ago, so a silent relay says something about
   *  us, not about a mass failure), then overlay neighbours, then random members. */
  private indirect(seq: number, p: Probe<P>, now: number): void {
    const chosen: P[] = [];
    const want = this.config.indirectChecks;
    const ok = (x: P): boolean => x !== this.host.self && x !== p.target && !chosen.includes(x) && isUp(this.store.get(x));
    for (let i = this.recent.length - 1; i >= 0 && chosen.length < want; i--) if (ok(this.recent[i])) chosen.push(this.recent[i]);
    p.trusted = chosen.length;
    for (const x of this.host.neighbors()) {
      if (chosen.length >= want) break;
      if (ok(x)) chosen.push(x);
    }
    for (let tries = 0; chosen.length < want && tries < 4 * want; tries++) {
      const x = this.store.random(this.rng);
      if (x !== undefined && ok(x)) chosen.push(x);
    }
    for (const x of chosen) this.sendBoth(x, { type: 'm-ping-req', seq, target: p.target });
    p.relays = chosen;
    // And one more direct ping (memberlist's fallback ping over TCP): a lost ping or ack on a
    // lossy path should not cost a suspicion.
    if (!p.fast) this.sendBoth(p.target, { type: 'm-ping', seq, ...this.host.piggyback() });
    p.indirect = true;
    p.expectedNacks = chosen.length;
    if (!p.fast) {
      const t = (this.config.probeIntervalMs - this.config.probeTimeoutMs) * this.scale();
      p.due = now + t;
      this.host.timer(t, { type: 'm-probe-timeout', seq, due: p.due, indirect: true });
    }
  }

  /** `send`, and with `indirectBothWays` a datagram copy too (the first answer counts). */
  private sendBoth(to: P, msg: MembersMessage<P>): void {
    this.host.send(to, msg);
    if (this.config.indirectBothWays) this.host.datagram(to, msg);
  }

  /** The overlay link to `m` broke (`link-failed`): probe it now, directly and indirectly. */
  linkFailed(m: P, now: number): void {
    const s = this.store.get(m);
    if (!isUp(s) || m === this.host.self) return;
    const old = this.probing.get(m);
    if (old !== undefined) this.endProbe(old);
    this.probe(m, s, true, now);
  }

  /** The driver could not reach `m` at all (refused, reset) while we probe it: that probe
   *  failed. After a link reset (a `fast` probe) a refused dial on the member's advertised
   *  address is strong evidence that its process is gone (the TCP fast path): `m` is marked
   *  `failed` at once, and the verdict leaves without waiting for a flush. It can still
   *  refute (`alive` at a higher incarnation) if it is in fact alive. Otherwise a suspicion. */
  unreachable(m: P, now: number): void {
    const seq = this.probing.get(m);
    if (seq === undefined) return;
    const p = this.probes.get(seq)!;
    this.endProbe(seq);
    if (p.fast) {
      const s = this.store.get(m);
      if (!isUp(s) || incOf(s) !== incOf(p.state)) return;
      this.suspicions.delete(m);
      this.host.markFailed(m, s, now, true);
      return;
    }
    this.accuse(p.target, p.state, true, now);
  }

  private endProbe(seq: number): void {
    const p = this.probes.get(seq);
    if (p === undefined) return;
    this.probes.delete(seq);
    if (this.probing.get(p.target) === seq) this.probing.delete(p.target);
  }

  probeTimeout(seq: number, due: number, indirect: boolean, now: number): void {
    const p = this.probes.get(seq);
    if (p === undefined || p.due !== due) return;
    if (this.stalled(now - due)) {
      // Woken from a stall: the answer may be waiting in our input; look again shortly.
      p.due = now + this.config.probeTimeoutMs;
      this.host.timer(this.config.probeTimeoutMs, { type: 'm-probe-timeout', seq, due: p.due, indirect });
      return;
    }
    if (!p.indirect) {
      this.indirect(seq, p, now);
      return;
    }
    this.endProbe(seq);
    // memberlist counts missed nacks; we count only a probe where no relay answered at all
    // and every relay had answered us a moment before (with many members down at once,
    // other relays may be down too: that is not our fault).
    // (Not for a verdict we check, `verify`: a member others found dead says nothing about us.)
    if (p.expectedNacks > 0 && p.nacks === 0 && p.trusted === p.expectedNacks && !this.verifying.has(p.target)) this.addHealth(1);
    this.accuse(p.target, p.state, p.fast, now);
  }

  // ------------------------------------------------------------------ answers

  /** Answer a ping the way it came (a datagram, or over `send`). */
  onPing(from: P, seq: number, dgram = false): void {
    const s = this.store.get(from);
    // A ping from a member we hold failed (it was cut off, or a partition healed): tell it.
    const changes = s >= 0 && statusOf(s) === FAILED ? tellFailed(this.store, this.host.self, from, s, this.host.piggyback()) : this.host.piggyback();
    this.answer(from, { type: 'm-ack', seq, ...changes }, dgram);
  }

  private answer(to: P, msg: MembersMessage<P>, dgram: boolean): void {
    if (dgram) this.host.datagram(to, msg);
    else this.host.send(to, msg);
  }

  /** An ack from `from`: taken only from the member pinged, or from a relay we asked. */
  onAck(from: P, seq: number): void {
    const r = this.relays.get(seq);
    if (r !== undefined) {
      if (from !== r.target) return;
      this.relays.delete(seq);
      this.answer(r.requester, { type: 'm-ack', seq: r.seq, ...this.host.piggyback() }, r.dgram);
      return;
    }
    const p = this.probes.get(seq);
    if (p === undefined || (from !== p.target && !p.relays.includes(from))) return;
    this.endProbe(seq);
    // It answered: a verdict we were checking was wrong (its refutation rides on the ack).
    this.verifying.delete(p.target);
    this.addHealth(-1);
    const i = this.recent.indexOf(p.target);
    if (i >= 0) this.recent.splice(i, 1);
    this.recent.push(p.target);
    if (this.recent.length > RECENT) this.recent.shift();
  }

  onNack(seq: number): void {
    const p = this.probes.get(seq);
    if (p !== undefined) p.nacks++;
  }

  onPingReq(from: P, reqSeq: number, target: P, now: number, dgram = false): void {
    const seq = ++this.seq;
    this.relays.set(seq, { requester: from, seq: reqSeq, target, dgram });
    this.answer(target, { type: 'm-ping', seq, ...this.host.piggyback() }, dgram);
    // memberlist sends its nack at 80 % of the probe timeout.
    const t = Math.round(this.config.probeTimeoutMs * 0.8);
    this.host.timer(t, { type: 'm-relay-timeout', seq, due: now + t });
  }

  relayTimeout(seq: number): void {
    const r = this.relays.get(seq);
    if (r === undefined) return;
    this.relays.delete(seq);
    this.answer(r.requester, { type: 'm-nack', seq: r.seq }, r.dgram);
  }

  // ------------------------------------------------------------------ suspicion

  /** Our probes of `m` failed: suspect it (if still up at the incarnation probed), alert its
   *  other observers, and time the suspicion. */
  private accuse(m: P, probed: number, fast: boolean, now: number): void {
    const s = this.store.get(m);
    if (!isUp(s) || incOf(s) !== incOf(probed)) return;
    if (this.verifying.get(m) === s) {
      // A verdict another node holds, and now our own probe failed too: it stands.
      this.verifying.delete(m);
      this.suspicions.delete(m);
      this.host.markFailed(m, s, now);
      return;
    }
    const suspect = pack(incOf(s), SUSPECT);
    this.host.markSuspect(m, suspect, now);
    // The other observers confirm or not; the subject hears it and may refute.
    const co = this.observersOf(m).filter((o) => o !== this.host.self);
    for (const o of co) this.host.send(o, { type: 'm-alert', subject: m, state: suspect });
    this.sendBoth(m, { type: 'm-alert', subject: m, state: suspect });
    this.suspect(m, suspect, this.host.self, fast, now);
    // And we probe them: a co-observer that crashed with its subject never confirms, and
    // while we hold it alive the suspicion waits for it (Lifeguard's k); once our probe of
    // it fails we suspect it and expect no confirmation from it (measured: 5,000 nodes, 50 %
    // crashed, a subject suspected at 1.2 s by its three live observers was failed at 8.7 s,
    // its fourth observer dead but alive in their tables).
    for (const o of co) this.probe(o, this.store.get(o), false, now);
  }

  /** An observer of `subject` alerts us that it suspects it at `state`. */
  onAlert(from: P, subject: P, state: number, now: number): void {
    if (subject === this.host.self) {
      this.host.markSuspect(subject, state, now); // a refutation, if it is news
      return;
    }
    const cur = this.store.get(subject);
    if (!isUp(cur) || incOf(state) < incOf(cur)) return;
    const sp = this.suspicions.get(subject);
    if (sp === undefined) {
      // Check for ourselves (we are one of its observers), and count the alert meanwhile.
      if (cur < state) this.host.markSuspect(subject, state, now);
      this.probe(subject, this.store.get(subject), false, now);
    }
    this.suspect(subject, state, from, false, now);
  }

  /** Start or confirm the suspicion of `m` at `state` by `accuser`. */
  private suspect(m: P, state: number, accuser: P, fast: boolean, now: number): void {
    let sp = this.suspicions.get(m);
    if (sp !== undefined && sp.state < state) sp = undefined;
    if (sp === undefined) {
      sp = { state, start: now, accusers: new Set(), fast, due: Infinity };
      this.suspicions.set(m, sp);
    }
    if (sp.accusers.has(accuser) && !fast) return;
    sp.accusers.add(accuser);
    if (fast) sp.fast = true;
    this.retime(m, sp, now);
  }

  /** Move the suspicion's deadline earlier if its timeout shrank. */
  private retime(m: P, sp: Suspicion<P>, now: number): void {
    // A timeout that shrank below the time already spent expires now (not "late": a late
    // timer means a stalled process).
    const due = Math.max(now, sp.start + this.suspicionTimeout(m, sp));
    if (due < sp.due) {
      sp.due = due;
      this.host.timer(due - now, { type: 'm-suspect-timeout', subject: m, due });
    }
  }

  /** Lifeguard §4.2: max − (max − min)·log(C + 1)/log(k + 1) with C confirmations of k expected
   *  — here the subject's other observers that we hold `alive` (an observer we suspect is not
   *  expected to confirm: in a mass failure it is dead too) — never below min;
   *  min = α·max(1, log10 n)·interval. */
  private suspicionTimeout(m: P, sp: Suspicion<P>): number {
    if (sp.fast) return this.config.linkFailedSuspicionMs * this.scale();
    const n = Math.max(1, this.store.size());
    const min = this.config.suspicionMult * Math.max(1, Math.log10(n)) * this.config.probeIntervalMs;
    const max = this.config.suspicionMaxMult * min;
    let k = 0;
    for (const o of this.observersOf(m)) if (o !== this.host.self && statusOf(this.store.get(o)) === ALIVE) k++;
    if (n - 2 < k) k = 0;
    const c = sp.accusers.size - 1;
    const t = k < 1 ? min : Math.max(min, max - ((max - min) * Math.log(c + 1)) / Math.log(k + 1));
    return Math.round(t * this.scale());
  }

  suspectTimeout(m: P, due: number, now: number): void {
    const sp = this.suspicions.get(m);
    if (sp === undefined || sp.due !== due) return;
    if (this.stalled(now - due)) {
      // Woken from a stall: read what waited (a refutation?) before declaring anyone dead.
      sp.due = now + this.config.probeTimeoutMs;
      this.host.timer(this.config.probeTimeoutMs, { type: 'm-suspect-timeout', subject: m, due: sp.due });
      return;
    }
    this.suspicions.delete(m);
    const s = this.store.get(m);
    if (s === sp.state) this.host.markFailed(m, s, now);
  }

  /** `m` changed from `prev` (-1: not in the table) to `state` in the table: a refutation or a
   *  verdict ends our suspicion. */
  changed(m: P, state: number, now: number, prev = -1): void {
    const st = statusOf(state);
    if (st === SUSPECT || st === FAILED) this.troubleAt = now;
    const was = prev >= 0 ? statusOf(prev) : -1;
    if (m !== this.host.self) this.deadPings.changed(m, st, now, was === SUSPECT || was === FAILED, was === ALIVE);
    if (this.suspicions.size > 0) {
      const sp = this.suspicions.get(m);
      if (sp !== undefined && state !== sp.state) this.suspicions.delete(m);
    }
    if (this.verifying.size > 0) {
      const v = this.verifying.get(m);
      if (v !== undefined && state !== v) this.verifying.delete(m);
    }
  }

  /**
   * Anti-entropy brought a `failed` verdict about `m` that we held `alive` at that incarnation,
   * and we hold it `suspect` instead (memberlist's push-pull merge, machine.ts `apply`): probe
   * it ourselves, its `suspect` entry riding on the ping. No answer (direct and indirect, as
   * any probe): the verdict stands and `m` is `failed` here; an answer: `m` refutes. Without
   * this a node that is not one of `m`'s observers (only they time suspicions) held `m`
   * `suspect` until another sync happened to list its bucket again — at 10^5 members a digest
   * lists ≈ 2.6 of the 64 buckets, so a verdict the flood missed at a node could stay `up`
   * there past the 120 s of bench:members (docs/results.md, issue 20, h30m). At most
   * `MAX_VERIFYING` at once: the rest wait for the next sync, as before.
   */
  verify(m: P, suspect: number, now: number): void {
    if (m === this.host.self || this.verifying.size >= MAX_VERIFYING || this.verifying.has(m)) return;
    this.verifying.set(m, suspect);
    // (A probe of `m` under way decides as well.)
    this.probe(m, suspect, false, now);
  }

  /** We refuted a rumour about ourselves (Lifeguard: a sign we may be slow). */
  refuted(): void {
    this.addHealth(1);
  }

  /** Number of suspicions this node is timing (tests, metrics). */
  suspicionCount(): number {
    return this.suspicions.size;
  }
}
