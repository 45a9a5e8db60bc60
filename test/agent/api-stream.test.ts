// docs/api.md claims not covered elsewhere: the monitor stream opens with `: connected` and
// sends `: ping` every 15 s (driven here with node:test's mocked setInterval, against the API
// server with a stub backend); neighbour events reach the stream (real agents); `/metrics`
// answers 401 without the token; an event payload too large for one broadcast is a 400
// naming the limit.
import { after, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Agent } from '../../src/agent/agent.js';
import { startTestAgent } from './support.js';
import { startApi, type ApiBackend, type MonitorEvent } from '../../src/agent/api.js';
import { AgentClient } from '../../src/agent/client.js';
import { waitUntil } from '../support/wait.js';

const TOKEN = 'stream-test-token';
const agents: Agent[] = [];
after(async () => {
  await Promise.all(agents.map((a) => a.shutdown()));
});

async function startAgent(flags: Record<string, unknown>): Promise<Agent> {
  const a = await startTestAgent(flags);
  agents.push(a);
  return a;
}

/** GET `url` as a raw stream; `text()` is everything received so far. */
function openStream(url: string): Promise<{ text: () => string; close: () => void; status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (text += s));
      res.on('error', () => {});
      resolve({ text: () => text, close: () => req.destroy(), status: res.statusCode ?? 0 });
    });
    req.on('error', reject);
    req.end();
  });
}

test('monitor stream: starts with ": connected", then ": ping" every 15 s between events', { timeout: 20_000 }, async () => {
  const listeners = new Set<(e: MonitorEvent) => void>();
  const stub: ApiBackend = {
    info: () => ({}),
    apiMembers: () => [],
    event: () => 'id',
    leave: async () => {},
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  const api = await startApi('127.0.0.1:0', undefined, stub);
  // The API's own dashboard hub subscribes from start: the stream is the one listener more.
  const base = listeners.size;
  // Only setInterval is mocked: the stream's keep-alive is the one interval created while the
  // mock is on; sockets and the test's own waits keep real time.
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const s = await openStream(`${api.url}/v1/monitor`);
    assert.equal(s.status, 200);
    await waitUntil(() => s.text().length > 0, 5000, 'the first bytes of the stream');
    assert.equal(s.text(), ': connected\n\n');
    await waitUntil(() => listeners.size === base + 1, 5000, () => `the stream subscribed (${listeners.size} listeners, ${base} before)`);
    const mark = (n: number): void => listeners.forEach((l) => l({ type: 'neighbor-up', peer: `10.0.0.${n}:7946` }));
    mock.timers.tick(14_999);
    mark(1);
    await waitUntil(() => s.text().includes('10.0.0.1:7946'), 5000, 'the first marker event');
    mock.timers.tick(1);
    mark(2);
    await waitUntil(() => s.text().includes('10.0.0.2:7946'), 5000, 'the second marker event');
    mock.timers.tick(15_000);
    mark(3);
    await waitUntil(() => s.text().includes('10.0.0.3:7946'), 5000, 'the third marker event');
    const ev = (n: number): string => `event: neighbor-up\ndata: {"type":"neighbor-up","peer":"10.0.0.${n}:7946"}\n\n`;
    assert.equal(s.text(), `: connected\n\n${ev(1)}: ping\n\n${ev(2)}: ping\n\n${ev(3)}`, 'no ping before 15 s, one at 15 s and one at 30 s');
    s.close();
    await waitUntil(() => listeners.size === base, 5000, () => `the closed stream unsubscribed (${listeners.size} listeners, ${base} before)`);
  } finally {
    mock.timers.reset();
    await api.close();
  }
});

test('monitor ?type=neighbor: neighbor-up when a node joins, neighbor-down (link-failed) when it dies; member events filtered out', { timeout: 30_000 }, async () => {
  const a = await startAgent({ name: 'watcher', apiToken: TOKEN });
  const got: MonitorEvent[] = [];
  // The API's dashboard hub is subscribed from start: the stream is the one listener more.
  const listeners = (): number => (a as unknown as { listeners: Set<unknown> }).listeners.size;
  const base = listeners();
  const mon = new AgentClient(a.apiUrl, TOKEN).monitor((e) => got.push(e), { type: 'neighbor' });
  await waitUntil(() => listeners() === base + 1, 5000, () => `the monitor stream registered (${listeners()} listeners, ${base} before)`);
  const b = await startAgent({ name: 'visitor', join: [a.node.address] });
  const peer = b.node.address;
  await waitUntil(() => got.some((e) => e.type === 'neighbor-up' && e.peer === peer), 10_000, () => `neighbor-up ${peer} (got ${JSON.stringify(got)})`);
  await waitUntil(() => a.members().some((m) => m.addr === peer && m.status === 'alive'), 10_000, 'the visitor listed alive');
  await b.shutdown();
  await waitUntil(() => got.some((e) => e.type === 'neighbor-down' && e.peer === peer), 10_000, () => `neighbor-down ${peer} (got ${JSON.stringify(got)})`);
  const down = got.find((e) => e.type === 'neighbor-down');
  assert.deepEqual(down, { type: 'neighbor-down', peer, reason: 'link-failed' });
  await waitUntil(() => a.members().some((m) => m.addr === peer && m.status === 'failed'), 10_000, 'the visitor listed failed');
  assert.ok(got.every((e) => e.type === 'neighbor-up' || e.type === 'neighbor-down'), `only neighbour events: ${JSON.stringify(got.map((e) => e.type))}`);
  mon.close();
  await mon.done;
});

test('/metrics needs the token (401 with the documented error); an event too large for one broadcast is a 400 naming the limit', { timeout: 30_000 }, async () => {
  const a = await startAgent({ name: 'guarded', apiToken: TOKEN });
  let res = await fetch(`${a.apiUrl}/metrics`);
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { error: 'missing or wrong bearer token (send "Authorization: Bearer <token>")' });
  res = await fetch(`${a.apiUrl}/metrics`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(res.status, 401);
  res = await fetch(`${a.apiUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /^rumor_members\{status="alive"\} 1$/m);

  // 900,000 bytes: under the 1 MiB body limit (not a 413), over what one broadcast carries
  // (the payload travels base64-encoded inside the event's JSON).
  const post = (payload: string): Promise<Response> =>
    fetch(`${a.apiUrl}/v1/event`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'big', payload }) });
  res = await post('x'.repeat(900_000));
  assert.equal(res.status, 400);
  const { error } = (await res.json()) as { error: string };
  const m = /^payload: 900000 bytes, at most (\d+) fit in one event \(it travels base64-encoded in a broadcast of at most \d+ bytes\)$/.exec(error);
  assert.ok(m !== null, error);
  assert.equal(a.counters.userEventsSent, 0, 'nothing was sent');
  // The limit named is exact: that many bytes are accepted, one more is not.
  const max = Number(m[1]);
  res = await post('x'.repeat(max + 1));
  assert.equal(res.status, 400, `${max + 1} bytes`);
  res = await post('x'.repeat(max));
  assert.equal(res.status, 200, `${max} bytes: ${await res.text()}`);
  assert.equal(a.counters.userEventsSent, 1);
});
