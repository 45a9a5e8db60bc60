/** The dashboard page's model in Node: stream folding, filters, the overlay graph and its
 *  components, the SSE parser, and which feature slots show. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DashState, filterMembers, overlayGraph, visibleSlots, MAX_EVENTS, type DashMember, type MemberReport } from '../../src/web/dashboard-state.js';
import { SseParser } from '../../src/web/dashboard-api.js';

const member = (name: string, status = 'alive', tags: Record<string, string> = {}): DashMember => ({ name, addr: `${name}:1`, status, incarnation: 0, tags, neighbor: false, since: 0 });
const report = (name: string, nbrs: string[]): MemberReport => ({ addr: `${name}:1`, name, neighbors: nbrs.map((n) => `${n}:1`), at: 0, traffic: null });
const stats = { addr: 'a:1', name: 'a', at: 0, messagesInPerSec: 0, messagesOutPerSec: 0, bytesInPerSec: 0, bytesOutPerSec: 0, deliveriesPerSec: 0, duplicatesPerSec: 0, deliveries: 0, duplicates: 0, droppedFrames: 0, eventLoopLagMs: null, rssBytes: 0 };

test('state: snapshot, member deltas, bounded events, counts', () => {
  const s = new DashState();
  s.apply('snapshot', { info: { name: 'a', addr: 'a:1', cluster: 'c', version: '1', features: ['dashboard'] }, members: [member('a'), member('b')], events: [], stats, reports: [report('b', ['a'])] });
  assert.deepEqual(s.counts(), { alive: 2, suspect: 0, failed: 0, left: 0 });
  s.apply('members', { changed: [member('b', 'failed'), member('c', 'suspect')], removed: [] });
  assert.deepEqual(s.counts(), { alive: 1, suspect: 1, failed: 1, left: 0 });
  s.apply('members', { changed: [], removed: ['b:1'] });
  assert.equal(s.members.has('b:1'), false);
  assert.equal(s.reports.has('b:1'), false, 'a removed member takes its report along');
  for (let i = 0; i < MAX_EVENTS + 10; i++) s.apply('event', { type: 'user', at: i, name: 'e', payload: String(i) });
  assert.equal(s.events.length, MAX_EVENTS);
  assert.equal(s.events[0].payload, '10');
  s.apply('future-event', { x: 1 }); // ignored
});

test('filter: status and case-insensitive search over name, address and tags', () => {
  const ms = [member('web-2', 'alive', { role: 'web' }), member('db-1', 'failed', { role: 'db' }), member('web-1', 'alive', { role: 'web' })];
  assert.deepEqual(filterMembers(ms, 'all', '').map((m) => m.name), ['db-1', 'web-1', 'web-2']);
  assert.deepEqual(filterMembers(ms, 'alive', '').map((m) => m.name), ['web-1', 'web-2']);
  assert.deepEqual(filterMembers(ms, 'all', 'ROLE=DB').map((m) => m.name), ['db-1']);
  assert.deepEqual(filterMembers(ms, 'failed', 'web').map((m) => m.name), []);
});

test('overlay graph: links from reports, deduplicated and sorted; two islands are two components; failed members neither count nor report', () => {
  const members = new Map([member('a'), member('b'), member('c'), member('d'), member('x', 'failed')].map((m) => [m.addr, m]));
  const reports = new Map([report('a', ['b', 'ghost']), report('b', ['a']), report('c', ['d']), report('d', ['c', 'x']), report('x', ['a'])].map((r) => [r.addr, r]));
  const g = overlayGraph(members, reports);
  assert.deepEqual(g.addrs, ['a:1', 'b:1', 'c:1', 'd:1', 'x:1']);
  assert.deepEqual([...g.links], [0, 1, 2, 3, 3, 4]);
  assert.deepEqual([...g.reported], [1, 1, 1, 1, 0]);
  assert.deepEqual([...g.status], [0, 0, 0, 0, 2]);
  assert.equal(g.components, 2);
  reports.set('b:1', report('b', ['a', 'c']));
  assert.equal(overlayGraph(members, reports).components, 1);
  // A report older than the staleness bound draws nothing: c and d's reports are stale.
  reports.set('a:1', { ...report('a', ['b']), at: 10_000 });
  reports.set('b:1', { ...report('b', ['a', 'c']), at: 10_000 });
  const fresh = overlayGraph(members, reports, 5_000);
  assert.deepEqual([...fresh.links], [0, 1, 1, 2]);
  assert.deepEqual([...fresh.reported], [1, 1, 0, 0, 0]);
});

test('SSE parser: events split across chunks, comments skipped, multi-line data joined', () => {
  const got: [string, unknown][] = [];
  const p = new SseParser((e, d) => got.push([e, d]));
  p.push(': connected\n\nevent: snap');
  p.push('shot\ndata: {"a":\r\ndata: 1}\n\n: ping\n\ndata: plain\n\n');
  assert.deepEqual(got, [['snapshot', { a: 1 }], ['message', 'plain']]);
});

test('slots: metadata, queries and aggregates show only when the agent lists them', () => {
  assert.deepEqual(visibleSlots(['dashboard', 'overlay-crawl']), []);
  assert.deepEqual(visibleSlots(['queries', 'metadata']).map((s) => s.feature), ['metadata', 'queries']);
});
