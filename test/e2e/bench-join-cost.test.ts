/**
 * bench/join-cost.ts: its agents started through the bench spawner by default (`spawn` in the
 * result) or by the bench itself (`--spawn bench`), both reaching a converged fleet; and its
 * `tail` figure: the members last missing from a poll's answer (absent, listed under their
 * address while their meta has not come, or with another status), latest first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { notListed, tailFigures, type MembersReply, type Timeline } from '../../bench/join-cost.js';

const ROOT = new URL('../../', import.meta.url).pathname;

test('tail: each member not listed alive is noted with the poll, the asker and how it was listed; latest first, at most 5', () => {
  const tl: Timeline = { upAt: [10, 20, 30, 40, 50, 60, 70], aliveAtUp: [], nbrsAtUp: [], listedAt: [], lastMissing: [] };
  const gossip = [7000, 7001, 7002, 7003, 7004, 7005, 7006];
  const row = (i: number, status: string, named = true): MembersReply['members'][number] => ({ name: named ? `n${i}` : `127.0.0.1:${gossip[i]}`, addr: `127.0.0.1:${gossip[i]}`, status });
  // Agent 0 at 100 ms: n1 alive, n2 absent, n3 unnamed, n4 suspect, n5 and n6 absent.
  notListed(tl, { members: [row(0, 'alive'), row(1, 'alive'), row(3, 'alive', false), row(4, 'suspect')] }, 7, 0, 100, gossip);
  // Agent 6 at 150 ms: only n2 still absent (n6 is itself).
  notListed(tl, { members: [0, 1, 3, 4, 5, 6].map((i) => row(i, 'alive')) }, 7, 6, 150, gossip);
  assert.equal(tl.lastMissing[0], undefined);
  assert.equal(tl.lastMissing[1], undefined);
  assert.deepEqual(tl.lastMissing[2], { at: 150, by: 6, as: 'absent' });
  assert.deepEqual(tl.lastMissing[3], { at: 100, by: 0, as: 'unnamed' });
  assert.deepEqual(tl.lastMissing[4], { at: 100, by: 0, as: 'suspect' });
  const tail = tailFigures(tl);
  assert.equal(tail.length, 5);
  assert.deepEqual(tail[0], { member: 2, up_ms: 30, last_missing_ms: 150, by: 6, as: 'absent' });
  assert.deepEqual(tail.slice(1).map((t) => t.last_missing_ms), [100, 100, 100, 100]);
  assert.ok(!tail.some((t) => t.member === 0 || t.member === 1), 'members always listed alive are not in the tail');
});

for (const spawn of ['spawner', 'bench'] as const) {
  test(`bench:join-cost --nodes 3 --spawn ${spawn}: a converged fleet, the spawner recorded`, { timeout: 120_000 }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/join-cost.ts', '--nodes', '3', '--spawn', spawn], { cwd: ROOT, encoding: 'utf8', timeout: 110_000 });
    assert.equal(r.status, 0, `exit ${String(r.status)}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`spawned by ${spawn}`));
    const res = JSON.parse(readFileSync(new URL('bench/results/join-cost-3.json', `file://${ROOT}`), 'utf8')) as Record<string, unknown>;
    assert.equal(res.spawn, spawn);
    assert.equal(res.nodes, 3);
    assert.ok(Array.isArray(res.tail));
    assert.equal((res.overlay_after_join as { components: number }).components, 1);
    assert.ok((res.fleet_cpu_joined_ms as number) > 0);
  });
}

test('bench:join-cost: a bad --spawn value is refused with the expected arguments', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/join-cost.ts', '--spawn', 'fork'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--spawn spawner\|bench/);
});
