/**
 * End-to-end: `rumor cluster --nodes 3 --exit-after-demo` (the main job `npm start` runs,
 * shortened) starts 3 agents, shows that every one received the demo events, stops them and
 * exits 0.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ensureBuilt, rumor } from './helpers.js';

before(() => ensureBuilt());

test('rumor cluster --nodes 3 --exit-after-demo: every agent receives the 3 demo events, exit 0', async () => {
  const r = await rumor(['cluster', '--nodes', '3', '--exit-after-demo'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /all 3 agents joined/);
  const rows = r.out.split('\n').filter((l) => /^ {2}n\d /.test(l));
  assert.equal(rows.length, 3, r.out);
  for (const row of rows) {
    for (const ev of ['deploy("v1.2.3")', 'config-reload("feature-x=on")', 'hello("from n3")']) assert.ok(row.includes(ev), `${row} lacks ${ev}`);
  }
  assert.match(r.out, /npx rumor members --api http:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.out, /live dashboard: http:\/\/127\.0\.0\.1:\d+\/ui\//);
  assert.match(r.out, /cluster stopped\n$/);
});
