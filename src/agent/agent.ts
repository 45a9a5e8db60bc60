/**
 * The rumor agent: a daemon like `serf agent`. It wires one `RumorNode` (HyParView +
 * Plumtree over TCP), the membership machine (`proto/members/`, hosted on the node by the
 * runtime's application host, see members.ts),
 * user events (broadcast on channel `_rumor.event`), event handler scripts, the HTTP API,
 * Prometheus metrics and structured logs. No protocol decisions are made here.
 *
 * `leave()` is Serf's `leave`: flood `left`, leave the overlay gracefully, stop.
 * `shutdown()` stops without leaving (peers will see a failure and mark it `failed`).
 */
import { hostname } from 'node:os';
import { createNode, type RumorNode } from '../net/rumor-node.js';
import { eventVerdict, hasRules } from './event-rules.js';
import type { Delivery } from '../net/subscription.js';
import type { Registry } from 'prom-client';
import type { DownReason } from '../proto/types.js';
import { HttpError, startApi, type ApiBackend, type ApiMember, type ApiServer, type MonitorEvent } from './api.js';
import type { AgentInfo } from './client.js';
import { parseAggregateSpec, parseBindAddr, type AgentConfig } from './config.js';
import { HandlerRunner, type AgentEvent, type HandlerResult } from './handlers.js';
import { LOG_LEVELS, createLogger, type AgentLogger } from './log.js';
import { newCounters, type AgentCounters } from './metrics.js';
import { AgentMembers, MEMBERS_CHANNEL, type AgentMembersEvent, type Member, type MemberStatus } from './members.js';
import { AgentAggregates } from './aggregates.js';
import { openEventClock } from './event-clock.js';
import { AgentUserEvents, EVENT_CHANNEL, warmReceivePath } from './agent-events.js';
import { AgentState, stateRoute } from './state.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REQUEST_CHANNEL, RESPONSE_CHANNEL, RequestHub, type AskResult } from './cluster-request.js';
import { loadAgentKeyring, type AgentKeyring } from './keyring.js';
import type { KeysRequest } from './keys.js';
import { loadNodeFile, readSnapshot, restoreFrom, saveNodeFile, snapshotPeers, SnapshotWriter, type NodeFile, type Restored } from './snapshot.js';
import { forceLeaveTarget, joinWithRetry, runtimeJoin, type JoinResult } from './operator.js';
import { parseVersionText, readVersion, VERSION_KEY, versionText } from './version.js';
import type { LogLevel, LogLine } from './log.js';
import { AgentQueries } from './query.js';
import { EventPipeline } from './coalesce.js';
import type { EventHandlerSpec } from './config.js';
import { MEMBERS_FLUSH_MS, MEMBERS_RESET_SUSPICION_MS, VERSION_PUBLISH_DELAY_MS, WARM_UP_AFTER_REQUEST_MS, WARM_UP_DELAY_MS } from './agent-timing.js';
import { WarmUpTimer } from './warm-up.js';
import { runKeysOp, runRequest, type RequestHost } from './agent-requests.js';

export type { Member, AgentInfo };

/** Channel of the membership messages (src/wire/members.ts), all point to point. */
export { MEMBERS_CHANNEL };
/** Channel of user events (agent-events.ts). */
export { EVENT_CHANNEL };

export { MEMBERS_FLUSH_MS, MEMBERS_RESET_SUSPICION_MS, VERSION_PUBLISH_DELAY_MS, WARM_UP_DELAY_MS } from './agent-timing.js';
export { JOIN_WAIT_FIRST_MS, JOIN_WAIT_MAX_MS } from './operator.js';
export { installSignalHandlers, leavesOn } from './signals.js';

/** Optional dependencies (tests). */
export interface AgentDeps {
  logger?: AgentLogger;
  /** Observe every handler run (tests). */
  onHandlerResult?: (r: HandlerResult) => void;
}

/** A running agent. */
export class Agent implements ApiBackend {
  private apiUrl_ = '';
  readonly counters: AgentCounters = newCounters();
  /** Resolves when the agent has stopped (after `leave()` or `shutdown()`). */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private readonly startedAt = Date.now();
  private readonly version = readVersion();
  private readonly listeners = new Set<(e: MonitorEvent) => void>();
  /** prom-client registry, created on the first `/metrics` scrape (it reads `counters`). */
  private metricsRegistry: Registry | null = null;
  private members_!: AgentMembers;
  /** Aggregates of this agent (src/agent/aggregates.ts). */
  aggregates!: AgentAggregates;
  /** Key-value state and runtime tags (src/agent/state.ts). */
  private kv: AgentState | null = null;
  private handlers!: HandlerRunner;
  private api: ApiServer | null = null;
  /** User events sent and received, and their Lamport clock (agent-events.ts). */
  private events!: AgentUserEvents;
  private snapshot: SnapshotWriter | null = null;
  private persistedInc = -1;
  private state: 'running' | 'stopping' | 'stopped' = 'running';
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly warmUp = new WarmUpTimer(() => this.warmUpNow(), WARM_UP_DELAY_MS, WARM_UP_AFTER_REQUEST_MS);
  /** The receive path's warm-up (`warmUpNow`): not yet due, due at the next neighbour, done
   *  (tests read it). */
  receiveWarmUp: 'later' | 'pending' | 'done' = 'later';
  private readonly requests: RequestHub;
  /** What the request operations need (agent-requests.ts). */
  private readonly requestHost: RequestHost;
  /** Queries (src/agent/query.ts) and the event pipeline to handlers (src/agent/coalesce.ts). */
  private queries: AgentQueries | null = null;
  private pipeline!: EventPipeline;

  private constructor(
    readonly node: RumorNode,
    readonly config: AgentConfig,
    readonly log: AgentLogger,
    /** The cluster keyring and its file (src/agent/keyring.ts). */
    readonly keys: AgentKeyring,
  ) {
    this.stopped = new Promise((r) => (this.resolveStopped = r));
    this.requests = new RequestHub({
      self: () => ({ name: this.members_.self().name, addr: this.node.address }),
      alive: () => this.members_.members().filter((m) => m.status === 'alive'),
      broadcast: (channel, data) => void this.node.broadcast(data, { channel }),
      sendTo: (addr, channel, data) => this.state !== 'stopped' && this.node.sendTo(addr, channel, data, { dial: true }),
      handle: (op, args) => runRequest(this.requestHost, op, args, false),
      bad: (channel, from, reason) => this.bad(channel, from, reason),
    });
    this.requestHost = {
      keys,
      log,
      self: () => ({ name: this.members_.self().name, addr: this.node.address }),
      forceLeave: (addr, prune) => this.members_.forceLeave(addr, prune),
      ask: (op, args, timeoutMs) => this.requests.ask(op, args, timeoutMs),
    };
  }

  /** Start an agent: bind the node, start membership, the API and background joins. */
  static async start(config: AgentConfig, deps: AgentDeps = {}): Promise<Agent> {
    const log = deps.logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
    const saved = loadNodeFile(config.dataDir);
    const restored = restoreFrom(config.dataDir === undefined ? null : readSnapshot(config.dataDir), config);
    for (const n of restored.notes) log[n.level](n.fields, n.msg);
    if (restored.incarnation !== undefined && !(saved.incarnation !== undefined && saved.incarnation >= restored.incarnation)) saved.incarnation = restored.incarnation;
    const bind = parseBindAddr(config.bind);
    if (!bind.ok) throw new Error(`bind: ${bind.reason}`);
    const name = config.name ?? saved.name ?? hostname();
    const keys = loadAgentKeyring(config);
    if (!keys.ok) throw new Error(keys.reason);
    for (const w of keys.value.warnings) log.warn({ keyringFile: keys.value.path }, w);
    const node = createNode({
      keyring: keys.value.keyring,
      host: bind.value.host,
      port: bind.value.port,
      advertise: config.advertise,
      cluster: config.cluster,
      name,
      profile: config.profile,
      // Jitter and protocol choices, not secrets: Math.random (seeded by V8 from the OS) instead
      // of the node's default, `crypto.randomBytes`, which loads node:crypto at every start (the
      // bundle loads it on first use: scripts/bundle.mjs LAZY_BUILTINS).
      seed: Math.floor(Math.random() * 2 ** 32),
      logger: log.child({ component: 'net' }),
      // User-event rules (event-rules.ts), checked before an event is delivered or forwarded.
      validate: hasRules(config) ? (m) => (m.channel === EVENT_CHANNEL ? eventVerdict(config, m.data) : 'accept') : undefined,
    });
    const agent = new Agent(node, config, log, keys.value);
    agent.createHandlers(name, deps);
    await node.start();
    try {
      await agent.init(name, saved, restored);
    } catch (err) {
      await node.close();
      throw err;
    }
    agent.warmUp.start(); // the handler spawn path, after start-up, before the first events (warm-up.ts)
    if (!agent.members_.carriesVersion) agent.publishVersionLater();
    return agent;
  }

  /** Publish this agent's versions in its key-value state (`VERSION_KEY`, for `rumor members
   *  --detailed`) `VERSION_PUBLISH_DELAY_MS` after start-up, when its membership meta cannot
   *  carry them (the user's tags fill it): a state write is a flood over the overlay, one per
   *  agent, which at N = 50 was ~7,000 of the fleet's ~11,700 application datagrams during its
   *  join (docs/results.md, "The join's CPU: one table per joiner"); the meta travels with the
   *  member's `alive` entry, which every agent receives anyway. A state write is pushed by broadcast; at start
   *  it would meet an overlay in churn when a fleet starts at once, where every new link
   *  announces it and is answered by GRAFTs. Measured, 20 agents joining one seed, alternate
   *  runs (load 27–29): join_ms 743, 713, 787 with the write at start; 425, 516, 391 without. */
  private publishVersionLater(): void {
    const h = setTimeout(() => {
      this.timers.delete(h);
      if (this.state === 'running') this.node.state.set(VERSION_KEY, versionText(this.version));
    }, VERSION_PUBLISH_DELAY_MS);
    h.unref();
    this.timers.add(h);
  }

  /** The handler warm-up, then the receive path's (agent-events.ts `warmReceivePath`) in a turn
   *  of its own once the agent has a neighbour: an agent alone receives no event, and its
   *  start stays free of node:crypto (test/e2e/bundle.test.ts). */
  private warmUpNow(): void {
    if (this.state !== 'running') return;
    void this.handlers.warmUp();
    this.receiveWarmUp = 'pending';
    if (this.node.neighbors().length > 0) this.warmReceiveLater();
  }

  private warmReceiveLater(): void {
    if (this.receiveWarmUp !== 'pending') return;
    this.receiveWarmUp = 'done';
    setImmediate(() => {
      if (this.state === 'running' && !warmReceivePath(this.node.address)) this.log.warn({}, 'the receive path warm-up failed a step');
    });
  }

  /** When the handler warm-up ran (ms since the epoch; null: not yet). */
  get warmUpAt(): number | null {
    return this.warmUp.at;
  }

  /** The API got a request (api.ts): the first one brings the handler warm-up forward. */
  requested(): void {
    this.warmUp.requested();
  }

  private createHandlers(name: string, deps: AgentDeps): void {
    const c = this.config;
    this.handlers = new HandlerRunner({
      handlers: c.eventHandlers,
      self: () => ({ name, addr: this.node.address, tags: this.members_.self().tags }),
      timeoutMs: c.handlerTimeoutMs,
      concurrency: c.handlerConcurrency,
      queueSize: c.handlerQueueSize,
      // stdout is only shown in debug logs and to a result observer (tests).
      captureStdout: deps.onHandlerResult !== undefined || LOG_LEVELS[this.log.level] <= LOG_LEVELS.debug,
      logger: this.log.child({ component: 'handlers' }),
      onStart: () => this.counters.handlerRuns++,
      onDropped: () => this.counters.handlerDropped++,
      onResult: (r) => {
        if (r.outcome !== 'ok') this.counters.handlerFailures[r.outcome] = (this.counters.handlerFailures[r.outcome] ?? 0) + 1;
        deps.onHandlerResult?.(r);
      },
    });
  }

  private async init(name: string, saved: NodeFile, restored: Restored): Promise<void> {
    const c = this.config;
    // A restart starts above every incarnation of its previous runs, so its `alive` beats any
    // `failed`/`left` record of them: one above the one saved in the data dir, and at least the
    // seconds since the epoch (a restart without a data dir, as memberlist does not have).
    const inc = Math.max(saved.incarnation === undefined ? 0 : saved.incarnation + 1, Math.floor(Date.now() / 1000));
    this.wireNode();
    this.kv = new AgentState(this.node.state);
    this.kv.start(restored.tags);
    this.pipeline = new EventPipeline({ memberCoalesceMs: c.memberCoalesceMs, userCoalesceMs: c.userCoalesceMs, dispatch: (e) => this.dispatchAfterForward(e) });
    this.events = new AgentUserEvents(
      {
        node: this.node,
        config: c,
        log: this.log,
        counters: this.counters,
        pipeline: this.pipeline,
        listening: () => this.listeners.size,
        publish: (e) => this.publish(e),
        bad: (channel, from, reason) => this.bad(channel, from, reason),
      },
      openEventClock(c.dataDir, restored.eventLtime, this.log),
    );
    this.members_ = new AgentMembers(this.node, {
      name,
      tags: restored.tags,
      incarnation: inc,
      config: { syncIntervalMs: c.syncIntervalMs, reconnectTimeoutMs: c.reapAfterMs, tombstoneTimeoutMs: c.reapAfterMs, flushIntervalMs: MEMBERS_FLUSH_MS, linkFailedSuspicionMs: MEMBERS_RESET_SUSPICION_MS, indirectBothWays: true, linkSyncOnce: true, floodWithoutMeta: false },
      seed: (Date.now() ^ (process.pid << 8)) >>> 0,
      version: versionText(this.version),
      onEvent: (e) => this.onMemberEvent(e),
    });
    this.startAggregates();
    this.startSnapshot(c.dataDir);
    this.queries = new AgentQueries({
      node: this.node,
      handlers: () => this.handlers,
      members: () => this.apiMembers(),
      self: () => ({ name: this.members_.self().name, tags: this.kv?.tagsOf(this.node.address, this.members_.self().tags) ?? this.members_.self().tags }),
      handlerTimeoutMs: c.handlerTimeoutMs,
      path: c.queryPath,
      logger: this.log.child({ component: 'query' }),
    });
    this.persist();
    this.persistLoop();
    // Join first: the JOIN is on the wire while the API socket binds.
    if (restored.seeds.length > 0) void this.joinLoop(restored.seeds);
    try {
      this.api = await startApi(c.apiAddr, c.apiToken, this);
    } catch (err) {
      this.state = 'stopped';
      for (const t of this.timers) clearTimeout(t);
      this.warmUp.stop();
      this.handlers.close();
      this.events.close();
      throw err;
    }
    this.apiUrl_ = this.api.url;
    this.log.info({ name, addr: this.node.address, api: this.apiUrl, cluster: c.cluster, profile: c.profile }, 'agent started');
  }

  /** The restart snapshot (snapshot.ts), kept with a data dir. */
  private startSnapshot(dir: string | undefined): void {
    if (dir === undefined) return;
    this.snapshot = new SnapshotWriter({
      dir,
      take: () => ({ name: this.members_.self().name, incarnation: this.members_.incarnation, eventLtime: this.events.ltime, tags: this.kv?.ownTags() ?? {}, peers: snapshotPeers(this.members(), this.node.address), left: false }),
      onError: (err) => this.log.error({ dataDir: dir, err: err.message }, 'cannot write the snapshot'),
    });
  }

  private startAggregates(): void {
    const alive = (): string[] => this.members_.members().filter((m) => m.status === 'alive').map((m) => m.addr);
    this.aggregates = new AgentAggregates(this.node, alive, (f, m) => this.log.warn(f, m));
    for (const a of this.config.aggregates ?? []) {
      const spec = parseAggregateSpec(a); // validated by resolveAgentConfig
      if (spec.ok) this.aggregates.runCommand(spec.value);
    }
  }

  /** `/v1/aggregates[/NAME]` of the API. */
  aggregatesRoute(method: string, name: string | null, body: unknown): { status: number; body: unknown } {
    if (this.state !== 'running' && method !== 'GET') return { status: 400, body: { error: 'aggregate: agent is stopping' } };
    return this.aggregates.route(method, name, body);
  }

  private wireNode(): void {
    this.node.on('message', (d) => this.onDelivery(d));
    this.node.on('neighborUp', (peer) => {
      this.counters.neighborUp++;
      this.warmReceiveLater();
      this.log.debug({ peer }, 'neighbour up');
      this.publish({ type: 'neighbor-up', peer });
    });
    this.node.on('neighborDown', (peer: string, reason: DownReason) => {
      this.counters.neighborDown[reason] = (this.counters.neighborDown[reason] ?? 0) + 1;
      this.log.debug({ peer, reason }, 'neighbour down');
      this.publish({ type: 'neighbor-down', peer, reason });
    });
    this.node.on('reset', (channel, epoch) => this.onReset(channel, epoch));
    this.node.on('direct', (_from, channel, data) => {
      if (channel === RESPONSE_CHANNEL) this.requests.onResponse(_from, data);
    });
  }

  private onDelivery(d: Delivery): void {
    // Membership messages (MEMBERS_CHANNEL) are the application host's: it decodes and counts them.
    if (d.channel === EVENT_CHANNEL) this.events.receive(d);
    else if (d.channel === REQUEST_CHANNEL) this.requests.onRequest(d.origin, d.data);
  }

  /** `rumor keys ...` (`POST /v1/keys`): on this agent only (`local`) or on every node
   *  (agent-requests.ts). Throws a one-line Error on a bad request. */
  async keysOp(req: KeysRequest): Promise<AskResult & { keys?: string[] }> {
    if (this.state !== 'running') throw new Error('keys: agent is stopping');
    return runKeysOp(this.requestHost, req);
  }

  private bad(channel: string, from: string, reason: string): void {
    this.counters.badMessages[channel] = (this.counters.badMessages[channel] ?? 0) + 1;
    this.log.warn({ from, channel, reason }, 'dropped an invalid agent message');
  }

  private onMemberEvent(e: AgentMembersEvent): void {
    if (e.type === 'member-conflict') {
      this.log.warn({ name: e.name, winner: e.winner, loser: e.loser, self: e.self }, 'two live members claim one name');
      return;
    }
    const { updatedAt: _u, ...member } = e.member;
    this.log.info({ member: member.name, addr: member.addr, status: member.status, incarnation: member.incarnation }, e.type);
    this.kv?.memberEvent(e.type, e.member.addr);
    this.pipeline.push({ type: e.type, members: [e.member] });
    this.publish({ type: e.type, member });
    this.persist();
  }

  /**
   * Run the handlers of `e` once the frames that carry it on to the neighbours are written:
   * the runtime writes them from a `setImmediate` queued during this delivery, and a handler
   * spawn blocks the event loop (a fork: ~1 ms idle, several under load), so spawning first
   * would add that to every hop of the broadcast. Two `setImmediate`s put the spawn in the
   * check phase of the next loop turn, after that write; no timer is involved.
   */
  private dispatchAfterForward(e: AgentEvent): void {
    setImmediate(() => setImmediate(() => this.handlers.dispatch(e)));
  }

  private publish(e: MonitorEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Refutations raise our incarnation without an event: check it every few seconds. */
  private persistLoop(): void {
    if (this.config.dataDir === undefined) return;
    const h = setInterval(() => this.persist(), 5000);
    h.unref();
    this.timers.add(h);
  }

  private persist(): void {
    const dir = this.config.dataDir;
    if (dir === undefined || this.state === 'stopped') return;
    this.snapshot?.changed();
    const inc = this.members_.incarnation;
    if (inc === this.persistedInc) return;
    try {
      saveNodeFile(dir, { name: this.members_.self().name, incarnation: inc });
      this.persistedInc = inc;
    } catch (err) {
      this.log.error({ dataDir: dir, err: String((err as Error).message) }, 'cannot persist node state');
    }
  }

  /** Join through `seeds`, retrying until it works (operator.ts `joinWithRetry`). */
  private joinLoop(seeds: string[]): Promise<void> {
    return joinWithRetry(this.node, seeds, { log: this.log, running: () => this.state === 'running' });
  }

  private memberCounts(): Record<MemberStatus, number> {
    const c: Record<MemberStatus, number> = { alive: 0, suspect: 0, failed: 0, left: 0 };
    for (const m of this.members_.members()) c[m.status]++;
    return c;
  }

  /** `http://host:port` of the HTTP API. */
  get apiUrl(): string {
    return this.apiUrl_;
  }

  /** The member table, sorted by address. */
  members(): Member[] {
    return this.members_.members();
  }

  /** Members as the API shows them (with `neighbor`). */
  apiMembers(): ApiMember[] {
    const nb = new Set(this.state === 'stopped' ? [] : this.node.neighbors());
    return this.members().map((m) => ({
      name: m.name,
      addr: m.addr,
      status: m.status,
      incarnation: m.incarnation,
      tags: this.kv?.tagsOf(m.addr, m.tags) ?? m.tags,
      neighbor: nb.has(m.addr),
      updatedAt: m.updatedAt,
      ...this.versionOf(m.addr),
    }));
  }

  /** A member's agent and protocol versions, from its membership meta, else (an agent whose
   *  meta could not carry them, or an older one) its state's `VERSION_KEY` (absent: unknown). */
  private versionOf(addr: string): { agentVersion?: string; protocol?: [number, number] } {
    if (addr === this.node.address) return parseVersionText(versionText(this.version));
    const text = this.members_.versionText(addr);
    if (text !== undefined) return parseVersionText(text);
    const e = this.state === 'stopped' ? undefined : this.node.state.get(addr, VERSION_KEY);
    return e === undefined ? {} : parseVersionText(Buffer.from(e.value).toString('utf8'));
  }

  /** `rumor join ADDR...` (`POST /v1/join`): join through `addrs` now; one result per address. */
  async join(addrs: string[], timeoutMs?: number): Promise<JoinResult[]> {
    if (this.state !== 'running') throw new Error('join: agent is stopping');
    const r = await runtimeJoin(this.node, addrs, timeoutMs);
    this.log.info({ joined: r.filter((x) => x.ok).map((x) => x.addr), failed: r.filter((x) => !x.ok).map((x) => x.addr) }, 'runtime join');
    return r;
  }

  /** `rumor force-leave NAME [--prune]` (`POST /v1/force-leave`): refused (an Error with the
   *  reason) for an unknown or up member; else asked of every node, answers per node. */
  async forceLeave(nameOrAddr: string, prune: boolean, timeoutMs = 5000): Promise<AskResult & { name: string; addr: string; prune: boolean }> {
    if (this.state !== 'running') throw new Error('force-leave: agent is stopping');
    const t = forceLeaveTarget(this.members(), this.node.address, nameOrAddr);
    if (!t.ok) throw new Error(t.reason);
    this.log.info({ member: t.member.name, addr: t.member.addr, prune }, 'force-leave');
    const r = await this.requests.ask('force-leave', [t.member.addr, prune ? 'prune' : ''], timeoutMs);
    return { name: t.member.name, addr: t.member.addr, prune, ...r };
  }

  /** Log lines at `level` and above, whatever the output level (`rumor monitor --log-level`). */
  tapLogs(level: LogLevel, fn: (line: LogLine) => void): () => void {
    return this.log.tap(level, fn);
  }

  /** Summary of this agent (`GET /v1/info`). */
  info(): AgentInfo {
    const live = this.state !== 'stopped';
    return {
      name: this.members_.self().name,
      addr: this.node.address,
      version: this.version,
      cluster: this.config.cluster,
      profile: this.config.profile,
      uptimeMs: Date.now() - this.startedAt,
      apiUrl: this.apiUrl,
      neighbors: live ? this.node.neighbors() : [],
      passive: live ? this.node.passive() : [],
      members: this.memberCounts(),
      stats: live ? this.node.stats() : null,
      encryption: { mode: this.keys.keyring.enabled ? this.keys.keyring.mode : 'off', keys: this.keys.keyring.fingerprints(), keyringFile: this.keys.path },
      features: ['aggregates', 'state', 'metadata', 'query'],
      events: this.pipeline.stats(),
      membership: this.members_.traffic(),
      aggregates: this.aggregates.list(),
    };
  }

  /** Cluster-wide reset of `channel` (reset switch, src/net/validation.ts); returns the epoch. */
  reset(channel: string): number {
    if (this.state !== 'running') throw new Error('reset: agent is stopping');
    return this.node.reset(channel);
  }

  private onReset(channel: string, epoch: number): void {
    this.counters.resets++;
    this.log.warn({ channel, epoch }, 'channel reset: new epoch, older messages refused');
    this.publish({ type: 'reset', channel, epoch });
  }

  /** Broadcast a user event; returns its message id. Throws on bad input or a stopped agent. */
  event(name: string, payload: Uint8Array): string {
    if (this.state !== 'running') throw new Error('event: agent is stopping');
    return this.events.send(name, payload);
  }

  /** Prometheus exposition of this agent's metrics. prom-client is loaded on the first
   *  scrape: every counter is kept by the agent (`counters`) or the runtime (`node.stats()`),
   *  so nothing counted before that scrape is lost; only the process/event-loop default
   *  metrics start at the first scrape. */
  async metrics(): Promise<{ contentType: string; body: string }> {
    // Membership frames are decoded (and bad ones counted, per peer) by the application host.
    const bad = Object.values(this.members_.stats().badByPeer).reduce((a, b) => a + b, 0);
    if (bad > 0) this.counters.badMessages[MEMBERS_CHANNEL] = bad;
    if (this.metricsRegistry === null) {
      const { createMetrics } = await import('./metrics-registry.js');
      this.metricsRegistry ??= createMetrics({
        stats: () => (this.state === 'stopped' ? null : this.node.stats()),
        memberCounts: () => this.memberCounts(),
        counters: this.counters,
        membersHealth: () => this.members_.health,
        aggregates: () => this.aggregates.list(),
        aggregateCommandFailures: () => this.aggregates.commandFailures,
      });
    }
    return { contentType: this.metricsRegistry.contentType, body: await this.metricsRegistry.metrics() };
  }

  /** The key-value state's HTTP routes (`/v1/kv`, `/v1/kv-watch`, `/v1/tags`). */
  async route(req: IncomingMessage, res: ServerResponse, url: URL, streams: Set<ServerResponse>): Promise<boolean> {
    if (url.pathname === '/v1/query') {
      if (this.state !== 'running' || this.queries === null) throw new HttpError(503, 'query: agent is stopping');
      return this.queries.route(req, res, url);
    }
    return stateRoute(req, res, url, this.state === 'stopped' ? null : this.kv, streams);
  }

  /** Subscribe to monitor events. */
  subscribe(listener: (e: MonitorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replace the event handlers (SIGHUP reload, src/agent/reload.ts); logged. */
  reloadHandlers(handlers: EventHandlerSpec[]): void {
    const before = this.handlers.handlers.length;
    this.handlers.setHandlers(handlers);
    this.log.info({ before, after: handlers.length, handlers: handlers.map((h) => `${h.filters.join(',')}=${h.script}`) }, 'event handlers reloaded');
  }

  /** Leave gracefully (broadcast `left`, DISCONNECT neighbours), then stop. Idempotent. */
  async leave(): Promise<void> {
    if (this.state !== 'running') return this.stopped;
    this.state = 'stopping';
    this.log.info({}, 'leaving the cluster');
    this.snapshot?.flush(true);
    this.events.close();
    this.members_.leave();
    // Let the neighbours receive the `left` delta and flood it on before the links close.
    await new Promise((r) => setTimeout(r, 300));
    await this.node.leave();
    await this.stop();
  }

  /** Stop without leaving: peers will detect a failure. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.state !== 'running') return this.stopped;
    this.state = 'stopping';
    this.snapshot?.flush();
    this.events.close();
    this.members_.close();
    await this.node.close();
    await this.stop();
  }

  private async stop(): Promise<void> {
    this.state = 'stopped';
    for (const t of this.timers) clearTimeout(t);
    this.warmUp.stop();
    this.timers.clear();
    this.handlers.close();
    this.pipeline.close();
    this.aggregates.close();
    this.listeners.clear();
    await this.api?.close();
    this.metricsRegistry?.clear();
    this.log.info({}, 'agent stopped');
    this.resolveStopped();
  }
}
