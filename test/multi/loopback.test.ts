// Multi-process integration over loopback: 12 nodes in 3 child processes join, broadcast with
// exactly-once delivery, survive a leave, a kill -9 of a whole process, and its restart with the
// same addresses. Every wait is a condition with a deadline.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeOptions } from '../../src/index.js';
import { DeliveryLog, NodeProc, allStates, components, overlayConnected, viewsSymmetric, waitUntil, type DownEvent, type NodeState, type ProcEvent } from './support/procs.js';

const OPTIONS: NodeOptions = { profile: 'local' };
const PER_PROC = 4;
const log = new DeliveryLog();
const downs: DownEvent[] = [];
const procs: NodeProc[] = [];

function sink(e: ProcEvent): void {
  if (e.ev === 'msg') log.record(e);
  else if (e.ev === 'down') downs.push(e);
}

function spawnProc(i: number): NodeProc {
  const p = new NodeProc(`proc${i}`, sink);
  procs[i] = p;
  return p;
}

const live = (): NodeProc[] => procs.filter((p) => !p.exited);
const liveAddrs = (): string[] => live().flatMap((p) => p.addresses);

before(async () => {
  for (let i = 0; i < 3; i++) spawnProc(i);
  await Promise.all(procs.map((p, i) => p.start('127.0.0.1', Array.from({ length: PER_PROC }, (_, k) => `p${i}n${k}`), OPTIONS, [], 100 * i + 1)));
  const seed = procs[0].addresses[0];
  await procs[0].request('join', { seeds: [seed], nodes: [0] });
  await Promise.all(procs.map((p) => p.join([seed])));
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

test('12 nodes in 3 processes form one overlay; 20 broadcasts are delivered exactly once everywhere', { timeout: 40_000 }, async () => {
  // Only connectivity is awaited: views may still be reshuffling after 11 joins through one contact.
  await waitUntil(async () => overlayConnected(await allStates(procs)), 15_000, 'connected overlay of 12 nodes');
  const ids: string[] = [];
  for (let k = 0; k < 20; k++) ids.push(await procs[k % 3].broadcast(k % PER_PROC, `hello-${k}`));
  const all = liveAddrs();
  assert.equal(all.length, 12);
  await waitUntil(() => log.missing(all, ids).length === 0, 10_000, () => log.missing(all, ids).join('; '));
  for (const a of all) for (const id of ids) assert.equal(log.count(a, id), 1, `${a} delivered ${id} once`);
  assert.deepEqual(log.duplicates(), []);
});

test('a node leaves gracefully: neighbours see "disconnected", the rest stay connected and deliver', { timeout: 30_000 }, async () => {
  const leaverAddr = procs[2].addresses[3];
  // The former neighbours from a snapshot with symmetric views, and `since` taken before it: a
  // view still changing (a DISCONNECT in flight) would name a node whose down event predates
  // the leave, or one that never held the link.
  let before: string[] = [];
  let since = 0;
  await waitUntil(
    async () => {
      since = Date.now();
      const states = await allStates(procs);
      before = states.filter((s) => s.neighbors.includes(leaverAddr)).map((s) => s.address);
      return viewsSymmetric(states) && before.length >= 1;
    },
    15_000,
    'symmetric views, the leaver with neighbours',
  );
  const leaveAt = Date.now();
  await procs[2].request('leave', { node: 3 });
  const downOf = (a: string): DownEvent | undefined => downs.find((d) => d.t >= since && d.node === a && d.peer === leaverAddr);
  await waitUntil(
    () => before.every((a) => downOf(a) !== undefined),
    10_000,
    'every former neighbour of the leaver saw neighborDown',
  );
  for (const a of before) {
    const d = downOf(a)!;
    // A link dropped by ordinary churn between the snapshot and the leave (an eviction) is not
    // the leave; from the leave on, the reason must be the graceful one.
    if (d.t < leaveAt) assert.notEqual(d.reason, 'link-failed', `${a} saw ${d.reason} before the leave`);
    else assert.equal(d.reason, 'disconnected', `${a} saw ${d.reason}`);
  }
  const rest = liveAddrs().filter((a) => a !== leaverAddr);
  await waitUntil(async () => overlayConnected((await allStates(procs)).filter((s) => s.address !== leaverAddr)), 15_000, 'the 11 others reconnect');
  const id = await procs[0].broadcast(0, 'after-leave');
  await waitUntil(() => log.missing(rest, [id]).length === 0, 10_000, () => log.missing(rest, [id]).join('; '));
  assert.equal(log.count(leaverAddr, id), 0, 'the node that left delivers nothing more');
});

test('kill -9 of a process: neighbours detect link failure, views repair, broadcasts reach all survivors', { timeout: 40_000 }, async () => {
  const victim = procs[1];
  const dead = new Set(victim.addresses);
  // As for the leave: watchers from a snapshot with symmetric views, `since` taken before it.
  let watchers: NodeState[] = [];
  let since = 0;
  await waitUntil(
    async () => {
      since = Date.now();
      const states = (await allStates(procs)).filter((s) => s.address !== procs[2].addresses[3]);
      watchers = states.filter((s) => !dead.has(s.address) && s.neighbors.some((p) => dead.has(p)));
      return viewsSymmetric(states) && watchers.length >= 1;
    },
    15_000,
    'symmetric views, some survivor neighbouring the victim process',
  );
  const killAt = Date.now();
  await victim.kill9();
  await waitUntil(
    () => watchers.every((w) => w.neighbors.filter((p) => dead.has(p)).every((p) => downs.some((d) => d.t >= since && d.node === w.address && d.peer === p))),
    10_000,
    'every survivor that neighboured a killed node saw neighborDown for it',
  );
  // Links dropped by churn (an eviction) between the snapshot and the kill are not the kill.
  const failed = downs.filter((d) => d.t >= killAt && dead.has(d.peer));
  assert.ok(failed.every((d) => d.reason === 'link-failed'), `reasons: ${[...new Set(failed.map((d) => d.reason))].join(',')}`);
  const survivors = liveAddrs().filter((a) => a !== procs[2].addresses[3]);
  assert.equal(survivors.length, 7);
  await waitUntil(
    async () => {
      const s = (await allStates(live())).filter((x) => survivors.includes(x.address));
      return overlayConnected(s) && s.every((x) => x.neighbors.every((p) => !dead.has(p)));
    },
    15_000,
    async () => `survivor views repair: ${JSON.stringify(components((await allStates(live())).filter((x) => survivors.includes(x.address))))}`,
  );
  const ids = [await procs[0].broadcast(1, 'after-kill-a'), await procs[2].broadcast(0, 'after-kill-b')];
  await waitUntil(() => log.missing(survivors, ids).length === 0, 10_000, () => log.missing(survivors, ids).join('; '));
  for (const a of survivors) for (const id of ids) assert.equal(log.count(a, id), 1);
});

test('restart of the killed process with the same addresses: it rejoins and broadcasts reach everyone', { timeout: 40_000 }, async () => {
  const old = procs[1].addresses;
  const ports = old.map((a) => Number(a.slice(a.lastIndexOf(':') + 1)));
  log.bump(old);
  const p = spawnProc(1);
  const addrs = await p.start('127.0.0.1', old.map((_, k) => `p1n${k}`), OPTIONS, ports, 501);
  assert.deepEqual(addrs, old, 'same addresses after restart');
  await p.join([procs[0].addresses[0], procs[2].addresses[0]]);
  const everyone = liveAddrs().filter((a) => a !== procs[2].addresses[3]);
  assert.equal(everyone.length, 11);
  await waitUntil(
    async () => overlayConnected((await allStates(live())).filter((x) => everyone.includes(x.address))),
    15_000,
    'one overlay including the restarted nodes',
  );
  const ids = [await p.broadcast(2, 'from-restarted'), await procs[0].broadcast(3, 'to-restarted')];
  await waitUntil(() => log.missing(everyone, ids).length === 0, 10_000, () => log.missing(everyone, ids).join('; '));
  for (const a of everyone) for (const id of ids) assert.equal(log.count(a, id), 1);
  assert.deepEqual(log.duplicates(), []);
});
