import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { parsePort, startStaticServer, packageRoot } from '../../src/cli/ui.js';
import { exitWithin, waitFor } from '../support/wait.js';

function get(url: string, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((ok, fail) => {
    // Raw path (no URL normalisation) so traversal attempts reach the server as sent.
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('static server: files with MIME types, index fallback, no traversal, loopback only', async () => {
  // Everything in this test's own temporary directory: the served folder and, next to it,
  // the file a traversal would reach.
  const root = mkdtempSync(join(tmpdir(), 'rumor-web-'));
  const dir = join(root, 'www');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<h1>app</h1>');
  writeFileSync(join(dir, 'assets', 'a.js'), 'export {}');
  writeFileSync(join(root, 'rumor-secret.txt'), 'secret');
  const srv = await startStaticServer(dir, 0);
  try {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const idx = await get(srv.url, '/');
    assert.equal(idx.status, 200);
    assert.equal(idx.body, '<h1>app</h1>');
    assert.match(idx.type, /^text\/html/);
    const js = await get(srv.url, '/assets/a.js');
    assert.match(js.type, /^text\/javascript/);
    assert.equal((await get(srv.url, '/no/such/page?x=1')).body, '<h1>app</h1>');
    // Dot segments (plain or %2e-encoded) are resolved by URL parsing before any file is
    // looked up: the request stays inside the folder and gets the app (200, index.html).
    for (const path of ['/../rumor-secret.txt', '/%2e%2e/rumor-secret.txt', '/assets/../../rumor-secret.txt']) {
      const r = await get(srv.url, path);
      assert.deepEqual([r.status, r.body], [200, '<h1>app</h1>'], path);
    }
    // An encoded slash survives URL parsing and decodes to a path outside the folder: 403.
    for (const path of ['/%2e%2e%2frumor-secret.txt', '/..%2Frumor-secret.txt', '/assets/..%2f..%2frumor-secret.txt']) {
      const r = await get(srv.url, path);
      assert.deepEqual([r.status, r.body], [403, ''], path);
    }
  } finally {
    await srv.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('--port validation names the flag', () => {
  assert.deepEqual(parsePort(undefined), { ok: true, port: 7380 });
  assert.deepEqual(parsePort('0'), { ok: true, port: 0 });
  const bad = parsePort('70000');
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.match(bad.reason, /^--port: expected an integer from 0 to 65535/);
  assert.equal(parsePort('abc').ok, false);
});

test('runUi prints the local URL, serves the built app, stops on SIGINT with code 0', async () => {
  const code = "import('./src/cli/ui.ts').then((m) => m.runUi({ port: 0 })).then((c) => process.exit(c));";
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const printed = await waitFor(
    () => {
      const m = /serving the visual simulator at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) return { url: m[1] };
      return child.exitCode !== null ? { url: '' } : undefined;
    },
    60_000,
    () => `\`rumor ui\` to print its URL; output so far: ${JSON.stringify(out)}`,
    50,
  ).catch((e: unknown) => {
    child.kill('SIGKILL');
    throw e;
  });
  const url = printed.url;
  assert.ok(url, `rumor ui exited (${child.exitCode}) without printing its URL: ${out}`);
  const page = await get(url, '/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<div id="app">/);
  const exited = exitWithin(child, 15_000, '`rumor ui` to exit on SIGINT');
  child.kill('SIGINT');
  assert.equal(await exited, 0, out);
});
