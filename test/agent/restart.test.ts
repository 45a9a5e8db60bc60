// Agents in this process, on loopback: what docs/agent.md promises about restarts and joins.
// - The first incarnation is one above the one saved in `dataDir`, and at least the seconds
//   since the epoch; a restart with `dataDir` reuses the saved name, so its `alive` beats the
//   `failed` record of the previous run.
// - Without it, a restarted node learns its old (`failed`) record from the cluster and
//   refutes it with a higher incarnation.
// - `join` is retried until it works: first retry after 150 ms, the delay doubling.
// - Restart without `join`: the snapshot in `dataDir` (peers, clocks, tags) brings the agent
//   back into the cluster, keeps its runtime tags, and an event from before the restart is not
//   delivered again; a corrupt snapshot is logged and ignored; after a graceful leave the
//   snapshot's peers are not rejoined unless rejoinAfterLeave.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, EVENT_CHANNEL, JOIN_WAIT_FIRST_MS } from '../../src/agent/agent.js';
import { encodeUserEvent } from '../../src/agent/user-event.js';
import { SNAPSHOT_FILE } from '../../src/agent/snapshot.js';
import { readEventClock } from '../../src/agent/event-clock.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { createLogger } from '../../src/agent/log.js';
import { freePort } from '../../src/cli/cluster.js';
import { waitUntil } from '../support/wait.js';

const agents: Agent[] = [];
after(async () => {
  await Promise.all(agents.map((a) => a.shutdown()));
});

/** Start an agent (profile `local`, API on a free port); `lines` receives its JSON log lines. */
async function startAgent(flags: Record<string, unknown>, lines: string[] = []): Promise<Agent> {
  const r = resolveAgentConfig({ flags: { bind: '127.0.0.1:0', apiAddr: '127.0.0.1:0', profile: 'local', ...flags }, isTTY: false });
  if (!r.ok) throw new Error(r.reason);
  const a = await Agent.start(r.config, { logger: createLogger({ level: 'info', format: 'json', destination: { write: (s: string) => lines.push(s) } }) });
  agents.push(a);
  return a;
}

function statusAt(a: Agent, addr: string): string {
  const m = a.members().find((x) => x.addr === addr);
  return m === undefined ? 'absent' : `${m.status}@${m.incarnation}`;
}

/** Stop `b` abruptly and wait until `seed` lists it failed. */
async function crash(b: Agent, seed: Agent): Promise<string> {
  const addr = b.node.address;
  await b.shutdown();
  await waitUntil(() => statusAt(seed, addr).startsWith('failed@'), 15_000, () => `the seed to list ${addr} failed (it lists ${statusAt(seed, addr)})`);
  return addr;
}

const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/** Start an agent with `flags`; also the epoch seconds just before and after its start. */
async function startTimed(flags: Record<string, unknown>): Promise<{ a: Agent; t0: number; t1: number }> {
  const t0 = epochSeconds();
  const a = await startAgent(flags);
  return { a, t0, t1: epochSeconds() };
}

const ownIncarnation = (a: Agent): number => a.members().find((m) => m.addr === a.node.address)!.incarnation;
const saved = (dataDir: string): unknown => JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8'));

test('dataDir: a restart keeps the saved name and starts one incarnation above the last, so its alive beats failed', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rumor-datadir-'));
  const seed = await startAgent({ name: 'seed' });
  const first = await startTimed({ name: 'keeper', dataDir, join: [seed.node.address] });
  const b1 = first.a;
  const inc1 = ownIncarnation(b1);
  // Nothing saved yet: the first incarnation is the epoch seconds at the start.
  assert.ok(inc1 >= first.t0 && inc1 <= first.t1, `first incarnation ${inc1}: the epoch seconds of the start (${first.t0}..${first.t1})`);
  await waitUntil(() => statusAt(seed, b1.node.address) === `alive@${inc1}`, 15_000, () => `the seed to list keeper alive@${inc1} (it lists ${statusAt(seed, b1.node.address)})`);
  assert.deepEqual(saved(dataDir), { name: 'keeper', incarnation: inc1 });
  const addr = await crash(b1, seed);
  const failedAt = Number(statusAt(seed, addr).split('@')[1]);

  // Same address and data dir, no name given: the saved name is used, and the incarnation is
  // one above the saved one, or the clock when that is higher (both beat every earlier run's).
  const second = await startTimed({ dataDir, bind: addr, join: [seed.node.address] });
  const b2 = second.a;
  assert.equal(b2.info().name, 'keeper');
  const inc2 = ownIncarnation(b2);
  assert.ok(inc2 >= inc1 + 1, `restart incarnation ${inc2}: above the saved ${inc1}`);
  assert.ok(inc2 === inc1 + 1 || (inc2 >= second.t0 && inc2 <= second.t1), `restart incarnation ${inc2}: one above the saved ${inc1}, or the clock (${second.t0}..${second.t1})`);
  assert.ok(inc2 > failedAt, `restart incarnation ${inc2} above the failed record's ${failedAt}`);
  assert.deepEqual(saved(dataDir), { name: 'keeper', incarnation: inc2 });
  await waitUntil(() => statusAt(seed, addr) === `alive@${inc2}`, 15_000, () => `the seed to list keeper alive@${inc2} (it lists ${statusAt(seed, addr)})`);
  assert.equal(seed.members().find((m) => m.addr === addr)?.name, 'keeper');
});

test('dataDir: a saved incarnation above the clock (a node that refuted often) is the one the next run starts above', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rumor-datadir-'));
  const high = epochSeconds() + 1_000_000;
  writeFileSync(join(dataDir, 'node.json'), JSON.stringify({ name: 'veteran', incarnation: high }) + '\n');
  const a = await startAgent({ dataDir });
  assert.equal(a.info().name, 'veteran');
  assert.equal(ownIncarnation(a), high + 1);
  assert.deepEqual(saved(dataDir), { name: 'veteran', incarnation: high + 1 });
});

test('without dataDir: a restarted node learns its failed record from the cluster and refutes it', { timeout: 60_000 }, async () => {
  const seed = await startAgent({ name: 'seed2' });
  // The first run's incarnation is set above the clock (through its data dir, as after many
  // refutations), so the restart below, which starts at the clock, is below its failed record
  // and must refute it, whatever the timing.
  const dataDir = mkdtempSync(join(tmpdir(), 'rumor-datadir-'));
  const high = epochSeconds() + 1_000_000;
  writeFileSync(join(dataDir, 'node.json'), JSON.stringify({ name: 'phoenix', incarnation: high }) + '\n');
  const b1 = await startAgent({ dataDir, join: [seed.node.address] });
  await waitUntil(() => statusAt(seed, b1.node.address) === `alive@${high + 1}`, 15_000, () => `the seed to list phoenix alive@${high + 1} (it lists ${statusAt(seed, b1.node.address)})`);
  const addr = await crash(b1, seed);
  const failedAt = Number(statusAt(seed, addr).split('@')[1]);
  assert.ok(failedAt >= high + 1, `failed record at ${failedAt}`);

  const { a: b2, t1 } = await startTimed({ name: 'phoenix', bind: addr, join: [seed.node.address] });
  // Without a data dir the start is at the clock, below the failed record (the join may
  // already have brought that record and the refutation, so the first value is not read back):
  // b2 hears "phoenix is failed at incarnation i" and answers alive above i, which the seed takes.
  assert.ok(t1 < failedAt, `the clock (${t1}) is below the failed record ${failedAt}`);
  await waitUntil(() => ownIncarnation(b2) > failedAt, 15_000, () => `phoenix to refute failed@${failedAt} (it is at ${statusAt(b2, addr)})`);
  const refuted = b2.members().find((m) => m.addr === addr)!;
  assert.equal(refuted.status, 'alive');
  await waitUntil(() => statusAt(seed, addr) === `alive@${refuted.incarnation}`, 15_000, () => `the seed to list phoenix alive@${refuted.incarnation} (it lists ${statusAt(seed, addr)})`);
  assert.equal(seed.members().find((m) => m.addr === addr)?.name, 'phoenix');
});

test('join: waits with a doubling bound (2, 4 s, ...) until the seed comes up, logging "still joining", then joined', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const seedAddr = `127.0.0.1:${port}`;
  const lines: string[] = [];
  const b = await startAgent({ name: 'patient', join: [seedAddr] }, lines);
  const waits = (): { attempt: number; waitedMs: number; nextWaitMs: number }[] =>
    lines.map((l) => JSON.parse(l) as { msg: string; attempt: number; waitedMs: number; nextWaitMs: number }).filter((l) => l.msg === 'still joining');
  await waitUntil(() => waits().length >= 2, 20_000, () => `two "still joining" lines logged (got ${JSON.stringify(waits())})`);
  const seed = await startAgent({ name: 'late-seed', bind: seedAddr });
  await waitUntil(() => statusAt(seed, b.node.address).startsWith('alive@') && statusAt(b, seedAddr).startsWith('alive@'), 30_000, () => `the two agents to list each other alive (seed lists ${statusAt(seed, b.node.address)}, patient lists ${statusAt(b, seedAddr)})`);
  const joinedLine = (): { msg: string; attempt?: number } | undefined => lines.map((l) => JSON.parse(l) as { msg: string; attempt?: number }).find((l) => l.msg === 'joined');
  await waitUntil(() => joinedLine() !== undefined, 20_000, () => `a "joined" log line (waits so far: ${JSON.stringify(waits())})`);
  const joined = joinedLine()!;
  const w = waits();
  assert.equal(joined.attempt, w.length + 1, 'joined on the wait after the last "still joining"');
  let total = 0;
  w.forEach((x, i) => {
    total += JOIN_WAIT_FIRST_MS * 2 ** i;
    assert.equal(x.attempt, i + 1);
    assert.equal(x.waitedMs, total, `wait ${i + 1}: ${JOIN_WAIT_FIRST_MS} × 2^${i} ms, ${total} ms in all`);
    assert.equal(x.nextWaitMs, JOIN_WAIT_FIRST_MS * 2 ** (i + 1));
  });
  assert.equal(JOIN_WAIT_FIRST_MS, 2000, 'docs/agent.md: the first wait is 2 s');
});

const logMsgs = (lines: string[]): { msg: string; [k: string]: unknown }[] => lines.map((l) => JSON.parse(l) as { msg: string });

test('restart without --join: rejoins through the snapshot, keeps runtime tags, does not deliver old events again', { timeout: 90_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rumor-snapshot-'));
  const seed = await startAgent({ name: 'snap-seed' });
  const k1 = await startAgent({ name: 'snap-k', dataDir, join: [seed.node.address], tags: ['role=web'] });
  const addr = k1.node.address;
  await waitUntil(() => statusAt(seed, addr).startsWith('alive@') && statusAt(k1, seed.node.address).startsWith('alive@'), 15_000, () => `seed and k to list each other alive (seed lists ${statusAt(seed, addr)})`);
  const res = await fetch(`${k1.apiUrl}/v1/tags`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ set: { zone: 'b' } }) });
  assert.equal(res.status, 200, await res.text());
  seed.event('before', new TextEncoder().encode('x'));
  await waitUntil(() => k1.counters.userEventsReceived === 1, 10_000, () => `k to receive the event (received ${k1.counters.userEventsReceived})`);
  await k1.shutdown();
  const snap = JSON.parse(readFileSync(join(dataDir, SNAPSHOT_FILE), 'utf8')) as { peers: string[]; eventLtime: number; tags: Record<string, string>; left: boolean };
  assert.deepEqual(snap.peers, [seed.node.address]);
  assert.equal(snap.eventLtime, 1);
  assert.deepEqual(snap.tags, { role: 'web', zone: 'b' });
  assert.equal(snap.left, false);
  assert.deepEqual(readEventClock(dataDir), { ok: true, ltime: 1 }, 'the clock file holds the clock too');
  // As after a crash between two snapshot writes: the snapshot's clock lags the clock file's,
  // and the restart must start at the larger (src/agent/event-clock.ts).
  writeFileSync(join(dataDir, SNAPSHOT_FILE), JSON.stringify({ ...snap, eventLtime: 0 }) + '\n');
  await waitUntil(() => statusAt(seed, addr).startsWith('failed@'), 15_000, () => `the seed to list k failed (it lists ${statusAt(seed, addr)})`);

  const lines: string[] = [];
  const k2 = await startAgent({ dataDir, bind: addr }, lines); // no join, no tags
  await waitUntil(() => statusAt(seed, addr) === `alive@${ownIncarnation(k2)}`, 15_000, () => `the seed to list k alive again (it lists ${statusAt(seed, addr)})`);
  assert.ok(logMsgs(lines).some((l) => l.msg === 'snapshot: rejoining through the peers of the previous run'), 'the rejoin is logged');
  await waitUntil(() => seed.apiMembers().find((m) => m.addr === addr)?.tags.zone === 'b', 10_000, () => `the seed to see k's runtime tag zone=b (tags ${JSON.stringify(seed.apiMembers().find((m) => m.addr === addr)?.tags)})`);
  assert.deepEqual(k2.apiMembers().find((m) => m.addr === addr)?.tags, { role: 'web', zone: 'b' });
  // An event at or below the saved clock (as a replay would bring) is not delivered; a new one
  // is. (Other bytes than the first event's: the same bytes have the same message id, which
  // the seed's broadcast layer already saw and would not send again.)
  seed.node.broadcast(encodeUserEvent({ name: 'before', payload: new Uint8Array([121]), ltime: 1 }), { channel: EVENT_CHANNEL });
  seed.event('after', new Uint8Array());
  await waitUntil(() => k2.counters.userEventsReceived === 1, 10_000, () => `k to receive the new event (received ${k2.counters.userEventsReceived}, old ${k2.counters.userEventsBeforeRestart})`);
  // The old event, and the first one too: the seed's broadcast layer offers the restarted
  // node what it sent recently, which is exactly the replay of Serf issue 465.
  await waitUntil(() => k2.counters.userEventsBeforeRestart >= 1, 10_000, () => `k to count the old event as from before the restart (received ${k2.counters.userEventsReceived}, old ${k2.counters.userEventsBeforeRestart})`);
  assert.equal(k2.counters.userEventsReceived, 1, 'no event from before the restart was delivered');
  assert.deepEqual(logMsgs(lines).filter((l) => l.msg === 'user event').map((l) => l.event), ['after']);
});

test('snapshot: a corrupt file is logged and ignored; after a graceful leave the peers are not rejoined unless rejoinAfterLeave', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rumor-snapshot-'));
  writeFileSync(join(dataDir, SNAPSHOT_FILE), '{"version":1,"peers":["not an address"]');
  const lines: string[] = [];
  const a = await startAgent({ name: 'snap-corrupt', dataDir }, lines);
  const ignored = logMsgs(lines).find((l) => l.msg === 'snapshot ignored: starting without it');
  assert.ok(ignored, `a warning about the snapshot (log: ${lines.join('')})`);
  assert.match(String(ignored.reason), /snapshot\.json: not JSON/);
  // The agent runs, and writes a good snapshot over the corrupt one.
  const seed = await startAgent({ name: 'snap-seed2' });
  const b = await startAgent({ name: 'snap-b', join: [seed.node.address, a.node.address] });
  await waitUntil(() => statusAt(a, b.node.address).startsWith('alive@') && statusAt(a, seed.node.address).startsWith('alive@'), 15_000, 'a to list the others alive');
  const addr = a.node.address;
  await a.leave();
  const snap = JSON.parse(readFileSync(join(dataDir, SNAPSHOT_FILE), 'utf8')) as { peers: string[]; left: boolean };
  assert.equal(snap.left, true);
  assert.deepEqual([...snap.peers].sort(), [seed.node.address, b.node.address].sort());
  const lines2: string[] = [];
  const a2 = await startAgent({ dataDir, bind: addr }, lines2);
  assert.ok(logMsgs(lines2).some((l) => l.msg.startsWith('snapshot: the previous run left the cluster, not rejoining')), 'not rejoining is logged');
  assert.equal(a2.members().length, 1, 'alone after a restart that follows a leave');
  await a2.shutdown();
  const lines3: string[] = [];
  const a3 = await startAgent({ dataDir, bind: addr, rejoinAfterLeave: true }, lines3);
  await waitUntil(() => statusAt(seed, addr) === `alive@${ownIncarnation(a3)}`, 15_000, () => `rejoinAfterLeave: the seed to list a alive again (it lists ${statusAt(seed, addr)})`);
});
