// Runs every test file under test/ with Node's own test runner (TypeScript through tsx).
// Usage: node scripts/test.mjs [filter...]   (filters match substrings of the file path)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// The web tests serve the built app; build it once here (only when missing or stale) so two
// test files running in parallel never race two Vite builds into the same folder.
if (files.some((f) => f.split(/[\\/]/).includes('web'))) {
  const b = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', "await (await import('./src/cli/ui.ts')).ensureWebBuild();"],
    { stdio: 'inherit' },
  );
  if (b.status !== 0) {
    console.error('could not build the web app (see above)');
    process.exit(b.status ?? 1);
  }
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
