// Agents (`rumor agent`, the built CLI) on 6 hosts in network namespaces made here, split 3/3
// by iptables DROP rules inside the hosts' namespaces (silence, no reset). What docs/agent.md
// (Membership) and src/proto/members.ts (Limits) say a partition does:
// - a node that had a link across the cut marks that peer `failed` (the link fails, the probe
//   fails), and the news spreads on its side over the links it still has (or gets: a new
//   link starts with a push of the whole table), so linked nodes of a side agree on it;
// - only neighbours detect failures: a member that no node of a side had a link to stays
//   listed `alive` there (and so does any member whose only detector on that side is cut
//   off from the rest of it);
// - no node marks a member of its own side failed; once healed, every agent lists every
//   other `alive` again, those marked failed at a higher incarnation (they refuted it).
// The agents' member tables and neighbours are read from their JSON logs (member-* lines;
// `neighbour up/down` at debug level), so no API has to be reachable from here. Without
// namespace rights this file fails, naming what is missing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NetLab, netnsUnavailable } from './support/netns.js';
import { BIN, ensureBuilt } from '../e2e/helpers.js';
import { requirement } from '../support/requirement.js';
import { waitUntil } from '../support/wait.js';

const netns = requirement('network namespaces (root with CAP_SYS_ADMIN and CAP_NET_ADMIN, ip, iptables)', netnsUnavailable());

const HOSTS = 6;
const PORT = 7946;
const lab = new NetLab();
process.once('exit', () => lab.destroy());
const agents: ChildProcess[] = [];
/** tables[h]: address → status, as agent h logged its member events. */
const tables: Map<string, string>[] = [];
/** incarnations[h]: address → incarnation, from the same lines. */
const incarnations: Map<string, number>[] = [];
/** neighbours[h]: agent h's active view, from its `neighbour up/down` log lines. */
const neighbours: Set<string>[] = [];
/** everLinked[h]: every peer agent h has had in its active view. */
const everLinked: Set<string>[] = [];
/** downReason[h]: peer → why its link last went down (until it comes up again). */
const downReason: Map<string, string>[] = [];
const stderr: string[] = [];

const addr = (h: number): string => `${lab.ips[h]}:${PORT}`;

function onLog(h: number, line: string): void {
  let e: { msg?: string; addr?: string; status?: string; incarnation?: number; peer?: string; reason?: string };
  try {
    e = JSON.parse(line) as typeof e;
  } catch {
    return;
  }
  if (e.msg?.startsWith('member-') && typeof e.addr === 'string' && typeof e.status === 'string') {
    tables[h].set(e.addr, e.status);
    incarnations[h].set(e.addr, e.incarnation ?? -1);
  }
  else if (e.msg === 'neighbour up' && typeof e.peer === 'string') {
    neighbours[h].add(e.peer);
    everLinked[h].add(e.peer);
    downReason[h].delete(e.peer);
  } else if (e.msg === 'neighbour down' && typeof e.peer === 'string') {
    neighbours[h].delete(e.peer);
    downReason[h].set(e.peer, e.reason ?? '?');
  }
}

function startAgent(h: number): void {
  const args = [BIN, 'agent', '--name', `host${h}`, '--bind', addr(h), '--api-addr', '127.0.0.1:7373', '--profile', 'local', '--log-level', 'debug'];
  if (h > 0) args.push('--join', addr(0));
  const child = spawn('ip', ['netns', 'exec', lab.hosts[h], process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  tables[h] = new Map();
  incarnations[h] = new Map();
  neighbours[h] = new Set();
  everLinked[h] = new Set();
  downReason[h] = new Map();
  createInterface({ input: child.stdout! }).on('line', (l) => onLog(h, l));
  child.stderr!.on('data', (b: Buffer) => stderr.push(`host${h}: ${b.toString()}`));
  agents.push(child);
}

/** Hosts in `of` whose table does not list every host of `peers` with `status`. */
function missing(of: number[], peers: number[], status: string): string[] {
  const out: string[] = [];
  for (const h of of) {
    const wrong = peers.filter((p) => p !== h && tables[h].get(addr(p)) !== status);
    if (wrong.length > 0) out.push(`host${h} lists ${wrong.map((p) => `host${p}=${tables[h].get(addr(p)) ?? 'absent'}`).join(',')}`);
  }
  return out;
}

const ALL = Array.from({ length: HOSTS }, (_, i) => i);
const A = ALL.slice(0, HOSTS / 2);
const B = ALL.slice(HOSTS / 2);

before(async () => {
  if (!netns.ok) return; // the test fails (or is skipped) with the reason
  ensureBuilt(); // npm run prepare when src/ is newer than dist/: bounded by this hook's timeout
  lab.create(HOSTS);
  for (let h = 0; h < HOSTS; h++) startAgent(h); // the joiners retry until host0 listens
  await waitUntil(() => missing(ALL, ALL, 'alive').length === 0, 30_000, () => `every agent to list the others alive: ${missing(ALL, ALL, 'alive').join('; ')} ${stderr.join('')}`);
}, { timeout: 300_000 });

after(() => {
  for (const c of agents) c.kill('SIGKILL'); // ip netns exec execs node: the pid is the agent's
  lab.destroy();
});

/** Every agent's active view, for failure messages. */
function views(): string {
  return ALL.map((h) => `host${h}→[${[...neighbours[h]].map((a) => `host${hostOf(a)}`).join(',')}]`).join(' ');
}

const sideOf = (h: number): number[] => (A.includes(h) ? A : B);
const otherOf = (h: number): number[] => (A.includes(h) ? B : A);
const hostOf = (a: string): number => lab.ips.indexOf(a.split(':')[0]);

/** Members of the other side that `h` lists failed. */
function failedAt(h: number): string {
  return otherOf(h)
    .filter((p) => tables[h].get(addr(p)) === 'failed')
    .join(',');
}

/** Same-side links whose ends disagree about which members of the other side failed. */
function disagreeing(): string[] {
  const out: string[] = [];
  for (const h of ALL) {
    for (const n of [...neighbours[h]].map(hostOf)) {
      if (sideOf(h).includes(n) && failedAt(h) !== failedAt(n)) out.push(`host${h} [${failedAt(h)}] vs host${n} [${failedAt(n)}]`);
    }
  }
  return out;
}

test('a 3/3 partition: linked peers across the cut are marked failed and the news spreads on each side; own side stays alive; healed, all are alive', { timeout: 120_000, ...netns.options }, async () => {
  netns.check();
  // Cross links at the cut, per node (logged views are complete once every agent lists all alive).
  const cross = ALL.map((h) => otherOf(h).filter((p) => neighbours[h].has(addr(p))));
  assert.ok(cross.some((c) => c.length > 0), 'the overlay is connected: some link crosses the cut');
  const atCut = views();
  lab.partition(A, B);
  // A link that went down gracefully (evicted, disconnected) before the rules took effect is
  // no failure: no probe follows, so it is not expected.
  const failedLink = (h: number, p: number): boolean => ['link-failed', undefined].includes(downReason[h].get(addr(p)));
  const undetected = (): string[] =>
    ALL.flatMap((h) => cross[h].filter((p) => failedLink(h, p) && tables[h].get(addr(p)) !== 'failed').map((p) => `host${h} lists host${p}=${tables[h].get(addr(p))}`));
  await waitUntil(() => undetected().length === 0, 30_000, () => `every node to list failed the peers it was linked to across the cut: ${undetected().join('; ')}; views at the cut: ${atCut}`);
  await waitUntil(() => disagreeing().length === 0, 30_000, () => `linked nodes of a side to agree on the failed members of the other: ${disagreeing().join('; ')}; views: ${views()}`);
  assert.deepEqual([...missing(A, A, 'alive'), ...missing(B, B, 'alive')], [], 'each side keeps its own members alive');
  // A link made across the cut after the snapshot (and before the DROP rules) also counts.
  const never = (side: number[], other: number[]): number[] => side.filter((p) => !other.some((h) => everLinked[h].has(addr(p))));
  assert.deepEqual([...missing(A, never(B, A), 'alive'), ...missing(B, never(A, B), 'alive')], [], `members nobody on the other side was linked to stay listed alive there (views at the cut: ${atCut})`);
  const marked = ALL.flatMap((h) => ALL.filter((p) => tables[h].get(addr(p)) === 'failed').map((p) => [h, p] as const));
  assert.ok(marked.length > 0);
  lab.heal();
  await waitUntil(() => missing(ALL, ALL, 'alive').length === 0, 60_000, () => `every agent to list every other alive after the heal: ${missing(ALL, ALL, 'alive').join('; ')}; views: ${views()}`);
  // Alive again by refutation: where a member was marked failed (at incarnation 0), it is
  // back with a higher incarnation (its member-join line carries it).
  const notRefuted = marked.filter(([h, p]) => (incarnations[h].get(addr(p)) ?? 0) < 1).map(([h, p]) => `host${h} has host${p}@${incarnations[h].get(addr(p))}`);
  assert.deepEqual(notRefuted, [], 'members marked failed were refuted with a higher incarnation');
});
