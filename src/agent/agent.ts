/**
 * The rumor agent: a daemon like `serf agent`. It wires one `RumorNode` (HyParView +
 * Plumtree over TCP), the membership machine (`proto/members.ts`, driven with real timers),
 * user events (broadcast on channel `_rumor.event`), event handler scripts, the HTTP API,
 * Prometheus metrics and structured logs. No protocol decisions are made here.
 *
 * `leave()` is Serf's `leave`: flood `left`, leave the overlay gracefully, stop.
 * `shutdown()` stops without leaving (peers will see a failure and mark it `failed`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNode, type RumorNode } from '../net/rumor-node.js';
import { checkEvent, eventVerdict, hasRules } from './event-rules.js';
import type { Delivery } from '../net/subscription.js';
import {
  DEFAULT_MEMBERS_CONFIG,
  MembersMachine,
  decodeMembersMessage,
  encodeMembersMessage,
  type Member,
  type MemberStatus,
  type MembersEvent,
  type MembersIo,
  type MembersMessage,
} from '../proto/members.js';
import type { Registry } from 'prom-client';
import { Sfc32 } from '../proto/rng.js';
import type { DownReason } from '../proto/types.js';
import { startApi, type ApiBackend, type ApiMember, type ApiServer, type MonitorEvent } from './api.js';
import type { AgentInfo } from './client.js';
import { parseBindAddr, type AgentConfig } from './config.js';
import { HandlerRunner, type AgentEvent, type HandlerResult } from './handlers.js';
import { LOG_LEVELS, createLogger, type AgentLogger } from './log.js';
import { newCounters, type AgentCounters } from './metrics.js';
import { decodeUserEvent, encodeUserEvent } from './user-event.js';

export type { Member, AgentInfo };

/** Channel of the membership messages, all point to point between neighbours: deltas
 *  (flooded hop by hop, see proto/members.ts) and anti-entropy (sync, digest, push, pull). */
export const MEMBERS_CHANNEL = '_rumor.members';
/** Channel of user events. */
export const EVENT_CHANNEL = '_rumor.event';

/** First delay between `--join` attempts (measured: a loopback/LAN seed that is starting
 *  answers within ~100 ms, so waiting a whole second only delays the cluster). */
export const JOIN_RETRY_FIRST_MS = 150;
/** Largest delay between `--join` attempts: Serf's `retry_interval` default (30 s). */
export const JOIN_RETRY_MAX_MS = 30_000;

/** Optional dependencies (tests). */
export interface AgentDeps {
  logger?: AgentLogger;
  /** Observe every handler run (tests). */
  onHandlerResult?: (r: HandlerResult) => void;
}

/** Read the project version from package.json (walking up from this file). */
function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        return String((JSON.parse(readFileSync(p, 'utf8')) as { version?: string }).version ?? '0.0.0');
      } catch {
        return '0.0.0';
      }
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

interface Persisted {
  name?: string;
  incarnation?: number;
}

function loadState(dataDir: string | undefined): Persisted {
  if (dataDir === undefined) return {};
  try {
    const v = JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8')) as Persisted;
    return { name: typeof v.name === 'string' ? v.name : undefined, incarnation: Number.isSafeInteger(v.incarnation) ? v.incarnation : undefined };
  } catch {
    return {};
  }
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
  private members_!: MembersMachine;
  private handlers!: HandlerRunner;
  private api: ApiServer | null = null;
  private ltime = 0;
  private persistedInc = -1;
  private state: 'running' | 'stopping' | 'stopped' = 'running';
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    readonly node: RumorNode,
    readonly config: AgentConfig,
    readonly log: AgentLogger,
  ) {
    this.stopped = new Promise((r) => (this.resolveStopped = r));
  }

  /** Start an agent: bind the node, start membership, the API and background joins. */
  static async start(config: AgentConfig, deps: AgentDeps = {}): Promise<Agent> {
    const log = deps.logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
    const saved = loadState(config.dataDir);
    const bind = parseBindAddr(config.bind);
    if (!bind.ok) throw new Error(`bind: ${bind.reason}`);
    const name = config.name ?? saved.name ?? hostname();
    const node = createNode({
      host: bind.value.host,
      port: bind.value.port,
      advertise: config.advertise,
      cluster: config.cluster,
      name,
      profile: config.profile,
      logger: log.child({ component: 'net' }),
      // User-event rules (event-rules.ts), checked before an event is delivered or forwarded.
      validate: hasRules(config) ? (m) => (m.channel === EVENT_CHANNEL ? eventVerdict(config, m.data) : 'accept') : undefined,
    });
    const agent = new Agent(node, config, log);
    // Warm the handler spawn path before the node listens (see HandlerRunner.warmUp): each
    // warm-up spawn blocks the event loop for a moment, which must delay neither the join's
    // messages nor the first answers of the API.
    agent.createHandlers(name, deps);
    await agent.handlers.warmUp();
    await node.start();
    try {
      await agent.init(name, saved);
    } catch (err) {
      await node.close();
      throw err;
    }
    return agent;
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

  private async init(name: string, saved: Persisted): Promise<void> {
    const c = this.config;
    // A restart with a data dir starts one incarnation above the last one, so its `alive`
    // beats any `failed`/`left` record of the previous run.
    const inc = saved.incarnation === undefined ? 0 : saved.incarnation + 1;
    const seed = (Date.now() ^ (process.pid << 8)) >>> 0;
    this.members_ = new MembersMachine(
      { name, addr: this.node.address, tags: c.tags, incarnation: inc },
      { ...DEFAULT_MEMBERS_CONFIG, syncIntervalMs: c.syncIntervalMs, reapAfterMs: c.reapAfterMs },
      new Sfc32(seed),
      this.membersIo(),
    );
    this.wireNode();
    this.members_.start(Date.now());
    this.persist();
    // Join first: the JOIN is on the wire while the API socket binds.
    if (c.join.length > 0) void this.joinLoop(c.join);
    try {
      this.api = await startApi(c.apiAddr, c.apiToken, this);
    } catch (err) {
      this.state = 'stopped';
      for (const t of this.timers) clearTimeout(t);
      this.handlers.close();
      throw err;
    }
    this.apiUrl_ = this.api.url;
    this.log.info({ name, addr: this.node.address, api: this.apiUrl, cluster: c.cluster, profile: c.profile }, 'agent started');
  }

  private membersIo(): MembersIo {
    return {
      sendTo: (peer, msg) => this.sendMembers(peer, msg),
      probe: (peer) => {
        void this.node.probe(peer, 2000).catch(() => false).then((ok) => this.drive(() => this.members_.handleProbeResult(peer, ok, Date.now())));
      },
      timer: (delayMs, t) => {
        const h = setTimeout(() => {
          this.timers.delete(h);
          this.drive(() => this.members_.handleTimer(t, Date.now()));
        }, delayMs);
        h.unref();
        this.timers.add(h);
      },
      event: (e) => this.onMemberEvent(e),
    };
  }

  private sendMembers(peer: string, msg: MembersMessage): void {
    if (this.state === 'stopped') return;
    try {
      this.node.sendTo(peer, MEMBERS_CHANNEL, encodeMembersMessage(msg));
    } catch (err) {
      this.log.warn({ peer, type: msg.type, err: String((err as Error).message) }, 'membership message not sent');
    }
  }

  private drive(fn: () => void): void {
    if (this.state === 'stopped') return;
    fn();
    this.persist();
  }

  private wireNode(): void {
    this.node.on('message', (d) => this.onDelivery(d));
    this.node.on('neighborUp', (peer) => {
      this.counters.neighborUp++;
      this.log.debug({ peer }, 'neighbour up');
      this.publish({ type: 'neighbor-up', peer });
      this.drive(() => this.members_.handleNeighborUp(peer, Date.now()));
    });
    this.node.on('neighborDown', (peer: string, reason: DownReason) => {
      this.counters.neighborDown[reason] = (this.counters.neighborDown[reason] ?? 0) + 1;
      this.log.debug({ peer, reason }, 'neighbour down');
      this.publish({ type: 'neighbor-down', peer, reason });
      this.drive(() => this.members_.handleNeighborDown(peer, reason, Date.now()));
    });
    this.node.on('reset', (channel, epoch) => this.onReset(channel, epoch));
    this.node.on('direct', (from, channel, data) => {
      if (channel === MEMBERS_CHANNEL) this.onMembersBytes(from, data);
    });
  }

  private onDelivery(d: Delivery): void {
    // Membership messages come point to point from neighbours only: one by broadcast would
    // reach every node twice, by Plumtree and by the flood.
    if (d.channel === MEMBERS_CHANNEL) this.bad(MEMBERS_CHANNEL, d.origin, 'membership message by broadcast');
    else if (d.channel === EVENT_CHANNEL) this.onUserEvent(d);
  }

  private bad(channel: string, from: string, reason: string): void {
    this.counters.badMessages[channel] = (this.counters.badMessages[channel] ?? 0) + 1;
    this.log.warn({ from, channel, reason }, 'dropped an invalid agent message');
  }

  /** A membership message from the neighbour `from`. */
  private onMembersBytes(from: string, data: Uint8Array): void {
    const r = decodeMembersMessage(data);
    if (!r.ok) return this.bad(MEMBERS_CHANNEL, from, r.reason);
    this.drive(() => this.members_.handleMessage(from, r.msg, Date.now()));
  }

  private onUserEvent(d: Delivery): void {
    const r = decodeUserEvent(d.data);
    if (!r.ok) return this.bad(EVENT_CHANNEL, d.origin, r.reason);
    const { name, payload, ltime } = r.event;
    this.ltime = Math.max(this.ltime, ltime);
    this.counters.userEventsReceived++;
    const e: AgentEvent = { type: 'user', id: d.id, name, payload, origin: d.origin, ltime };
    this.dispatchAfterForward(e);
    this.log.info({ event: name, origin: d.origin, bytes: payload.byteLength }, 'user event');
    if (this.listeners.size === 0) return;
    const text = new TextDecoder().decode(payload);
    this.publish({ type: 'user', id: d.id, name, origin: d.origin, ltime, payload: text, payloadBase64: Buffer.from(payload).toString('base64') });
  }

  private onMemberEvent(e: MembersEvent): void {
    const { updatedAt: _u, ...member } = e.member;
    this.log.info({ member: member.name, addr: member.addr, status: member.status, incarnation: member.incarnation }, e.type);
    this.dispatchAfterForward({ type: e.type, members: [e.member] });
    this.publish({ type: e.type, member });
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

  private persist(): void {
    const dir = this.config.dataDir;
    const me = this.members_.self();
    if (dir === undefined || me.incarnation === this.persistedInc) return;
    try {
      mkdirSync(dir, { recursive: true });
      const tmp = join(dir, 'node.json.tmp');
      writeFileSync(tmp, JSON.stringify({ name: me.name, incarnation: me.incarnation }) + '\n');
      renameSync(tmp, join(dir, 'node.json'));
      this.persistedInc = me.incarnation;
    } catch (err) {
      this.log.error({ dataDir: dir, err: String((err as Error).message) }, 'cannot persist node state');
    }
  }

  /**
   * Join through `seeds`, retrying until it works: each attempt waits `1 s + delay` (at most
   * 5 s) for a first neighbour, then `delay` before the next one, `delay` starting at
   * `JOIN_RETRY_FIRST_MS` and doubling up to `JOIN_RETRY_MAX_MS`. A timed-out attempt keeps
   * running in the background (the node re-joins by itself), so a slow seed is not lost.
   */
  private async joinLoop(seeds: string[]): Promise<void> {
    let delay = JOIN_RETRY_FIRST_MS;
    for (let attempt = 1; this.state === 'running'; attempt++) {
      try {
        await this.node.join(seeds, { timeoutMs: Math.min(5000, 1000 + delay) });
        this.log.info({ seeds, attempt }, 'joined');
        return;
      } catch (err) {
        if (this.state !== 'running') return;
        this.log.warn({ seeds, attempt, retryInMs: delay, err: String((err as Error).message) }, 'join failed, retrying');
      }
      await new Promise<void>((r) => {
        const h = setTimeout(() => {
          this.timers.delete(h);
          r();
        }, delay);
        this.timers.add(h);
      });
      delay = Math.min(delay * 2, JOIN_RETRY_MAX_MS);
    }
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
    return this.members().map((m) => ({ name: m.name, addr: m.addr, status: m.status, incarnation: m.incarnation, tags: m.tags, neighbor: nb.has(m.addr) }));
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
    const bad = checkEvent(this.config, name, payload.byteLength);
    if (bad !== null) throw new Error(`event: ${bad}`);
    this.ltime++;
    const id = this.node.broadcast(encodeUserEvent({ name, payload, ltime: this.ltime }), { channel: EVENT_CHANNEL });
    this.counters.userEventsSent++;
    return id;
  }

  /** Prometheus exposition of this agent's metrics. prom-client is loaded on the first
   *  scrape: every counter is kept by the agent (`counters`) or the runtime (`node.stats()`),
   *  so nothing counted before that scrape is lost; only the process/event-loop default
   *  metrics start at the first scrape. */
  async metrics(): Promise<{ contentType: string; body: string }> {
    if (this.metricsRegistry === null) {
      const { createMetrics } = await import('./metrics-registry.js');
      this.metricsRegistry ??= createMetrics({
        stats: () => (this.state === 'stopped' ? null : this.node.stats()),
        memberCounts: () => this.memberCounts(),
        counters: this.counters,
      });
    }
    return { contentType: this.metricsRegistry.contentType, body: await this.metricsRegistry.metrics() };
  }

  /** Subscribe to monitor events. */
  subscribe(listener: (e: MonitorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Leave gracefully (broadcast `left`, DISCONNECT neighbours), then stop. Idempotent. */
  async leave(): Promise<void> {
    if (this.state !== 'running') return this.stopped;
    this.state = 'stopping';
    this.log.info({}, 'leaving the cluster');
    this.members_.leave(Date.now());
    // Let the neighbours receive the `left` delta and flood it on before the links close.
    await new Promise((r) => setTimeout(r, 300));
    await this.node.leave();
    await this.stop();
  }

  /** Stop without leaving: peers will detect a failure. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.state !== 'running') return this.stopped;
    this.state = 'stopping';
    await this.node.close();
    await this.stop();
  }

  private async stop(): Promise<void> {
    this.state = 'stopped';
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.handlers.close();
    this.listeners.clear();
    await this.api?.close();
    this.metricsRegistry?.clear();
    this.log.info({}, 'agent stopped');
    this.resolveStopped();
  }
}

/** On SIGINT/SIGTERM: leave gracefully then `exit(0)`; a second signal exits 1 at once.
 *  Returns a function that removes the handlers. */
export function installSignalHandlers(agent: Agent, exit: (code: number) => void = (c) => process.exit(c)): () => void {
  let signalled = false;
  const on = (sig: NodeJS.Signals): void => {
    if (signalled) return exit(1);
    signalled = true;
    agent.log.info({ signal: sig }, 'signal: leaving');
    agent.leave().then(
      () => exit(0),
      () => exit(1),
    );
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
}
