// The user-event clock file (src/agent/event-clock.ts): a fixed-width record rewritten in place,
// lazily while running, synchronously on close; a bad file is a reason, never an exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EVENT_CLOCK_FILE, EVENT_CLOCK_WRITE_GAP_MS, EventClockWriter, openEventClock, readEventClock } from '../../src/agent/event-clock.js';
import { waitUntil } from '../support/wait.js';

const dir = (): string => mkdtempSync(join(tmpdir(), 'rumor-evclock-'));
const raw = (d: string): string => readFileSync(join(d, EVENT_CLOCK_FILE), 'latin1');

test('read: no file is 0; a good record is its value; a bad one is a reason naming the file', () => {
  const d = dir();
  assert.deepEqual(readEventClock(d), { ok: true, ltime: 0 });
  writeFileSync(join(d, EVENT_CLOCK_FILE), '0000000000000042\n');
  assert.deepEqual(readEventClock(d), { ok: true, ltime: 42 });
  for (const bad of ['42\n', '00000000000000x2\n', '', '0000000000000042', '9999999999999999\n']) {
    writeFileSync(join(d, EVENT_CLOCK_FILE), bad);
    const r = readEventClock(d);
    assert.equal(r.ok, false, `${JSON.stringify(bad)} is refused`);
    if (!r.ok) assert.ok(r.reason.includes(EVENT_CLOCK_FILE), r.reason);
  }
});

test('writer: opens with the given clock, writes advances within the gap (never lower), and close writes the last one', { timeout: 10_000 }, async () => {
  const d = dir();
  const errors: Error[] = [];
  const w = EventClockWriter.open(d, 7, (e) => errors.push(e));
  assert.ok(!('error' in w));
  assert.equal(raw(d), '0000000000000007\n', 'the starting clock is written at open');
  w.advance(9);
  w.advance(8); // lower than what is wanted: ignored
  await waitUntil(() => readEventClock(d).ok && (readEventClock(d) as { ltime: number }).ltime === 9, 5000, 'the advance to 9 written');
  w.advance(10);
  w.advance(11);
  assert.equal(raw(d), '0000000000000009\n', 'written later, off the event path, not inside advance()');
  await waitUntil(() => raw(d) === '0000000000000011\n', 5000, 'the advance to 11 written');
  w.advance(12);
  w.close();
  assert.equal(raw(d), '0000000000000012\n', 'close writes the pending value at once');
  w.advance(13);
  await new Promise((r) => setTimeout(r, EVENT_CLOCK_WRITE_GAP_MS + 100));
  assert.equal(raw(d), '0000000000000012\n', 'nothing written after close');
  assert.deepEqual(errors, []);
});

test('writer: a directory that cannot hold the file is a reason, not an exception', () => {
  const d = dir();
  writeFileSync(join(d, 'file'), 'x');
  const w = EventClockWriter.open(join(d, 'file', 'sub'), 1, () => undefined);
  assert.ok('error' in w);
  assert.match(w.error, /cannot open: (ENOTDIR|EEXIST)/);
});

test('start: the larger of the file\'s clock and the snapshot\'s; a corrupt file is logged and the snapshot\'s used', () => {
  const lines: string[] = [];
  const log = { warn: (_o: object, m: string) => void lines.push(`warn ${m}`), error: (_o: object, m: string) => void lines.push(`error ${m}`) };
  assert.deepEqual(openEventClock(undefined, 5, log), { ltime: 5, writer: null }, 'no data dir: the snapshot\'s clock, no file');
  const d = dir();
  writeFileSync(join(d, EVENT_CLOCK_FILE), '0000000000000009\n');
  const a = openEventClock(d, 5, log);
  assert.equal(a.ltime, 9);
  a.writer?.close();
  const b = openEventClock(d, 12, log);
  assert.equal(b.ltime, 12);
  b.writer?.close();
  assert.equal(raw(d), '0000000000000012\n');
  writeFileSync(join(d, EVENT_CLOCK_FILE), 'garbage, longer than one record');
  const c = openEventClock(d, 3, log);
  assert.equal(c.ltime, 3);
  assert.ok(c.writer !== null, 'the file is rewritten');
  c.writer?.close();
  assert.equal(raw(d), '0000000000000003\n');
  assert.deepEqual(lines, ["warn event clock file ignored: using the snapshot's"]);
});
