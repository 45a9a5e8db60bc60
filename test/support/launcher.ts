// Builds dist/rumor-launcher for the tests that run it, when it is missing or older than any of
// its C sources (launcher.c includes launcher-answer.c); a failed build fails the caller's tests
// with the compiler's reason (scripts/build-launcher.mjs --require), it never skips them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { nativeLauncherPath } from '../../src/agent/spawn-helper.js';

const SOURCES = ['launcher.c', 'launcher-answer.c'].map((f) => new URL(`../../src/agent/${f}`, import.meta.url).pathname);

export function ensureNativeLauncher(): void {
  const bin = nativeLauncherPath();
  if (bin !== null && SOURCES.every((src) => statSync(bin).mtimeMs >= statSync(src).mtimeMs)) return;
  const r = spawnSync(process.execPath, [new URL('../../scripts/build-launcher.mjs', import.meta.url).pathname, '--require'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `dist/rumor-launcher could not be built: ${r.stderr}`);
}
