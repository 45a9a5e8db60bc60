/**
 * Queries: ask every matching member of the cluster and collect their answers — Serf's
 * `serf query` (hashicorp/serf `query.go`, `serf.go` Query/handleQuery), as a sans-IO
 * application (`src/proto/app.ts`) that the simulator and the TCP runtime host unchanged.
 *
 * In Serf's terms:
 * - The asker broadcasts the *query* (name, payload, filters, timeout, whether to ack, relay
 *   factor) to every node (or sends it to each expected member directly: below); each node
 *   checks the filter against its own name and tags
 *   (`--node` names, `--tag key=regex`) and, when it matches, *acks* (if asked) straight to
 *   the asker and hands the query to its user (agent handler scripts `query:NAME`, or the
 *   library's `onQuery`), whose answer is the *response*, sent point to point to the asker.
 * - With a *relay factor* r > 0, the response is also sent to r random other members, each of
 *   which forwards it once to the asker: a response survives a broken direct path.
 * - A node answers a query once (by origin and id), and not after its timeout.
 * - The asker streams acks and responses to its user as they arrive.
 *
 * Differs from Serf:
 * - **A direct query for a small expected set.** Serf always gossips the query. Here, when the
 *   asker has an expect list whose members other than itself number at most
 *   `directMaxMembers` (64), it sends the query to each of them itself, as one application
 *   datagram (authenticated, sealed with the cluster key like acks and responses; over TCP
 *   when it does not fit one), and does not broadcast it: one hop for every member instead of
 *   Plumtree's ~4 at N = 50, and no relaying node wakes for it. `directFallbackMs` (250 ms)
 *   after the ask, if an expected member has neither acked nor answered, the asker broadcasts
 *   the query as the broadcast path would have (each receiver answers once per origin and id,
 *   whichever copy comes first). Without acks (`ack` false) only an answer counts, so a
 *   handler slower than the wait costs that broadcast too (that query then costs what the
 *   broadcast path costs, plus the datagrams). Asking for acks on the wire anyway, as
 *   receipts, was tried: one more datagram per member and query, and more CPU per agent in
 *   bench:event-cost (docs/results.md, h32q). Filters still apply at the receiver; a
 *   receiver takes a direct query only from its origin (`from` = `origin`; others are counted
 *   in `foreignDirect` and dropped). `AskRequest.path` forces either way (`broadcast`,
 *   `direct`); without an expect list the query is broadcast. Counters: `direct` (queries sent
 *   directly), `directSent` (their datagrams), `directFallbacks` (of them, broadcast after the
 *   wait), `receivedDirect` (queries this node took from a direct copy).
 * - **A query ends as soon as every expected member has answered** (Serf waits for its
 *   timeout, hashicorp/serf issues 398 and 509). The asker's host passes the members it
 *   expects (its member list, filtered by the same rules); a node that has no handler for the
 *   query says so (`q-ack` with `final`, sent even when no ack was asked), so the asker need
 *   not wait for it either. The summary lists who answered, who acked only, who said nothing.
 * - The asker answers its own query when it matches (as Serf), but locally, without sending.
 * - Acks, responses and relayed responses go as datagrams (`io.sendDatagram`; the TCP runtime:
 *   one UDP packet each, TCP when one is too large), as Serf sends them (memberlist's
 *   best-effort UDP `SendTo`). Over TCP each of the N answering members dialed the asker, did a
 *   handshake and sent one frame: N connections accepted by one event loop at once (measured
 *   with bench/cluster at N = 50: see docs/results.md, "Queries").
 * - Ids are random 48-bit numbers, not Lamport times: queries are not ordered, only deduplicated
 *   (a restarted asker cannot collide with its earlier queries' ids except by chance, 2^-48).
 * - Tag patterns are anchored (`^(?:re)$`, as `serf members -tag`), where `serf query -tag`
 *   matches anywhere in the value.
 * - The built-in `_rumor.ping` query (`rumor reachability`) is answered by the machine itself.
 * - A host may have a response sent by another process (`responseTemplate`, then
 *   `answeredElsewhere`): the agent's handler launcher sends it when the handler exits, the
 *   same bytes the node would have sent, from the launcher's own UDP port (Serf's agent
 *   answers through its own process, after reading the handler's output).
 *
 * Limits, said plainly:
 * - The expected set is the asker's view when it asks: a member it believes alive but that
 *   died is reported missing at the timeout; one that joined later may answer and is shown,
 *   but is not waited for. A direct query reaches only the expected set (and, after a
 *   fallback, everyone): a member the asker did not know of, or whose matching tags it had not
 *   yet heard, is not asked, where the broadcast would have shown its unexpected answer.
 * - Acks and responses are not retried, and as datagrams they can be lost (UDP): relays
 *   (`relayFactor`) are the only redundancy, as in Serf. A lost query (a node the
 *   broadcast did not reach) shows as missing. A direct query is sent once more, by broadcast,
 *   when an expected member is silent after `directFallbackMs` (a lost ack also causes it).
 * - A node remembers at most `maxRemembered` queries to answer each once; a query replayed after
 *   it was forgotten (and before its timeout) could be answered twice — the asker keeps only the
 *   first response per member.
 * - Tag patterns are JavaScript regular expressions from the network: bounded in length, but a
 *   pathological pattern can still backtrack for a while on a long tag value.
 * - The timeout is relative: each node counts it from its own receipt.
 * - A relay forwards a response to the origin its message names, unchecked (it keeps no record
 *   of queries it relays for): a hostile member can make relays send to an address of its
 *   choice, one message per relay message (as Serf's relays).
 */
import type { App, AppIo } from '../app.js';
import type { DownReason, Rng } from '../types.js';
import { utf8Bytes } from '../utf8.js';
import { checkFilter, cutUtf8, matchesFilter, MAX_QUERY_ERROR_BYTES, PING_QUERY, QUERY_PATHS, type QueryConfig, type QueryEvent, type QueryFilter, type QueryMessage, type QueryPath, type QueryResponseMsg, type QuerySummary, type QueryTimer } from './types.js';

/** What the asker wants. */
export interface AskRequest<P> {
  name: string;
  payload: Uint8Array;
  filter: QueryFilter;
  timeoutMs: number;
  ack: boolean;
  relayFactor: number;
  /** Members expected to answer (the host's member list, filtered); the query ends when each
   *  has answered or declined. Null: no list (a library node without membership): the query
   *  runs to its timeout. */
  expect: P[] | null;
  /** How to send it (`QueryPath`); default `auto`. */
  path?: QueryPath;
}

type QueryMsg<P> = Extract<QueryMessage<P>, { type: 'q-query' }>;

/** Why a call was refused. */
export type QueryRefusal = { type: 'payload-too-large' | 'too-many' | 'bad-request' | 'unknown' | 'stopped'; message: string };
export type QueryResult<V> = { ok: true; value: V } | { ok: false; error: QueryRefusal };

/** How the machine learns about its node and the cluster (injected by the host). */
export interface QueryEnv<P> {
  /** This node's member name and tags, read when a query arrives. */
  self(): { name: string; tags: Readonly<Record<string, string>> };
  /** Members a response may be relayed through (alive members; self and the asker are skipped). */
  relayPeers(): readonly P[];
  /** A stable string of a peer id (dedup keys). */
  key(p: P): string;
}

interface Asking<P> {
  name: string;
  started: number;
  deadline: number;
  expect: Set<P> | null;
  answered: P[];
  answeredSet: Set<P>;
  acked: Set<P>;
  declined: Set<P>;
  /** Expected members still owing an answer. */
  owing: number;
  /** A direct query: its message (broadcast at the fallback), and whether that happened. */
  direct: { msg: QueryMsg<P>; fellBack: boolean } | null;
}

interface Pending<P> {
  origin: P;
  id: number;
  /** This node's member name when the query arrived (its ack and answer carry it: one
   *  `env.self()` per query). */
  rname: string;
  deadline: number;
  relayFactor: number;
  answered: boolean;
}

const ID_SPACE = 2 ** 48;

/** The query application (see the module comment). */
export class QueryMachine<P> implements App<P, QueryMessage<P>, QueryTimer> {
  private readonly asking = new Map<number, Asking<P>>();
  /** Queries seen as a responder, by `origin/id`, in arrival order (Map order). */
  private readonly seen = new Map<string, Pending<P>>();
  private stopped = false;
  readonly counters = { asked: 0, received: 0, answered: 0, answeredElsewhere: 0, declined: 0, relayed: 0, lateResponses: 0, duplicateResponses: 0, expiredAnswers: 0, direct: 0, directSent: 0, directFallbacks: 0, receivedDirect: 0, foreignDirect: 0 };

  constructor(
    readonly self: P,
    private readonly config: QueryConfig,
    private readonly rng: Rng,
    private readonly io: AppIo<P, QueryMessage<P>, QueryTimer, QueryEvent<P>>,
    private readonly env: QueryEnv<P>,
  ) {}

  start(_now: number): void {}
  neighborUp(_peer: P, _now: number): void {}
  neighborDown(_peer: P, _reason: DownReason, _now: number): void {}

  /** Queries this node is asking now. */
  get inFlight(): number {
    return this.asking.size;
  }

  /** Ask a query: broadcast it (or send it to each expected member: the module comment),
   *  answer it here if this node matches, arm its deadline. */
  ask(req: AskRequest<P>, now: number): QueryResult<number> {
    const bad = this.checkAsk(req);
    if (bad !== null) return { ok: false, error: bad };
    let id = this.rng.int(ID_SPACE);
    while (this.asking.has(id)) id = this.rng.int(ID_SPACE);
    const expect = req.expect === null ? null : new Set(req.expect);
    const targets = this.directTargets(req.path ?? 'auto', expect);
    const msg: QueryMsg<P> = { type: 'q-query', id, origin: this.self, name: req.name, payload: req.payload, filter: req.filter, timeoutMs: req.timeoutMs, ack: req.ack, relayFactor: req.relayFactor };
    const direct = targets === null ? null : { msg, fellBack: false };
    this.asking.set(id, { name: req.name, started: now, deadline: now + req.timeoutMs, expect, answered: [], answeredSet: new Set(), acked: new Set(), declined: new Set(), owing: expect?.size ?? -1, direct });
    this.counters.asked++;
    this.io.timer(req.timeoutMs, { type: 'q-deadline', id });
    if (targets === null) this.io.broadcast(msg);
    else {
      this.counters.direct++;
      this.counters.directSent += targets.length;
      for (const p of targets) this.sendSmall(p, msg);
      if (targets.length > 0) this.io.timer(Math.min(this.config.directFallbackMs, Math.floor(req.timeoutMs / 2)), { type: 'q-fallback', id });
    }
    this.onQuery(msg, now, false);
    if (expect !== null && expect.size === 0) this.finish(id, 'complete', now);
    return { ok: true, value: id };
  }

  /** The members to send the query to directly (the expected ones but this node), or null:
   *  broadcast it. */
  private directTargets(path: QueryPath, expect: Set<P> | null): P[] | null {
    if (path === 'broadcast' || expect === null) return null;
    const targets = [...expect].filter((p) => p !== this.self);
    return path === 'direct' || targets.length <= this.config.directMaxMembers ? targets : null;
  }

  private checkAsk(req: AskRequest<P>): QueryRefusal | null {
    const c = this.config;
    if (this.stopped) return { type: 'stopped', message: 'query: the node has stopped' };
    if (req.payload.byteLength > c.maxPayloadBytes) return { type: 'payload-too-large', message: `query payload of ${req.payload.byteLength} bytes exceeds the limit of ${c.maxPayloadBytes}` };
    if (this.asking.size >= c.maxConcurrent) return { type: 'too-many', message: `query: ${this.asking.size} queries already in flight on this node (at most ${c.maxConcurrent})` };
    const nb = utf8Bytes(req.name);
    if (nb < 1 || nb > c.maxNameBytes) return { type: 'bad-request', message: `query name of ${nb} bytes (expected 1..${c.maxNameBytes})` };
    if (!Number.isInteger(req.timeoutMs) || req.timeoutMs < 1 || req.timeoutMs > c.maxTimeoutMs) return { type: 'bad-request', message: `query timeout: expected 1..${c.maxTimeoutMs} ms, got ${req.timeoutMs}` };
    if (!Number.isInteger(req.relayFactor) || req.relayFactor < 0 || req.relayFactor > c.maxRelayFactor) return { type: 'bad-request', message: `relay factor: expected 0..${c.maxRelayFactor}, got ${req.relayFactor}` };
    if (req.path !== undefined && !QUERY_PATHS.includes(req.path)) return { type: 'bad-request', message: `query path: expected auto, direct or broadcast, got ${JSON.stringify(req.path)}` };
    const f = checkFilter(req.filter, c);
    return f === null ? null : { type: 'bad-request', message: f };
  }

  /** Answer query `key` (from a `query` event) with `payload` (`error` "" on success). A payload
   *  over the limit is cut to it and flagged in `error`. */
  respond(key: string, payload: Uint8Array, error: string, now: number): QueryResult<void> {
    const p = this.takePending(key, now);
    if (!p.ok) return p;
    const max = this.config.maxResponseBytes;
    let body = payload;
    let err = error;
    if (payload.byteLength > max) {
      body = payload.subarray(0, max);
      err = err === '' ? `response of ${payload.byteLength} bytes cut to the limit of ${max}` : `${err}; response cut to ${max} bytes`;
    }
    this.counters.answered++;
    this.sendResponse(p.value, { type: 'q-response', id: p.value.id, responder: this.self, rname: p.value.rname, payload: body, error: err === '' ? '' : cutUtf8(err, MAX_QUERY_ERROR_BYTES) }, now);
    return { ok: true, value: undefined };
  }

  /**
   * The response to query `key` with an empty payload, to whom, and how long before its
   * deadline: for a host that lets another process send it when the answer is ready (the
   * agent's handler launcher puts the handler's output in as the payload), then tells the
   * machine with `answeredElsewhere`. Null when the answer must go through `respond`: the asker
   * is this node, relays were asked for (`relayFactor` > 0), or it is unknown, answered or past
   * its deadline. Changes nothing.
   */
  responseTemplate(key: string, now: number): { to: P; msg: QueryResponseMsg<P>; leftMs: number } | null {
    const p = this.seen.get(key);
    if (p === undefined || p.answered || now > p.deadline || p.origin === this.self || p.relayFactor !== 0) return null;
    return { to: p.origin, msg: { type: 'q-response', id: p.id, responder: this.self, rname: p.rname, payload: new Uint8Array(0), error: '' }, leftMs: p.deadline - now };
  }

  /** Query `key` was answered by the host's other process (`responseTemplate`): count it, and
   *  answer it no more. Its deadline was checked by the sender. */
  answeredElsewhere(key: string): QueryResult<void> {
    const p = this.seen.get(key);
    if (p === undefined || p.answered) return { ok: false, error: { type: 'unknown', message: `query ${key}: unknown or already answered` } };
    p.answered = true;
    this.counters.answered++;
    this.counters.answeredElsewhere++;
    return { ok: true, value: undefined };
  }

  /** This node has no answer to query `key` (no handler): tell the asker not to wait. */
  decline(key: string, now: number): QueryResult<void> {
    const p = this.takePending(key, now);
    if (!p.ok) return p;
    this.counters.declined++;
    const ack: QueryMessage<P> = { type: 'q-ack', id: p.value.id, responder: this.self, rname: p.value.rname, final: true };
    if (p.value.origin === this.self) this.onAck(ack, now);
    else this.sendSmall(p.value.origin, ack);
    return { ok: true, value: undefined };
  }

  /** Acks, responses and relays: as a datagram where the driver has them (a message too large
   *  for one still goes over TCP), else as an ordinary message. See the module comment. */
  private sendSmall(to: P, msg: QueryMessage<P>): void {
    if (this.io.sendDatagram !== undefined) this.io.sendDatagram(to, msg);
    else this.io.send(to, msg);
  }

  private takePending(key: string, now: number): QueryResult<Pending<P>> {
    const p = this.seen.get(key);
    if (p === undefined || p.answered) return { ok: false, error: { type: 'unknown', message: `query ${key}: unknown or already answered` } };
    p.answered = true;
    if (now > p.deadline) {
      this.counters.expiredAnswers++;
      return { ok: false, error: { type: 'unknown', message: `query ${key}: past its timeout, not answered` } };
    }
    return { ok: true, value: p };
  }

  private sendResponse(p: Pending<P>, r: QueryResponseMsg<P>, now: number): void {
    if (p.origin === this.self) {
      this.onResponse(r, now);
      return;
    }
    this.sendSmall(p.origin, r);
    if (p.relayFactor === 0) return;
    const peers = this.env.relayPeers().filter((x) => x !== this.self && x !== p.origin);
    for (let i = 0; i < p.relayFactor && peers.length > 0; i++) {
      const j = this.rng.int(peers.length);
      this.sendSmall(peers[j], { type: 'q-relay', origin: p.origin, inner: r });
      peers[j] = peers[peers.length - 1];
      peers.pop();
    }
  }

  handleBroadcast(msg: QueryMessage<P>, now: number): void {
    if (msg.type === 'q-query' && !this.stopped) this.onQuery(msg, now, false);
  }

  handleMessage(from: P, msg: QueryMessage<P>, now: number): void {
    if (this.stopped) return;
    switch (msg.type) {
      case 'q-ack':
        return this.onAck(msg, now);
      case 'q-response':
        return this.onResponse(msg, now);
      case 'q-relay':
        // Forward once to the asker; a relay addressed to us is just a response.
        if (msg.origin === this.self) return this.onResponse(msg.inner, now);
        this.counters.relayed++;
        return this.sendSmall(msg.origin, msg.inner);
      case 'q-query':
        // A direct query (the module comment): only from its asker.
        if (from !== msg.origin) {
          this.counters.foreignDirect++;
          return;
        }
        return this.onQuery(msg, now, true);
    }
  }

  private onQuery(msg: QueryMsg<P>, now: number, direct: boolean): void {
    const key = `${this.env.key(msg.origin)}/${msg.id}`;
    if (this.seen.has(key)) return;
    const me = this.env.self();
    if (!matchesFilter(msg.filter, me.name, me.tags)) return;
    this.counters.received++;
    if (direct) this.counters.receivedDirect++;
    const rname = cutUtf8(me.name, this.config.maxNameBytes);
    this.remember(key, { origin: msg.origin, id: msg.id, rname, deadline: now + msg.timeoutMs, relayFactor: msg.relayFactor, answered: false });
    if (msg.ack) {
      const ack: QueryMessage<P> = { type: 'q-ack', id: msg.id, responder: this.self, rname, final: false };
      if (msg.origin === this.self) this.onAck(ack, now);
      else this.sendSmall(msg.origin, ack);
    }
    if (msg.name === PING_QUERY) {
      this.respond(key, new Uint8Array(0), '', now);
      return;
    }
    this.io.event({ type: 'query', key, id: msg.id, origin: msg.origin, name: msg.name, payload: msg.payload, direct });
  }

  private remember(key: string, p: Pending<P>): void {
    while (this.seen.size >= this.config.maxRemembered) {
      const oldest = this.seen.keys().next().value as string;
      this.seen.delete(oldest);
    }
    this.seen.set(key, p);
  }

  private onAck(msg: Extract<QueryMessage<P>, { type: 'q-ack' }>, now: number): void {
    const q = this.asking.get(msg.id);
    if (q === undefined) return;
    // The first ack of a member, and its "no answer will come" (which may follow a first ack).
    if (!q.acked.has(msg.responder) || (msg.final && !q.declined.has(msg.responder))) {
      q.acked.add(msg.responder);
      if (msg.final) q.declined.add(msg.responder);
      this.io.event({ type: 'query-ack', id: msg.id, from: msg.responder, name: msg.rname, final: msg.final });
    }
    if (msg.final && !q.answeredSet.has(msg.responder)) this.settle(msg.id, q, msg.responder, now);
  }

  private onResponse(msg: QueryResponseMsg<P>, now: number): void {
    const q = this.asking.get(msg.id);
    if (q === undefined) {
      this.counters.lateResponses++;
      return;
    }
    if (q.answeredSet.has(msg.responder)) {
      this.counters.duplicateResponses++;
      return;
    }
    q.answeredSet.add(msg.responder);
    q.answered.push(msg.responder);
    const expected = q.expect === null || q.expect.has(msg.responder);
    this.io.event({ type: 'query-response', id: msg.id, from: msg.responder, name: msg.rname, payload: msg.payload, error: msg.error, expected });
    this.settle(msg.id, q, msg.responder, now);
  }

  /** `from` owes nothing more: finish the query when nobody expected does. */
  private settle(id: number, q: Asking<P>, from: P, now: number): void {
    if (q.expect === null || !q.expect.has(from)) return;
    q.expect.delete(from);
    q.owing--;
    if (q.owing === 0) this.finish(id, 'complete', now);
  }

  handleTimer(t: QueryTimer, now: number): void {
    const q = this.asking.get(t.id);
    if (q === undefined) return;
    if (t.type === 'q-fallback') return this.fallBack(q);
    if (now >= q.deadline) return this.finish(t.id, 'timeout', now);
    // A host's timer may fire before `now` reaches the deadline (Node arms timers from the loop
    // turn's cached clock, `now` is read later): wait for the rest, or the query never ends.
    this.io.timer(q.deadline - now, t);
  }

  /** A direct query's wait is over: broadcast it when an expected member (other than this
   *  node) has neither acked nor answered. */
  private fallBack(q: Asking<P>): void {
    if (q.direct === null || q.direct.fellBack || q.expect === null) return;
    for (const p of q.expect) {
      if (p === this.self || q.acked.has(p)) continue;
      q.direct.fellBack = true;
      this.counters.directFallbacks++;
      this.io.broadcast(q.direct.msg);
      return;
    }
  }

  private finish(id: number, reason: QuerySummary<P>['reason'], now: number): void {
    const q = this.asking.get(id);
    if (q === undefined) return;
    this.asking.delete(id);
    const ackedOnly = [...q.acked].filter((p) => !q.answeredSet.has(p));
    const missing = q.expect === null ? [] : [...q.expect].filter((p) => !q.acked.has(p));
    this.io.event({ type: 'query-done', summary: { id, name: q.name, reason, answered: q.answered, ackedOnly, missing, durationMs: now - q.started } });
  }

  stop(now: number): void {
    for (const id of [...this.asking.keys()]) this.finish(id, 'stopped', now);
    this.stopped = true;
  }
}
