// Chaos: 20 nodes in 4 processes, 1,000 broadcasts from 4 publishers (one per process), and
// kill -9 of two processes (half the nodes) mid-stream. Every message published by a
// survivor must reach every survivor exactly once (deadline-bounded wait at the end).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeOptions } from '../../src/index.js';
import { DeliveryLog, NodeProc, allStates, overlayConnected, waitUntil, type ProcEvent } from './support/procs.js';

const PROCS = 4;
const PER_PROC = 5;
const TOTAL = 1000;
const KILL_AT = TOTAL / 2;
const OPTIONS: NodeOptions = { profile: 'local' };
const log = new DeliveryLog();
const procs: NodeProc[] = [];
const sink = (e: ProcEvent): void => {
  if (e.ev === 'msg') log.record(e);
};

before(async () => {
  for (let i = 0; i < PROCS; i++) procs.push(new NodeProc(`chaos${i}`, sink));
  const names = (i: number): string[] => Array.from({ length: PER_PROC }, (_, k) => `c${i}n${k}`);
  await Promise.all(procs.map((p, i) => p.start('127.0.0.1', names(i), OPTIONS, [], 7000 + 50 * i)));
  const seeds = [procs[0].addresses[0], procs[1].addresses[0]];
  await procs[0].request('join', { seeds: [], nodes: [0] });
  for (const p of procs) await p.join(seeds);
  await waitUntil(async () => overlayConnected(await allStates(procs)), 20_000, 'connected overlay of 20 nodes');
});

after(async () => {
  await Promise.all(procs.map((p) => p.stop()));
});

test('1,000 broadcasts, half the nodes killed mid-stream: survivors get every survivor message exactly once', { timeout: 90_000 }, async () => {
  const victims = procs.slice(2);
  const survivors = procs.slice(0, 2);
  const published = new Map<number, string[]>(procs.map((_, i) => [i, []]));
  // Publishers take turns; 10 broadcasts per 10 ms tick (~1,000/s offered), replies awaited in batches.
  for (let k = 0; k < TOTAL; k += 10) {
    if (k === KILL_AT) await Promise.all(victims.map((v) => v.kill9()));
    const batch: Array<Promise<void>> = [];
    for (let j = k; j < k + 10; j++) {
      const i = j % PROCS;
      if (procs[i].exited) continue;
      batch.push(procs[i].broadcast(j % PER_PROC, `chaos-${j}`).then((id) => void published.get(i)!.push(id)));
    }
    await Promise.all(batch);
    await new Promise((r) => setTimeout(r, 10));
  }
  const ids = [...published.get(0)!, ...published.get(1)!];
  assert.equal(ids.length, TOTAL / 2, 'survivor publishers published half the stream');
  const alive = survivors.flatMap((p) => p.addresses);
  assert.equal(alive.length, 10);
  await waitUntil(() => log.missing(alive, ids).length === 0, 30_000, () => `survivor messages at every survivor: ${log.missing(alive, ids).join('; ')}`);
  for (const a of alive) for (const id of ids) assert.equal(log.count(a, id), 1, `${a} delivered ${id} exactly once`);
  assert.deepEqual(log.duplicates(), []);
});
