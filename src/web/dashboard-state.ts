/**
 * The dashboard's model: what the agent's stream said (docs/api.md, `GET
 * /v1/dashboard/stream`), folded into plain data the views read. No DOM here, so it runs (and
 * is tested) in Node too. Every collection is bounded: events (500), traffic history (300
 * samples: 5 minutes at one a second), reports (one per member).
 */

export type Status = 'alive' | 'suspect' | 'failed' | 'left';
export const STATUSES: readonly Status[] = ['alive', 'suspect', 'failed', 'left'];

// DashMember, TrafficStats and MemberReport are the JSON of the agent's stream as
// src/agent/dashboard.ts types it. They are written out again here on purpose: the page
// depends on the API's JSON only, never on src/agent (docs/architecture.md); change both.
export interface DashMember {
  name: string;
  addr: string;
  status: string;
  incarnation: number;
  tags: Record<string, string>;
  neighbor: boolean;
  since: number;
}

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

export interface MemberReport {
  addr: string;
  name: string;
  neighbors: string[];
  at: number;
  traffic: TrafficStats | null;
}

export interface DashEvent {
  type: string;
  at: number;
  id?: string;
  name?: string;
  origin?: string;
  payload?: string;
  member?: { name: string; addr: string; status: string; incarnation: number; tags: Record<string, string> };
}

export interface AgentSummary {
  name: string;
  addr: string;
  cluster: string;
  version: string;
  features: string[];
}

export interface Snapshot {
  info: Record<string, unknown>;
  members: DashMember[];
  events: DashEvent[];
  stats: TrafficStats;
  reports: MemberReport[];
}

export const MAX_EVENTS = 500;
/** A report not refreshed by the last crawl (1.5 crawl periods of 5 s) draws no links. */
export const REPORT_STALE_MS = 7500;
export const MAX_HISTORY = 300;

/** Which parts of the page changed since the views last looked. */
export interface Dirty {
  members: boolean;
  events: boolean;
  stats: boolean;
  reports: boolean;
}

export class DashState {
  agent: AgentSummary = { name: '', addr: '', cluster: '', version: '', features: [] };
  readonly members = new Map<string, DashMember>();
  /** Newest last. */
  events: DashEvent[] = [];
  stats: TrafficStats | null = null;
  readonly history: TrafficStats[] = [];
  readonly reports = new Map<string, MemberReport>();
  dirty: Dirty = { members: true, events: true, stats: true, reports: true };
  /** Bumped whenever the overlay graph (members or reports) may have changed. */
  graphVersion = 0;

  /** Apply one stream event (`snapshot`, `members`, `event`, `stats`, `reports`). Unknown
   *  events are ignored (a newer agent may send more). */
  apply(event: string, data: unknown): void {
    switch (event) {
      case 'snapshot':
        return this.snapshot(data as Snapshot);
      case 'members': {
        const d = data as { changed: DashMember[]; removed: string[] };
        for (const m of d.changed) this.members.set(m.addr, m);
        for (const a of d.removed) {
          this.members.delete(a);
          this.reports.delete(a);
        }
        this.dirty.members = true;
        this.graphVersion++;
        return;
      }
      case 'event':
        this.events.push(data as DashEvent);
        if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
        this.dirty.events = true;
        return;
      case 'stats':
        this.pushStats(data as TrafficStats);
        return;
      case 'reports':
        for (const r of (data as { reports: MemberReport[] }).reports) this.reports.set(r.addr, r);
        this.dirty.reports = true;
        this.graphVersion++;
        return;
    }
  }

  private snapshot(s: Snapshot): void {
    const i = s.info;
    this.agent = {
      name: String(i.name ?? ''),
      addr: String(i.addr ?? ''),
      cluster: String(i.cluster ?? ''),
      version: String(i.version ?? ''),
      features: Array.isArray(i.features) ? i.features.map(String) : [],
    };
    this.members.clear();
    for (const m of s.members) this.members.set(m.addr, m);
    this.events = s.events.slice(-MAX_EVENTS);
    this.reports.clear();
    for (const r of s.reports) this.reports.set(r.addr, r);
    this.pushStats(s.stats);
    this.dirty = { members: true, events: true, stats: true, reports: true };
    this.graphVersion++;
  }

  private pushStats(t: TrafficStats): void {
    this.stats = t;
    this.history.push(t);
    if (this.history.length > MAX_HISTORY) this.history.splice(0, this.history.length - MAX_HISTORY);
    this.dirty.stats = true;
  }

  /** Reports older than this are stale: 1.5 crawl periods before the newest one. */
  staleBefore(): number {
    let newest = -Infinity;
    for (const r of this.reports.values()) if (r.at > newest) newest = r.at;
    return newest - REPORT_STALE_MS;
  }

  counts(): Record<Status, number> {
    const c: Record<Status, number> = { alive: 0, suspect: 0, failed: 0, left: 0 };
    for (const m of this.members.values()) if (m.status in c) c[m.status as Status]++;
    return c;
  }
}

/** Members matching a status (or `all`) and a search text (name, address, tag key or value,
 *  case-insensitive), sorted by name then address. */
export function filterMembers(members: Iterable<DashMember>, status: string, search: string): DashMember[] {
  const q = search.trim().toLowerCase();
  const out: DashMember[] = [];
  for (const m of members) {
    if (status !== 'all' && m.status !== status) continue;
    if (q !== '' && !matches(m, q)) continue;
    out.push(m);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
}

function matches(m: DashMember, q: string): boolean {
  if (m.name.toLowerCase().includes(q) || m.addr.toLowerCase().includes(q)) return true;
  for (const [k, v] of Object.entries(m.tags)) if (`${k}=${v}`.toLowerCase().includes(q)) return true;
  return false;
}

/** The overlay as the canvas draws it: members in a stable order, links between them. */
export interface OverlayGraph {
  addrs: string[];
  status: Uint8Array;
  /** 1 when the member sent a report (its links are known). */
  reported: Uint8Array;
  links: Int32Array;
  components: number;
}

/** Build the overlay graph: one node per member (sorted by address), an undirected link
 *  wherever a report of a member not failed or left lists a neighbour that is a member.
 *  Components count the members not failed or left, joined by those links. Reports older
 *  than `staleBefore` (ms since the epoch) are ignored: a member the last crawl did not
 *  reach is drawn without links. */
export function overlayGraph(members: Map<string, DashMember>, reports: Map<string, MemberReport>, staleBefore = -Infinity): OverlayGraph {
  const addrs = [...members.keys()].sort();
  const index = new Map<string, number>();
  addrs.forEach((a, i) => index.set(a, i));
  const n = addrs.length;
  const status = new Uint8Array(n);
  const reported = new Uint8Array(n);
  // Each link as one number a·n + b (a < b), sorted natively and deduplicated: a typed-array
  // sort without a comparator is several times faster than a Set plus a sort of pairs.
  let keys = new Float64Array(Math.max(16, 5 * n));
  let k = 0;
  for (let i = 0; i < n; i++) {
    const m = members.get(addrs[i])!;
    const s = STATUSES.indexOf(m.status as Status);
    status[i] = s < 0 ? 0 : s;
    // A failed or left member's last report is stale: its links are not drawn.
    let r = status[i] >= 2 ? undefined : reports.get(addrs[i]);
    if (r !== undefined && r.at < staleBefore) r = undefined;
    if (r === undefined) continue;
    reported[i] = 1;
    for (const nb of r.neighbors) {
      const j = index.get(nb);
      if (j === undefined || j === i) continue;
      if (k === keys.length) {
        const bigger = new Float64Array(2 * keys.length);
        bigger.set(keys);
        keys = bigger;
      }
      keys[k++] = i < j ? i * n + j : j * n + i;
    }
  }
  const sorted = keys.subarray(0, k).sort();
  let u = 0;
  for (let x = 0; x < k; x++) if (x === 0 || sorted[x] !== sorted[x - 1]) sorted[u++] = sorted[x];
  const links = new Int32Array(2 * u);
  for (let x = 0; x < u; x++) {
    links[2 * x] = Math.floor(sorted[x] / n);
    links[2 * x + 1] = sorted[x] % n;
  }
  return { addrs, status, reported, links, components: countComponents(n, links, status) };
}

/** Connected components among members not failed or left (union–find). */
export function countComponents(n: number, links: Int32Array, status: Uint8Array): number {
  const parent = new Int32Array(n);
  for (let i = 0; i < n; i++) parent[i] = i;
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  };
  const up = (i: number): boolean => status[i] <= 1;
  for (let k = 0; k + 1 < links.length; k += 2) {
    if (!up(links[k]) || !up(links[k + 1])) continue;
    parent[find(links[k])] = find(links[k + 1]);
  }
  let c = 0;
  for (let i = 0; i < n; i++) if (up(i) && find(i) === i) c++;
  return c;
}

/** Optional views, each shown only when the agent lists its feature in `/v1/info`. */
export const SLOTS = [
  { feature: 'metadata', title: 'Metadata' },
  { feature: 'queries', title: 'Queries' },
  { feature: 'aggregates', title: 'Aggregates' },
] as const;

export function visibleSlots(features: readonly string[]): (typeof SLOTS)[number][] {
  return SLOTS.filter((s) => features.includes(s.feature));
}

/** "3 s", "4 min", "2 h", "5 d" ago. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 129600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** 1234 → "1.2 k", bytes with `B`. */
export function human(x: number, unit = ''): string {
  const a = Math.abs(x);
  const [d, sfx] = a >= 1e9 ? [1e9, ' G'] : a >= 1e6 ? [1e6, ' M'] : a >= 1e3 ? [1e3, ' k'] : [1, unit === '' ? '' : ' '];
  const v = x / d;
  return `${v >= 100 || d === 1 ? v.toFixed(0) : v.toFixed(1)}${sfx}${unit}`;
}
