// Makes dist/rumor.cjs.cache, the V8 code cache bin/rumor.js loads the bundle with, by
// starting one agent on loopback (ports chosen by the system, an event handler configured so
// its code is compiled too) until the agent has written the cache, then stopping it.
// For installs whose dist/ the agent cannot write (the container image, a root-owned
// /opt/rumor under systemd): elsewhere the first agent that runs 2 s writes the cache itself.
// Usage: node scripts/code-cache.mjs        (exit 0 when the cache exists and matches the bundle)
import { spawn } from 'node:child_process';
import { setInterval, clearInterval } from 'node:timers';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(ROOT, 'dist', 'rumor.cjs');
const CACHE = `${BUNDLE}.cache`;
const TIMEOUT_MS = 30_000;

if (!existsSync(BUNDLE)) {
  console.error(`code-cache: ${BUNDLE} is missing: run npm run prepare first`);
  process.exit(1);
}
rmSync(CACHE, { force: true });
const agent = spawn(
  process.execPath,
  [join(ROOT, 'bin', 'rumor.js'), 'agent', '--name', 'code-cache', '--bind', '127.0.0.1:0', '--api-addr', '127.0.0.1:0', '--log-level', 'error', '--event-handler', 'user=true'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
const deadline = Date.now() + TIMEOUT_MS;
const timer = setInterval(() => {
  const done = existsSync(CACHE) && readFileSync(CACHE).length > 1024;
  if (!done && Date.now() < deadline && agent.exitCode === null) return;
  clearInterval(timer);
  agent.kill('SIGTERM');
  if (!done) {
    console.error(`code-cache: the agent wrote no ${CACHE} within ${TIMEOUT_MS / 1000} s${agent.exitCode !== null ? ` (it exited with ${agent.exitCode})` : ''}`);
    process.exitCode = 1;
  }
}, 100);
