// The restart snapshot (src/agent/snapshot.ts): bounded, validated reading (a corrupt file is a
// reason, never an exception), atomic throttled writing, and what a start restores from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAX_SNAPSHOT_BYTES,
  MAX_SNAPSHOT_PEERS,
  SNAPSHOT_FILE,
  SNAPSHOT_MIN_GAP_MS,
  SnapshotWriter,
  readSnapshot,
  rejoinSeeds,
  restoreFrom,
  snapshotPeers,
  writeSnapshot,
  type Snapshot,
} from '../../src/agent/snapshot.js';
import { waitUntil } from '../support/wait.js';

const good = (over: Partial<Snapshot> = {}): Snapshot => ({ version: 1, savedAt: 1, name: 'n1', incarnation: 7, eventLtime: 42, tags: { role: 'web' }, peers: ['127.0.0.1:7001', '[::1]:7002'], left: false, ...over });
const dir = (): string => mkdtempSync(join(tmpdir(), 'rumor-snapunit-'));

test('read: none is null; a written snapshot reads back; corrupt, oversize and malformed ones are reasons', () => {
  const d = dir();
  assert.deepEqual(readSnapshot(d), { ok: true, snapshot: null });
  writeSnapshot(d, good());
  assert.deepEqual(readSnapshot(d), { ok: true, snapshot: good() });
  assert.deepEqual(readdirSync(d), [SNAPSHOT_FILE], 'no temporary file left behind');
  const bad = (text: string): string => {
    writeFileSync(join(d, SNAPSHOT_FILE), text);
    const r = readSnapshot(d);
    assert.equal(r.ok, false, text.slice(0, 80));
    return r.ok ? '' : r.reason.slice(r.reason.indexOf(SNAPSHOT_FILE) + SNAPSHOT_FILE.length + 2);
  };
  assert.equal(bad('{"version":1,'), 'not JSON');
  assert.equal(bad('[]'), 'expected a JSON object');
  assert.equal(bad(JSON.stringify(good({ version: 2 as 1 }))), 'version 2, expected 1');
  assert.equal(bad(JSON.stringify(good({ incarnation: -1 }))), 'incarnation: expected a non-negative integer');
  assert.equal(bad(JSON.stringify(good({ peers: ['nohost'] }))), 'peers: "nohost" is not "host:port"');
  assert.equal(bad(JSON.stringify(good({ peers: Array.from({ length: MAX_SNAPSHOT_PEERS + 1 }, (_, i) => `127.0.0.1:${1000 + i}`) }))), `peers: expected a list of at most ${MAX_SNAPSHOT_PEERS} addresses`);
  assert.equal(bad(JSON.stringify(good({ tags: { a: 1 as unknown as string } }))), 'tags.a: expected a string');
  assert.equal(bad(JSON.stringify(good({ left: 'no' as unknown as boolean }))), 'left: expected true or false');
  assert.match(bad(' '.repeat(MAX_SNAPSHOT_BYTES + 1)), new RegExp(`^${MAX_SNAPSHOT_BYTES + 1} bytes, at most ${MAX_SNAPSHOT_BYTES}$`));
});

test('restore: configured tags override the snapshot, seeds are the configured join then a few snapshot peers; after a leave, none unless rejoinAfterLeave', () => {
  const cfg = { tags: { role: 'db' }, join: ['127.0.0.1:7001'], rejoinAfterLeave: false };
  const r = restoreFrom({ ok: true, snapshot: good({ tags: { role: 'web', zone: 'b' } }) }, cfg);
  assert.deepEqual(r.tags, { role: 'db', zone: 'b' });
  assert.equal(r.incarnation, 7);
  assert.equal(r.eventLtime, 42);
  assert.deepEqual(r.seeds, ['127.0.0.1:7001', '[::1]:7002'], 'a snapshot peer already in join is not repeated');
  const left = restoreFrom({ ok: true, snapshot: good({ left: true }) }, { ...cfg, join: [] });
  assert.deepEqual(left.seeds, []);
  assert.equal(left.eventLtime, 42, 'the clock is kept after a leave too');
  assert.match(left.notes[0].msg, /not rejoining/);
  assert.deepEqual(restoreFrom({ ok: true, snapshot: good({ left: true }) }, { ...cfg, join: [], rejoinAfterLeave: true }).seeds.sort(), ['127.0.0.1:7001', '[::1]:7002']);
  const corrupt = restoreFrom({ ok: false, reason: 'x: not JSON' }, cfg);
  assert.deepEqual([corrupt.tags, corrupt.seeds, corrupt.eventLtime, corrupt.notes[0].level], [{ role: 'db' }, ['127.0.0.1:7001'], 0, 'warn']);
  assert.deepEqual(restoreFrom(null, cfg).notes, []);
  assert.equal(rejoinSeeds(Array.from({ length: 100 }, (_, i) => `127.0.0.1:${2000 + i}`)).length, 16);
});

test('peers saved: up members other than self, longest up first, bounded', () => {
  const ms = [
    { addr: 'a:1', status: 'alive', updatedAt: 30 },
    { addr: 'self:1', status: 'alive', updatedAt: 1 },
    { addr: 'b:1', status: 'suspect', updatedAt: 10 },
    { addr: 'c:1', status: 'failed', updatedAt: 5 },
    { addr: 'd:1', status: 'left', updatedAt: 5 },
  ];
  assert.deepEqual(snapshotPeers(ms, 'self:1'), ['b:1', 'a:1']);
  const many = Array.from({ length: MAX_SNAPSHOT_PEERS + 10 }, (_, i) => ({ addr: `h:${i + 1}`, status: 'alive', updatedAt: i }));
  assert.equal(snapshotPeers(many, 'x:1').length, MAX_SNAPSHOT_PEERS);
});

test('writer: a change is written soon (in the background), the next ones at most every SNAPSHOT_MIN_GAP_MS; flush(left) writes left; an I/O error is reported, not thrown', { timeout: 10_000 }, async () => {
  const d = dir();
  let ltime = 1;
  const errors: string[] = [];
  const w = new SnapshotWriter({ dir: d, take: () => ({ name: 'n', incarnation: 1, eventLtime: ltime, tags: {}, peers: [], left: false }), onError: (e) => errors.push(e.message) });
  const read = (): Snapshot => JSON.parse(readFileSync(join(d, SNAPSHOT_FILE), 'utf8')) as Snapshot;
  w.changed();
  assert.equal(existsSync(join(d, SNAPSHOT_FILE)), false, 'written off the event loop, not inside changed()');
  await w.settled();
  const first = read();
  assert.equal(first.eventLtime, 1);
  ltime = 2;
  w.changed();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(read().eventLtime, 1, 'not before the gap');
  await waitUntil(() => read().eventLtime === 2, 5000, 'the pending change to be written');
  // `savedAt` is taken as each write starts: the second starts at least the gap after the first
  // one finished (the clock, not this test's own sleeps, which a loaded machine stretches).
  const gap = read().savedAt - first.savedAt;
  assert.ok(gap >= SNAPSHOT_MIN_GAP_MS - 2, `second write started ${gap} ms after the first`);
  ltime = 3;
  w.flush(true);
  assert.deepEqual([read().eventLtime, read().left], [3, true]);
  w.changed();
  assert.equal(read().left, true, 'nothing written after flush');
  const blocked = join(d, 'file');
  writeFileSync(blocked, 'x');
  const w2 = new SnapshotWriter({ dir: join(blocked, 'sub'), take: () => ({ name: 'n', incarnation: 1, eventLtime: 1, tags: {}, peers: [], left: false }), onError: (e) => errors.push(e.message) });
  w2.flush();
  assert.equal(errors.length, 1);
  assert.match(errors[0], /ENOTDIR|EEXIST/);
  assert.equal(existsSync(join(blocked, 'sub')), false);
});

test('writer: a burst of changes (a join filling the table) is coalesced: at most one write per SNAPSHOT_MIN_GAP_MS plus the first, the last state written; the directory is made once, again after a failed write', { timeout: 20_000 }, async () => {
  const d = join(dir(), 'data');
  let ltime = 0;
  let takes = 0;
  const errors: string[] = [];
  const w = new SnapshotWriter({
    dir: d,
    take: () => {
      takes++;
      return { name: 'n', incarnation: 1, eventLtime: ltime, tags: {}, peers: [], left: false };
    },
    onError: (e) => errors.push(e.message),
  });
  const read = (): Snapshot => JSON.parse(readFileSync(join(d, SNAPSHOT_FILE), 'utf8')) as Snapshot;
  // 60 changes, one every 25 ms (~1.5 s of a changing table; longer on a loaded machine).
  const started = Date.now();
  for (let i = 1; i <= 60; i++) {
    ltime = i;
    w.changed();
    await new Promise((r) => setTimeout(r, 25));
  }
  const burstMs = Date.now() - started;
  await waitUntil(() => existsSync(join(d, SNAPSHOT_FILE)) && read().eventLtime === 60, 10_000, 'the last change of the burst to be written');
  await w.settled();
  // Each write takes the state once; a write per change would be 60.
  const bound = Math.floor(burstMs / SNAPSHOT_MIN_GAP_MS) + 2;
  assert.ok(takes >= 2 && takes <= bound, `${takes} writes for 60 changes over ${burstMs} ms (expected 2..${bound})`);
  assert.deepEqual(errors, []);
  // The directory removed behind the writer's back: that write fails (reported), the next one
  // makes it again.
  rmSync(d, { recursive: true });
  ltime = 61;
  w.changed();
  await waitUntil(() => errors.length === 1, 10_000, 'the write into the removed directory to fail');
  assert.match(errors[0], /ENOENT/);
  ltime = 62;
  w.changed();
  await waitUntil(() => existsSync(join(d, SNAPSHOT_FILE)) && read().eventLtime === 62, 10_000, 'the directory to be made again and the change written');
  w.flush();
});
