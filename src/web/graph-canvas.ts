/**
 * A 2D-canvas graph renderer for up to 10,000 nodes: nodes on a ring (small clusters, as in
 * the talk's simulator) or on a sunflower spiral (large ones), edges batched into one path per
 * colour, hit-testing for nodes and links. Canvas 2D works everywhere, including headless
 * browsers without WebGL, and draws 10,000 nodes plus their links in a few milliseconds.
 */

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

  constructor(parent: HTMLElement, label: string) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'graph';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', label);
    this.canvas.tabIndex = 0;
    parent.appendChild(this.canvas);
    new ResizeObserver(() => this.resize()).observe(this.canvas);
  }

  /** Lay out `n` nodes (ring up to 200 nodes, spiral beyond) in unit coordinates. */
  setNodes(n: number): void {
    this.n = n;
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
