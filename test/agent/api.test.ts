import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from '../../src/agent/agent.js';
import { AgentClient } from '../../src/agent/client.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { createLogger } from '../../src/agent/log.js';
import type { MonitorEvent } from '../../src/agent/api.js';
import { waitUntil, within } from '../support/wait.js';

const logLines: string[] = [];
async function startAgent(name: string, flags: Record<string, unknown> = {}): Promise<Agent> {
  const r = resolveAgentConfig({ flags: { name, bind: '127.0.0.1:0', apiAddr: '127.0.0.1:0', profile: 'local', ...flags }, isTTY: false });
  if (!r.ok) throw new Error(r.reason);
  return Agent.start(r.config, { logger: createLogger({ level: 'warn', format: 'json', destination: { write: (s: string) => logLines.push(s) } }) });
}

const agents: Agent[] = [];
after(async () => {
  await within(Promise.all(agents.map((a) => a.shutdown())), 15_000, 'every agent to shut down');
});

test('three agents: membership converges, API with token, filters, 400s, SSE, leave and failure', async () => {
  const a = await startAgent('a', { tags: ['role=web'], apiToken: 's3cret' });
  agents.push(a);
  const b = await startAgent('b', { tags: ['role=db'], join: [a.node.address] });
  agents.push(b);
  const c = await startAgent('c', { tags: ['role=web'], join: [b.node.address] });
  agents.push(c);
  const all = [a, b, c];
  await waitUntil(() => all.every((x) => x.members().filter((m) => m.status === 'alive').length === 3), 15_000, 'all see 3 alive');

  // Auth.
  const anon = new AgentClient(a.apiUrl);
  await assert.rejects(anon.info(), /^Error: agent at http:\/\/127\.0\.0\.1:\d+: 401: missing or wrong bearer token/);
  await assert.rejects(new AgentClient(a.apiUrl, 'wrong').members(), /401/);
  const ca = new AgentClient(a.apiUrl, 's3cret');
  const info = await ca.info();
  assert.equal(info.name, 'a');
  assert.equal(info.addr, a.node.address);
  assert.equal(info.cluster, 'rumor');
  assert.equal(info.profile, 'local');
  assert.deepEqual(info.members, { alive: 3, suspect: 0, failed: 0, left: 0 });

  // Members filter.
  const web = await ca.members({ status: 'alive', tags: { role: 'web' } });
  assert.deepEqual(web.map((m) => m.name).sort(), ['a', 'c']);
  const self = web.find((m) => m.name === 'a')!;
  assert.equal(self.neighbor, false);
  assert.deepEqual(self.tags, { role: 'web' });

  // 400s, 404, 405.
  const h = { authorization: 'Bearer s3cret', 'content-type': 'application/json' };
  const post = (body: string) => fetch(`${a.apiUrl}/v1/event`, { method: 'POST', headers: h, body });
  let res = await post('{');
  assert.deepEqual([res.status, await res.json()], [400, { error: 'body: expected JSON' }]);
  res = await post('{"name":""}');
  assert.deepEqual([res.status, await res.json()], [400, { error: 'name: expected a string of 1..128 characters without spaces' }]);
  res = await post('{"name":"x","payload":1}');
  assert.deepEqual([res.status, await res.json()], [400, { error: 'payload: expected a string' }]);
  res = await post(JSON.stringify({ name: 'x', payload: 'a'.repeat(1024 * 1024 + 1) }));
  assert.equal(res.status, 413);
  res = await fetch(`${a.apiUrl}/v1/members?status=zombie`, { headers: h });
  assert.deepEqual([res.status, await res.json()], [400, { error: 'status: expected alive, suspect, failed or left (or a regular expression), got "zombie"' }]);
  res = await fetch(`${a.apiUrl}/v1/monitor?type=bogus`, { headers: h });
  assert.equal(res.status, 400);
  res = await fetch(`${a.apiUrl}/v1/nope`, { headers: h });
  assert.equal(res.status, 404);
  res = await fetch(`${a.apiUrl}/v1/event`, { headers: h });
  assert.equal(res.status, 405);

  // SSE: c's monitor receives a user event sent through a's API, filtered by type.
  const cc = new AgentClient(c.apiUrl);
  const got: MonitorEvent[] = [];
  const mon = cc.monitor((e) => got.push(e), { type: 'user:deploy,member' });
  // The stream is open once the server registered the listener; send until it arrives.
  let id = '';
  await waitUntil(async () => {
    if (got.some((e) => e.type === 'user')) return true;
    id = await ca.event('deploy', 'v1.2');
    await ca.event('ignored', 'x');
    return false;
  }, 10_000, 'user event on c monitor');
  const ev = got.find((e) => e.type === 'user')!;
  assert.ok(ev.type === 'user');
  assert.equal(ev.name, 'deploy');
  assert.equal(ev.payload, 'v1.2');
  assert.equal(ev.origin, a.node.address);
  assert.ok(id.length > 0);
  assert.ok(got.every((e) => e.type !== 'user' || e.name === 'deploy'));

  // Abrupt stop of c: its neighbours' links fail, their probe fails, c is marked failed
  // and the news spreads by broadcast to everyone.
  const cAddr = c.node.address;
  await within(c.shutdown(), 10_000, 'agent c to shut down');
  await waitUntil(() => [a, b].every((x) => x.members().find((m) => m.addr === cAddr)?.status === 'failed'), 15_000, 'c failed at a and b');
  mon.close();
  await within(mon.done, 5000, "c's monitor stream to end after close()");

  // Graceful leave of b through the API: a sees it `left`.
  const ma: MonitorEvent[] = [];
  const mona = ca.monitor((e) => ma.push(e), { type: 'member-leave' });
  await waitUntil(() => (a as unknown as { listeners: Set<unknown> }).listeners.size === 1, 5000, 'monitor stream registered at a');
  await new AgentClient(b.apiUrl).leave();
  await within(b.stopped, 15_000, 'agent b to stop after its leave through the API');
  await waitUntil(() => a.members().find((m) => m.name === 'b')?.status === 'left', 15_000, 'b left at a');
  await waitUntil(() => ma.some((e) => e.type === 'member-leave' && e.member.name === 'b'), 5000, 'member-leave on a monitor');
  mona.close();
  await within(mona.done, 5000, "a's monitor stream to end after close()");

  // Metrics.
  res = await fetch(`${a.apiUrl}/metrics`, { headers: h });
  const text = await res.text();
  assert.equal(res.status, 200);
  assert.match(text, /rumor_members\{status="failed"\} 1/);
  assert.match(text, /rumor_members\{status="left"\} 1/);
  assert.match(text, /rumor_user_events_total\{direction="sent"\} [1-9]/);
  assert.match(text, /rumor_messages_out_total\{type="gossip"\} [1-9]/, 'user events go out by Plumtree');
  assert.match(text, /rumor_messages_in_total\{type="direct"\} [1-9]/, 'membership messages come point to point');
  assert.match(text, /nodejs_eventloop_lag_seconds/);
});

test('versions ride in the membership entry: an agent lists the versions of another as soon as it lists it, with no state write, and the reserved tag is not among its tags', async () => {
  const a = await startAgent('va', { tags: ['role=web'] });
  agents.push(a);
  const b = await startAgent('vb', { tags: ['role=db'], join: [a.node.address] });
  agents.push(b);
  const rowOfB = (): Record<string, unknown> | undefined => a.apiMembers().find((m) => m.addr === b.node.address) as Record<string, unknown> | undefined;
  await waitUntil(() => rowOfB()?.status === 'alive', 10_000, 'va to list vb alive');
  const row = rowOfB()!;
  assert.match(String(row.agentVersion), /^\d+\.\d+\.\d+/, 'vb\'s agent version at va');
  assert.equal((row.protocol as number[]).length, 2);
  assert.deepEqual(row.tags, { role: 'db' }, 'the reserved version tag is hidden');
  // Nothing was written to the state for it (the write was a flood over the overlay per agent).
  assert.equal(a.node.state.get(b.node.address, '_rumor.version'), undefined);
  assert.equal(b.node.state.get(b.node.address, '_rumor.version'), undefined);
});

test('client reports an unreachable agent in one line', async () => {
  const { createServer } = await import('node:net');
  const srv = createServer();
  await within(new Promise<void>((r) => srv.listen(0, '127.0.0.1', r)), 5000, 'a listener on a free port');
  const port = (srv.address() as { port: number }).port;
  await within(new Promise((r) => srv.close(r)), 5000, 'the listener to close');
  const url = `http://127.0.0.1:${port}`;
  await assert.rejects(new AgentClient(url).info(), { message: `cannot reach agent at ${url}: ECONNREFUSED` });
});
