/**
 * Spread view: the talk's visual simulator, driven by the real protocol in the worker.
 * Choose a protocol, cluster size and fanout; click a node to start a rumor; step, play,
 * pause; remove nodes or links by clicking; fail x% now; set packet loss. The round counter
 * (hops) is shown against log_f(n); duplicates and RMR update live.
 */
import { button, download, el, field, fmt, numberInput, select, setUrl, toCsv, urlNum, urlStr, type WorkerClient } from './client.js';
import { GraphCanvas } from './graph-canvas.js';
import { PROTOCOL_LABELS, SPREAD_PROTOCOLS, type SpreadProtocol, type SpreadState, type Reply, type SpreadStats } from './protocol.js';

const PALETTE = ['#c9ced6', '#d6336c', '#495057', '#f59f00'];
const COLOR_SUSCEPTIBLE = 0;
const COLOR_INFECTED = 1;
const COLOR_DEAD = 2;
const COLOR_ORIGIN = 3;
const SPEEDS: [string, string][] = [['1000', '1 round/s'], ['500', '2 rounds/s'], ['250', '4 rounds/s'], ['100', '10 rounds/s']];

export class SpreadView {
  readonly root: HTMLElement;
  private readonly client: WorkerClient;
  private readonly graph: GraphCanvas;
  private readonly proto: HTMLSelectElement;
  private readonly nodes: HTMLInputElement;
  private readonly fanout: HTMLInputElement;
  private readonly seed: HTMLInputElement;
  private readonly origin: HTMLInputElement;
  private readonly failPct: HTMLInputElement;
  private readonly lossPct: HTMLInputElement;
  private readonly speed: HTMLSelectElement;
  private readonly playBtn: HTMLButtonElement;
  private readonly statsBox: HTMLElement;
  private readonly status: HTMLElement;
  private state: SpreadState | null = null;
  private originNode = -1;
  private history: SpreadStats[] = [];
  private playing = false;
  private timer: number | undefined;
  private inFlight = false;

  constructor(parent: HTMLElement, client: WorkerClient) {
    this.client = client;
    this.root = el('section', { id: 'view-spread', class: 'view', 'aria-label': 'Spread view' });
    parent.append(this.root);
    const form = el('div', { class: 'controls' });
    this.proto = field(form, 'Protocol', select(SPREAD_PROTOCOLS.map((p) => [p, PROTOCOL_LABELS[p]]), urlStr('protocol', 'fanout', SPREAD_PROTOCOLS), { 'data-testid': 'spread-protocol' })) as HTMLSelectElement;
    this.nodes = field(form, 'Nodes', numberInput(urlNum('nodes', 40), { min: '10', max: '10000', 'data-testid': 'spread-nodes' }), '10 to 10,000') as HTMLInputElement;
    this.fanout = field(form, 'Fanout', numberInput(urlNum('fanout', 3), { min: '1', max: '50', 'data-testid': 'spread-fanout' }), 'fanout gossip only') as HTMLInputElement;
    this.seed = field(form, 'Seed', numberInput(urlNum('seed', 1), { min: '0', 'data-testid': 'spread-seed' })) as HTMLInputElement;
    const build = button('Build cluster', { 'data-testid': 'spread-build' });
    build.onclick = () => void this.build();
    form.append(build);
    this.root.append(form);

    const run = el('div', { class: 'controls' });
    const modes = el('fieldset', { class: 'modes' });
    modes.append(el('legend', {}, 'Clicking a node'));
    for (const [v, label] of [['start', 'starts the rumor'], ['node', 'removes the node'], ['link', 'removes the nearest link']]) {
      const id = `click-${v}`;
      const r = el('input', { type: 'radio', name: 'click-mode', id, value: v, 'data-testid': id });
      if (v === 'start') r.checked = true;
      modes.append(r, el('label', { for: id }, label));
    }
    run.append(modes);
    this.origin = field(run, 'Start at node', numberInput(0, { min: '0', 'data-testid': 'spread-origin' })) as HTMLInputElement;
    const start = button('Start rumor', { 'data-testid': 'spread-start' });
    start.onclick = () => void this.start(Number(this.origin.value));
    const step = button('Step one round', { 'data-testid': 'spread-step', 'aria-keyshortcuts': 'S' });
    step.onclick = () => void this.step();
    this.playBtn = button('Play', { 'data-testid': 'spread-play', 'aria-keyshortcuts': 'P' });
    this.playBtn.onclick = () => this.togglePlay();
    this.speed = field(run, 'Speed', select(SPEEDS, '250', { 'data-testid': 'spread-speed' })) as HTMLSelectElement;
    run.append(start, step, this.playBtn);
    this.failPct = field(run, 'Fail %', numberInput(10, { min: '0', max: '100', 'data-testid': 'spread-fail-pct' })) as HTMLInputElement;
    const fail = button('Fail now', { 'data-testid': 'spread-fail' });
    fail.onclick = () => void this.send({ type: 'spread-fail', percent: Number(this.failPct.value) });
    this.lossPct = field(run, 'Packet loss %', numberInput(urlNum('loss', 0), { min: '0', max: '99', 'data-testid': 'spread-loss' })) as HTMLInputElement;
    const loss = button('Set loss', { 'data-testid': 'spread-set-loss' });
    loss.onclick = () => void this.send({ type: 'spread-loss', loss: Number(this.lossPct.value) / 100 });
    const csv = button('Export CSV', { 'data-testid': 'spread-csv' });
    csv.onclick = () => this.export('csv');
    const json = button('Export JSON', { 'data-testid': 'spread-json' });
    json.onclick = () => this.export('json');
    run.append(fail, loss, csv, json);
    this.root.append(run);

    const body = el('div', { class: 'body' });
    const gwrap = el('div', { class: 'graph-wrap' });
    this.graph = new GraphCanvas(gwrap, 'Cluster: pink nodes have the rumor, grey ones not yet, dark ones failed');
    this.graph.canvas.dataset.testid = 'spread-canvas';
    this.graph.canvas.onclick = (ev) => this.onCanvasClick(ev);
    this.statsBox = el('dl', { class: 'stats', 'data-testid': 'spread-stats', 'aria-live': 'polite' });
    body.append(gwrap, this.statsBox);
    this.status = el('p', { class: 'status', role: 'status', 'data-testid': 'spread-status' });
    this.root.append(body, this.status);
    // On the document, not the view: the keys must work when nothing has focus yet (a
    // listener on the view's root only hears keys while one of its controls has focus).
    document.addEventListener('keydown', (ev) => this.onKey(ev));
  }

  private onKey(ev: KeyboardEvent): void {
    if (this.root.hidden || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement || ev.target instanceof HTMLTextAreaElement) return;
    if (ev.key === 's' || ev.key === 'S') void this.step();
    else if (ev.key === 'p' || ev.key === 'P') this.togglePlay();
  }

  private params(): Record<string, string | number> {
    return { protocol: this.proto.value, nodes: Number(this.nodes.value), fanout: Number(this.fanout.value), seed: Number(this.seed.value), loss: Number(this.lossPct.value) };
  }

  async build(): Promise<void> {
    this.pause();
    const p = this.params();
    setUrl(p);
    this.status.textContent = `Building ${p.nodes} nodes…`;
    this.history = [];
    this.originNode = -1;
    const r = await this.client.request({ type: 'spread-init', params: { protocol: p.protocol as SpreadProtocol, nodes: p.nodes as number, fanout: p.fanout as number, seed: p.seed as number, loss: (p.loss as number) / 100 } });
    if (this.accept(r)) {
      this.graph.setNodes(this.state!.n);
      this.render();
      this.status.textContent = `Ready: ${this.state!.n} nodes. Click a node (or enter its number) to start a rumor.`;
    }
  }

  private accept(r: Reply): boolean {
    if (r.type === 'error') {
      this.status.textContent = `Error: ${r.reason}`;
      this.pause();
      return false;
    }
    if (r.type !== 'spread-state') return false;
    const first = !this.state || this.state.n !== r.n;
    this.state = r;
    if (first) this.graph.setNodes(r.n);
    const h = this.history;
    if (this.originNode >= 0 && (h.length === 0 || h[h.length - 1].round !== r.stats.round || h[h.length - 1].infected !== r.stats.infected)) h.push(r.stats);
    this.render();
    return true;
  }

  private async send(body: Parameters<WorkerClient['request']>[0]): Promise<boolean> {
    if (this.inFlight) return false;
    this.inFlight = true;
    try {
      return this.accept(await this.client.request(body));
    } finally {
      this.inFlight = false;
    }
  }

  async start(origin: number): Promise<void> {
    if (!this.state) await this.build();
    this.originNode = origin;
    this.history = [];
    if (await this.send({ type: 'spread-start', origin })) this.status.textContent = `Rumor started at node ${origin}.`;
    else this.originNode = -1;
  }

  async step(): Promise<void> {
    if (!(await this.send({ type: 'spread-step', rounds: 1 }))) return;
    if (this.state?.stats.done) {
      this.pause();
      const s = this.state.stats;
      this.status.textContent = `Done after ${s.round} rounds: ${s.infected} of ${s.alive} live nodes have the rumor.`;
    }
  }

  togglePlay(): void {
    if (this.playing) this.pause();
    else {
      this.playing = true;
      this.playBtn.textContent = 'Pause';
      this.playBtn.setAttribute('aria-pressed', 'true');
      const tick = async (): Promise<void> => {
        if (!this.playing) return;
        await this.step();
        if (this.playing) this.timer = window.setTimeout(() => void tick(), Number(this.speed.value));
      };
      void tick();
    }
  }

  pause(): void {
    this.playing = false;
    window.clearTimeout(this.timer);
    this.playBtn.textContent = 'Play';
    this.playBtn.setAttribute('aria-pressed', 'false');
  }

  private onCanvasClick(ev: MouseEvent): void {
    if (!this.state) return;
    const rect = this.graph.canvas.getBoundingClientRect();
    const x = ev.clientX - rect.left;
    const y = ev.clientY - rect.top;
    const mode = (this.root.querySelector('input[name="click-mode"]:checked') as HTMLInputElement | null)?.value ?? 'start';
    if (mode === 'link') {
      const k = this.graph.linkAt(this.state.links, x, y);
      if (k < 0) this.status.textContent = 'No overlay link there.';
      else void this.send({ type: 'spread-cut', a: this.state.links[2 * k], b: this.state.links[2 * k + 1] });
      return;
    }
    const node = this.graph.nodeAt(x, y);
    if (node < 0) return;
    if (mode === 'node') void this.send({ type: 'spread-crash', nodes: [node] });
    else {
      this.origin.value = String(node);
      void this.start(node);
    }
  }

  private render(): void {
    const st = this.state;
    if (!st) return;
    const colors = new Uint8Array(st.n);
    for (let i = 0; i < st.n; i++) colors[i] = !st.alive[i] ? COLOR_DEAD : i === this.originNode && st.hop[i] === 0 ? COLOR_ORIGIN : st.hop[i] >= 0 ? COLOR_INFECTED : COLOR_SUSCEPTIBLE;
    const big = st.n > 2000;
    this.graph.setLinks(st.links);
    this.graph.draw({
      nodeColor: colors,
      palette: PALETTE,
      edgeLayers: [
        { pairs: st.links, color: big ? 'rgba(120,130,150,0.08)' : 'rgba(120,130,150,0.35)', width: 0.6 },
        { pairs: st.edges, color: big ? 'rgba(214,51,108,0.35)' : 'rgba(214,51,108,0.85)', width: big ? 0.6 : 1.6 },
      ],
      focus: this.originNode,
    });
    const s = st.stats;
    const rows: [string, string, string][] = [
      ['Rumor', `#${s.rumor}`, 'rumor'],
      ['Round', `${s.round}`, 'round'],
      [`log_${s.f}(n)`, fmt(s.logfn, 2), 'logfn'],
      ['Infected', `${s.infected} / ${s.alive} live (${fmt((100 * s.infected) / Math.max(1, s.alive), 1)}%)`, 'infected'],
      ['Payload messages', `${s.payloadMsgs}`, 'payload'],
      ['Duplicates', `${s.duplicates}`, 'duplicates'],
      ['RMR', fmt(s.rmr, 3), 'rmr'],
      ['Control messages', `${s.controlMsgs}`, 'control'],
      ['Virtual time', `${fmt(s.elapsedMs, 0)} ms`, 'elapsed'],
      ['State', s.done ? 'done' : this.originNode >= 0 ? 'spreading' : 'idle', 'done'],
    ];
    this.statsBox.replaceChildren(...rows.flatMap(([k, v, id]) => [el('dt', {}, k), el('dd', { 'data-testid': `stat-${id}`, 'data-value': id === 'round' ? String(s.round) : id === 'infected' ? String(s.infected) : id === 'done' ? String(s.done) : '' }, v)]));
    this.statsBox.dataset.alive = String(s.alive);
  }

  private export(kind: 'csv' | 'json'): void {
    const h = this.history;
    if (kind === 'json') download('rumor-spread.json', JSON.stringify({ params: this.params(), origin: this.originNode, series: h }, null, 2), 'application/json');
    else download('rumor-spread.csv', toCsv(['round', 'infected', 'alive', 'payloadMsgs', 'duplicates', 'rmr', 'controlMsgs', 'elapsedMs'], h.map((s) => [s.round, s.infected, s.alive, s.payloadMsgs, s.duplicates, s.rmr, s.controlMsgs, s.elapsedMs])), 'text/csv');
  }
}
