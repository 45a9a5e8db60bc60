/**
 * The dashboard's server side: the crawl codec (round trip, every refusal), the convergecast
 * over an in-memory overlay (reports relayed hop by hop back to the origin, bounded and
 * rate-limited), and the stream and /ui routes of the API against a stub backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type ApiBackend, type ApiMember, type MonitorEvent } from '../../src/agent/api.js';
import { DASH_CHANNEL, DashboardHub, type DashboardNode } from '../../src/agent/dashboard.js';
import { decodeDash, encodeDash, MAX_REPORT_NEIGHBORS, type DashMessage, type PeerCounters } from '../../src/agent/dashboard-wire.js';

const COUNTERS: PeerCounters = { uptimeMs: 1000, messagesIn: 10, messagesOut: 12, bytesIn: 800, bytesOut: 900, deliveries: 3, duplicates: 1, droppedFrames: 0, eventLoopLagMs: null, rssBytes: 50e6 };

test('crawl codec: round trip of a request and a report', () => {
  const msgs: DashMessage[] = [
    { type: 'request', reqId: 0xfffffffe, ttl: 12, origin: '10.0.0.1:7946' },
    { type: 'report', reqId: 7, origin: '10.0.0.1:7946', addr: '[::1]:7946', name: 'wéb-1', neighbors: ['10.0.0.2:7946', '10.0.0.3:7946'], counters: COUNTERS },
    { type: 'report', reqId: 8, origin: 'a:1', addr: 'b:2', name: '', neighbors: [], counters: { ...COUNTERS, eventLoopLagMs: 2.5 } },
  ];
  for (const m of msgs) assert.deepEqual(decodeDash(encodeDash(m)), { ok: true, msg: m });
});

test('crawl codec: bad input is a reason, never an exception', () => {
  const good = encodeDash({ type: 'report', reqId: 1, origin: 'a:1', addr: 'b:2', name: 'n', neighbors: ['c:3'], counters: COUNTERS });
  const bad = (b: Uint8Array, re: RegExp): void => {
    const r = decodeDash(b);
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, re);
  };
  bad(new Uint8Array(0), /truncated at version/);
  bad(Uint8Array.of(2, 1, 0, 0, 0, 0), /version: expected 1, got 2/);
  bad(Uint8Array.of(1, 9, 0, 0, 0, 0), /type: unknown 9/);
  bad(good.subarray(0, good.length - 3), /truncated at counters/);
  bad(Uint8Array.from([...good, 0]), /1 trailing bytes/);
  const utf = encodeDash({ type: 'request', reqId: 1, ttl: 1, origin: 'ab' });
  utf[utf.length - 1] = 0xff;
  bad(utf, /origin: invalid UTF-8/);
  const many = Uint8Array.from(good);
  many[6 + 4 + 4 + 2] = MAX_REPORT_NEIGHBORS + 1; // the neighbour count after origin, addr, name
  bad(many, /neighbours: 33 > 32/);
  const neg = Uint8Array.from(good);
  new DataView(neg.buffer).setFloat64(neg.length - 80, -1);
  bad(neg, /uptimeMs: expected a finite non-negative number/);
  assert.throws(() => encodeDash({ type: 'request', reqId: 1, ttl: 1, origin: 'x'.repeat(256) }), RangeError);
});

/** An in-memory overlay: `sendTo` delivers to a neighbour on the next turn of the loop. */
class FakeNode implements DashboardNode {
  readonly listeners: ((from: string, channel: string, data: Uint8Array) => void)[] = [];
  sent = 0;
  constructor(readonly address: string, public nbrs: string[], private readonly net: Map<string, FakeNode>) {
    net.set(address, this);
  }
  neighbors(): string[] {
    return this.nbrs;
  }
  stats() {
    return { messagesIn: { gossip: this.sent }, messagesOut: {}, bytesIn: {}, bytesOut: {}, deliveries: 0, duplicates: 0, droppedFrames: {} };
  }
  sendTo(peer: string, channel: string, data: Uint8Array): boolean {
    if (!this.nbrs.includes(peer)) return false;
    this.sent++;
    setImmediate(() => this.net.get(peer)?.listeners.forEach((l) => l(this.address, channel, data)));
    return true;
  }
  on(_e: 'direct', l: (from: string, channel: string, data: Uint8Array) => void): unknown {
    this.listeners.push(l);
    return this;
  }
}

function hubFor(node: FakeNode): DashboardHub {
  return new DashboardHub({ info: () => ({ name: `name-${node.address}` }), apiMembers: () => [], subscribe: () => () => undefined, node });
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('crawl: reports come back hop by hop along the reverse path; an island sends none; bad bytes are counted', async () => {
  const net = new Map<string, FakeNode>();
  // a - b - c - d, and e alone (another component).
  const nodes = [new FakeNode('a', ['b'], net), new FakeNode('b', ['a', 'c'], net), new FakeNode('c', ['b', 'd'], net), new FakeNode('d', ['c'], net), new FakeNode('e', [], net)];
  const hubs = nodes.map(hubFor);
  try {
    hubs[0].crawl();
    await until(() => hubs[0].knownReports().length === 4, 'reports of a, b, c and d');
    const got = Object.fromEntries(hubs[0].knownReports().map((r) => [r.addr, r.neighbors]));
    assert.deepEqual(got, { a: ['b'], b: ['a', 'c'], c: ['b', 'd'], d: ['c'] });
    assert.equal(hubs[0].knownReports().find((r) => r.addr === 'd')!.name, 'name-d');
    // A second crawl from the same origin within the rate window is ignored by the others:
    // nothing is forwarded beyond a's own request.
    const before = nodes.map((n) => n.sent);
    hubs[0].crawl();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(nodes.map((n) => n.sent), [before[0] + 1, ...before.slice(1)]);
    // Garbage on the channel is counted, not fatal; other channels are ignored.
    nodes[1].listeners.forEach((l) => l('a', DASH_CHANNEL, Uint8Array.of(1, 2, 3)));
    nodes[1].listeners.forEach((l) => l('a', 'other', Uint8Array.of(1, 2, 3)));
    assert.equal(hubs[1].badMessages, 1);
  } finally {
    hubs.forEach((h) => h.close());
  }
});

/** A stub backend whose members the test changes. */
function stub(): ApiBackend & { list: ApiMember[]; emit(e: MonitorEvent): void } {
  const listeners = new Set<(e: MonitorEvent) => void>();
  const m = (name: string, status: ApiMember['status']): ApiMember => ({ name, addr: `${name}:1`, status, incarnation: 0, tags: { role: 'web' }, neighbor: false });
  const b = {
    list: [m('a', 'alive'), m('b', 'alive')],
    info: () => ({ name: 'a', addr: 'a:1', cluster: 'rumor', version: '0', features: ['metadata', 7] }),
    apiMembers: () => b.list,
    event: () => 'id',
    leave: async () => undefined,
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    subscribe: (l: (e: MonitorEvent) => void) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    emit: (e: MonitorEvent) => listeners.forEach((l) => l(e)),
  };
  return b;
}

/** Read SSE events from `res` until `stop` says enough (bounded by `ms`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the events' JSON, checked field by field below
type Ev = { event: string; data: any };
async function readEvents(res: Response, stop: (evs: Ev[]) => boolean, ms = 8000): Promise<Ev[]> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const evs: Ev[] = [];
  let buf = '';
  const end = Date.now() + ms;
  while (!stop(evs)) {
    if (Date.now() > end) throw new Error(`stream: timed out; got ${evs.map((e) => e.event).join(',')}`);
    const { value, done } = await reader.read();
    if (done) throw new Error('stream ended');
    buf += value;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (ev !== undefined && data !== undefined) evs.push({ event: ev, data: JSON.parse(data) });
    }
  }
  await reader.cancel();
  return evs;
}

test('API: /v1/dashboard/stream sends a snapshot then member deltas; needs the token; /ui is public and safe; info lists features', async () => {
  const b = stub();
  const api = await startApi('127.0.0.1:0', 'tok', b);
  const auth = { authorization: 'Bearer tok' };
  try {
    assert.equal((await fetch(`${api.url}/v1/dashboard/stream`)).status, 401);
    const info = (await (await fetch(`${api.url}/v1/info`, { headers: auth })).json()) as { features: string[] };
    assert.deepEqual(info.features, ['dashboard', 'overlay-crawl', 'metadata']);
    const res = await fetch(`${api.url}/v1/dashboard/stream`, { headers: auth });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const t0 = Date.now();
    setTimeout(() => {
      b.list = [{ ...b.list[0] }, { ...b.list[1], status: 'failed', incarnation: 1 }];
      b.emit({ type: 'member-failed', member: { name: 'b', addr: 'b:1', status: 'failed', incarnation: 1, tags: { role: 'web' } } });
    }, 100);
    const evs = await readEvents(res, (e) => e.some((x) => x.event === 'members'));
    assert.equal(evs[0].event, 'snapshot');
    assert.deepEqual(evs[0].data.members.map((m: ApiMember) => [m.name, m.status]), [['a', 'alive'], ['b', 'alive']]);
    assert.ok(evs[0].data.members.every((m: { since: number }) => m.since <= Date.now() && m.since > t0 - 60_000));
    assert.deepEqual(evs[0].data.info.features, ['dashboard', 'overlay-crawl', 'metadata']);
    const failed = evs.find((e) => e.event === 'event')!;
    assert.equal(failed.data.type, 'member-failed');
    const delta = evs.find((e) => e.event === 'members')!.data;
    assert.deepEqual(delta.changed.map((m: ApiMember) => [m.name, m.status]), [['b', 'failed']]);
    assert.ok(delta.changed[0].since >= t0);
    assert.deepEqual(delta.removed, []);
    // /ui: no token needed; redirect to the folder; nothing outside dist/web, not the simulator page.
    const r = await fetch(`${api.url}/ui`, { redirect: 'manual' });
    assert.deepEqual([r.status, r.headers.get('location')], [308, '/ui/']);
    assert.notEqual((await fetch(`${api.url}/ui/`)).status, 401);
    assert.equal((await fetch(`${api.url}/ui/..%2Fpackage.json`)).status, 404);
    assert.equal((await fetch(`${api.url}/ui/index.html`)).status, 404);
    assert.equal((await fetch(`${api.url}/ui/%E0%A4%A`)).status, 404);
    assert.equal((await fetch(`${api.url}/ui/`, { method: 'POST' })).status, 405);
  } finally {
    await api.close();
  }
});
