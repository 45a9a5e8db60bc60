/** `--timeout` and other duration options: one syntax for every verb (src/cli/context.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDuration, UsageError } from '../../src/cli/context.js';

test('parseDuration: ms, s, m and plain milliseconds; bounds and garbage are usage errors naming the flag', () => {
  assert.equal(parseDuration('--timeout', '500ms'), 500);
  assert.equal(parseDuration('--timeout', '5s'), 5000);
  assert.equal(parseDuration('--timeout', '2m'), 120_000);
  assert.equal(parseDuration('--timeout', '2000'), 2000);
  assert.equal(parseDuration('--timeout', ' 3s '), 3000);
  for (const [raw, max] of [['0', undefined], ['soon', undefined], ['-5s', undefined], ['1.5s', undefined], ['11m', undefined], ['3m', 120_000]] as const) {
    assert.throws(() => parseDuration('--timeout', raw, max), (e: unknown) => {
      assert.ok(e instanceof UsageError, `${raw}: a usage error`);
      assert.match((e as Error).message, /^option --timeout: expected a duration of 1ms\.\.(10m|2m) /);
      return true;
    });
  }
});
