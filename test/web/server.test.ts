import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { parsePort, startStaticServer, packageRoot } from '../../src/cli/ui.js';

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
  const dir = mkdtempSync(join(tmpdir(), 'rumor-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<h1>app</h1>');
  writeFileSync(join(dir, 'assets', 'a.js'), 'export {}');
  writeFileSync(join(dir, '..', 'rumor-secret.txt'), 'secret');
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
    const trav = await get(srv.url, '/../rumor-secret.txt');
    assert.notEqual(trav.body, 'secret');
    const enc = await get(srv.url, '/%2e%2e/rumor-secret.txt');
    assert.notEqual(enc.body, 'secret');
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(join(dir, '..', 'rumor-secret.txt'), { force: true });
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
  const deadline = Date.now() + 60000;
  let url = '';
  while (Date.now() < deadline) {
    const m = /serving the visual simulator at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
    if (m) {
      url = m[1];
      break;
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(url, `no URL printed: ${out}`);
  const page = await get(url, '/');
  assert.equal(page.status, 200);
  assert.match(page.body, /<div id="app">/);
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  child.kill('SIGINT');
  assert.equal(await exited, 0);
});
