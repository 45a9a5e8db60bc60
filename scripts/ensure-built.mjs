// Builds the CLI (`npm run prepare`: tsc into dist/src, then scripts/bundle.mjs into
// dist/rumor.cjs) when either output is missing or older than the newest file of src/ (or the
// build's own inputs). scripts/test.mjs runs it once before any test file that needs the built
// CLI, so test files running in parallel never race two builds into dist/; the tests' own
// `ensureBuilt()` (test/e2e/helpers.ts) runs it too, for a file started on its own.
//
// Usage: node scripts/ensure-built.mjs   (exit 0 when dist/ is fresh or was rebuilt)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUTPUTS = [join(ROOT, 'dist', 'src', 'cli', 'main.js'), join(ROOT, 'dist', 'rumor.cjs')];
const INPUTS = [join(ROOT, 'scripts', 'bundle.mjs'), join(ROOT, 'tsconfig.build.json'), join(ROOT, 'package.json')];

function newestMtime(dir) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return max;
}

/** Why dist/ must be rebuilt, or null when it is fresh. */
export function staleReason() {
  const newest = Math.max(newestMtime(join(ROOT, 'src')), ...INPUTS.map((f) => statSync(f).mtimeMs));
  for (const out of OUTPUTS) {
    if (!existsSync(out)) return `${out} is missing`;
    if (statSync(out).mtimeMs < newest) return `${out} is older than its sources`;
  }
  return null;
}

/** Build when stale; returns `{ ok: true, built }` or `{ ok: false, reason }`. */
export function ensureBuilt() {
  const why = staleReason();
  if (why === null) return { ok: true, built: false };
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', '--silent', 'prepare'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, reason: `npm run prepare (${why}) failed with ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}` };
  return { ok: true, built: true };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = ensureBuilt();
  if (!r.ok) {
    console.error(r.reason);
    process.exit(1);
  }
}
