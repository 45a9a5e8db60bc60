/**
 * The live dashboard's server side (docs/api.md "GET /v1/dashboard/stream", docs/web.md).
 *
 * One SSE stream per page: a `snapshot` first (this agent, its features, every member with
 * the time its status last changed, the recent events, traffic, the overlay reports known),
 * then deltas: `members` (changed and removed members, coalesced over 250 ms), `event` (one
 * user or member event), `stats` (this agent's rates, every second) and `reports` (other
 * members' neighbours and counters, batched every 500 ms). A `: ping` comment every 10 s
 * keeps proxies from closing an idle stream. A page that does not read (more than 4 MiB
 * waiting) is disconnected; it reconnects and gets a fresh snapshot.
 *
 * Member deltas come from diffing the API's own member list (`apiMembers()`), so the
 * dashboard depends on the API's shapes, not on the membership machine's internals.
 *
 * Overlay crawl (docs/architecture.md "The dashboard's overlay crawl"): only neighbours are
 * connected, so the agent cannot ask an arbitrary member directly. While a page is open it
 * floods a `request` over the active views on the reserved channel `_rumor.dash` (each node
 * forwards it once, remembering which neighbour it came from) and each node sends its
 * `report` (active view and counters) back to the neighbour it got the request from, which
 * relays it on towards the origin: a convergecast along the reverse path. Bounded: a TTL of
 * 12 hops, one crawl every 5 s at most per origin (requests from one origin arriving faster
 * are ignored), at most 4,096 reports relayed per crawl per node, 64 crawls remembered.
 *
 * Limits: members the agent's overlay component cannot reach send no report (the page shows
 * them without links: an island is visible as such); rates of other members are computed
 * from two successive reports (5 s apart); event-loop lag is measured only while a page is
 * open or reports are being asked for (the histogram costs a timer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { decodeDash, encodeDash, type DashMessage, type PeerCounters, MAX_REPORT_NEIGHBORS } from './dashboard-wire.js';
import type { ApiMember, MonitorEvent } from './api.js';

/** Reserved channel of the overlay crawl. */
export const DASH_CHANNEL = '_rumor.dash';
/** Period of the overlay crawl while a page is open (a report ages in at most this). */
export const CRAWL_INTERVAL_MS = 5000;
/** Hops a crawl request travels: HyParView's diameter at 10^5 nodes is under 10 (paper, §5). */
export const CRAWL_TTL = 12;
/** Reports relayed per crawl per node (an upper bound on the cluster a crawl maps). */
export const MAX_RELAY = 4096;
/** Crawls (request routes) a node remembers. */
const MAX_ROUTES = 64;
/** A route is forgotten after this. */
const ROUTE_TTL_MS = 15_000;
/** Recent events kept for a new page's snapshot. */
export const EVENT_RING = 200;
/** Bytes a stream may have waiting before the page is disconnected as too slow. */
export const MAX_STREAM_BUFFER = 4 * 1024 * 1024;
const PING_MS = 10_000;
const MEMBERS_FLUSH_MS = 250;
const REPORTS_FLUSH_MS = 500;
const STATS_MS = 1000;
/** A report older than this many crawl periods is dropped. */
const REPORT_STALE_CRAWLS = 3;
/** The lag histogram is switched off after this long without a page or a request. */
const LAG_IDLE_MS = 30_000;
/** Sampling period of the lag histogram (ms): Node's default is 10; 20 halves the wake-ups. */
const LAG_RESOLUTION_MS = 20;

/** The part of a `RumorNode` the dashboard uses. */
export interface DashboardNode {
  readonly address: string;
  neighbors(): string[];
  stats(): { messagesIn: Record<string, number>; messagesOut: Record<string, number>; bytesIn: Record<string, number>; bytesOut: Record<string, number>; deliveries: number; duplicates: number; droppedFrames: Record<string, number> };
  sendTo(peer: string, channel: string, data: Uint8Array): boolean;
  on(event: 'direct', listener: (from: string, channel: string, data: Uint8Array) => void): unknown;
}

/** What the dashboard reads from the agent (a subset of `ApiBackend`). */
export interface DashboardSource {
  info(): unknown;
  apiMembers(): ApiMember[];
  subscribe(listener: (e: MonitorEvent) => void): () => void;
  readonly node?: DashboardNode;
}

/** A member as the dashboard shows it. */
export interface DashMember extends ApiMember {
  /** When this agent saw the member's status change last (ms since the epoch). */
  since: number;
}

/** Traffic and health of one agent: rates over the last interval, totals since start. */
export interface TrafficStats {
  addr: string;
  name: string;
  at: number;
  messagesInPerSec: number;
  messagesOutPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  deliveriesPerSec: number;
  duplicatesPerSec: number;
  deliveries: number;
  duplicates: number;
  droppedFrames: number;
  eventLoopLagMs: number | null;
  rssBytes: number;
}

/** One member's crawl report as the page gets it. */
export interface MemberReport {
  addr: string;
  name: string;
  neighbors: string[];
  at: number;
  traffic: TrafficStats | null;
}

/** A dashboard event: a monitor event (user or member) stamped with when it arrived. */
export type DashEvent = MonitorEvent & { at: number };

/** Features this agent's API has, listed in `/v1/info` as `features`: the page shows a view
 *  only for a feature listed. Other features (metadata, queries, aggregates) add themselves
 *  through their own `info().features`. */
export const BASE_FEATURES = ['dashboard', 'overlay-crawl'] as const;

/** `info` with `features` = the base features plus any the backend lists. */
export function withFeatures(info: unknown): unknown {
  if (typeof info !== 'object' || info === null) return info;
  const own = (info as { features?: unknown }).features;
  const extra = Array.isArray(own) ? own.filter((f): f is string => typeof f === 'string') : [];
  return { ...info, features: [...new Set([...BASE_FEATURES, ...extra])] };
}

const sum = (c: Record<string, number>): number => Object.values(c).reduce((s, x) => s + x, 0);

function rate(cur: number, prev: number, dtSec: number): number {
  return dtSec > 0 && cur >= prev ? (cur - prev) / dtSec : 0;
}

/** Traffic rates between two counter samples of one agent. */
export function trafficFrom(addr: string, name: string, cur: PeerCounters, prev: PeerCounters | null, at: number): TrafficStats {
  const dt = prev === null ? 0 : (cur.uptimeMs - prev.uptimeMs) / 1000;
  const p = prev ?? cur;
  return {
    addr,
    name,
    at,
    messagesInPerSec: rate(cur.messagesIn, p.messagesIn, dt),
    messagesOutPerSec: rate(cur.messagesOut, p.messagesOut, dt),
    bytesInPerSec: rate(cur.bytesIn, p.bytesIn, dt),
    bytesOutPerSec: rate(cur.bytesOut, p.bytesOut, dt),
    deliveriesPerSec: rate(cur.deliveries, p.deliveries, dt),
    duplicatesPerSec: rate(cur.duplicates, p.duplicates, dt),
    deliveries: cur.deliveries,
    duplicates: cur.duplicates,
    droppedFrames: cur.droppedFrames,
    eventLoopLagMs: cur.eventLoopLagMs,
    rssBytes: cur.rssBytes,
  };
}

interface Route {
  parent: string;
  at: number;
  relayed: number;
}

interface Stream {
  res: ServerResponse;
}

/** The dashboard hub of one agent: answers crawls always, crawls and streams while a page is open. */
export class DashboardHub {
  private readonly startedAt = Date.now();
  private readonly members = new Map<string, DashMember>();
  private readonly statusSeen = new Map<string, { status: string; at: number }>();
  private readonly events: DashEvent[] = [];
  private readonly streams = new Set<Stream>();
  private readonly routes = new Map<string, Route>();
  private readonly lastRequestFrom = new Map<string, number>();
  private readonly reports = new Map<string, { report: MemberReport; counters: PeerCounters }>();
  private pendingReports = new Map<string, MemberReport>();
  private pendingMembers = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private membersTimer: NodeJS.Timeout | null = null;
  private reportsTimer: NodeJS.Timeout | null = null;
  private reqId = (Math.random() * 0xffffffff) >>> 0;
  private lag: IntervalHistogram | null = null;
  private lagUsedAt = 0;
  private lagIdle: NodeJS.Timeout | null = null;
  private lastLagMs: number | null = null;
  private lastLocal: { counters: PeerCounters; stats: TrafficStats } | null = null;
  private readonly unsubscribe: () => void;
  /** Crawl messages that failed to decode or came from nowhere they should. */
  badMessages = 0;

  constructor(private readonly src: DashboardSource) {
    this.unsubscribe = src.subscribe((e) => this.onEvent(e));
    src.node?.on('direct', (from, channel, data) => {
      if (channel === DASH_CHANNEL) this.onDash(from, data);
    });
    for (const m of src.apiMembers()) this.members.set(m.addr, { ...m, since: this.startedAt });
  }

  /** Stop every stream and timer. */
  close(): void {
    this.unsubscribe();
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    this.stopTimers();
    if (this.lagIdle !== null) clearTimeout(this.lagIdle);
    this.lag?.disable();
    this.lag = null;
  }

  // ---- events and members ----------------------------------------------------------

  private onEvent(e: MonitorEvent): void {
    // Channel resets (issue 13) are not shown by the dashboard yet.
    if (e.type === 'neighbor-up' || e.type === 'neighbor-down' || e.type === 'reset') return;
    const at = Date.now();
    if (e.type !== 'user') {
      const prev = this.statusSeen.get(e.member.addr);
      if (prev === undefined || prev.status !== e.member.status) this.statusSeen.set(e.member.addr, { status: e.member.status, at });
      this.scheduleMembers();
    }
    const d: DashEvent = { ...e, at };
    this.events.push(d);
    if (this.events.length > EVENT_RING) this.events.shift();
    this.broadcast('event', d);
  }

  private scheduleMembers(): void {
    if (this.streams.size === 0 || this.pendingMembers) return;
    this.pendingMembers = true;
    setTimeout(() => {
      this.pendingMembers = false;
      this.flushMembers();
    }, MEMBERS_FLUSH_MS).unref();
  }

  /** Diff the API's member list against the last one sent; returns the delta. */
  diffMembers(): { changed: DashMember[]; removed: string[] } {
    const now = Date.now();
    const changed: DashMember[] = [];
    const seen = new Set<string>();
    for (const m of this.src.apiMembers()) {
      seen.add(m.addr);
      const old = this.members.get(m.addr);
      if (old !== undefined && old.status === m.status && old.incarnation === m.incarnation && old.name === m.name && old.neighbor === m.neighbor && sameTags(old.tags, m.tags)) continue;
      const ev = this.statusSeen.get(m.addr);
      const since = old !== undefined && old.status === m.status ? old.since : ev !== undefined && ev.status === m.status ? ev.at : now;
      const dm = { ...m, since };
      this.members.set(m.addr, dm);
      changed.push(dm);
    }
    const removed: string[] = [];
    for (const addr of this.members.keys()) {
      if (!seen.has(addr)) {
        this.members.delete(addr);
        this.statusSeen.delete(addr);
        removed.push(addr);
      }
    }
    return { changed, removed };
  }

  private flushMembers(): void {
    const d = this.diffMembers();
    if (d.changed.length > 0 || d.removed.length > 0) this.broadcast('members', d);
  }

  // ---- the crawl: answering, relaying, asking -----------------------------------------

  private onDash(from: string, data: Uint8Array): void {
    const r = decodeDash(data);
    if (!r.ok) {
      this.badMessages++;
      return;
    }
    const m = r.msg;
    if (m.type === 'request') this.onRequest(from, m);
    else this.onReport(from, m, data);
  }

  private onRequest(from: string, m: Extract<DashMessage, { type: 'request' }>): void {
    const node = this.src.node!;
    const key = `${m.origin}#${m.reqId}`;
    if (m.origin === node.address || this.routes.has(key)) return;
    const now = Date.now();
    const last = this.lastRequestFrom.get(m.origin);
    if (last !== undefined && now - last < CRAWL_INTERVAL_MS / 2) return; // an origin crawling too fast
    this.lastRequestFrom.set(m.origin, now);
    if (this.lastRequestFrom.size > MAX_ROUTES) this.lastRequestFrom.delete(this.lastRequestFrom.keys().next().value!);
    this.routes.set(key, { parent: from, at: now, relayed: 0 });
    this.pruneRoutes(now);
    if (m.ttl > 1) {
      const fwd = encodeDash({ ...m, ttl: m.ttl - 1 });
      for (const p of node.neighbors()) if (p !== from) node.sendTo(p, DASH_CHANNEL, fwd);
    }
    const own = this.ownCounters();
    node.sendTo(from, DASH_CHANNEL, encodeDash({ type: 'report', reqId: m.reqId, origin: m.origin, addr: node.address, name: this.selfName(), neighbors: node.neighbors().slice(0, MAX_REPORT_NEIGHBORS), counters: own }));
  }

  private pruneRoutes(now: number): void {
    for (const [k, r] of this.routes) if (now - r.at > ROUTE_TTL_MS || this.routes.size > MAX_ROUTES) this.routes.delete(k);
  }

  private onReport(from: string, m: Extract<DashMessage, { type: 'report' }>, raw: Uint8Array): void {
    const node = this.src.node!;
    if (m.origin === node.address) {
      if (m.reqId !== this.reqId) return; // a late answer to an older crawl
      this.acceptReport(m);
      return;
    }
    const route = this.routes.get(`${m.origin}#${m.reqId}`);
    if (route === undefined || route.relayed >= MAX_RELAY || from === route.parent) {
      this.badMessages += route === undefined ? 0 : 1;
      return;
    }
    route.relayed++;
    node.sendTo(route.parent, DASH_CHANNEL, raw);
  }

  private acceptReport(m: { addr: string; name: string; neighbors: string[]; counters: PeerCounters }): void {
    const now = Date.now();
    const prev = this.reports.get(m.addr);
    const traffic = trafficFrom(m.addr, m.name, m.counters, prev?.counters ?? null, now);
    const report: MemberReport = { addr: m.addr, name: m.name, neighbors: m.neighbors, at: now, traffic: prev === undefined ? null : traffic };
    this.reports.set(m.addr, { report, counters: m.counters });
    this.pendingReports.set(m.addr, report);
    if (this.reportsTimer === null) {
      this.reportsTimer = setTimeout(() => {
        this.reportsTimer = null;
        const batch = [...this.pendingReports.values()];
        this.pendingReports = new Map();
        this.broadcast('reports', { reports: batch });
      }, REPORTS_FLUSH_MS);
      this.reportsTimer.unref();
    }
  }

  /** Start one crawl: the own report at once, a request to every neighbour. */
  crawl(): void {
    const node = this.src.node;
    if (node === undefined) return;
    this.reqId = (this.reqId + 1) >>> 0;
    const now = Date.now();
    for (const [addr, r] of this.reports) if (now - r.report.at > REPORT_STALE_CRAWLS * CRAWL_INTERVAL_MS) this.reports.delete(addr);
    this.acceptReport({ addr: node.address, name: this.selfName(), neighbors: node.neighbors(), counters: this.ownCounters() });
    const req = encodeDash({ type: 'request', reqId: this.reqId, ttl: CRAWL_TTL, origin: node.address });
    for (const p of node.neighbors()) node.sendTo(p, DASH_CHANNEL, req);
  }

  private selfName(): string {
    const i = this.src.info() as { name?: unknown };
    return typeof i.name === 'string' ? i.name.slice(0, 128) : '';
  }

  /** p99 event-loop delay since the last reset (ms), or the last value if there is no new
   *  sample. The histogram records whole timer intervals: the resolution is subtracted. */
  private readLag(reset: boolean): number | null {
    this.lagUsedAt = Date.now();
    this.armLagIdle();
    if (this.lag === null) {
      this.lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
      this.lag.enable();
    } else if (this.lag.count > 0) {
      this.lastLagMs = Math.max(0, this.lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS);
      if (reset) this.lag.reset();
    }
    return this.lastLagMs;
  }

  /** This agent's cumulative counters and event-loop lag. `resetLag`: start a new lag window
   *  (the 1 s stats tick does; a crawl does only when no page is open here). */
  ownCounters(resetLag = this.streams.size === 0): PeerCounters {
    const node = this.src.node;
    const s = node?.stats();
    const lagMs = this.readLag(resetLag);
    return {
      uptimeMs: Date.now() - this.startedAt,
      messagesIn: s ? sum(s.messagesIn) : 0,
      messagesOut: s ? sum(s.messagesOut) : 0,
      bytesIn: s ? sum(s.bytesIn) : 0,
      bytesOut: s ? sum(s.bytesOut) : 0,
      deliveries: s?.deliveries ?? 0,
      duplicates: s?.duplicates ?? 0,
      droppedFrames: s ? sum(s.droppedFrames) : 0,
      eventLoopLagMs: lagMs,
      rssBytes: process.memoryUsage.rss(),
    };
  }

  private sampleLocal(): TrafficStats {
    const c = this.ownCounters(true);
    const addr = this.src.node?.address ?? '';
    const stats = trafficFrom(addr, this.selfName(), c, this.lastLocal?.counters ?? null, Date.now());
    this.lastLocal = { counters: c, stats };
    return stats;
  }

  // ---- streams ------------------------------------------------------------------------

  /** Serve `GET /v1/dashboard/stream`. */
  stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const s: Stream = { res };
    const first = this.streams.size === 0;
    if (first) this.diffMembers();
    this.streams.add(s);
    const snapshot = {
      info: withFeatures(this.src.info()),
      members: [...this.members.values()],
      events: this.events,
      stats: this.lastLocal?.stats ?? this.sampleLocal(),
      reports: [...this.reports.values()].map((r) => r.report),
      limits: { crawlIntervalMs: CRAWL_INTERVAL_MS, eventRing: EVENT_RING },
    };
    this.write(s, 'snapshot', snapshot);
    if (first) this.startTimers();
    const stop = (): void => {
      if (!this.streams.delete(s)) return;
      if (this.streams.size === 0) this.stopTimers();
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  private startTimers(): void {
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(STATS_MS, () => {
      this.broadcast('stats', this.sampleLocal());
      this.flushMembers();
    });
    every(PING_MS, () => {
      for (const s of this.streams) this.writeRaw(s, ': ping\n\n');
    });
    every(CRAWL_INTERVAL_MS, () => this.crawl());
    this.crawl();
  }

  private stopTimers(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    if (this.reportsTimer !== null) clearTimeout(this.reportsTimer);
    this.reportsTimer = null;
  }

  /** Switch the lag histogram off once nobody asked for it for `LAG_IDLE_MS`. */
  private armLagIdle(): void {
    if (this.lagIdle !== null) return;
    this.lagIdle = setTimeout(() => {
      this.lagIdle = null;
      if (this.streams.size === 0 && Date.now() - this.lagUsedAt >= LAG_IDLE_MS) {
        this.lag?.disable();
        this.lag = null;
        this.lastLagMs = null;
      } else this.armLagIdle();
    }, LAG_IDLE_MS);
    this.lagIdle.unref();
  }

  private broadcast(event: string, data: unknown): void {
    if (this.streams.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const s of this.streams) this.writeRaw(s, text);
  }

  private write(s: Stream, event: string, data: unknown): void {
    this.writeRaw(s, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private writeRaw(s: Stream, text: string): void {
    if (s.res.writableLength > MAX_STREAM_BUFFER) {
      this.streams.delete(s);
      s.res.end();
      return;
    }
    s.res.write(text);
  }

  /** The reports known (the page's overlay and per-member traffic). */
  knownReports(): MemberReport[] {
    return [...this.reports.values()].map((r) => r.report);
  }

  /** Open streams (tests). */
  get streamCount(): number {
    return this.streams.size;
  }
}

function sameTags(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
