// End to end: rumor agents (the built CLI), one per network namespace on a bridge. One host
// is cut silently (every packet dropped at its interface: no reset, no answer); every other
// agent must list it `failed`. The rules are removed; every agent must list it `alive` again.
// Needs root and network namespaces: without them this test fails with the reason.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, closeSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { agentArgs, rumorBin, stopAll } from '../../src/cli/cluster.js';
import { LAB_API_TOKEN, NetLab, netnsUnavailable } from './support/netns.js';
import { requirement } from '../support/requirement.js';
import { Poller, type MemberMap } from '../../bench/support/poller.js';
import { ensureBuilt } from '../e2e/helpers.js';

const HOSTS = 4;
const GOSSIP = 7946;
const API = 7373;
const lab = new NetLab();
process.once('exit', () => lab.destroy());
const children: ChildProcess[] = [];
let poller: Poller | null = null;
const logDir = mkdtempSync(join(tmpdir(), 'rumor-agent-silent-'));

after(async () => {
  poller?.close();
  await stopAll(children, 3000);
  lab.destroy();
});

function spawnAgent(i: number): ChildProcess {
  const ip = lab.ips[i];
  const args = agentArgs({ name: `h${i}`, gossipPort: GOSSIP, apiPort: API, join: i === 0 ? [] : [`${lab.ips[0]}:${GOSSIP}`], token: LAB_API_TOKEN, extraArgs: ['--log-level', 'info'] })
    .map((a) => a.replace(`127.0.0.1:${GOSSIP}`, `${ip}:${GOSSIP}`).replace(`127.0.0.1:${API}`, `${ip}:${API}`));
  const fd = openSync(join(logDir, `h${i}.log`), 'a');
  try {
    return NetLab.spawnIn(lab.hosts[i], process.execPath, [rumorBin(), ...args], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

async function lists(who: number[]): Promise<Array<MemberMap | null>> {
  return Promise.all(who.map((i) => poller!.members('rumor', lab.ips[i], API)));
}

async function waitFor(what: string, timeoutMs: number, who: number[], ok: (m: MemberMap) => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Array<MemberMap | null> = [];
  while (Date.now() < deadline) {
    last = await lists(who);
    if (last.every((m) => m !== null && ok(m))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = who.map((i) => `h${i}: ${readFileSync(join(logDir, `h${i}.log`), 'utf8').split('\n').slice(-5).join(' | ')}`).join('\n');
  assert.fail(`${what} within ${timeoutMs} ms; lists: ${JSON.stringify(last)}\nlogs (${logDir}):\n${tail}`);
}

const netns = requirement('network namespaces (root with CAP_SYS_ADMIN and CAP_NET_ADMIN, ip, iptables)', netnsUnavailable());

test('a host cut silently is listed failed by every other agent, and alive again once restored', { ...netns.options, timeout: 120_000 }, async () => {
  netns.check();
  ensureBuilt();
  lab.create(HOSTS, true);
  poller = new Poller(lab.hub);
  const all = Array.from({ length: HOSTS }, (_, i) => i);
  children.push(spawnAgent(0));
  await waitFor('the first agent answers', 20_000, [0], () => true);
  for (let i = 1; i < HOSTS; i++) children.push(spawnAgent(i));
  const allAlive = (m: MemberMap): boolean => all.every((k) => m[`h${k}`] === 'alive');
  await waitFor(`every agent lists all ${HOSTS} alive`, 30_000, all, allAlive);

  const victim = HOSTS - 1;
  const others = all.filter((i) => i !== victim);
  lab.isolate(victim);
  await waitFor(`every other agent lists h${victim} failed`, 30_000, others, (m) => m[`h${victim}`] === 'failed');
  lab.heal();
  await waitFor(`every agent lists h${victim} alive again`, 30_000, all, allAlive);
});
