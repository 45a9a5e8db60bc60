/**
 * Shared setup of the browser tests and benchmark: make sure Debian's chromium is installed
 * (scripts/ensure-chromium.mjs, no browser download), build the web app if missing or stale,
 * serve it from 127.0.0.1 with `rumor ui`'s own static server, and launch headless Chromium
 * through playwright-core with a fresh profile.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { ensureWebBuild, packageRoot, startStaticServer, type StaticServer } from '../../src/cli/ui.js';

export const CHROMIUM = '/usr/bin/chromium';

export interface Harness {
  server: StaticServer;
  context: BrowserContext;
  close(): Promise<void>;
}

export function ensureChromium(): void {
  const reason = chromiumUnavailable();
  if (reason !== null) throw new Error(reason);
}

/** Null when chromium is usable (installing it if missing, scripts/ensure-chromium.mjs), else why not. */
export function chromiumUnavailable(): string | null {
  const r = spawnSync(process.execPath, [join(packageRoot(), 'scripts', 'ensure-chromium.mjs')], { encoding: 'utf8' });
  if (r.status === 0) return null;
  const said = `${r.stderr ?? ''}`.trim().split('\n').pop() ?? '';
  return `chromium is not available and could not be installed: ${said || r.error?.message || `exit ${r.status}`}`;
}

export async function openHarness(): Promise<Harness> {
  ensureChromium();
  const dir = await ensureWebBuild();
  const server = await startStaticServer(dir, 0);
  const profile = mkdtempSync(join(tmpdir(), 'rumor-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    acceptDownloads: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    server,
    context,
    async close() {
      await context.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
