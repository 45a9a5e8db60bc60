// Multi-host tests in Linux network namespaces (made here, removed in `after`): 6 hosts on a
// bridge, one node process with 2 nodes per host. (a) a host whose link is cut silently is
// detected by its neighbours within the profile's heartbeat timeout; (b) a 50/50 partition with
// messages published on both sides heals into one overlay that delivers every message everywhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROFILES, type NodeOptions } from '../../src/index.js';
import { NetLab, netnsUnavailable } from './support/netns.js';
import { DeliveryLog, NodeProc, allStates, components, overlayConnected, waitUntil, type DownEvent, type ProcEvent } from './support/procs.js';

const skip = netnsUnavailable();
// Without namespaces the tests below cannot run: this one fails with the reason (a skip would
// report the run as passed).
test('network namespaces are available', () => {
  if (skip !== null) assert.fail(`network namespaces unavailable: ${skip}`);
});

const HOSTS = 6;
const PER_HOST = 2;
const OPTIONS: NodeOptions = { profile: 'local' };
const TIMEOUT_MS = PROFILES.local.net.heartbeatTimeoutMs;
/** Detection slack: the runtime checks liveness on a tick of interval/5 (40 ms), plus event piping. */
const MARGIN_MS = 500;
/** Earliest silent detection: the last frame from the cut host (a PING at most one heartbeat
 *  interval, plus a tick, before the cut) plus the timeout. Earlier means something else (a
 *  reset) ended the link: the cut must be silent. */
const EARLIEST_MS = TIMEOUT_MS - PROFILES.local.net.heartbeatIntervalMs - 150;

const lab = new NetLab();
// Last resort if the runner dies before `after` (e.g. Ctrl-C): never leave namespaces behind.
process.once('exit', () => lab.destroy());
const procs: NodeProc[] = [];
const log = new DeliveryLog();
const downs: DownEvent[] = [];

const sink = (e: ProcEvent): void => {
  if (e.ev === 'msg') log.record(e);
  else if (e.ev === 'down') downs.push(e);
};
const addrsOf = (hosts: number[]): string[] => hosts.flatMap((h) => procs[h].addresses);
const ALL = Array.from({ length: HOSTS }, (_, i) => i);

async function connectedAmong(hosts: number[]): Promise<boolean> {
  const want = new Set(addrsOf(hosts));
  const s = (await allStates(hosts.map((h) => procs[h]))).filter((x) => want.has(x.address));
  return overlayConnected(s);
}

async function describe(hosts: number[]): Promise<string> {
  return JSON.stringify(components(await allStates(hosts.map((h) => procs[h]))));
}

before(async () => {
  if (skip !== null) return;
  lab.create(HOSTS);
  for (let h = 0; h < HOSTS; h++) procs.push(new NodeProc(`host${h}`, sink, lab.hosts[h]));
  const names = (h: number): string[] => Array.from({ length: PER_HOST }, (_, k) => `h${h}n${k}`);
  await Promise.all(procs.map((p, h) => p.start(lab.ips[h], names(h), OPTIONS, [7000, 7001], 1000 + 10 * h)));
  const seeds = [procs[0].addresses[0], procs[HOSTS / 2].addresses[0]];
  await procs[0].request('join', { seeds: [], nodes: [0] });
  for (const p of procs) await p.join(seeds);
  await waitUntil(() => connectedAmong(ALL), 20_000, async () => `connected overlay: ${await describe(ALL)}`);
});

after(async () => {
  await Promise.all(procs.map((p) => p.kill9()));
  lab.destroy();
});

test('a 50/50 partition heals: one overlay again, every message published during it delivered everywhere', { skip: skip ?? false, timeout: 90_000 }, async () => {
  const A = ALL.slice(0, HOSTS / 2);
  const B = ALL.slice(HOSTS / 2);
  const [setA, setB] = [new Set(addrsOf(A)), new Set(addrsOf(B))];
  lab.partition(A, B);
  // Wait until no active link crosses the cut (heartbeats expired), and each side is connected.
  await waitUntil(
    async () => {
      const s = await allStates(procs);
      const crossing = s.some((x) => x.neighbors.some((p) => (setA.has(x.address) ? setB.has(p) : setA.has(p))));
      return !crossing && (await connectedAmong(A)) && (await connectedAmong(B));
    },
    20_000,
    async () => `two connected sides without crossing links: ${await describe(ALL)}`,
  );
  const ids: string[] = [];
  for (let k = 0; k < 4; k++) {
    ids.push(await procs[A[k % A.length]].broadcast(k % PER_HOST, `side-A-${k}`));
    ids.push(await procs[B[k % B.length]].broadcast(k % PER_HOST, `side-B-${k}`));
  }
  const idsA = ids.filter((_, i) => i % 2 === 0);
  const idsB = ids.filter((_, i) => i % 2 === 1);
  await waitUntil(
    () => log.missing([...setA], idsA).length + log.missing([...setB], idsB).length === 0,
    10_000,
    'each side delivers its own messages during the partition',
  );
  assert.equal([...setA].reduce((n, a) => n + idsB.filter((id) => log.count(a, id) > 0).length, 0), 0, 'side A saw nothing from side B');
  lab.heal();
  const healedAt = Date.now();
  await waitUntil(() => connectedAmong(ALL), 30_000, async () => `one overlay after the heal: ${await describe(ALL)}`);
  const all = addrsOf(ALL);
  await waitUntil(() => log.missing(all, ids).length === 0, 20_000, () => `all partition messages everywhere: ${log.missing(all, ids).join('; ')}`);
  for (const a of all) for (const id of ids) assert.equal(log.count(a, id), 1, `${a} delivered ${id} exactly once`);
  console.log(`# partition healed and delivered in ${Date.now() - healedAt} ms`);
});

test('a host whose link is cut is detected by its neighbours within the heartbeat timeout', { skip: skip ?? false, timeout: 60_000 }, async () => {
  const victim = HOSTS - 1;
  const dead = new Set(procs[victim].addresses);
  const watchers = (await allStates(procs.filter((_, h) => h !== victim))).filter((s) => s.neighbors.some((p) => dead.has(p)));
  assert.ok(watchers.length >= 1, 'the victim host has neighbours elsewhere');
  const pairs = watchers.flatMap((w) => w.neighbors.filter((p) => dead.has(p)).map((p) => ({ at: w.address, peer: p })));
  const since = Date.now();
  lab.setLink(victim, false);
  const seen = (x: { at: string; peer: string }): DownEvent | undefined => downs.find((d) => d.t >= since && d.node === x.at && d.peer === x.peer);
  await waitUntil(() => pairs.every((x) => seen(x) !== undefined), TIMEOUT_MS + 5000, 'every neighbour of the cut host saw neighborDown');
  for (const x of pairs) {
    const d = seen(x)!;
    const ms = d.t - since;
    assert.equal(d.reason, 'link-failed', `${x.at} saw ${d.reason} for ${x.peer}`);
    assert.ok(ms <= TIMEOUT_MS + MARGIN_MS, `${x.at} detected ${x.peer} after ${ms} ms (timeout ${TIMEOUT_MS} + ${MARGIN_MS})`);
    assert.ok(ms >= EARLIEST_MS, `${x.at} detected ${x.peer} after only ${ms} ms: not by silence`);
  }
  const times = pairs.map((x) => seen(x)!.t - since);
  console.log(`# cut detected by ${pairs.length} links in ${Math.min(...times)}..${Math.max(...times)} ms (timeout ${TIMEOUT_MS} ms)`);
  const rest = ALL.filter((h) => h !== victim);
  await waitUntil(() => connectedAmong(rest), 15_000, async () => `survivors reconnect: ${await describe(rest)}`);
  const id = await procs[1].broadcast(0, 'while-cut');
  await waitUntil(() => log.missing(addrsOf(rest), [id]).length === 0, 10_000, () => log.missing(addrsOf(rest), [id]).join('; '));
});

test('the cut host rejoins the overlay once its link is restored', { skip: skip ?? false, timeout: 60_000 }, async () => {
  const victim = HOSTS - 1;
  // The cut host's two nodes may keep each other as neighbours (same host): healing must not
  // depend on an empty active view.
  lab.setLink(victim, true);
  await waitUntil(() => connectedAmong(ALL), 30_000, async () => `cut host rejoins: ${await describe(ALL)}`);
  const id2 = await procs[victim].broadcast(1, 'after-restore');
  await waitUntil(() => log.missing(addrsOf(ALL), [id2]).length === 0, 10_000, () => log.missing(addrsOf(ALL), [id2]).join('; '));
});

