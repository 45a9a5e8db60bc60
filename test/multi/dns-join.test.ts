/**
 * Across machines: four agents (`rumor agent`, the built CLI) on four hosts, each in its own
 * network namespace on one bridge (support/netns.ts), all joining through one DNS name that
 * resolves to several hosts' addresses (a hosts file per namespace, as a round-robin record or
 * a Kubernetes headless Service would). Then one host's link is cut at the bridge (silence, no
 * RST): every other agent must list it `failed`; the link is restored: every agent must list
 * all four `alive` again.
 *
 * Needs root (network namespaces): without them the test fails with the reason, it never skips.
 * Each agent's API listens on its namespace's loopback; the test reads it from inside the
 * namespace (`ip netns exec … bash`, /dev/tcp), so nothing is added to the root namespace.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { stopAll } from '../../src/cli/cluster.js';
import { BIN, ensureBuilt } from '../e2e/helpers.js';
import { NetLab, netnsUnavailable } from './support/netns.js';
import { requirement } from '../support/requirement.js';

const HOSTS = 4;
const SEEDS = 'seeds.rumor.test';
const GOSSIP_PORT = 7946;
const API = '127.0.0.1:7373';
/** Bounds: join of 4 agents, failure detection (lan: heartbeat timeout 2.9 s, then a probe), recovery. */
const JOIN_MS = 30_000;
const DETECT_MS = 30_000;
const RECOVER_MS = 60_000;

const netns = requirement('network namespaces (root with CAP_SYS_ADMIN and CAP_NET_ADMIN, ip, iptables)', netnsUnavailable());
const lab = new NetLab();
process.once('exit', () => lab.destroy());
const agents: ChildProcess[] = [];
const stderr: string[] = [];

/** `GET path` on the agent API inside host `h`'s namespace; undefined when it does not answer 200. */
function apiGet(h: number, path: string): unknown {
  const script = `exec 3<>/dev/tcp/${API.replace(':', '/')} && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 3 cat <&3`;
  const r = spawnSync('ip', ['netns', 'exec', lab.hosts[h], 'bash', '-c', script], { encoding: 'utf8', timeout: 5000 });
  const [head, body] = [r.stdout.slice(0, r.stdout.indexOf('\r\n')), r.stdout.slice(r.stdout.indexOf('\r\n\r\n') + 4)];
  if (r.status !== 0 || !/ 200 /.test(head)) return undefined;
  return JSON.parse(body);
}

/** Status of every member host `h` lists, by name; undefined when its API does not answer. */
function statuses(h: number): Map<string, string> | undefined {
  const r = apiGet(h, '/v1/members') as { members: { name: string; status: string }[] } | undefined;
  return r && new Map(r.members.map((m) => [m.name, m.status]));
}

/** Poll `check` every 250 ms until it returns true; fail with `what` and the last views after `ms`. */
async function until(what: string, ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  const views = lab.hosts.map((_, h) => `h${h}: ${JSON.stringify([...(statuses(h) ?? new Map()).entries()])}`).join('\n');
  assert.fail(`${what}: not within ${ms} ms\n${views}\nagent stderr:\n${stderr.join('')}`);
}

const allAlive = (h: number): boolean => {
  const s = statuses(h);
  return s !== undefined && s.size === HOSTS && [...s.values()].every((x) => x === 'alive');
};

before(() => {
  if (!netns.ok) return;
  ensureBuilt();
  lab.create(HOSTS);
  // The name lists three hosts' addresses: the agents find each other through any of them.
  lab.resolveName(SEEDS, lab.ips.slice(0, 3));
});

after(async () => {
  await stopAll(agents);
  lab.destroy();
});

test('agents in 4 network namespaces join by a DNS name; a cut host is seen failed, then alive again', { ...netns.options, timeout: 180_000 }, async () => {
  netns.check();
  // The lab resolves the name to several addresses, as Node sees it inside a namespace.
  const lookup = spawnSync('ip', ['netns', 'exec', lab.hosts[3], process.execPath, '-e', `require('dns').lookup(${JSON.stringify(SEEDS)}, { all: true }, (e, a) => console.log(JSON.stringify(e ? e.code : a.map((x) => x.address))))`], { encoding: 'utf8' });
  assert.deepEqual((JSON.parse(lookup.stdout) as string[]).sort(), lab.ips.slice(0, 3).sort(), "getaddrinfo (RFC 6724) orders them its own way");

  for (let h = 0; h < HOSTS; h++) {
    const args = ['netns', 'exec', lab.hosts[h], process.execPath, BIN, 'agent', '--name', `h${h}`, '--bind', `${lab.ips[h]}:${GOSSIP_PORT}`, '--api-addr', API, '--join', `${SEEDS}:${GOSSIP_PORT}`, '--log-level', 'warn'];
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => stderr.push(`[h${h}] ${d.toString()}`));
    agents.push(child);
  }
  await until('every agent lists 4 alive members', JOIN_MS, () => lab.hosts.every((_, h) => allAlive(h)));

  const CUT = 3;
  lab.setLink(CUT, false);
  await until(`every other agent lists h${CUT} failed`, DETECT_MS, () =>
    [0, 1, 2].every((h) => statuses(h)?.get(`h${CUT}`) === 'failed'),
  );
  lab.setLink(CUT, true);
  await until(`every agent lists 4 alive members again after h${CUT}'s link is restored`, RECOVER_MS, () => lab.hosts.every((_, h) => allAlive(h)));
});
