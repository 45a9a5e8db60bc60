// Makes sure Debian's `chromium` is installed for the browser tests and benchmark.
// No browser download: it uses the distribution's package (`apt-get install -y chromium`).
// Usage: node scripts/ensure-chromium.mjs   (exit 0 when /usr/bin/chromium is usable)
import { existsSync } from 'node:fs';
import { aptInstall } from './apt.mjs';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Returns null when chromium is available, or a one-line reason why it is not. */
export function ensureChromium() {
  const reason = aptInstall('ensure-chromium', ['chromium'], () => existsSync(CHROMIUM_PATH));
  return reason === null ? null : `apt-get install chromium failed (${reason})`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const reason = ensureChromium();
  if (reason) {
    console.error(`ensure-chromium: cannot provide a browser: ${reason}. Install it by hand: apt-get install -y chromium`);
    process.exit(1);
  }
  console.log(`ensure-chromium: ${CHROMIUM_PATH} is available`);
}
