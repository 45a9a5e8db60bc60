/**
 * Overlay view: HyParView's active-view graph, its in-degree histogram and clustering
 * coefficient; fail nodes (click, or x% at once) and advance time to watch the views repair.
 */
import uPlot from 'uplot';
import { button, download, el, field, fmt, numberInput, setUrl, toCsv, urlNum, type WorkerClient } from './client.js';
import { GraphCanvas } from './graph-canvas.js';
import type { OverlayState, Reply } from './protocol.js';

const PALETTE = ['#1c7ed6', '#495057', '#f59f00'];

export class OverlayView {
  readonly root: HTMLElement;
  private readonly client: WorkerClient;
  private readonly graph: GraphCanvas;
  private readonly nodes: HTMLInputElement;
  private readonly seed: HTMLInputElement;
  private readonly failPct: HTMLInputElement;
  private readonly statsBox: HTMLElement;
  private readonly histBox: HTMLElement;
  private readonly status: HTMLElement;
  private hist: uPlot | null = null;
  private state: OverlayState | null = null;
  private history: { timeMs: number; alive: number; clustering: number; components: number; notFull: number }[] = [];
  private busy = false;
  /** A build asked for while another request ran: done when it ends (a click is never lost). */
  private buildWanted = false;

  constructor(parent: HTMLElement, client: WorkerClient) {
    this.client = client;
    this.root = el('section', { id: 'view-overlay', class: 'view', 'aria-label': 'Overlay view' });
    parent.append(this.root);
    const form = el('div', { class: 'controls' });
    this.nodes = field(form, 'Nodes', numberInput(urlNum('onodes', 200), { min: '10', max: '10000', 'data-testid': 'ov-nodes' }), '10 to 10,000') as HTMLInputElement;
    this.seed = field(form, 'Seed', numberInput(urlNum('oseed', 1), { min: '0', 'data-testid': 'ov-seed' })) as HTMLInputElement;
    const build = button('Build overlay', { 'data-testid': 'ov-build' });
    build.onclick = () => void this.build();
    this.failPct = field(form, 'Fail %', numberInput(30, { min: '0', max: '100', 'data-testid': 'ov-fail-pct' })) as HTMLInputElement;
    const fail = button('Fail now', { 'data-testid': 'ov-fail' });
    fail.onclick = () => void this.send({ type: 'overlay-fail', percent: Number(this.failPct.value) });
    const adv = button('Advance 1 s', { 'data-testid': 'ov-advance' });
    adv.onclick = () => void this.send({ type: 'overlay-advance', ms: 1000 });
    const adv10 = button('Advance 10 s', { 'data-testid': 'ov-advance10' });
    adv10.onclick = () => void this.send({ type: 'overlay-advance', ms: 10000 });
    const csv = button('Export CSV', { 'data-testid': 'ov-csv' });
    csv.onclick = () => this.export('csv');
    const json = button('Export JSON', { 'data-testid': 'ov-json' });
    json.onclick = () => this.export('json');
    form.append(build, fail, adv, adv10, csv, json);
    const body = el('div', { class: 'body' });
    const gwrap = el('div', { class: 'graph-wrap' });
    this.graph = new GraphCanvas(gwrap, 'HyParView active-view graph; click a node to fail it');
    this.graph.canvas.dataset.testid = 'ov-canvas';
    this.graph.canvas.onclick = (ev) => {
      const rect = this.graph.canvas.getBoundingClientRect();
      const node = this.graph.nodeAt(ev.clientX - rect.left, ev.clientY - rect.top);
      if (node >= 0) void this.send({ type: 'overlay-crash', nodes: [node] });
    };
    const side = el('div', { class: 'side' });
    this.statsBox = el('dl', { class: 'stats', 'data-testid': 'ov-stats', 'aria-live': 'polite' });
    this.histBox = el('div', { class: 'hist', role: 'img', 'aria-label': 'In-degree histogram of live nodes', 'data-testid': 'ov-hist' });
    side.append(this.statsBox, el('h3', {}, 'In-degree histogram'), this.histBox);
    body.append(gwrap, side);
    this.status = el('p', { class: 'status', role: 'status', 'data-testid': 'ov-status' });
    this.root.append(form, body, this.status);
  }

  async build(): Promise<void> {
    setUrl({ onodes: Number(this.nodes.value), oseed: Number(this.seed.value) });
    this.history = [];
    this.status.textContent = 'Building the overlay…';
    await this.send({ type: 'overlay-init', params: { nodes: Number(this.nodes.value), seed: Number(this.seed.value) } });
  }

  private async send(body: Parameters<WorkerClient['request']>[0]): Promise<void> {
    if (this.busy) {
      // Crashes and steps while busy are dropped (they act on the state being replaced); a
      // build is not: it runs, with the form's values then, once the current request ends.
      if (body.type === 'overlay-init') this.buildWanted = true;
      return;
    }
    this.busy = true;
    try {
      this.accept(await this.client.request(body));
    } finally {
      this.busy = false;
      if (this.buildWanted) {
        this.buildWanted = false;
        void this.build();
      }
    }
  }

  private accept(r: Reply): void {
    if (r.type === 'error') {
      this.status.textContent = `Error: ${r.reason}`;
      return;
    }
    if (r.type !== 'overlay-state') return;
    if (!this.state || this.state.n !== r.n) this.graph.setNodes(r.n);
    this.state = r;
    const alive = r.alive.reduce((s, x) => s + x, 0);
    this.history.push({ timeMs: r.timeMs, alive, clustering: r.clustering, components: r.components, notFull: r.notFull });
    this.status.textContent = `${alive} live nodes, ${r.links.length / 2} active links, ${r.components} component${r.components === 1 ? '' : 's'}.`;
    this.render(alive);
  }

  private render(alive: number): void {
    const st = this.state!;
    const colors = new Uint8Array(st.n);
    for (let i = 0; i < st.n; i++) colors[i] = st.alive[i] ? 0 : 1;
    this.graph.setLinks(st.links);
    this.graph.draw({ nodeColor: colors, palette: PALETTE, edgeLayers: [{ pairs: st.links, color: st.n > 2000 ? 'rgba(28,126,214,0.12)' : 'rgba(28,126,214,0.45)', width: 0.7 }] });
    const rows: [string, string, string][] = [
      ['Virtual time', `${fmt(st.timeMs / 1000, 1)} s`, 'time'],
      ['Live nodes', `${alive} / ${st.n}`, 'alive'],
      ['Active links', `${st.links.length / 2}`, 'links'],
      ['Clustering coefficient', fmt(st.clustering, 4), 'clustering'],
      ['Components', `${st.components}`, 'components'],
      ['Active view not full', `${st.notFull}`, 'notfull'],
    ];
    this.statsBox.replaceChildren(...rows.flatMap(([k, v, id]) => [el('dt', {}, k), el('dd', { 'data-testid': `ov-${id}` }, v)]));
    this.statsBox.dataset.components = String(st.components);
    this.statsBox.dataset.alive = String(alive);
    const xs = st.inDegreeHist.map((_, i) => i);
    const data: uPlot.AlignedData = [xs, st.inDegreeHist];
    if (!this.hist) {
      this.hist = new uPlot(
        {
          width: 320,
          height: 220,
          scales: { x: { time: false, range: (_u, _min, max) => [-0.5, Math.max(1, max) + 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          axes: [{ label: 'in-degree' }, { label: 'nodes' }],
          series: [{ label: 'in-degree' }, { label: 'nodes', stroke: '#1c7ed6', fill: 'rgba(28,126,214,0.35)', paths: uPlot.paths.bars!({ size: [0.8, 40] }), points: { show: false } }],
          legend: { show: false },
        },
        data,
        this.histBox,
      );
    } else this.hist.setData(data);
  }

  private export(kind: 'csv' | 'json'): void {
    const st = this.state;
    if (kind === 'json') download('rumor-overlay.json', JSON.stringify({ inDegreeHist: st?.inDegreeHist ?? [], history: this.history }, null, 2), 'application/json');
    else download('rumor-overlay.csv', toCsv(['time_ms', 'alive', 'clustering', 'components', 'not_full'], this.history.map((h) => [h.timeMs, h.alive, h.clustering, h.components, h.notFull])), 'text/csv');
  }
}
