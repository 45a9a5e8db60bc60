/**
 * Entry point of the web app: three views (spread, convergence, overlay) in tabs, one
 * simulation worker shared by all. The selected view and every parameter live in the URL.
 */
import { WorkerClient, el, setUrl, urlStr } from './client.js';
import { SpreadView } from './spread-view.js';
import { ConvergeView } from './converge-view.js';
import { OverlayView } from './overlay-view.js';

type ViewName = 'spread' | 'converge' | 'overlay';
const VIEWS: readonly ViewName[] = ['spread', 'converge', 'overlay'];
const TITLES: Record<ViewName, string> = { spread: 'Spread', converge: 'Convergence', overlay: 'Overlay' };

function main(): void {
  const app = document.getElementById('app')!;
  const client = new WorkerClient();
  const busy = el('span', { class: 'busy', 'data-testid': 'busy', 'aria-live': 'polite' });
  client.onBusy = (n) => {
    busy.textContent = n > 0 ? 'simulating…' : '';
    document.body.dataset.busy = String(n);
  };
  const tabs = el('nav', { role: 'tablist', 'aria-label': 'Views' });
  const panels = el('main');
  app.append(tabs, busy, panels);
  const spread = new SpreadView(panels, client);
  const converge = new ConvergeView(panels, client);
  const overlay = new OverlayView(panels, client);
  const roots: Record<ViewName, HTMLElement> = { spread: spread.root, converge: converge.root, overlay: overlay.root };
  const buttons = new Map<ViewName, HTMLButtonElement>();
  const built = new Set<ViewName>();

  const show = (v: ViewName, focus = false): void => {
    for (const name of VIEWS) {
      const on = name === v;
      roots[name].hidden = !on;
      const b = buttons.get(name)!;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    setUrl({ view: v });
    document.body.dataset.view = v;
    if (!built.has(v)) {
      built.add(v);
      if (v === 'spread') void spread.build();
      else if (v === 'overlay') void overlay.build();
    }
  };

  for (const v of VIEWS) {
    const b = el('button', { role: 'tab', id: `tab-${v}`, 'aria-controls': `view-${v}`, 'data-testid': `tab-${v}`, type: 'button' }, TITLES[v]);
    roots[v].setAttribute('role', 'tabpanel');
    roots[v].setAttribute('aria-labelledby', b.id);
    b.onclick = () => show(v);
    b.onkeydown = (ev) => {
      const i = VIEWS.indexOf(v);
      if (ev.key === 'ArrowRight') show(VIEWS[(i + 1) % VIEWS.length], true);
      else if (ev.key === 'ArrowLeft') show(VIEWS[(i + VIEWS.length - 1) % VIEWS.length], true);
    };
    buttons.set(v, b);
    tabs.append(b);
  }
  show(urlStr('view', 'spread', VIEWS));
  // Hooks for tests and bench/web.ts: readiness flag, and a Plumtree broadcast benchmark run in the worker.
  const w = window as unknown as { rumorReady: boolean; rumorBench: (nodes: number, seed: number) => Promise<unknown> };
  w.rumorBench = (nodes, seed) => client.request({ type: 'bench-plumtree', nodes, seed });
  w.rumorReady = true;
}

main();
