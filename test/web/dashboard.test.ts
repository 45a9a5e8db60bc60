/**
 * The live dashboard in Debian's Chromium (playwright-core) against a real 5-agent cluster
 * (agents as child processes of the built CLI, an API token on every agent): the page asks
 * for the token and refuses a wrong one, lists 5 alive, maps the overlay, shows a user event
 * published from the CLI with its payload, and shows a killed agent failed. One browser
 * launch; screenshots go to test-artifacts/web/dashboard-*.png, and with RUMOR_DOCS_IMG=1 also
 * to docs/img/ (how the README's pictures are made).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { stopAll, waitUntil, type AgentSpec } from '../../src/cli/cluster.js';
import { packageRoot } from '../../src/cli/ui.js';
import { ensureBuilt, rumor } from '../e2e/helpers.js';
import { localSpec, startAgents } from '../support/agents.js';
import { openHarness, type Harness } from './browser-harness.js';

const TOKEN = 'dash-test-token';
const N = 5;
const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'web');
const DOCS_IMG = process.env.RUMOR_DOCS_IMG === '1' ? join(packageRoot(), 'docs', 'img') : null;
const tmp = mkdtempSync(join(tmpdir(), 'rumor-dash-'));
let h: Harness;
let specs: AgentSpec[];
const children: ChildProcess[] = [];
let page: Page;

/** Screenshot into test-artifacts (and docs/img with RUMOR_DOCS_IMG=1). */
async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  if (DOCS_IMG !== null) await page.screenshot({ path: join(DOCS_IMG, `${name}.png`) });
}
const errors: string[] = [];

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  ensureBuilt();
  h = await openHarness(); // Chromium, and the web app built when stale
  // Started again on new ports when one was taken before the agent bound it (test/support/agents.ts).
  specs = await startAgents(N, children, (i, p) => ({
    ...localSpec('n', tmp, i, p),
    tags: [`role=${i === 0 ? 'seed' : 'web'}`],
    token: TOKEN,
  }), { answers: (res) => res.status === 401 });
  page = await h.context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
});

after(async () => {
  await stopAll(children);
  await h?.close();
});

const api = (i: number): string => `http://127.0.0.1:${specs[i].apiPort}`;
const tid = (id: string): string => `[data-testid="${id}"]`;

test('dashboard: token asked and a wrong one refused; 5 alive; overlay; CLI event; killed agent failed', { timeout: 120_000 }, async () => {
  await waitUntil('n1 to answer', 15_000, async () => (await fetch(`${api(0)}/v1/info`).catch(() => null))?.status === 401);
  await page.goto(`${api(0)}/ui`);

  // The token: a wrong one is refused with the reason, the right one opens the page.
  await page.waitForSelector(tid('dash-token'), { state: 'visible', timeout: 15_000 });
  await page.fill(tid('dash-token'), 'not-the-token');
  await page.click(tid('dash-connect'));
  await page.waitForFunction(() => /Wrong token.*401/.test(document.querySelector('[data-testid="dash-login-error"]')?.textContent ?? ''), null, { timeout: 10_000 });
  assert.equal(await page.locator(tid('view-members')).isVisible(), false, 'nothing shown before the right token');
  await shot('dashboard-token');
  await page.fill(tid('dash-token'), TOKEN);
  await page.click(tid('dash-connect'));
  // Kept for the session only.
  assert.deepEqual(await page.evaluate(() => [sessionStorage.getItem('rumor.apiToken'), localStorage.length]), [TOKEN, 0]);

  // Members: 5 alive, with their addresses and tags.
  await page.waitForFunction(() => document.querySelector('[data-testid="dash-count-alive"]')?.getAttribute('data-count') === '5', null, { timeout: 30_000 });
  const rows = await page.locator(`${tid('dash-members')} tbody tr`).evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-addr'), tr.getAttribute('data-status'), tr.children[0].textContent, tr.children[5].textContent]));
  assert.deepEqual(rows, specs.map((s, i) => [`127.0.0.1:${s.gossipPort}`, 'alive', s.name, i === 0 ? 'role=seed' : 'role=web']));
  await page.fill(tid('dash-search'), 'role=seed');
  await page.waitForFunction(() => document.querySelector('[data-testid="dash-members"]')?.getAttribute('data-count') === '1', null, { timeout: 5_000 });
  await page.fill(tid('dash-search'), '');
  await shot('dashboard-members');

  // Overlay: every agent reports its active view; one component.
  await page.click(tid('tab-overlay'));
  await page.waitForFunction(() => {
    const d = document.querySelector('[data-testid="dash-overlay-stats"]') as HTMLElement | null;
    return d?.dataset.reported === '5' && d.dataset.components === '1' && Number(d.dataset.links) >= 4;
  }, null, { timeout: 20_000 });
  await page.waitForFunction(() => document.querySelector('[data-testid="dash-overlay-canvas"]')?.getAttribute('data-layout') === 'settled', null, { timeout: 20_000 });
  await shot('dashboard-overlay');

  // A user event published from the CLI on another agent shows with its payload.
  await page.click(tid('tab-events'));
  const sent = await rumor(['event', 'deploy', 'v9-from-cli', '--api', api(2), '--token', TOKEN]);
  assert.equal(sent.code, 0, sent.err);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="dash-events"] li[data-type="user"]')].some((li) => li.textContent?.includes('deploy') && li.querySelector('[data-testid="ev-payload"]')?.textContent === 'v9-from-cli'), null, { timeout: 15_000 });
  await shot('dashboard-events');

  // Traffic: this agent's figures, and the other members' from the crawl.
  await page.click(tid('tab-traffic'));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="dash-member-traffic"] tbody tr').length === 5 && document.querySelector('[data-testid="tr-lag"]') !== null, null, { timeout: 20_000 });
  await shot('dashboard-traffic');

  // kill -9 the fifth agent: the page shows it failed.
  children[4].kill('SIGKILL');
  await page.click(tid('tab-members'));
  const victim = `127.0.0.1:${specs[4].gossipPort}`;
  await page.waitForFunction((a) => document.querySelector(`[data-testid="dash-members"] tr[data-addr="${a}"]`)?.getAttribute('data-status') === 'failed', victim, { timeout: 30_000 });
  assert.equal(await page.locator(tid('dash-count-failed')).getAttribute('data-count'), '1');
  await shot('dashboard-failed');
  assert.deepEqual(errors, []);
});
