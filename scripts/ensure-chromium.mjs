// Makes sure Debian's `chromium` is installed for the browser tests and benchmark.
// No browser download: it uses the distribution's package (`apt-get install -y chromium`).
// Usage: node scripts/ensure-chromium.mjs   (exit 0 when /usr/bin/chromium is usable)
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export const CHROMIUM_PATH = '/usr/bin/chromium';

function run(cmd, args) {
  console.log(`ensure-chromium: running: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.error) return `${cmd}: ${r.error.message}`;
  if (r.status !== 0) return `${cmd} ${args.join(' ')} exited with status ${r.status}`;
  return null;
}

/** Returns null when chromium is available, or a one-line reason why it is not. */
export function ensureChromium() {
  if (existsSync(CHROMIUM_PATH)) return null;
  console.log(`ensure-chromium: ${CHROMIUM_PATH} is missing; installing Debian's chromium package`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const sudo = uid === 0 ? [] : ['sudo', '-n'];
  const apt = (args) => (sudo.length ? run(sudo[0], [...sudo.slice(1), 'apt-get', ...args]) : run('apt-get', args));
  const e1 = apt(['update']);
  if (e1) return `apt-get update failed (${e1})`;
  const e2 = apt(['install', '-y', '--no-install-recommends', 'chromium']);
  if (e2) return `apt-get install chromium failed (${e2})`;
  if (!existsSync(CHROMIUM_PATH)) return `apt-get finished but ${CHROMIUM_PATH} still does not exist`;
  console.log(`ensure-chromium: installed ${CHROMIUM_PATH}`);
  return null;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reason = ensureChromium();
  if (reason) {
    console.error(`ensure-chromium: cannot provide a browser: ${reason}. Install it by hand: apt-get install -y chromium`);
    process.exit(1);
  }
  console.log(`ensure-chromium: ${CHROMIUM_PATH} is available`);
}
