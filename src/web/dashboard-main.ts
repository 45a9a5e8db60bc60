/**
 * Entry point of the live dashboard (`/ui/` on an agent's API address): asks for the API
 * token if the agent wants one, opens the one stream, folds it into `DashState`, and renders
 * the visible view at most every 250 ms. Views: members, overlay, traffic, events, and one
 * per optional feature (metadata, queries, aggregates) the agent lists in `/v1/info`.
 */
import { el } from './client.js';
import { AgentLink } from './dashboard-api.js';
import { DashState, STATUSES, visibleSlots } from './dashboard-state.js';
import { EventsView, MembersView, OverlayView, SlotView, TrafficView, STATUS_COLORS, type View } from './dashboard-views.js';

const RENDER_EVERY_MS = 250;

interface Hooks {
  rumorDash: { state: DashState; events: number; renders: number; connected: boolean; maxRenderMs: number };
}

function main(): void {
  const app = document.getElementById('app')!;
  const link = new AgentLink();
  const state = new DashState();
  const hooks = { state, events: 0, renders: 0, connected: false, maxRenderMs: 0 };
  (window as unknown as Hooks).rumorDash = hooks;

  const gate = el('form', { class: 'gate', 'data-testid': 'dash-login', hidden: '' });
  const tokenInput = el('input', { type: 'password', autocomplete: 'off', 'data-testid': 'dash-token', 'aria-label': 'API token', placeholder: 'API token' });
  const gateMsg = el('p', { class: 'error', role: 'alert', 'data-testid': 'dash-login-error' });
  gate.append(el('label', {}, 'This agent asks for its API token (kept for this browser tab only):'), tokenInput, el('button', { type: 'submit', 'data-testid': 'dash-connect' }, 'Connect'), gateMsg);

  const head = el('div', { class: 'dash-head' });
  const who = el('span', { class: 'dash-who', 'data-testid': 'dash-who' });
  const conn = el('span', { class: 'dash-conn', 'data-testid': 'dash-conn', role: 'status' }, 'connecting…');
  const counts = el('span', { class: 'dash-counts', 'data-testid': 'dash-counts' });
  head.append(who, counts, conn);
  const tabs = el('nav', { role: 'tablist', 'aria-label': 'Views' });
  const panels = el('main');
  const shell = el('div', { hidden: '' });
  shell.append(head, tabs, panels);
  app.append(gate, shell);

  const members = new MembersView();
  const views: [string, string, View][] = [
    ['members', 'Members', members],
    ['overlay', 'Overlay', new OverlayView()],
    ['traffic', 'Traffic & health', new TrafficView()],
    ['events', 'Events', new EventsView()],
  ];
  let current = 'members';
  let slotsShown = '';
  const buttons = new Map<string, HTMLButtonElement>();
  const show = (name: string): void => {
    current = name;
    for (const [n, , v] of views) {
      v.root.hidden = n !== name;
      buttons.get(n)?.setAttribute('aria-selected', String(n === name));
    }
    document.body.dataset.view = name;
    render(true);
  };
  const addTab = (name: string, title: string, v: View): void => {
    const b = el('button', { role: 'tab', type: 'button', 'data-testid': `tab-${name}` }, title);
    b.onclick = () => show(name);
    buttons.set(name, b);
    tabs.append(b);
    v.root.setAttribute('role', 'tabpanel');
    panels.append(v.root);
  };
  for (const [n, t, v] of views) addTab(n, t, v);

  const syncSlots = (): void => {
    const slots = visibleSlots(state.agent.features);
    const key = slots.map((s) => s.feature).join(',');
    if (key === slotsShown) return;
    slotsShown = key;
    for (const s of slots) {
      if (buttons.has(s.feature)) continue;
      const v = new SlotView(s.feature, s.title);
      views.push([s.feature, s.title, v]);
      addTab(s.feature, s.title, v);
    }
  };

  const renderHeader = (): void => {
    const c = state.counts();
    counts.replaceChildren(
      ...STATUSES.map((s, i) => {
        const b = el('button', { type: 'button', class: 'count', 'data-testid': `dash-count-${s}`, 'data-count': String(c[s]), title: `show ${s} members` });
        b.append(el('span', { class: 'swatch', style: `background:${STATUS_COLORS[i]}` }), document.createTextNode(`${c[s]} ${s}`));
        b.onclick = () => {
          members.filterStatus(s);
          show('members');
        };
        return b;
      }),
    );
    who.textContent = `${state.agent.name} (${state.agent.addr}) · cluster ${state.agent.cluster} · rumor ${state.agent.version}`;
  };

  let lastRender = 0;
  let scheduled = false;
  let headerVersion = -1;
  const render = (now = false): void => {
    if (!now) {
      if (scheduled) return;
      scheduled = true;
      const wait = Math.max(0, lastRender + RENDER_EVERY_MS - performance.now());
      window.setTimeout(() => requestAnimationFrame(() => {
        scheduled = false;
        render(true);
      }), wait);
      return;
    }
    lastRender = performance.now();
    hooks.renders++;
    if (headerVersion !== state.graphVersion) {
      headerVersion = state.graphVersion;
      renderHeader();
      syncSlots();
    }
    const t0 = performance.now();
    for (const [n, , v] of views) if (n === current) v.render(state);
    const ms = performance.now() - t0;
    if (ms > hooks.maxRenderMs) hooks.maxRenderMs = ms;
  };

  let closeStream: (() => void) | null = null;
  const start = (): void => {
    gate.hidden = true;
    shell.hidden = false;
    show(current);
    closeStream = link.stream(
      (event, data) => {
        hooks.events++;
        state.apply(event, data);
        render();
      },
      (s, detail) => {
        hooks.connected = s === 'open';
        conn.textContent = s === 'open' ? 'live' : s === 'retrying' ? `disconnected: ${detail}` : detail;
        conn.dataset.state = s;
        if (s === 'unauthorized') askToken('The agent refused the token (401). Enter it again.');
      },
    );
  };
  const askToken = (msg: string): void => {
    closeStream?.();
    link.setToken(null);
    shell.hidden = true;
    gate.hidden = false;
    gateMsg.textContent = msg;
    tokenInput.focus();
  };
  gate.onsubmit = async (ev) => {
    ev.preventDefault();
    link.setToken(tokenInput.value);
    const r = await link.info();
    if (r.ok) {
      tokenInput.value = '';
      gateMsg.textContent = '';
      start();
    } else askToken(r.status === 401 ? `Wrong token: the agent answered 401 (${r.reason}).` : r.reason);
  };
  void link.info().then((r) => {
    if (r.ok) start();
    else if (r.status === 401) askToken(link.token === null ? '' : 'The saved token was refused (401).');
    else {
      conn.textContent = r.reason;
      shell.hidden = false;
    }
  });
}

main();
