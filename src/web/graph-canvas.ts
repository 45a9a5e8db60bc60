/**
 * A 2D-canvas graph renderer for up to 10,000 nodes, edges batched into one path per colour,
 * hit-testing for nodes and links. Canvas 2D works everywhere, including headless browsers
 * without WebGL, and draws 10,000 nodes plus their links in a few milliseconds.
 *
 * Placement is force-directed (`setLinks`): d3-force runs in a Web Worker
 * (`layout-worker.ts`) and streams positions back, so neighbours sit together and a split
 * overlay shows as separate clouds. Until the first positions arrive, nodes sit on a ring
 * (up to 200) or a sunflower spiral. `canvas.dataset.layout` is `running` or `settled`.
 */
import type { LayoutReply, LayoutRequest } from './layout-protocol.js';

export interface GraphStyle {
  /** Per node fill colour index into `palette`. */
  nodeColor: Uint8Array;
  palette: string[];
  /** Edge lists as pairs; each list drawn with its colour and width, in order. */
  edgeLayers: { pairs: Int32Array; color: string; width: number }[];
  /** Optional node to ring (focus). */
  focus?: number;
}

export class GraphCanvas {
  readonly canvas: HTMLCanvasElement;
  private n = 0;
  private xs = new Float32Array(0);
  private ys = new Float32Array(0);
  private radius = 4;
  private last: GraphStyle | null = null;
  private layout: Worker | null = null;
  private gen = 0;
  private links = new Int32Array(0);
  private laidOut = false;
  private drawQueued = false;
  private lastDraw = 0;

  constructor(parent: HTMLElement, label: string) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'graph';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', label);
    this.canvas.tabIndex = 0;
    parent.appendChild(this.canvas);
    // For tests: where node i is drawn now (CSS pixels, canvas-relative), and the layout.
    Object.assign(this.canvas, {
      rumorPosition: (i: number) => this.position(i),
      rumorLayout: () => ({ xs: [...this.xs], ys: [...this.ys], links: [...this.links] }),
    });
    new ResizeObserver(() => this.resize()).observe(this.canvas);
  }

  /** Place `n` nodes (ring up to 200 nodes, spiral beyond) in unit coordinates, until a
   *  force layout (`setLinks`) replaces them. */
  setNodes(n: number): void {
    this.n = n;
    this.links = new Int32Array(0);
    this.laidOut = false;
    this.gen++;
    this.xs = new Float32Array(n);
    this.ys = new Float32Array(n);
    if (n <= 200) {
      for (let i = 0; i < n; i++) {
        const a = (2 * Math.PI * i) / n - Math.PI / 2;
        this.xs[i] = 0.5 + 0.45 * Math.cos(a);
        this.ys[i] = 0.5 + 0.45 * Math.sin(a);
      }
    } else {
      const golden = Math.PI * (3 - Math.sqrt(5));
      for (let i = 0; i < n; i++) {
        const r = 0.47 * Math.sqrt((i + 0.5) / n);
        this.xs[i] = 0.5 + r * Math.cos(i * golden);
        this.ys[i] = 0.5 + r * Math.sin(i * golden);
      }
    }
    this.resize();
  }

  /**
   * Lay the graph out by its links (pairs of node indices) in the layout worker. Unchanged
   * links do nothing; changed links restart the layout warm from the current positions.
   */
  setLinks(links: Int32Array, force = false): void {
    if (!force && this.laidOut && sameLinks(links, this.links)) return;
    const warm = this.laidOut;
    this.laidOut = true;
    this.links = links.slice();
    const init = new Float32Array(2 * this.n);
    for (let i = 0; i < this.n; i++) {
      init[2 * i] = this.xs[i];
      init[2 * i + 1] = this.ys[i];
    }
    this.post({ type: 'graph', gen: ++this.gen, n: this.n, links: this.links, init, warm });
  }

  /** Re-index the nodes: node i takes the position of old node `keep[i]` (−1: new node). */
  remap(n: number, keep: Int32Array, links: Int32Array): void {
    const xs = new Float32Array(n).fill(NaN);
    const ys = new Float32Array(n).fill(NaN);
    for (let i = 0; i < n; i++) {
      const k = keep[i];
      if (k >= 0 && k < this.n) {
        xs[i] = this.xs[k];
        ys[i] = this.ys[k];
      } else {
        // A new node starts near the centre; the layout moves it next to its neighbours.
        xs[i] = 0.5 + 0.05 * Math.cos(i);
        ys[i] = 0.5 + 0.05 * Math.sin(i);
      }
    }
    this.n = n;
    this.xs = xs;
    this.ys = ys;
    this.resize();
    this.setLinks(links, true);
  }

  private post(m: LayoutRequest): void {
    if (this.layout === null) {
      this.layout = new Worker(new URL('./layout-worker.ts', import.meta.url), { type: 'module' });
      this.layout.onmessage = (ev: MessageEvent<LayoutReply>) => this.onPositions(ev.data);
    }
    this.canvas.dataset.layout = 'running';
    this.layout.postMessage(m);
  }

  private onPositions(r: LayoutReply): void {
    if (r.gen !== this.gen || r.xy.length !== 2 * this.n) return;
    for (let i = 0; i < this.n; i++) {
      this.xs[i] = r.xy[2 * i];
      this.ys[i] = r.xy[2 * i + 1];
    }
    if (r.settled) this.canvas.dataset.layout = 'settled';
    // Positions can come faster than frames: draw at most once per frame, and for big graphs
    // (a draw costs a few ms there) at most 10 times a second while the layout moves.
    if (this.last && !this.drawQueued) {
      this.drawQueued = true;
      const wait = this.n > 300 && !r.settled ? Math.max(0, this.lastDraw + 100 - performance.now()) : 0;
      setTimeout(() => requestAnimationFrame(() => {
        this.drawQueued = false;
        if (this.last) this.draw(this.last);
      }), wait);
    }
  }

  /** Stop the layout worker (the canvas keeps its last picture). */
  dispose(): void {
    this.layout?.terminate();
    this.layout = null;
  }

  private size(): { w: number; h: number; s: number; ox: number; oy: number } {
    const w = this.canvas.clientWidth || 600;
    const h = this.canvas.clientHeight || 600;
    const s = Math.min(w, h);
    return { w, h, s, ox: (w - s) / 2, oy: (h - s) / 2 };
  }

  private resize(): void {
    const { w, h, s } = this.size();
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    this.radius = this.n <= 60 ? Math.max(4, s / 60) : Math.max(1.2, Math.min(6, (0.9 * s) / Math.sqrt(this.n) / 2.4));
    if (this.last) this.draw(this.last);
  }

  private px(i: number): [number, number] {
    const { s, ox, oy } = this.size();
    return [ox + this.xs[i] * s, oy + this.ys[i] * s];
  }

  draw(style: GraphStyle): void {
    this.last = style;
    this.lastDraw = performance.now();
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const dpr = window.devicePixelRatio || 1;
    const { w, h, s, ox, oy } = this.size();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    for (const layer of style.edgeLayers) {
      if (layer.pairs.length === 0) continue;
      ctx.strokeStyle = layer.color;
      ctx.lineWidth = layer.width;
      ctx.beginPath();
      const p = layer.pairs;
      for (let k = 0; k + 1 < p.length; k += 2) {
        ctx.moveTo(ox + this.xs[p[k]] * s, oy + this.ys[p[k]] * s);
        ctx.lineTo(ox + this.xs[p[k + 1]] * s, oy + this.ys[p[k + 1]] * s);
      }
      ctx.stroke();
    }
    const r = this.radius;
    const round = this.n <= 2000;
    for (let c = 0; c < style.palette.length; c++) {
      ctx.fillStyle = style.palette[c];
      ctx.beginPath();
      for (let i = 0; i < this.n; i++) {
        if (style.nodeColor[i] !== c) continue;
        const x = ox + this.xs[i] * s;
        const y = oy + this.ys[i] * s;
        if (round) {
          ctx.moveTo(x + r, y);
          ctx.arc(x, y, r, 0, 2 * Math.PI);
        } else ctx.rect(x - r, y - r, 2 * r, 2 * r);
      }
      ctx.fill();
    }
    if (style.focus !== undefined && style.focus >= 0 && style.focus < this.n) {
      const [x, y] = this.px(style.focus);
      ctx.strokeStyle = '#111';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(x, y, r + 3, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  /** Canvas-relative CSS pixel position of node i (for tests and tooltips). */
  position(i: number): [number, number] {
    return this.px(i);
  }

  /** The node under (x, y) in CSS pixels, or −1. */
  nodeAt(x: number, y: number): number {
    let best = -1;
    let bestD = Math.max(8, this.radius + 3) ** 2;
    for (let i = 0; i < this.n; i++) {
      const [px, py] = this.px(i);
      const d = (px - x) ** 2 + (py - y) ** 2;
      if (d <= bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  /** The link of `pairs` nearest (x, y) within 6 px, as its index k (pair at 2k), or −1. */
  linkAt(pairs: Int32Array, x: number, y: number): number {
    let best = -1;
    let bestD = 36;
    for (let k = 0; k + 1 < pairs.length; k += 2) {
      const [ax, ay] = this.px(pairs[k]);
      const [bx, by] = this.px(pairs[k + 1]);
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy || 1;
      const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / len2));
      const d = (ax + t * dx - x) ** 2 + (ay + t * dy - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k / 2;
      }
    }
    return best;
  }
}

function sameLinks(a: Int32Array, b: Int32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
