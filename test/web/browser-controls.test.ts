/**
 * Browser tests of docs/web.md's controls (one Chromium launch for the file): the spread
 * view's keys S (step one round) and P (play / pause), with nothing focused; every parameter
 * and the open view written back to the URL, and a page opened at that URL restoring them;
 * clicking a node to fail it (spread view in "removes the node" mode, overlay view).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumUnavailable, openHarness, type Harness } from './browser-harness.js';
import { requirement } from '../support/requirement.js';

let h: Harness;
/** Without a browser each test fails with the reason (skipped only with RUMOR_TEST_ALLOW_SKIP=1). */
const browser = requirement('a headless browser (Debian chromium)', chromiumUnavailable());

before(async () => {
  if (!browser.ok) return;
  h = await openHarness();
});

after(async () => {
  await h?.close();
});

async function open(query: string): Promise<Page & { errors: string[] }> {
  const page = (await h.context.newPage()) as Page & { errors: string[] };
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(`${h.server.url}?${query}`);
  await page.waitForFunction(() => (window as unknown as { rumorReady?: boolean }).rumorReady === true, null, { timeout: 10_000 });
  return page;
}

const attr = async (page: Page, id: string, name: string): Promise<string | null> => page.locator(`[data-testid="${id}"]`).getAttribute(name);

/** Wait until the element `id` has `name` = `value`. */
async function waitAttr(page: Page, id: string, name: string, value: string, what: string): Promise<void> {
  await page
    .waitForFunction(([i, n, v]) => document.querySelector(`[data-testid="${i}"]`)?.getAttribute(n) === v, [id, name, value] as const, { timeout: 20_000 })
    .catch(async () => {
      throw new Error(`${what}: [data-testid=${id}] ${name} is ${JSON.stringify(await attr(page, id, name))}, expected ${JSON.stringify(value)}`);
    });
}

/** Click node 0 where the canvas `canvasId` draws it: nodes are placed by the force layout (in
 *  a worker), so wait for it to settle, then ask the canvas for node 0's position. */
async function clickNode0(page: Page, canvasId: string): Promise<void> {
  const canvas = page.locator(`[data-testid="${canvasId}"]`);
  await page
    .waitForFunction((id) => document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-layout') === 'settled', canvasId, { timeout: 20_000 })
    .catch(async () => {
      throw new Error(`the layout of ${canvasId} did not settle (data-layout ${JSON.stringify(await canvas.getAttribute('data-layout'))})`);
    });
  const box = (await canvas.boundingBox())!;
  const [x0, y0] = await canvas.evaluate((c) => (c as unknown as { rumorPosition(i: number): [number, number] }).rumorPosition(0));
  await page.mouse.click(box.x + x0, box.y + y0);
}

const query = (page: Page): URLSearchParams => new URL(page.url()).searchParams;

test('spread view keys: S steps one round and P plays / pauses, with nothing focused', { ...browser.options }, async () => {
  browser.check();
  const page = await open('view=spread&protocol=plumtree&nodes=40&fanout=3&seed=1&loss=0');
  await page.waitForSelector('[data-testid="stat-round"]', { timeout: 20_000 });
  await page.fill('[data-testid="spread-origin"]', '5');
  await page.click('[data-testid="spread-start"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="spread-status"]')?.textContent?.includes('Rumor started at node 5'), null, { timeout: 10_000 });
  await page.selectOption('[data-testid="spread-speed"]', '100');
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'BODY', 'nothing focused');
  await page.keyboard.press('s');
  await waitAttr(page, 'stat-round', 'data-value', '1', 'S: one round');
  await page.keyboard.press('S');
  await waitAttr(page, 'stat-round', 'data-value', '2', 'S again: round 2');
  await page.keyboard.press('p');
  await waitAttr(page, 'spread-play', 'aria-pressed', 'true', 'P: playing');
  await page.keyboard.press('p');
  await waitAttr(page, 'spread-play', 'aria-pressed', 'false', 'P again: paused');
  assert.equal(await page.locator('[data-testid="spread-play"]').innerText(), 'Play');
  await page.keyboard.press('P');
  await waitAttr(page, 'stat-done', 'data-value', 'true', 'P: played to the end');
  assert.equal(await attr(page, 'stat-infected', 'data-value'), '40', 'every node infected');
  assert.equal(await attr(page, 'spread-play', 'aria-pressed'), 'false', 'stopped at the end');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('URL write-back: parameters and the open view go to the URL; opening that URL restores them', { ...browser.options }, async () => {
  browser.check();
  const page = await open('view=spread');
  await page.waitForSelector('[data-testid="stat-round"]', { timeout: 20_000 });
  await page.selectOption('[data-testid="spread-protocol"]', 'flood');
  await page.fill('[data-testid="spread-nodes"]', '50');
  await page.fill('[data-testid="spread-fanout"]', '4');
  await page.fill('[data-testid="spread-seed"]', '7');
  await page.click('[data-testid="spread-build"]');
  await page.waitForFunction(() => document.querySelector('[data-testid="spread-status"]')?.textContent?.startsWith('Ready: 50 nodes'), null, { timeout: 20_000 });
  let q = query(page);
  assert.deepEqual([q.get('view'), q.get('protocol'), q.get('nodes'), q.get('fanout'), q.get('seed')], ['spread', 'flood', '50', '4', '7']);

  await page.click('[data-testid="tab-converge"]');
  await page.fill('[data-testid="conv-nodes"]', '64');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('cnodes') === '64', null, { timeout: 10_000 });
  await page.click('[data-testid="tab-overlay"]');
  await page.fill('[data-testid="ov-nodes"]', '120');
  await page.fill('[data-testid="ov-seed"]', '3');
  await page.click('[data-testid="ov-build"]');
  await waitAttr(page, 'ov-stats', 'data-alive', '120', 'overlay of 120 nodes built');
  q = query(page);
  assert.deepEqual([q.get('view'), q.get('cnodes'), q.get('onodes'), q.get('oseed'), q.get('nodes')], ['overlay', '64', '120', '3', '50']);
  const url = page.url();
  await page.close();

  const again = await open(url.slice(url.indexOf('?') + 1));
  assert.equal(await again.evaluate(() => document.body.dataset.view), 'overlay', 'the open view is restored');
  await waitAttr(again, 'ov-stats', 'data-alive', '120', 'the overlay rebuilt at 120 nodes');
  const value = (id: string): Promise<string> => again.locator(`[data-testid="${id}"]`).inputValue();
  assert.deepEqual(
    await Promise.all(['ov-nodes', 'ov-seed', 'conv-nodes', 'spread-protocol', 'spread-nodes', 'spread-fanout', 'spread-seed'].map(value)),
    ['120', '3', '64', 'flood', '50', '4', '7'],
  );
  assert.deepEqual(again.errors, []);
  await again.close();
});

test('click to fail: a node clicked in the spread view ("removes the node") and in the overlay view is crashed', { ...browser.options }, async () => {
  browser.check();
  const page = await open('view=spread&protocol=plumtree&nodes=40&seed=1&loss=0');
  await page.waitForSelector('[data-testid="stat-round"]', { timeout: 20_000 });
  await waitAttr(page, 'spread-stats', 'data-alive', '40', '40 live nodes');
  await page.check('[data-testid="click-node"]');
  await clickNode0(page, 'spread-canvas');
  await waitAttr(page, 'spread-stats', 'data-alive', '39', 'the clicked node failed');
  // The failed node cannot start a rumor; another node's rumor reaches the 39 live ones.
  await page.fill('[data-testid="spread-origin"]', '1');
  await page.click('[data-testid="spread-start"]');
  await page.selectOption('[data-testid="spread-speed"]', '100');
  await page.click('[data-testid="spread-play"]');
  await waitAttr(page, 'stat-done', 'data-value', 'true', 'the rumor played to the end');
  assert.equal(await attr(page, 'stat-infected', 'data-value'), '39');

  await page.click('[data-testid="tab-overlay"]');
  await waitAttr(page, 'ov-stats', 'data-alive', '200', 'overlay built');
  await clickNode0(page, 'ov-canvas');
  await waitAttr(page, 'ov-stats', 'data-alive', '199', 'the clicked overlay node failed');
  assert.deepEqual(page.errors, []);
  await page.close();
});
