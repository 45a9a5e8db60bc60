/**
 * Browser tests: the built app in a real headless Chromium (Debian's package, driven by
 * playwright-core). Each view is loaded, exercised and screenshotted into test-artifacts/web.
 * Expected figures come from running the same code in Node with the same seed (the simulator
 * is deterministic), and from Serf's formula.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumUnavailable, openHarness, type Harness } from './browser-harness.js';
import { requirement } from '../support/requirement.js';
import { SpreadSession } from '../../src/web/spread.js';
import { packageRoot } from '../../src/cli/ui.js';

const ARTIFACTS = join(packageRoot(), 'test-artifacts', 'web');
let h: Harness;
/** Without a browser each test fails with the reason (skipped only with RUMOR_TEST_ALLOW_SKIP=1). */
const browser = requirement('a headless browser (Debian chromium)', chromiumUnavailable());

before(async () => {
  if (!browser.ok) return;
  mkdirSync(ARTIFACTS, { recursive: true });
  h = await openHarness();
});

after(async () => {
  await h?.close();
});

async function open(query: string): Promise<Page> {
  const page = await h.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${h.server.url}?${query}`);
  await page.waitForFunction(() => (window as unknown as { rumorReady?: boolean }).rumorReady === true, null, { timeout: 10000 });
  (page as unknown as { errors: string[] }).errors = errors;
  return page;
}

const text = (page: Page, id: string): Promise<string> => page.locator(`[data-testid="${id}"]`).innerText();
const attr = async (page: Page, id: string, name: string): Promise<string> => (await page.locator(`[data-testid="${id}"]`).getAttribute(name)) ?? '';

/** Play the rumor to completion and return the final stats shown. */
async function playToEnd(page: Page): Promise<{ round: number; infected: number; alive: number }> {
  await page.selectOption('[data-testid="spread-speed"]', '100');
  await page.click('[data-testid="spread-play"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="stat-done"]')?.getAttribute('data-value') === 'true', null, { timeout: 30000 });
  return {
    round: Number(await attr(page, 'stat-round', 'data-value')),
    infected: Number(await attr(page, 'stat-infected', 'data-value')),
    alive: Number(await page.locator('[data-testid="spread-stats"]').getAttribute('data-alive')),
  };
}

/** Expected final round of a lossless run, computed in Node with the same code and seed. */
function expectedRun(protocol: 'fanout' | 'plumtree', nodes: number, fanout: number, origin: number): { round: number; infected: number } {
  const s = new SpreadSession({ protocol, nodes, fanout, seed: 1, loss: 0 });
  s.start(origin);
  for (let i = 0; i < 1000 && !s.stats().done; i++) s.step(1);
  const st = s.stats();
  return { round: st.round, infected: st.infected };
}

test('spread view: Plumtree over HyParView, click a node, play to 100% infected', { ...browser.options }, async () => {
  browser.check();
  const page = await open('view=spread&protocol=plumtree&nodes=40&fanout=3&seed=1&loss=0');
  await page.waitForFunction(() => document.querySelector('[data-testid="stat-round"]') !== null, null, { timeout: 20000 });
  // Nodes are placed by the force layout (in a worker): once it settles, click node 0 where
  // the canvas says it is drawn.
  await page.waitForFunction(() => document.querySelector('[data-testid="spread-canvas"]')?.getAttribute('data-layout') === 'settled', null, { timeout: 20000 });
  const box = (await page.locator('[data-testid="spread-canvas"]').boundingBox())!;
  const [x0, y0] = await page.locator('[data-testid="spread-canvas"]').evaluate((c) => (c as unknown as { rumorPosition(i: number): [number, number] }).rumorPosition(0));
  await page.mouse.click(box.x + x0, box.y + y0);
  await page.waitForFunction(() => document.querySelector('[data-testid="spread-status"]')?.textContent?.includes('Rumor started at node 0'), null, { timeout: 10000 });
  const got = await playToEnd(page);
  const want = expectedRun('plumtree', 40, 3, 0);
  assert.equal(got.alive, 40);
  assert.equal(got.infected, 40, '100% infected on a lossless run');
  assert.equal(got.round, want.round);
  // At least ⌈log_4(40·3/5 + 1)⌉ hops are needed when each node forwards to ≤ 4 new peers.
  assert.ok(got.round >= 3 && got.round <= 12, `round ${got.round}`);
  assert.match(await text(page, 'stat-logfn'), /^2\.29$/);
  await page.screenshot({ path: join(ARTIFACTS, 'spread.png') });
  assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
  await page.close();
});

test('spread view: fanout gossip, start by number, round counter matches the simulator', { ...browser.options }, async () => {
  browser.check();
  const page = await open('view=spread&protocol=fanout&nodes=200&fanout=4&seed=1&loss=0');
  await page.waitForFunction(() => document.querySelector('[data-testid="stat-round"]') !== null, null, { timeout: 20000 });
  await page.fill('[data-testid="spread-origin"]', '7');
  await page.click('[data-testid="spread-start"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="spread-status"]')?.textContent?.includes('Rumor started at node 7'), null, { timeout: 10000 });
  const got = await playToEnd(page);
  const want = expectedRun('fanout', 200, 4, 7);
  assert.equal(got.round, want.round);
  assert.equal(got.infected, want.infected);
  assert.ok(got.infected >= 190, `infected ${got.infected}`);
  assert.match(await text(page, 'stat-logfn'), /^3\.82$/);
  await page.close();
});

test('convergence view: Serf defaults reach 99.99% at 1.8 s, 328.1 kbps; measured curve runs', { ...browser.options }, async () => {
  browser.check();
  const page = await open('view=converge&seeds=3');
  const t9999 = Number(await page.locator('[data-testid="conv-out"]').getAttribute('data-analytic9999'));
  assert.ok(Math.abs(t9999 - 1.8) < 1e-9, `t99.99 = ${t9999}`);
  assert.match(await text(page, 'conv-a9999'), /^1\.8 s \(9 rounds\)$/);
  assert.match(await text(page, 'conv-abw'), /^328\.1 kbps/);
  await page.click('[data-testid="conv-run"]');
  await page.waitForFunction(() => /seeds/.test(document.querySelector('[data-testid="conv-progress"]')?.textContent ?? ''), null, { timeout: 30000 });
  const t100 = await text(page, 'conv-m100');
  assert.match(t100, /^\d+(\.\d+)? s$/, `measured t100: ${t100}`);
  await page.screenshot({ path: join(ARTIFACTS, 'convergence.png') });
  // Series export: CSV with both series on one time axis; JSON with Serf's inputs.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="conv-csv"]')]);
  const lines = readFileSync((await csv.path())!, 'utf8').trim().split('\n');
  assert.equal(lines[0], 't_s,analytic_pct,measured_mean_pct,measured_p5_pct,measured_p95_pct');
  assert.match(lines[1], /^0,3\.125,3\.33/);
  const [json] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="conv-json"]')]);
  const doc = JSON.parse(readFileSync((await json.path())!, 'utf8'));
  assert.deepEqual(doc.serf, { interval: 0.2, fanout: 3, nodes: 30, lossPct: 0, failedPct: 0 });
  assert.equal(doc.analytic.length, 10);
  assert.equal(doc.measured.params.seeds, 3);
  // Serf's validation: one node is refused, with the field named.
  await page.fill('[data-testid="conv-nodes"]', '1');
  await page.waitForFunction(() => (document.querySelector('[data-testid="conv-error"]')?.textContent ?? '').startsWith('nodes:'), null, { timeout: 5000 });
  assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
  await page.close();
});

test('convergence view: a 100,000-node run shows its progress and stops on Cancel', { ...browser.options }, async () => {
  browser.check();
  const page = await open('view=converge&cnodes=100000&seeds=2&cprotocol=plumtree');
  assert.equal(await page.locator('[data-testid="conv-cancel"]').isDisabled(), true, 'Cancel is disabled while idle');
  await page.click('[data-testid="conv-run"]');
  await page.waitForFunction(() => /^seed 1 of 2, building the overlay \(\d+% of this seed\)/.test(document.querySelector('[data-testid="conv-run-status"]')?.textContent ?? ''), null, { timeout: 30000 });
  await page.click('[data-testid="conv-cancel"]');
  await page.waitForFunction(() => /cancelled/.test(document.querySelector('[data-testid="conv-error"]')?.textContent ?? ''), null, { timeout: 10000 });
  assert.equal(await page.locator('[data-testid="conv-run"]').isDisabled(), false, 'Run is enabled again');
  assert.equal(await page.locator('[data-testid="conv-run-progress"]').isHidden(), true, 'the progress bar is gone');
  assert.equal(await text(page, 'conv-m100'), '—', 'no measured result from a cancelled run');
  assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
  await page.close();
});

test('overlay view: active-view graph, fail 30%, views repair', { ...browser.options }, async () => {
  browser.check();
  const page = await open('view=overlay&onodes=200&oseed=1');
  await page.waitForFunction(() => document.querySelector('[data-testid="ov-stats"]')?.getAttribute('data-alive') === '200', null, { timeout: 20000 });
  assert.equal(await page.locator('[data-testid="ov-stats"]').getAttribute('data-components'), '1');
  // Force layout: once settled, linked nodes sit much closer than nodes picked at random (on
  // the old ring, a random HyParView link was as long as a random pair).
  await page.waitForFunction(() => document.querySelector('[data-testid="ov-canvas"]')?.getAttribute('data-layout') === 'settled', null, { timeout: 30000 });
  const lay = await page.locator('[data-testid="ov-canvas"]').evaluate((c) => (c as unknown as { rumorLayout(): { xs: number[]; ys: number[]; links: number[] } }).rumorLayout());
  const dist = (a: number, b: number): number => Math.hypot(lay.xs[a] - lay.xs[b], lay.ys[a] - lay.ys[b]);
  let linkLen = 0;
  for (let k = 0; k < lay.links.length; k += 2) linkLen += dist(lay.links[k], lay.links[k + 1]);
  linkLen /= lay.links.length / 2;
  let pairLen = 0;
  for (let i = 0; i < 200; i++) pairLen += dist(i, (i * 37 + 11) % 200);
  pairLen /= 200;
  assert.ok(lay.links.length > 0 && linkLen < 0.6 * pairLen, `mean link length ${linkLen.toFixed(3)} vs random pair ${pairLen.toFixed(3)}`);
  await page.fill('[data-testid="ov-fail-pct"]', '30');
  await page.click('[data-testid="ov-fail"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="ov-stats"]')?.getAttribute('data-alive') === '140', null, { timeout: 20000 });
  const before = Number(await text(page, 'ov-notfull'));
  await page.click('[data-testid="ov-advance10"]');
  await page.waitForFunction((b) => Number(document.querySelector('[data-testid="ov-notfull"]')?.textContent) < b, before, { timeout: 20000 });
  await page.screenshot({ path: join(ARTIFACTS, 'overlay.png') });
  assert.deepEqual((page as unknown as { errors: string[] }).errors, []);
  await page.close();
});
