/**
 * The dashboard's views: members (filter, search, counts by status, pages of 100 rows),
 * overlay (every reported active view as a force-laid-out graph, coloured by status), traffic
 * and health (this agent's rates with a 5-minute chart, and every reporting member's), events
 * (newest first, with payloads). Each view renders only when shown and only what changed; the
 * page schedules renders at most every 250 ms, so a busy stream never means a busy page.
 */
import type uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { el } from './client.js';
import { GraphCanvas } from './graph-canvas.js';
import { ago, filterMembers, human, overlayGraph, STATUSES, type DashEvent, type DashState, type OverlayGraph, type TrafficStats } from './dashboard-state.js';

export const STATUS_COLORS = ['#2b8a3e', '#f59f00', '#c92a2a', '#868e96'];
const PAGE = 100;

export interface View {
  readonly root: HTMLElement;
  render(state: DashState): void;
}

/** One table row's content: cell texts, optional per-cell class and title, row attributes. */
interface RowData {
  attrs: Record<string, string>;
  cells: string[];
  classes?: (string | undefined)[];
  titles?: (string | undefined)[];
}

/**
 * Show `rows` in `tbody`, reusing the row and cell elements already there and writing only
 * what changed: a live table of 100 rows then costs a few text writes per update instead of
 * rebuilding hundreds of elements (and re-laying out the table) several times a second.
 */
function patchRows(tbody: HTMLTableSectionElement, rows: RowData[]): void {
  while (tbody.rows.length > rows.length) tbody.deleteRow(-1);
  rows.forEach((r, i) => {
    let tr = tbody.rows[i] as HTMLTableRowElement | undefined;
    if (tr === undefined) {
      tr = tbody.insertRow();
      for (let c = 0; c < r.cells.length; c++) tr.insertCell();
    }
    for (const [k, v] of Object.entries(r.attrs)) if (tr.getAttribute(k) !== v) tr.setAttribute(k, v);
    r.cells.forEach((text, c) => {
      const td = tr.cells[c];
      if (td.textContent !== text) td.textContent = text;
      const cls = r.classes?.[c] ?? '';
      if (td.className !== cls) td.className = cls;
      const title = r.titles?.[c];
      if (title !== undefined && td.title !== title) td.title = title;
    });
  });
}

function pager(onMove: (delta: number) => void): { root: HTMLElement; set(page: number, pages: number, total: number): void } {
  const prev = el('button', { type: 'button', 'data-testid': 'page-prev' }, '‹ prev');
  const next = el('button', { type: 'button', 'data-testid': 'page-next' }, 'next ›');
  const label = el('span', { class: 'pager-label' });
  prev.onclick = () => onMove(-1);
  next.onclick = () => onMove(1);
  const root = el('div', { class: 'pager' });
  root.append(prev, label, next);
  return {
    root,
    set(page, pages, total) {
      label.textContent = total === 0 ? 'none' : `${page * PAGE + 1}–${Math.min(total, (page + 1) * PAGE)} of ${total}`;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    },
  };
}

export class MembersView implements View {
  readonly root = el('section', { class: 'dash-view', 'data-testid': 'view-members', 'aria-label': 'Members' });
  private readonly tbody = el('tbody');
  private readonly table = el('table', { class: 'dash-table', 'data-testid': 'dash-members' });
  private readonly search = el('input', { type: 'search', placeholder: 'search name, address, tag', 'data-testid': 'dash-search', 'aria-label': 'Search members' });
  private readonly status = el('select', { 'data-testid': 'dash-status-filter', 'aria-label': 'Status filter' });
  private readonly pages = pager((d) => this.move(d));
  private page = 0;
  private last: DashState | null = null;

  constructor() {
    for (const s of ['all', ...STATUSES]) this.status.append(el('option', { value: s }, s));
    this.search.oninput = () => this.refilter();
    this.status.onchange = () => this.refilter();
    const head = el('tr');
    for (const h of ['name', 'address', 'status', 'since', 'incarnation', 'tags', 'neighbour']) head.append(el('th', { scope: 'col' }, h));
    this.table.append(el('thead'), this.tbody);
    this.table.tHead!.append(head);
    const bar = el('div', { class: 'controls' });
    bar.append(this.search, this.status, this.pages.root);
    this.root.append(bar, this.table);
  }

  /** Show members with `status` (from the counts in the header). */
  filterStatus(s: string): void {
    this.status.value = s;
    this.refilter();
  }

  private refilter(): void {
    this.page = 0;
    if (this.last) this.render(this.last, true);
  }

  private move(d: number): void {
    this.page = Math.max(0, this.page + d);
    if (this.last) this.render(this.last, true);
  }

  render(state: DashState, force = false): void {
    this.last = state;
    if (!force && !state.dirty.members) return;
    state.dirty.members = false;
    const rows = filterMembers(state.members.values(), this.status.value, this.search.value);
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    this.page = Math.min(this.page, pages - 1);
    this.pages.set(this.page, pages, rows.length);
    const now = Date.now();
    patchRows(
      this.tbody,
      rows.slice(this.page * PAGE, (this.page + 1) * PAGE).map((m) => ({
        attrs: { 'data-addr': m.addr, 'data-status': m.status },
        cells: [m.name, m.addr, m.status, `${ago(now - m.since)} ago`, String(m.incarnation), Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(' '), m.neighbor ? 'yes' : ''],
        classes: [undefined, undefined, `st st-${m.status}`],
        titles: [undefined, undefined, undefined, new Date(m.since).toISOString()],
      })),
    );
    this.table.dataset.count = String(rows.length);
  }
}

const SHOWN_EVENTS = 200;

function eventItem(e: DashEvent): HTMLLIElement {
  const isUser = e.type === 'user';
  const li = el('li', { 'data-type': e.type, class: isUser ? 'ev-user' : 'ev-member' });
  li.append(el('time', { datetime: new Date(e.at).toISOString() }, new Date(e.at).toLocaleTimeString()), el('b', {}, e.type));
  if (isUser) li.append(el('span', { class: 'ev-name' }, e.name ?? ''), el('code', { class: 'ev-payload', 'data-testid': 'ev-payload' }, e.payload ?? ''), el('span', { class: 'ev-origin' }, `from ${e.origin ?? '?'}`));
  else if (e.member) li.append(el('span', { class: 'ev-name' }, e.member.name), el('span', {}, `${e.member.addr} ${e.member.status} (incarnation ${e.member.incarnation})`));
  return li;
}

export class EventsView implements View {
  readonly root = el('section', { class: 'dash-view', 'data-testid': 'view-events', 'aria-label': 'Events' });
  private readonly list = el('ol', { class: 'dash-events', 'data-testid': 'dash-events', reversed: '' });
  private readonly kind = el('select', { 'data-testid': 'dash-event-filter', 'aria-label': 'Event type' });
  private last: DashState | null = null;
  /** The newest event already in the list. */
  private shown: DashEvent | undefined;

  constructor() {
    for (const [v, t] of [['all', 'all events'], ['user', 'user events'], ['member', 'member events']]) this.kind.append(el('option', { value: v }, t));
    this.kind.onchange = () => this.last && this.render(this.last, true);
    const bar = el('div', { class: 'controls' });
    bar.append(this.kind, el('span', { class: 'note' }, 'newest first; the last 500 are kept'));
    this.root.append(bar, this.list);
  }

  render(state: DashState, force = false): void {
    this.last = state;
    if (!force && !state.dirty.events) return;
    state.dirty.events = false;
    const k = this.kind.value;
    const keep = (e: DashEvent): boolean => k === 'all' || (k === 'user') === (e.type === 'user');
    // Only the events not shown yet are added (newest on top); the list keeps 200 items.
    const newest = force ? undefined : this.shown;
    if (force) this.list.replaceChildren();
    const fresh: HTMLLIElement[] = [];
    for (let i = state.events.length - 1; i >= 0 && fresh.length < SHOWN_EVENTS; i--) {
      const e = state.events[i];
      if (e === newest) break;
      if (keep(e)) fresh.push(eventItem(e));
    }
    this.shown = state.events[state.events.length - 1];
    this.list.prepend(...fresh);
    while (this.list.childElementCount > SHOWN_EVENTS) this.list.lastElementChild!.remove();
    this.list.dataset.count = String(state.events.length);
  }
}

const TRAFFIC_ROWS: [keyof TrafficStats, string, (x: number) => string][] = [
  ['messagesInPerSec', 'messages in /s', (x) => human(x)],
  ['messagesOutPerSec', 'messages out /s', (x) => human(x)],
  ['bytesInPerSec', 'bytes in /s', (x) => human(x, 'B')],
  ['bytesOutPerSec', 'bytes out /s', (x) => human(x, 'B')],
  ['deliveriesPerSec', 'deliveries /s', (x) => x.toFixed(1)],
  ['duplicatesPerSec', 'duplicates /s', (x) => x.toFixed(1)],
  ['deliveries', 'deliveries (total)', (x) => String(x)],
  ['duplicates', 'duplicates (total)', (x) => String(x)],
  ['droppedFrames', 'dropped frames (total)', (x) => String(x)],
  ['rssBytes', 'resident memory', (x) => human(x, 'B')],
];

function lag(t: TrafficStats): string {
  return t.eventLoopLagMs === null ? 'measuring…' : `${t.eventLoopLagMs.toFixed(1)} ms`;
}

export class TrafficView implements View {
  readonly root = el('section', { class: 'dash-view', 'data-testid': 'view-traffic', 'aria-label': 'Traffic and health' });
  private readonly cards = el('dl', { class: 'stats', 'data-testid': 'dash-traffic' });
  private readonly chartBox = el('div', { class: 'chart' });
  private readonly tbody = el('tbody');
  private readonly pages = pager((d) => this.move(d));
  private page = 0;
  private chart: uPlot | null = null;
  private UPlot: typeof uPlot | null = null;
  private loadingChart = false;
  private last: DashState | null = null;

  constructor() {
    const top = el('div', { class: 'body' });
    const own = el('div');
    own.append(el('h3', {}, 'This agent'), this.cards);
    top.append(own, this.chartBox);
    const table = el('table', { class: 'dash-table', 'data-testid': 'dash-member-traffic' });
    const head = el('tr');
    for (const h of ['member', 'msgs in/s', 'msgs out/s', 'bytes in/s', 'bytes out/s', 'deliveries/s', 'duplicates/s', 'dropped', 'loop lag', 'memory']) head.append(el('th', { scope: 'col' }, h));
    table.append(el('thead'), this.tbody);
    table.tHead!.append(head);
    this.root.append(top, el('h3', {}, 'Every reporting member (busiest first; from the overlay crawl, every 5 s)'), this.pages.root, table);
  }

  private move(d: number): void {
    this.page = Math.max(0, this.page + d);
    if (this.last) this.render(this.last, true);
  }

  render(state: DashState, force = false): void {
    this.last = state;
    if (state.dirty.stats || force) {
      state.dirty.stats = false;
      this.renderOwn(state);
    }
    if (state.dirty.reports || force) {
      state.dirty.reports = false;
      this.renderMembers(state);
    }
  }

  private renderOwn(state: DashState): void {
    const t = state.stats;
    if (t === null) return;
    if (this.cards.childElementCount === 0) {
      for (const [k, label] of TRAFFIC_ROWS) this.cards.append(el('dt', {}, label), el('dd', { 'data-testid': `tr-${k}` }));
      this.cards.append(el('dt', {}, 'event-loop lag (p99)'), el('dd', { 'data-testid': 'tr-lag' }));
    }
    const dds = this.cards.querySelectorAll('dd');
    TRAFFIC_ROWS.forEach(([k, , f], i) => {
      const v = f(t[k] as number);
      if (dds[i].textContent !== v) dds[i].textContent = v;
    });
    dds[TRAFFIC_ROWS.length].textContent = lag(t);
    const h = state.history;
    const data: uPlot.AlignedData = [h.map((x) => x.at / 1000), h.map((x) => x.messagesInPerSec + x.messagesOutPerSec), h.map((x) => (x.bytesInPerSec + x.bytesOutPerSec) / 1024)];
    if (this.chart === null) {
      // uPlot is loaded the first time this view is shown: the page starts with less to run.
      if (this.UPlot === null) {
        if (!this.loadingChart) {
          this.loadingChart = true;
          void import('uplot').then((m) => {
            this.UPlot = m.default;
            if (this.last) this.renderOwn(this.last);
          });
        }
        return;
      }
      this.chart = new this.UPlot(
        {
          width: 520,
          height: 220,
          series: [{}, { label: 'messages/s', stroke: '#1c7ed6', scale: 'm' }, { label: 'KiB/s', stroke: '#d6336c', scale: 'b' }],
          axes: [{}, { scale: 'm', label: 'messages/s' }, { scale: 'b', side: 1, label: 'KiB/s', grid: { show: false } }],
        },
        data,
        this.chartBox,
      );
    } else this.chart.setData(data);
  }

  private renderMembers(state: DashState): void {
    const rows = [...state.reports.values()].filter((r) => r.traffic !== null).map((r) => r.traffic!);
    rows.sort((a, b) => b.messagesInPerSec + b.messagesOutPerSec - (a.messagesInPerSec + a.messagesOutPerSec));
    const pages = Math.max(1, Math.ceil(rows.length / PAGE));
    this.page = Math.min(this.page, pages - 1);
    this.pages.set(this.page, pages, rows.length);
    patchRows(
      this.tbody,
      rows.slice(this.page * PAGE, (this.page + 1) * PAGE).map((t) => ({
        attrs: { 'data-addr': t.addr },
        cells: [t.name || t.addr, human(t.messagesInPerSec), human(t.messagesOutPerSec), human(t.bytesInPerSec, 'B'), human(t.bytesOutPerSec, 'B'), t.deliveriesPerSec.toFixed(1), t.duplicatesPerSec.toFixed(1), String(t.droppedFrames), lag(t), human(t.rssBytes, 'B')],
        titles: [t.addr],
      })),
    );
  }
}

export class OverlayView implements View {
  readonly root = el('section', { class: 'dash-view', 'data-testid': 'view-overlay', 'aria-label': 'Overlay' });
  private readonly graph: GraphCanvas;
  private readonly info = el('dl', { class: 'stats', 'data-testid': 'dash-overlay-stats' });
  private readonly picked = el('p', { class: 'status', 'data-testid': 'dash-overlay-picked' });
  private version = -1;
  private g: OverlayGraph | null = null;

  constructor() {
    const body = el('div', { class: 'body' });
    const wrap = el('div', { class: 'graph-wrap' });
    this.graph = new GraphCanvas(wrap, 'Overlay: each member and the members in its active view; colour = status');
    this.graph.canvas.dataset.testid = 'dash-overlay-canvas';
    this.graph.canvas.onclick = (ev) => {
      const r = this.graph.canvas.getBoundingClientRect();
      const i = this.graph.nodeAt(ev.clientX - r.left, ev.clientY - r.top);
      this.picked.textContent = i >= 0 && this.g ? `${this.g.addrs[i]}${this.g.reported[i] ? '' : ' (no report: not reached by the crawl)'}` : '';
    };
    const side = el('div', { class: 'side' });
    const legend = el('ul', { class: 'legend' });
    STATUSES.forEach((s, i) => {
      const li = el('li');
      li.append(el('span', { class: 'swatch', style: `background:${STATUS_COLORS[i]}` }), document.createTextNode(s));
      legend.append(li);
    });
    side.append(this.info, legend, this.picked, el('p', { class: 'note' }, 'Links come from each member\'s own report of its active view, collected every 5 s by a crawl over the overlay from this agent. Members the last crawl did not reach (another overlay component, a partition, a dead node) have no links and sit on the rings around the clouds; separate clouds are separate components among the members that reported.'));
    body.append(wrap, side);
    this.root.append(body);
  }

  render(state: DashState): void {
    if (state.graphVersion === this.version) return;
    this.version = state.graphVersion;
    const old = this.g;
    const g = overlayGraph(state.members, state.reports, state.staleBefore());
    this.g = g;
    if (old === null || old.addrs.length !== g.addrs.length || old.addrs.some((a, i) => a !== g.addrs[i])) {
      const prev = new Map<string, number>();
      old?.addrs.forEach((a, i) => prev.set(a, i));
      const keep = Int32Array.from(g.addrs, (a) => prev.get(a) ?? -1);
      if (old === null) {
        this.graph.setNodes(g.addrs.length);
        this.graph.setLinks(g.links);
      } else this.graph.remap(g.addrs.length, keep, g.links);
    } else this.graph.setLinks(g.links);
    const n = g.addrs.length;
    this.graph.draw({ nodeColor: g.status, palette: STATUS_COLORS, edgeLayers: [{ pairs: g.links, color: n > 300 ? 'rgba(28,126,214,0.25)' : 'rgba(28,126,214,0.55)', width: 0.8 }] });
    const reported = g.reported.reduce((s, x) => s + x, 0);
    const rows: [string, string, string][] = [
      ['members', String(n), 'nodes'],
      ['reporting', String(reported), 'reported'],
      ['links', String(g.links.length / 2), 'links'],
      ['components', String(g.components), 'components'],
    ];
    this.info.replaceChildren(...rows.flatMap(([k, v, id]) => [el('dt', {}, k), el('dd', { 'data-testid': `ov-${id}` }, v)]));
    this.info.dataset.nodes = String(n);
    this.info.dataset.links = String(g.links.length / 2);
    this.info.dataset.reported = String(reported);
    this.info.dataset.components = String(g.components);
  }
}

/** A view for a feature that landed in the agent but whose panel this page does not have yet. */
export class SlotView implements View {
  readonly root: HTMLElement;

  constructor(feature: string, title: string) {
    this.root = el('section', { class: 'dash-view', 'data-testid': `view-${feature}`, 'aria-label': title });
    this.root.append(el('p', { class: 'note' }, `This agent reports the "${feature}" feature. This version of the page has no ${title.toLowerCase()} panel; use the API (docs/api.md).`));
  }

  render(): void {}
}
