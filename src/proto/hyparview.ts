/**
 * HyParView: Hybrid Partial View membership (Leitão, Pereira, Rodrigues, DSN 2007), sans-IO.
 *
 * Each node keeps two partial views of the overlay:
 * - the **active view** (size log(n)+c, default 5): a symmetric set of neighbours, each with a
 *   long-lived link that doubles as the failure detector. Broadcast runs over it.
 * - the **passive view** (size k·(log(n)+c), default 30): a reserve of peers that are not
 *   connected, used to repair the active view, refreshed by periodic SHUFFLE.
 *
 * Paper rules, in the paper's terms:
 * - JOIN: a new node sends JOIN to a contact. The contact adds it to its active view (dropping
 *   a random member with DISCONNECT when full) and sends FORWARDJOIN(new, ARWL) to every other
 *   active member.
 * - FORWARDJOIN(new, ttl) at p: if ttl = 0 or |active(p)| = 1, p adds `new` to its active view.
 *   Otherwise, if ttl = PRWL, p adds `new` to its passive view; and p forwards
 *   FORWARDJOIN(new, ttl-1) to a random active member other than the sender.
 * - NEIGHBOR(priority): asks the receiver to add the sender to its active view. High priority
 *   (the sender's active view is empty) is always accepted, dropping a random member if needed;
 *   low priority only when there is a free slot. A rejected node stays in the requester's
 *   passive view and the requester tries another passive peer.
 * - Reactive repair: when an active link fails, the node promotes random passive peers (opens a
 *   link, sends NEIGHBOR); a peer whose link fails is removed from the passive view.
 * - DISCONNECT: the receiver removes the sender from its active view (a dropped peer moves to
 *   the passive view).
 * - SHUFFLE(origin, ids, ttl), periodic: `ids` = ka active ids + kp passive ids (plus origin).
 *   It travels as a random walk; where it stops (ttl exhausted or |active| = 1) the receiver
 *   answers SHUFFLEREPLY over a temporary connection with as many random passive ids, and both
 *   sides merge the received ids into their passive views, skipping self and known ids and,
 *   when full, evicting first the ids they sent to the other side, then random ones.
 *
 * Differs from the paper:
 * - Join acknowledgement: the contact answers JOIN with `neighbor-reply {accepted: true}`; the
 *   joiner adds the contact only then. A contact that does not answer within
 *   `joinTimeoutMs`, or whose link fails, is skipped for the next one.
 * - FORWARDJOIN endpoint: p adds the joiner at once (as the paper) and sends it
 *   `neighbor {priority: high}` so the joiner adds p (the paper relies on the TCP connection
 *   for this); the joiner's reply is then ignored. (iroh-gossip instead waits for the reply
 *   before adding; here an unreachable joiner is removed by the link-down report.)
 * - NEIGHBOR requests time out (`hv-neighbor-timeout`); a timed-out peer is dropped like a
 *   failed one. Parallel requests fill the gap; only one high-priority request is
 *   outstanding at a time (others are low) to limit evictions.
 * - An accept that arrives when it is no longer wanted (timed out, or the view filled
 *   meanwhile) is answered with DISCONNECT {alive: true}, keeping the views symmetric.
 * - Peers that rejected a NEIGHBOR are not asked again until the next shuffle tick (or until
 *   the active view is full), so repair cannot ping-pong between full nodes.
 * - Bounded promotion (the paper asks the next passive peer after every rejection): a node
 *   whose active view is short but not empty starts at most `promotionsPerPeriod` (1)
 *   low-priority NEIGHBORs per shuffle period, the refill after being evicted (DISCONNECT)
 *   included, and does not retry a rejection before the next period. Immediate retries remain
 *   for an empty active view and after a failure (link down, request timed out). measured
 *   (10k nodes, seed 1, 60 s): NEIGHBOR + reply 378k before, 113k after (3.3× fewer; ~71k of
 *   the rest are the FORWARDJOIN-endpoint NEIGHBORs and their replies).
 * - Escalation (absent from the paper): a short active view with no accepted request for
 *   `escalateLowAfter` (1) whole shuffle periods when at most `lowWatermark` (1) members, or
 *   `escalateAfter` (2) otherwise, sends one high-priority NEIGHBOR (always accepted). Odd
 *   escalations go to a random original contact in neither view (likely outside an island
 *   that formed later), even ones or no such contact to a random passive peer. This heals
 *   small islands whose members have free slots but whose passive views hold only full nodes
 *   or island members (e.g. a pair that joined through a node that had no neighbours yet).
 *   An island where every member is full is caught by another sign: a full active view with
 *   an empty passive view for more than `escalateLowAfter` shuffle periods (every peer ever
 *   heard of is already a neighbour) makes the node re-JOIN through an original contact that
 *   is not a neighbour (see `checkIsolated`); so does a full active view whose passive view
 *   stays under half full while three shuffle replies in a row bring nothing new (the walks
 *   never leave the group). Only a contact outside both views is used, so a small cluster
 *   (where every contact is known) never churns.
 * - Slower escalation one short of full after having been full: a node whose active view
 *   has been full at least once and is now exactly `activeViewSize − 1` (above
 *   `lowWatermark`) escalates only after `escalateSettledAfter` periods. Such a node is
 *   usually a healthy member of a settled overlay (it was evicted, or lost a link);
 *   escalating evicts a stranger, who is then one short in turn, so the gap wanders around a
 *   settled overlay, each move breaking a Plumtree tree edge (Plumtree repairs it at once, see
 *   plumtree.ts). But the same state is that of a closed island formed by a fast join, which
 *   only escalation heals. measured: with no escalation at all in that state, the 10^6-node
 *   bench (seed 1) delivered to 0.999982 of the nodes and 100k nodes (seed 2) kept 5
 *   components after 40 s; with 4 periods still 5; so the default is 2 (= `escalateAfter`),
 *   and a small cluster that wants a still overlay raises it (test/proto/hyparview-settled:
 *   20 nodes, 1000 periods: no change in 10 minutes for seeds 1–8; default: 0–50 changes).
 * - Concurrent bootstrap (issue 18). The paper's joins are sequential, through a node already
 *   in the overlay. A fleet that starts at once (every node seeded with peers that are joining
 *   too, or not listening yet) split under the paper's rules into islands that never met: 20
 *   library nodes joined in a ring were 7 components after 3 s and 5 after 61 s, and in the
 *   simulator (`rumor sim bootstrap`, seed 1) 1,000 such nodes were 108 components after 30 s
 *   (random seeds: 99; all-to-all: 88; two seeds down: 174). So:
 *   - a node keeps its contacts (`join` merges new ones: a driver passes the addresses a DNS
 *     name resolves to again and again; at most `maxContacts`, sampled) and a bootstrap timer
 *     (`hv-join-retry`, every `joinRetryMs` jittered) JOINs again through the next contact
 *     while its active view is under half full or none of its JOINs was accepted yet; under
 *     half full it alternates with the addresses learned since (JOIN through a passive peer)
 *     and with walks: FORWARDJOIN(self, ARWL) sent through its own neighbours, one per free
 *     slot, whose ends add it as a contact's walks add a joiner;
 *   - two or more short: one low-priority NEIGHBOR per period, and after a rejection a
 *     high-priority one (escalation at the retry pace instead of whole shuffle periods);
 *   - the island rule: a node whose own JOIN is pending and that has no neighbour yet refuses
 *     a stranger's JOIN (it could not forward it: the pair would start as an island that nobody
 *     knows; accepting every such JOIN left concurrent joins of small clusters as sparse trees,
 *     and in test/net/failure.test.ts the survivors of a crash were a pair that knew nobody
 *     else). A joiner that is one of its own configured contacts (a fleet given one list, e.g.
 *     a DNS name) is accepted and held instead: the FORWARDJOIN walks its JOIN would start wait
 *     for the node's first neighbour outside the held joiners and go through it then (at most
 *     `activeViewSize` held). Refusing those too, a fleet given every address had nobody
 *     accepting a JOIN until some node had tried all its 128 contacts: 1,000 nodes took
 *     4.6–5.5 s to one component (seeds 1–3), 1.1–1.15 s with the hold;
 *   - a contact that accepts a JOIN introduces its other neighbours and a few passive peers to
 *     the joiner: a SHUFFLE with ttl 1, which ends at the joiner (it merges them into its passive
 *     view and answers as any shuffle end). A node that joined a small fleet at the same moment
 *     as the others no longer starts with an empty passive view;
 *   - evictions spare configured contacts, and during a bootstrap window (`bootstrapWindow`
 *     retry periods after `join`) a node whose last contact link is cut JOINs through its
 *     contacts again. A fleet seeded as a ring or a tree is held together by exactly these
 *     links until the JOIN walks have mixed it; with only a high-priority NEIGHBOR back to the
 *     contact (no walks), 1,000-node fleets stayed 5–12 components (ring, random, staggered,
 *     down-seeds; measured with a 20-period window);
 *   - once full (or one short after full; under `cut-off`, the TCP runtime's rule, one short
 *     at all) and joined, the timer slows to `rejoinIntervalMs` and then sends a SHUFFLE
 *     straight to a contact in neither view (addresses cross between groups; nothing is
 *     evicted). (Under `cut-off` a one-short node's NEIGHBORs mostly reached full peers: 50
 *     agents against one seed, docs/results.md, h33j.)
 *   measured (`rumor sim bootstrap --nodes N --seed S`, N = 20, 1,000, 10,000, S = 1–3,
 *   docs/results.md): every pattern one component within 4.6 s, every view ≥ 4 within 8.2 s,
 *   one component at the end.
 *   The cost is churn while nodes bootstrap, once: 1,000 nodes joined one per ms (the other
 *   experiments' build) send 4.9k JOINs and 126k FORWARDJOINs in their first 15 s, against
 *   1.1k and 20k before the retries (~110 more small messages per node), and the
 *   introductions 4.8k SHUFFLEs and as many replies (~10 per node, ~400 bytes); a fleet
 *   started at once with random seeds sent 5.2k JOINs and 121k FORWARDJOINs (before the
 *   introductions).
 *   Limits: groups whose contacts never point outside the group cannot meet (the seeds must
 *   connect the fleet); groups that settle apart after the window are merged only by
 *   escalations and the contact exchange, in tens of seconds or more; a node that only ever
 *   heard of nodes that then crash stays apart (six nodes joined at once as a tree, one
 *   crashed the instant the overlay connects: ~36 % of fleets left apart, with or without
 *   the island rule; crashed 400 ms later: 0–1 of 300, test/sim/bootstrap.test.ts).
 * - Walk end with room (`walkEndWithRoom`: 0, the paper's, in the simulator; 3 in the TCP profiles):
 *   a FORWARDJOIN with TTL ≤ it ends at a node with a free active slot (no eviction). docs/results.md (h36j).
 * - DISCONNECT {alive} carries whether the sender keeps running: only live peers move to the
 *   passive view. Receiving a DISCONNECT also refills the active view from the passive view.
 * - LEAVE (absent from the paper): DISCONNECT {alive: false} to every active member, then inert.
 * - Healing: if both views are empty the node re-JOINs through its original contacts with
 *   capped exponential backoff and jitter (`hv-repair`), so partitions heal without operator
 *   action; the cap (`repairMaxMs`, 10 s) is one shuffle period, so a node isolated by a
 *   partition notices within ~10 s that it healed. The shuffle tick also refills a short
 *   active view from the passive view.
 * - Reconnect (absent from the paper): a partition that outlasts the failure detector leaves
 *   two overlays, each whole, whose nodes keep the other side in neither view; nothing in the
 *   paper's rules joins them again. The membership application's reconnect loop (Serf's: a
 *   random `failed` member gets an `m-sync`) finds the other side; the node whose own sync was
 *   answered is told (`reconnect`, through `AppIo.peerReconnected`) and JOINs through that
 *   member. One accepted JOIN merges the overlays through its FORWARDJOIN walks.
 * - The shuffle reply carries |ids| + 1 passive ids (the paper's list includes the origin);
 *   incoming TTLs are clamped to the configured walk lengths (a peer cannot start long walks).
 *
 * Driver contract: `io` methods must not call back into the machine synchronously (report link
 * failures later with `handleLinkDown`). Views are small lists, arrays of the machine's own or
 * its row of the simulator's shared typed array, chosen at construction (hyparview-views.ts;
 * membership tests are linear scans of ≤ 30 entries): no Sets and no closures on the hot path, constant messages are shared
 * immutable objects — drivers must not mutate messages.
 */
import { KIND_JOIN, MSG_DISCONNECT_ALIVE, MSG_NEIGHBOR_HIGH, NONE, SCRATCH, HyParViewState } from './hyparview-state.js';
import { pickExcept, removeAt, removeValue, sampleInto } from './hyparview-views.js';
import type { MembershipMachine } from './machine.js';
import type { CyclonMessage, CyclonTimer, HyParViewMessage, HyParViewTimer } from './types.js';

export { type HyParViewConfig, DEFAULT_HYPARVIEW_CONFIG, validateHyParViewConfig } from './hyparview-config.js';

const MSG_ACCEPT = { type: 'neighbor-reply', accepted: true } as const;
const MSG_REJECT = { type: 'neighbor-reply', accepted: false } as const;
const MSG_DISCONNECT_LEAVING = { type: 'disconnect', alive: false } as const;
const TIMER_SHUFFLE = { type: 'hv-shuffle' } as const;

/** HyParView membership machine (see the module comment). */
export class HyParView<P> extends HyParViewState<P> implements MembershipMachine<P> {
  /** The active view (read it, do not keep or mutate it: the live array, or a copy when the
   *  views are rows of a shared store, hyparview-views.ts). */
  activeView(): readonly P[] {
    return this.views.list(this.aOff);
  }

  /** The passive view (as `activeView`). */
  passiveView(): readonly P[] {
    return this.views.list(this.pOff);
  }

  /** A read-only hint for a driver that loads the state of coming inputs ahead of them (the
   *  simulator's event loop, src/sim/sim-engine.ts `loadAhead`): reads the object's first
   *  line (its header and the views) and its last (`left`, `self`, `cfg`, `io`). No effect
   *  on behaviour; the value means nothing. */
  warm(): number {
    return this.left ? 1 : 0;
  }

  /**
   * Add `contacts` to the configured ones (see `addContacts`), start the shuffle and bootstrap
   * timers, and JOIN through the first reachable contact unless a JOIN is outstanding or the
   * active view is at least half full (no contact: first node). A driver calls it again with
   * fresh addresses (e.g. a DNS name resolved again).
   */
  join(contacts: readonly P[], now: number): void {
    if (this.left) return;
    if (this.retrySeq === 0) this.joinAt = now;
    this.addContacts(contacts);
    if (!this.shuffleStarted) {
      this.shuffleStarted = true;
      this.armShuffle();
    }
    const short = this.nActive() * 2 < this.cfg.activeViewSize;
    if (!this.joinPending() && this.contacts.length > 0 && short) this.startJoin(0);
    if (this.retrySeq === 0) this.armRetry(false, true);
  }

  handleMessage(from: P, msg: HyParViewMessage<P> | CyclonMessage<P>, now: number): void {
    if (this.left || from === this.self) return;
    // Most frequent first (the cases are compared in order); measured at 3·10^4 simulated
    // nodes: FORWARDJOIN 33 % of all events, SHUFFLE 11 %, NEIGHBOR-REPLY 8 %, NEIGHBOR 6 %,
    // DISCONNECT 6 %.
    switch (msg.type) {
      case 'forward-join':
        this.onForwardJoin(from, msg.peer, msg.ttl);
        break;
      case 'shuffle':
        this.onShuffle(from, msg.origin, msg.peers, msg.ttl);
        break;
      case 'neighbor-reply':
        this.onNeighborReply(from, msg.accepted === true, now);
        break;
      case 'neighbor':
        this.onNeighbor(from, msg.priority === 'high');
        break;
      case 'disconnect':
        this.onDisconnect(from, msg.alive === true, now);
        break;
      case 'join':
        this.onJoin(from);
        break;
      case 'shuffle-reply':
        this.onShuffleReply(msg.peers);
        break;
      default:
        break; // Cyclon messages are not ours.
    }
  }

  handleTimer(t: HyParViewTimer<P> | CyclonTimer, now: number): void {
    if (this.left) return;
    switch (t.type) {
      case 'hv-shuffle':
        this.onShuffleTimer();
        break;
      case 'hv-repair':
        this.onRepairTimer(t.attempt);
        break;
      case 'hv-neighbor-timeout':
        this.onRequestTimeout(t.peer, t.seq);
        break;
      case 'hv-join-retry':
        this.onJoinRetry(t.seq, now);
        break;
      default:
        break;
    }
  }

  /** The link to `peer` failed or could not be opened. Peers in neither view nor pending are ignored
   *  (a graceful close after DISCONNECT must not erase a live passive entry). */
  handleLinkDown(peer: P, now: number): void {
    if (this.left || peer === this.self) return;
    if (this.removeActive(peer, 'link-failed')) {
      removeValue(this.views, this.pOff, peer);
      this.fill(this.cfg.activeViewSize);
      this.lostContact(peer, now);
      this.retrySoon();
      return;
    }
    const i = this.pendPeer.indexOf(peer);
    if (i < 0) return;
    const kind = this.pendKind(i);
    this.removePending(i);
    removeValue(this.views, this.pOff, peer);
    this.io.disconnect(peer);
    if (kind === KIND_JOIN) this.startJoin(this.joinIdx + 1);
    else this.fill(1);
  }

  /**
   * A member that the node's membership application held failed answered its reconnect
   * (issue 20: Serf's reconnect loop found the other side of a healed partition). JOIN
   * through it, as through a contact, unless it is a neighbour already or a JOIN of ours (or
   * any request to it) is in flight: the contact adds us (evicting one of its neighbours when
   * full) and its FORWARDJOIN walks end at random nodes of its side, which add us too, so one
   * accepted JOIN links the two overlays. A refused or timed-out JOIN is not retried here (the
   * next reconnect that succeeds asks again). True when the JOIN was sent.
   */
  reconnect(peer: P, _now: number): boolean {
    if (this.left || peer === this.self || this.isActive(peer)) return false;
    if (this.joinPending() || this.pendPeer.indexOf(peer) >= 0) return false;
    removeValue(this.views, this.pOff, peer);
    this.joinIdx = this.contacts.length; // a failure goes on with no configured contact
    this.sendJoin(peer);
    return true;
  }

  /** DISCONNECT {alive: false} every active member, close every link, become inert. */
  leave(_now: number): void {
    if (this.left) return;
    this.left = true;
    const n = this.nActive();
    for (let i = 0; i < n; i++) {
      const p = this.activeAt(i);
      this.io.send(p, MSG_DISCONNECT_LEAVING);
      this.io.neighborDown(p, 'leaving');
      this.io.disconnect(p);
    }
    for (let i = 0; i < this.pendPeer.length; i++) this.io.disconnect(this.pendPeer[i]);
    this.views.clear(this.aOff);
    this.views.clear(this.pOff);
    this.clearPending();
    this.rejected = NONE;
    this.held = NONE;
    this.lastShuffle = null;
  }

  // ------------------------------------------------------------------ message handlers

  private onJoin(joiner: P): void {
    if (this.isActive(joiner)) {
      this.io.send(joiner, MSG_ACCEPT);
      return;
    }
    // Still joining ourselves, with no neighbour to forward the JOIN to. A joiner that is one
    // of our own configured contacts (a fleet given one list, e.g. a DNS name) is accepted and
    // its walks held until our first neighbour outside the held joiners arrives (addActive);
    // any other joiner is refused (it would start as an island with a node nobody knows).
    if (this.joinPending() && this.onlyHeld()) {
      const h = this.held;
      for (let i = h.length - 1; i >= 0; i--) if (!this.isActive(h[i])) removeAt(h, i); // gone since
      if (h.length >= this.cfg.activeViewSize || this.contacts.indexOf(joiner) < 0) {
        this.io.send(joiner, MSG_REJECT);
        return;
      }
      if (h === NONE) this.held = [joiner];
      else h.push(joiner);
      this.addActive(joiner);
      this.io.send(joiner, MSG_ACCEPT);
      return;
    }
    this.addActive(joiner);
    this.io.send(joiner, MSG_ACCEPT);
    const fwd: HyParViewMessage<P> = { type: 'forward-join', peer: joiner, ttl: this.cfg.arwl };
    const n = this.nActive();
    for (let i = 0; i < n; i++) if (this.activeAt(i) !== joiner) this.io.send(this.activeAt(i), fwd);
    this.introduce(joiner);
  }

  private onForwardJoin(from: P, joiner: P, ttlIn: number): void {
    if (joiner === this.self) return;
    const ttl = ttlIn > this.cfg.arwl ? this.cfg.arwl : ttlIn;
    if (!(ttl > 0) || this.nActive() <= 1 || (ttl <= this.cfg.walkEndWithRoom && this.nActive() < this.cfg.activeViewSize)) {
      if (!this.isActive(joiner)) {
        this.addActive(joiner);
        this.io.send(joiner, MSG_NEIGHBOR_HIGH);
      }
      return;
    }
    if (ttl === this.cfg.prwl) this.addPassive(joiner);
    const next = pickExcept(this.views, this.aOff, from, joiner, this.rng);
    if (next >= 0) this.io.send(this.activeAt(next), { type: 'forward-join', peer: joiner, ttl: ttl - 1 });
  }

  private onNeighbor(from: P, high: boolean): void {
    if (!this.isActive(from)) {
      if (!high && this.nActive() >= this.cfg.activeViewSize) {
        this.io.send(from, MSG_REJECT);
        return;
      }
      if (high && this.cfg.bootstrapRejoin === 'cut-off') this.noteWalkedIn(from);
      this.addActive(from);
    }
    this.io.send(from, MSG_ACCEPT);
  }

  private onNeighborReply(from: P, accepted: boolean, now: number): void {
    const i = this.pendPeer.indexOf(from);
    if (i < 0) {
      // Not (or no longer) asked: undo an accept so the other side does not keep us alone.
      if (accepted && !this.isActive(from)) this.io.send(from, MSG_DISCONNECT_ALIVE);
      return;
    }
    const kind = this.pendKind(i);
    this.removePending(i);
    if (kind === KIND_JOIN) {
      if (accepted) {
        this.joined = true;
        // Read in `cut-off` mode only (written only then: a number that is not an integer
        // would be one more boxed object in every machine).
        if (this.cfg.bootstrapRejoin === 'cut-off' && this.contacts.indexOf(from) >= 0) this.contactAcceptedAt = now;
        this.joinIdx = -1;
        this.starved = 0;
        this.addActive(from);
      } else {
        this.io.disconnect(from);
        this.startJoin(this.joinIdx + 1);
      }
      return;
    }
    if (accepted && this.nActive() < this.cfg.activeViewSize) {
      this.starved = 0;
      this.addActive(from);
      return;
    }
    if (accepted) this.io.send(from, MSG_DISCONNECT_ALIVE);
    this.io.disconnect(from);
    this.addPassive(from);
    if (!accepted) {
      this.addRejected(from);
      // Only an isolated node retries at once; others wait for the next shuffle period.
      if (this.nActive() === 0) this.fill(this.cfg.activeViewSize);
    }
  }

  private onDisconnect(from: P, alive: boolean, now: number): void {
    if (this.removeActive(from, 'disconnected')) {
      this.lostContact(from, now);
      if (alive) {
        this.addPassive(from);
        // It just dropped us, most likely because it is full: do not ask it right back.
        this.addRejected(from);
      }
      this.fillBudgeted();
      this.retrySoon();
      return;
    }
    const i = this.pendPeer.indexOf(from);
    if (i >= 0) {
      const kind = this.pendKind(i);
      this.removePending(i);
      this.io.disconnect(from);
      if (alive) this.addPassive(from);
      if (kind === KIND_JOIN) this.startJoin(this.joinIdx + 1);
      else this.fill(1);
      return;
    }
    if (!alive) removeValue(this.views, this.pOff, from);
  }

  private onShuffle(from: P, origin: P, peers: P[], ttlIn: number): void {
    if (origin === this.self || !Array.isArray(peers)) return;
    if (!this.heardOutside && !this.isActive(origin)) this.heardOutside = true;
    const ttl = (ttlIn > this.cfg.shuffleTtl ? this.cfg.shuffleTtl : ttlIn) - 1;
    if (ttl > 0 && this.nActive() > 1) {
      const next = pickExcept(this.views, this.aOff, from, origin, this.rng);
      if (next >= 0) {
        this.io.send(this.activeAt(next), { type: 'shuffle', origin, peers, ttl });
        return;
      }
    }
    const n = Math.min(peers.length, this.cfg.passiveViewSize) + 1;
    const reply: P[] = [];
    sampleInto(this.views, this.pOff, n, origin, reply, SCRATCH as P[], this.rng);
    this.io.send(origin, { type: 'shuffle-reply', peers: reply });
    this.merge(origin, true, peers, reply);
  }

  private onShuffleReply(peers: P[]): void {
    const sent = this.lastShuffle;
    if (sent === null || !Array.isArray(peers)) return;
    this.lastShuffle = null;
    // A reply that teaches nothing new is one sign of a closed island (see checkIsolated).
    if (this.merge(this.self, false, peers, sent) === 0) this.staleShuffles++;
    else this.staleShuffles = 0;
  }

  // ------------------------------------------------------------------ timers

  private onShuffleTimer(): void {
    this.armShuffle();
    this.rejected = NONE;
    this.budget = this.cfg.promotionsPerPeriod;
    const a = this.nActive();
    const size = this.cfg.activeViewSize;
    if (a === 0 || a >= size) {
      this.starved = 0;
      this.checkIsolated(a >= size);
    } else {
      this.starved++;
      // One short after having been full: most likely a healthy member of a settled overlay
      // (see the module comment, "Escalation"): wait longer before evicting a stranger.
      const settled = a === size - 1 && a > this.cfg.lowWatermark && this.wasFull;
      const need = a <= this.cfg.lowWatermark ? this.cfg.escalateLowAfter : settled ? this.cfg.escalateSettledAfter : this.cfg.escalateAfter;
      if (this.starved > need && this.escalate()) this.starved = 0;
    }
    if (this.nActive() + this.pendPeer.length < size) this.fillBudgeted();
    const n = this.nActive();
    if (n === 0) return;
    const target = this.activeAt(this.rng.int(n));
    const peers: P[] = [];
    sampleInto(this.views, this.aOff, this.cfg.shuffleActive, target, peers, SCRATCH as P[], this.rng);
    sampleInto(this.views, this.pOff, this.cfg.shufflePassive, target, peers, SCRATCH as P[], this.rng);
    this.lastShuffle = peers;
    this.io.send(target, { type: 'shuffle', origin: this.self, peers, ttl: this.cfg.shuffleTtl });
  }

  private onRepairTimer(attempt: number): void {
    if (!this.repairArmed || attempt !== this.repairAttempt) return; // stale
    this.repairArmed = false;
    if (this.nActive() > 0) {
      this.repairAttempt = 0;
      return;
    }
    this.repairAttempt++;
    if (this.pendPeer.length === 0) {
      this.rejected = NONE;
      if (this.nPassive() > 0) this.fill(this.cfg.activeViewSize);
      else this.startJoin(0);
    }
    this.armRepair();
  }

  /**
   * Bootstrap retry (see the module comment, "Concurrent bootstrap"). Under half full: JOIN
   * again through the next configured contact in neither view's way (round robin), else
   * through a random passive peer. Half full but never full yet: one NEIGHBOR to a passive
   * peer. Once full at least once and half full: every `rejoinIntervalMs` a SHUFFLE straight to
   * a configured contact that is in neither view. A tick that starts nothing doubles the delay
   * (up to `repairMaxMs`), so a cluster too small to fill a view stays quiet.
   */
  private onJoinRetry(seq: number, now: number): void {
    if (seq !== this.retrySeq) return; // re-armed since: stale
    const a = this.nActive();
    const size = this.cfg.activeViewSize;
    // Progress: a neighbour was added since the last tick (a busy contact whose members keep
    // being replaced makes progress even when its view size does not grow). Eight ticks
    // without progress (seeds down, nobody to ask) and the retry backs off (see `armRetry`).
    this.stalled = this.gains !== this.lastGains ? 0 : this.stalled + 1;
    this.lastGains = this.gains;
    if (!this.joined) this.joined = this.contacts.length === 0 || this.hasActiveContact();
    // A node that has been full is in the overlay: after the window its dead seeds stop mattering.
    if (!this.joined && this.wasFull && now - this.joinAt >= this.cfg.bootstrapWindow * this.cfg.joinRetryMs) this.joined = true;
    // `cut-off`: one short is settled even if never full, and a settled node's tick does nothing.
    const cutOff = this.cfg.bootstrapRejoin === 'cut-off';
    const settled = this.joined && (a >= size || (a === size - 1 && (this.wasFull || cutOff)));
    if (this.retryLong && settled) {
      this.exchangeWithContact();
      return this.armRetry(true, false);
    }
    let acted = false;
    // Under half full: configured contacts and learned addresses by turns (a contact that is
    // down must not keep the node from the overlay it already touches). Not while the walks of
    // a JOIN a contact just accepted are on their way (`cut-off`: see `awaitingWalks`).
    if ((a * 2 < size || !this.joined) && this.awaitingWalks(now)) acted = true;
    else if (a * 2 < size) acted = (this.retryTurn++ & 1) === 0 ? this.retryJoin(true) || this.walkForNeighbors() : this.walkForNeighbors() || this.retryJoin(true);
    else if (!this.joined) acted = this.retryJoin(false);
    else if (a + this.pendPeer.length < size && !(settled && cutOff)) {
      // Two or more short: after one rejection (the passive peers are full), or with nobody
      // left to ask at low priority, one high-priority request (one eviction at most).
      const twoShort = a <= size - 2;
      if (twoShort && this.rejected.length > 0) acted = this.escalate();
      if (!acted) {
        const before = this.pendPeer.length;
        this.fill(1);
        acted = this.pendPeer.length > before;
      }
      if (!acted && twoShort) acted = this.escalate() || this.walkForNeighbors();
    }
    this.armRetry(settled, acted);
  }

  /**
   * During the bootstrap window (`bootstrapWindow` retry periods after `join`), losing the
   * last configured contact from the active view counts as not joined: the retries JOIN
   * through the contacts again. A fleet seeded as a ring (or a chain, or a tree) is held
   * together by exactly these links until the walks have mixed the overlay.
   */
  private lostContact(peer: P, now: number): void {
    if (!this.joined || this.contacts.indexOf(peer) < 0 || this.hasActiveContact()) return;
    if (now - this.joinAt >= this.cfg.bootstrapWindow * this.cfg.joinRetryMs) return;
    if (this.cfg.bootstrapRejoin === 'cut-off' && this.hasWalkedIn()) return;
    this.joined = false;
    if (this.retryLong) this.armRetry(false, true);
  }

  /** The active view fell two short while only the long retry is armed: retry soon. */
  private retrySoon(): void {
    if (this.retryLong && this.nActive() <= this.cfg.activeViewSize - 2) this.armRetry(false, true);
  }

  private onRequestTimeout(peer: P, seq: number): void {
    const i = this.pendPeer.indexOf(peer);
    if (i < 0 || this.pendSeq(i) !== seq) return; // answered already: stale firing
    const kind = this.pendKind(i);
    this.removePending(i);
    this.io.disconnect(peer);
    if (kind === KIND_JOIN) this.startJoin(this.joinIdx + 1);
    else this.fill(1);
  }

  private armShuffle(): void {
    const d = Math.floor(this.cfg.shuffleIntervalMs * (0.5 + this.rng.next()));
    this.io.timer(d, TIMER_SHUFFLE);
  }
}
