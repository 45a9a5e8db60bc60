/**
 * Convergence view: Serf's convergence simulator (five inputs, same defaults and validation,
 * the analytic logistic curve and bandwidth estimate) next to the measured curve of the real
 * protocol — the mean over several seeds with its 5–95% band — up to 100,000 nodes.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { SERF_DEFAULTS, serfBandwidth, serfCurve, timeToPct, validateSerfInputs, type CurvePoint, type SerfInputs } from './analytic.js';
import { button, download, el, field, fmt, numberInput, select, setUrl, toCsv, urlNum, urlStr, type WorkerClient } from './client.js';
import { PROTOCOL_LABELS, SPREAD_PROTOCOLS, type ConvergeResult, type SpreadProtocol } from './protocol.js';

export class ConvergeView {
  readonly root: HTMLElement;
  private readonly client: WorkerClient;
  private readonly inputs: Record<keyof SerfInputs, HTMLInputElement>;
  private readonly proto: HTMLSelectElement;
  private readonly seeds: HTMLInputElement;
  private readonly error: HTMLElement;
  private readonly out: HTMLElement;
  private readonly chartBox: HTMLElement;
  private readonly runBtn: HTMLButtonElement;
  private readonly cancelBtn: HTMLButtonElement;
  /** Progress of a measured run: a bar and a line of text (hidden when idle). */
  private readonly progressBox: HTMLElement;
  private readonly progressBar: HTMLProgressElement;
  private readonly progressText: HTMLElement;
  /** Sequence number of the measured run in progress (null: none). */
  private running: number | null = null;
  private chart: uPlot | null = null;
  private serf: SerfInputs = SERF_DEFAULTS;
  private analytic: CurvePoint[] = serfCurve(SERF_DEFAULTS);
  private measured: ConvergeResult | null = null;

  constructor(parent: HTMLElement, client: WorkerClient) {
    this.client = client;
    this.root = el('section', { id: 'view-converge', class: 'view', 'aria-label': 'Convergence view' });
    parent.append(this.root);
    const form = el('div', { class: 'controls' });
    const num = (key: keyof SerfInputs, label: string, url: string, hint: string, attrs: Record<string, string> = {}): HTMLInputElement =>
      field(form, label, numberInput(urlNum(url, SERF_DEFAULTS[key]), { step: 'any', 'data-testid': `conv-${key}`, ...attrs }), hint) as HTMLInputElement;
    this.inputs = {
      interval: num('interval', 'Gossip interval (s)', 'interval', 'Serf default 0.2'),
      fanout: num('fanout', 'Gossip fanout', 'cfanout', 'Serf default 3'),
      nodes: num('nodes', 'Nodes', 'cnodes', 'Serf default 30; measured up to 100,000'),
      lossPct: num('lossPct', 'Packet loss (%)', 'closs', '0 to < 100'),
      failedPct: num('failedPct', 'Failed nodes (%)', 'cfailed', '0 to < 100'),
    };
    this.proto = field(form, 'Measured protocol', select(SPREAD_PROTOCOLS.map((p) => [p, PROTOCOL_LABELS[p]]), urlStr('cprotocol', 'fanout', SPREAD_PROTOCOLS), { 'data-testid': 'conv-protocol' })) as HTMLSelectElement;
    this.seeds = field(form, 'Seeds', numberInput(urlNum('seeds', 5), { min: '1', max: '20', 'data-testid': 'conv-seeds' })) as HTMLInputElement;
    this.runBtn = button('Run the real protocol', { 'data-testid': 'conv-run' });
    this.runBtn.onclick = () => void this.runMeasured();
    this.cancelBtn = button('Cancel', { 'data-testid': 'conv-cancel', disabled: '' });
    this.cancelBtn.onclick = () => this.cancel();
    const csv = button('Export CSV', { 'data-testid': 'conv-csv' });
    csv.onclick = () => this.export('csv');
    const json = button('Export JSON', { 'data-testid': 'conv-json' });
    json.onclick = () => this.export('json');
    form.append(this.runBtn, this.cancelBtn, csv, json);
    for (const i of Object.values(this.inputs)) i.addEventListener('input', () => this.updateAnalytic());
    this.error = el('p', { class: 'error', role: 'alert', 'data-testid': 'conv-error' });
    this.chartBox = el('div', { class: 'chart', 'data-testid': 'conv-chart', role: 'img', 'aria-label': 'Percent of nodes converged over time: Serf analytic curve and measured curve' });
    this.out = el('dl', { class: 'stats', 'data-testid': 'conv-out', 'aria-live': 'polite' });
    this.progressBox = el('div', { class: 'progress', 'data-testid': 'conv-run-progress', hidden: '' });
    this.progressBar = el('progress', { max: '1', value: '0', 'aria-label': 'Measured run progress' });
    this.progressText = el('span', { 'data-testid': 'conv-run-status', 'aria-live': 'polite' });
    this.progressBox.append(this.progressBar, this.progressText);
    const body = el('div', { class: 'body' });
    body.append(this.chartBox, this.out);
    const note = el('p', { class: 'note' });
    note.textContent =
      'Serf analytic: the logistic curve of Serf\'s convergence simulator, one round per gossip interval. ' +
      'Measured: the real protocol in the deterministic simulator (10 ms links, 1400-byte payload). ' +
      'Fanout gossip pushes on receipt and again on each of its next gossip ticks (memberlist\'s retransmit limit 4·⌈log10(n+1)⌉), ' +
      'so it is not held back by the interval as the model assumes; failed nodes stay in the membership and waste contacts.';
    this.root.append(form, this.progressBox, this.error, body, note);
    this.updateAnalytic();
  }

  private updateAnalytic(): void {
    const raw = Object.fromEntries(Object.entries(this.inputs).map(([k, i]) => [k, i.value])) as Record<keyof SerfInputs, string>;
    const v = validateSerfInputs(raw);
    if (!v.ok) {
      this.error.textContent = v.reason;
      return;
    }
    this.error.textContent = '';
    this.serf = v.value;
    this.analytic = serfCurve(v.value);
    setUrl({ interval: v.value.interval, cfanout: v.value.fanout, cnodes: v.value.nodes, closs: v.value.lossPct, cfailed: v.value.failedPct, cprotocol: this.proto.value, seeds: this.seeds.value });
    this.draw();
  }

  async runMeasured(): Promise<void> {
    this.updateAnalytic();
    if (this.error.textContent) return;
    const s = this.serf;
    this.runBtn.disabled = true;
    this.cancelBtn.disabled = false;
    this.error.textContent = '';
    const status = this.out.querySelector('[data-testid="conv-progress"]');
    if (status) status.textContent = 'running…';
    this.showProgress(0, 'starting');
    const t0 = performance.now();
    const r = await this.client.request(
      { type: 'converge-run', params: { protocol: this.proto.value as SpreadProtocol, interval: s.interval, fanout: s.fanout, nodes: s.nodes, lossPct: s.lossPct, failedPct: s.failedPct, seeds: Number(this.seeds.value) } },
      (done, total, p) => {
        const f = p.fraction ?? 0;
        const within = done < total && p.phase !== undefined ? `, ${p.phase === 'overlay' ? 'building the overlay' : 'spreading'} (${Math.round(100 * f)}% of this seed)` : '';
        const wall = ((performance.now() - t0) / 1000).toFixed(0);
        this.showProgress((done + (done < total ? f : 0)) / total, `seed ${Math.min(done + 1, total)} of ${total}${within}; ${wall} s`);
        const st = this.out.querySelector('[data-testid="conv-progress"]');
        if (st) st.textContent = `seed ${done} of ${total} done`;
      },
      (seq) => (this.running = seq),
    );
    this.running = null;
    this.runBtn.disabled = false;
    this.cancelBtn.disabled = true;
    this.progressBox.hidden = true;
    if (r.type === 'error') this.error.textContent = r.reason;
    else if (r.type === 'cancelled') this.error.textContent = 'Measured run cancelled; the previous result (if any) is kept.';
    else if (r.type === 'converge-result') this.measured = r;
    this.draw();
  }

  /** Stop the measured run in progress (the worker stops within ~0.1 s of wall time). */
  cancel(): void {
    if (this.running === null) return;
    this.client.cancelConverge(this.running);
    this.cancelBtn.disabled = true;
    this.progressText.textContent = 'cancelling…';
  }

  private showProgress(fraction: number, text: string): void {
    this.progressBox.hidden = false;
    this.progressBar.value = fraction;
    this.progressText.textContent = text;
  }

  /** Analytic and measured series on one time axis (uPlot needs a shared x). */
  private series(): { x: number[]; a: (number | null)[]; m: (number | null)[]; lo: (number | null)[]; hi: (number | null)[] } {
    const xs = new Set<number>(this.analytic.map((p) => +p.t.toFixed(6)));
    const m = this.measured;
    if (m) for (const t of m.measured.t) xs.add(+t.toFixed(6));
    const x = [...xs].sort((a, b) => a - b);
    const aMap = new Map(this.analytic.map((p) => [+p.t.toFixed(6), p.pct]));
    const idx = new Map(m ? m.measured.t.map((t, i) => [+t.toFixed(6), i]) : []);
    const pick = (arr: number[] | undefined, t: number): number | null => {
      const i = idx.get(t);
      return arr && i !== undefined ? arr[i] : null;
    };
    return { x, a: x.map((t) => aMap.get(t) ?? null), m: x.map((t) => pick(m?.measured.mean, t)), lo: x.map((t) => pick(m?.measured.p5, t)), hi: x.map((t) => pick(m?.measured.p95, t)) };
  }

  private draw(): void {
    const s = this.series();
    const data: uPlot.AlignedData = [s.x, s.a, s.m, s.lo, s.hi];
    const width = Math.max(320, this.chartBox.clientWidth || 720);
    if (!this.chart) {
      this.chart = new uPlot(
        {
          width,
          height: 380,
          scales: { x: { time: false }, y: { range: [0, 100] } },
          axes: [{ label: 'time (s)' }, { label: '% converged' }],
          series: [
            { label: 't (s)' },
            { label: 'Serf analytic', stroke: '#b03c44', width: 2, spanGaps: true, points: { show: true, size: 5 } },
            { label: 'Measured mean', stroke: '#1c7ed6', width: 2, spanGaps: true },
            { label: 'p5', stroke: 'rgba(28,126,214,0.3)', spanGaps: true },
            { label: 'p95', stroke: 'rgba(28,126,214,0.3)', spanGaps: true },
          ],
          bands: [{ series: [4, 3], fill: 'rgba(28,126,214,0.15)' }],
        },
        data,
        this.chartBox,
      );
    } else this.chart.setData(data);
    this.renderOutputs();
  }

  private renderOutputs(): void {
    const a = this.analytic;
    const bw = serfBandwidth(this.serf);
    const m = this.measured;
    const last = a[a.length - 1];
    const rows: [string, string, string][] = [
      ['Analytic: time to 99%', `${fmt(timeToPct(a, 99), 3)} s`, 'a99'],
      ['Analytic: time to 99.99%', `${fmt(timeToPct(a, 99.99), 3)} s (${a.length - 1} rounds)`, 'a9999'],
      ['Analytic: time to 100%', 'never (logistic curve)', 'a100'],
      ['Analytic: last point', `${fmt(last.pct, 4)}% at ${fmt(last.t, 3)} s`, 'alast'],
      ['Serf estimate, bandwidth per node', `${fmt(bw.kibitPerSec, 1)} kbps (Serf's unit: ×8/1024; ${fmt(bw.kbitPerSec, 1)} kbit/s SI, ${fmt(bw.bytesPerSec, 0)} B/s)`, 'abw'],
      ['Measured: time to 99%', m ? `${fmt(m.t99, 3)} s` : '—', 'm99'],
      ['Measured: time to 100%', m ? `${fmt(m.t100, 3)} s` : '—', 'm100'],
      ['Measured: bytes per node (sent + received)', m ? `${fmt(m.bytesPerNode, 0)} B` : '—', 'mbytes'],
      ['Measured: rate during the spread', m ? `${fmt((m.bytesPerNodePerSec * 8) / 1024, 1)} kbps (×8/1024)` : '—', 'mrate'],
      ['Measured run', m ? `${m.params.nodes} nodes, ${m.params.seeds} seeds, ${PROTOCOL_LABELS[m.params.protocol]}, ${fmt(m.wallMs / 1000, 2)} s wall` : 'not run', 'progress'],
    ];
    this.out.replaceChildren(...rows.flatMap(([k, v, id]) => [el('dt', {}, k), el('dd', { 'data-testid': `conv-${id}` }, v)]));
    const a9999 = timeToPct(a, 99.99);
    this.out.dataset.analytic9999 = a9999 === null ? '' : String(a9999);
    this.out.dataset.analyticKbps = String(bw.kibitPerSec);
    this.out.dataset.measured = m ? String(m.t100 ?? '') : '';
  }

  private export(kind: 'csv' | 'json'): void {
    const s = this.series();
    if (kind === 'json') {
      download('rumor-convergence.json', JSON.stringify({ serf: this.serf, analytic: this.analytic, bandwidth: serfBandwidth(this.serf), measured: this.measured }, null, 2), 'application/json');
    } else {
      download('rumor-convergence.csv', toCsv(['t_s', 'analytic_pct', 'measured_mean_pct', 'measured_p5_pct', 'measured_p95_pct'], s.x.map((t, i) => [t, s.a[i], s.m[i], s.lo[i], s.hi[i]])), 'text/csv');
    }
  }
}
