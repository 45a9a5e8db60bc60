// Multi-host tests in Linux network namespaces (made here, removed in `after`): 6 hosts on a
// bridge, one node process with 2 nodes per host. (a) a host whose link is cut silently is
// detected by its neighbours by heartbeat timeout (silence, not a reset); (b) a 50/50 partition
// with messages published on both sides heals into one overlay that delivers every message
// everywhere; (c) a cut host rejoins once its link is restored.
//
// They need root (CAP_SYS_ADMIN, CAP_NET_ADMIN), `ip` and `iptables`: without them each test
// fails with the reason (or is skipped, listed by name, with RUMOR_TEST_ALLOW_SKIP=1).
// Detection *latency* under no load is a benchmark figure (bench/detect.ts), not asserted here:
// 12 nodes on a loaded 2-core machine cannot promise a tight window.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROFILES, type NodeOptions } from '../../src/index.js';
import { NetLab, netnsUnavailable } from './support/netns.js';
import { DeliveryLog, NodeProc, allStates, components, overlayConnected, waitUntil, type DownEvent, type ProcEvent } from './support/procs.js';
import { requirement } from '../support/requirement.js';

const netns = requirement('network namespaces (root with CAP_SYS_ADMIN and CAP_NET_ADMIN, ip, iptables)', netnsUnavailable());

const HOSTS = 6;
const PER_HOST = 2;
const OPTIONS: NodeOptions = { profile: 'local' };
const TIMEOUT_MS = PROFILES.local.net.heartbeatTimeoutMs;
/** Bound on detecting a silent cut: the timeout plus room for a loaded machine (ticks delayed,
 *  12 processes on 2 cores). A bound, not a latency figure. */
const DETECT_BOUND_MS = TIMEOUT_MS + 10_000;
const VICTIM = HOSTS - 1;

const lab = new NetLab();
// Last resort if the runner dies before `after` (e.g. Ctrl-C): never leave namespaces behind.
process.once('exit', () => lab.destroy());
const procs: NodeProc[] = [];
const log = new DeliveryLog();
const downs: DownEvent[] = [];

/** When a node last reported a neighbour up or down (this process's clock). */
let lastViewChange = Date.now();
const sink = (e: ProcEvent): void => {
  if (e.ev === 'msg') log.record(e);
  else {
    lastViewChange = Date.now();
    if (e.ev === 'down') downs.push(e);
  }
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
  if (!netns.ok) return;
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

test('a 50/50 partition heals: one overlay again, every message published during it delivered everywhere', { ...netns.options, timeout: 90_000 }, async () => {
  netns.check();
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

/** Closes counted by every node of the live processes, by address and reason. */
async function timeoutCloses(): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  for (const p of procs.filter((x) => !x.exited)) {
    for (let k = 0; k < p.addresses.length; k++) {
      const st = await p.request<{ closes: Record<string, number> }>('stats', { node: k });
      out.set(p.addresses[k], { ...st.closes });
    }
  }
  return out;
}

/** Cut `victim`'s link and wait until none of the others lists it as a neighbour; returns the
 *  neighbour links it had, when they went down, and the timeout closes at each watcher. */
async function cutAndWaitDetected(victim: number): Promise<{ pairs: { at: string; peer: string; down: DownEvent }[]; closes: Map<string, Record<string, number>> }> {
  const dead = new Set(procs[victim].addresses);
  const others = ALL.filter((h) => h !== victim);
  await waitUntil(() => connectedAmong(ALL), 30_000, async () => `a connected overlay before the cut: ${await describe(ALL)}`);
  // And a quiet one: no neighbour change for 1 s (the previous test's heal still reshuffles
  // views for a while, and a full view taking a new member evicts a random one, often the only
  // non-seed member: the links to the victim must go down because of the cut).
  await waitUntil(() => Date.now() - lastViewChange >= 1000, 20_000, () => `1 s without a neighbour change before the cut (last ${Date.now() - lastViewChange} ms ago)`);
  const before = await timeoutCloses();
  // The links to the victim, read just before the cut (a link replaced in between would be
  // reported by name when its neighborDown never comes).
  const watchers = (await allStates(others.map((h) => procs[h]))).filter((s) => s.neighbors.some((p) => dead.has(p)));
  assert.ok(watchers.length >= 1, 'the victim host has neighbours elsewhere');
  const links = watchers.flatMap((w) => w.neighbors.filter((p) => dead.has(p)).map((p) => ({ at: w.address, peer: p })));
  const since = Date.now();
  lab.setLink(victim, false);
  const seen = (x: { at: string; peer: string }): DownEvent | undefined => downs.find((d) => d.t >= since && d.node === x.at && d.peer === x.peer);
  await waitUntil(() => links.every((x) => seen(x) !== undefined), DETECT_BOUND_MS, () => `neighborDown for every link to the cut host: ${links.filter((x) => !seen(x)).map((x) => `${x.at}→${x.peer}`).join(', ')}`);
  const after = await timeoutCloses();
  const delta = (a: string, n: Record<string, number>): Record<string, number> =>
    Object.fromEntries(Object.entries(n).map(([r, c]) => [r, c - (before.get(a)?.[r] ?? 0)]).filter(([, c]) => c !== 0));
  const closes = new Map([...after].map(([a, n]) => [a, delta(a, n)]));
  return { pairs: links.map((x) => ({ ...x, down: seen(x)! })), closes };
}

test('a host whose link is cut is detected by its neighbours, by heartbeat timeout (silence, not a reset)', { ...netns.options, timeout: 60_000 }, async () => {
  netns.check();
  const { pairs, closes } = await cutAndWaitDetected(VICTIM);
  try {
    // Each link to the cut host goes down as `link-failed`, or as `evicted` when the watcher's
    // full active view took a high-priority NEIGHBOR or a JOIN first (HyParView drops a random
    // member for it, and the silent one is still a member until its timeout; seen about 1 s
    // before the first timeout, from maintenance still going on after the previous test's
    // heal). Detection itself is what is tested: at least one link is `link-failed`.
    for (const x of pairs) assert.ok(x.down.reason === 'link-failed' || x.down.reason === 'evicted', `${x.at} saw ${x.down.reason} for ${x.peer}`);
    const failed = pairs.filter((x) => x.down.reason === 'link-failed');
    assert.ok(failed.length >= 1, `no link to the cut host detected as failed: ${JSON.stringify(pairs)}`);
    // Each watcher closed its failed links to the cut host because nothing arrived in time: the
    // heartbeat timeout on an open link, or the connect/handshake timeout on one being (re)made
    // when the cut came (a link the watcher had just taken from its passive view; seen in 2 of 4
    // runs). Those are the runtime's close reasons for silence; a reset would be counted otherwise.
    const SILENCE = ['heartbeat-timeout', 'connect-timeout', 'handshake-timeout'];
    const perWatcher = new Map<string, number>();
    for (const x of failed) perWatcher.set(x.at, (perWatcher.get(x.at) ?? 0) + 1);
    for (const [at, n] of perWatcher) {
      const got = SILENCE.reduce((sum, r) => sum + (closes.get(at)?.[r] ?? 0), 0);
      assert.ok(got >= n, `${at} closed ${got} links by a timeout (${SILENCE.join(', ')}), expected ≥ ${n} (closes since the cut: ${JSON.stringify(closes.get(at))}; links: ${JSON.stringify(pairs)})`);
    }
    const rest = ALL.filter((h) => h !== VICTIM);
    await waitUntil(() => connectedAmong(rest), 15_000, async () => `survivors reconnect: ${await describe(rest)}`);
    const id = await procs[1].broadcast(0, 'while-cut');
    await waitUntil(() => log.missing(addrsOf(rest), [id]).length === 0, 10_000, () => log.missing(addrsOf(rest), [id]).join('; '));
  } finally {
    lab.setLink(VICTIM, true);
  }
});

test('a cut host rejoins the overlay once its link is restored', { ...netns.options, timeout: 90_000 }, async () => {
  netns.check();
  // Self-contained: cut the link here, wait until the others noticed, then restore it.
  const victim = 2;
  const dead = new Set(procs[victim].addresses);
  const others = ALL.filter((h) => h !== victim);
  try {
    await cutAndWaitDetected(victim);
    await waitUntil(async () => !(await allStates(others.map((h) => procs[h]))).some((s) => s.neighbors.some((p) => dead.has(p))), 15_000, 'no survivor lists the cut host as a neighbour');
  } finally {
    lab.setLink(victim, true);
  }
  // The cut host's two nodes may keep each other as neighbours (same host): healing must not
  // depend on an empty active view.
  await waitUntil(() => connectedAmong(ALL), 30_000, async () => `cut host rejoins: ${await describe(ALL)}`);
  const id2 = await procs[victim].broadcast(1, 'after-restore');
  await waitUntil(() => log.missing(addrsOf(ALL), [id2]).length === 0, 10_000, () => log.missing(addrsOf(ALL), [id2]).join('; '));
});
