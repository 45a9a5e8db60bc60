/**
 * Page-side helpers: the worker client (request/reply by sequence number), URL state,
 * small DOM builders and file export.
 */
import type { Reply, Request } from './protocol.js';

/** A progress reply: `done` of `total`, and within the current step where the run is. */
export type ProgressReply = Extract<Reply, { type: 'progress' }>;
type Progress = (done: number, total: number, p: ProgressReply) => void;
type Pending = { ok: (r: Reply) => void; progress?: Progress };

/** Distributes `Omit<Request,'seq'>` without collapsing the union. */
export type RequestBody = Request extends infer R ? (R extends { seq: number } ? Omit<R, 'seq'> : never) : never;

export class WorkerClient {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  /** Requests in flight (the page shows a busy indicator). */
  busy = 0;
  onBusy?: (busy: number) => void;

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (ev: MessageEvent<Reply>) => {
      const r = ev.data;
      const p = this.pending.get(r.seq);
      if (!p) return;
      if (r.type === 'progress') {
        p.progress?.(r.done, r.total, r);
        return;
      }
      this.pending.delete(r.seq);
      this.busy--;
      this.onBusy?.(this.busy);
      p.ok(r);
    };
  }

  /** Send a request; resolves with the reply (an `error` reply is returned, not thrown).
   *  `started` receives the request's sequence number (to cancel it). */
  request(body: RequestBody, progress?: Progress, started?: (seq: number) => void): Promise<Reply> {
    const seq = ++this.seq;
    started?.(seq);
    this.busy++;
    this.onBusy?.(this.busy);
    return new Promise((ok) => {
      this.pending.set(seq, { ok, progress });
      this.worker.postMessage({ ...body, seq } as Request);
    });
  }

  /** Ask the worker to stop the convergence run of request `target` (it then resolves with
   *  a `cancelled` reply). */
  cancelConverge(target: number): void {
    this.worker.postMessage({ type: 'converge-cancel', seq: ++this.seq, target } satisfies Request);
  }
}

/** Read a number from the URL, falling back to `def`. */
export function urlNum(key: string, def: number): number {
  const v = new URLSearchParams(location.search).get(key);
  if (v === null || v === '') return def;
  const n = Number(v);
  return Number.isFinite(n) ? n : def;
}

export function urlStr<T extends string>(key: string, def: T, allowed: readonly T[]): T {
  const v = new URLSearchParams(location.search).get(key);
  return v !== null && (allowed as readonly string[]).includes(v) ? (v as T) : def;
}

/** Merge `values` into the URL's query (replaceState: shareable, no history spam). */
export function setUrl(values: Record<string, string | number | boolean>): void {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(values)) q.set(k, String(v));
  history.replaceState(null, '', `${location.pathname}?${q.toString()}${location.hash}`);
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

let idCounter = 0;

/** A labelled input (label wraps nothing; `for`/`id` pairs it for screen readers). */
export function field(parent: HTMLElement, label: string, input: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLInputElement | HTMLSelectElement {
  const id = `f${++idCounter}`;
  input.id = id;
  const wrap = el('div', { class: 'field' });
  const l = el('label', { for: id }, label);
  wrap.append(l, input);
  if (hint) {
    const h = el('small', { id: `${id}-hint` }, hint);
    input.setAttribute('aria-describedby', h.id);
    wrap.append(h);
  }
  parent.append(wrap);
  return input;
}

export function numberInput(value: number, attrs: Record<string, string> = {}): HTMLInputElement {
  const i = el('input', { type: 'number', ...attrs });
  i.value = String(value);
  return i;
}

export function select(options: readonly [string, string][], value: string, attrs: Record<string, string> = {}): HTMLSelectElement {
  const s = el('select', attrs);
  for (const [v, label] of options) {
    const o = el('option', { value: v }, label);
    s.append(o);
  }
  s.value = value;
  return s;
}

export function button(text: string, attrs: Record<string, string> = {}): HTMLButtonElement {
  return el('button', { type: 'button', ...attrs }, text);
}

/** Offer `content` as a file download. */
export function download(name: string, content: string, mime: string): void {
  const a = el('a', { download: name });
  a.href = URL.createObjectURL(new Blob([content], { type: mime }));
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** CSV from a header and rows (numbers printed as is, null as empty). */
export function toCsv(header: string[], rows: (number | string | null)[][]): string {
  const cell = (v: number | string | null): string => (v === null ? '' : typeof v === 'number' ? String(v) : `"${v.replace(/"/g, '""')}"`);
  return [header.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}

export function fmt(x: number | null, digits = 2): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
