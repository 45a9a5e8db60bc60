/** `rumor ui --agent ADDR`: address parsing, and the URL printed for a live agent API. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApi, type ApiBackend } from '../../src/agent/api.js';
import { freePort } from '../../src/cli/cluster.js';
import { ensureWebBuild, parseAgentAddr, runUiAgent } from '../../src/cli/ui.js';

test('--agent: host:port or an http(s) URL; anything else is a usage error naming the flag', () => {
  assert.deepEqual(parseAgentAddr('127.0.0.1:7373'), { ok: true, url: 'http://127.0.0.1:7373' });
  assert.deepEqual(parseAgentAddr('http://[::1]:7373/'), { ok: true, url: 'http://[::1]:7373' });
  assert.deepEqual(parseAgentAddr('https://agent.example:8443'), { ok: true, url: 'https://agent.example:8443' });
  for (const bad of ['', 'nohost', '127.0.0.1', 'ftp://a:1', 'http://a:1/v1', 'a:99999', 'http://u@a:1']) {
    const r = parseAgentAddr(bad);
    assert.equal(r.ok, false, bad);
    assert.match((r as { reason: string }).reason, /^--agent: expected host:port/);
  }
});

const stub: ApiBackend = {
  info: () => ({ name: 'a' }),
  apiMembers: () => [],
  event: () => 'x',
  leave: async () => undefined,
  metrics: async () => ({ contentType: 'text/plain', body: '' }),
  subscribe: () => () => undefined,
};

test('ui --agent prints the dashboard URL (and says when a token is needed); exit 2 on a bad address, 1 when unreachable', async () => {
  await ensureWebBuild();
  for (const token of [undefined, 'tok']) {
    const api = await startApi('127.0.0.1:0', token, stub);
    const out: string[] = [];
    const err: string[] = [];
    try {
      const code = await runUiAgent({ agent: api.url.replace('http://', '') }, (s) => out.push(s), (s) => err.push(s));
      assert.equal(code, 0, err.join('\n'));
      assert.equal(out[0], `rumor ui: the live dashboard of the agent at ${api.url} is at ${api.url}/ui/`);
      assert.equal(out.length, token === undefined ? 1 : 2);
      if (token !== undefined) assert.match(out[1], /has an API token: the page asks for it/);
    } finally {
      await api.close();
    }
  }
  const err: string[] = [];
  assert.equal(await runUiAgent({ agent: 'not an address' }, () => undefined, (s) => err.push(s)), 2);
  const port = await freePort();
  assert.equal(await runUiAgent({ agent: `127.0.0.1:${port}` }, () => undefined, (s) => err.push(s)), 1);
  assert.match(err[1], new RegExp(`^rumor ui: cannot reach the agent at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED$`));
});

test('rumor ui: usage errors exit 2 through the CLI (--agent malformed, --open without --agent, --port out of range)', async () => {
  const { main } = await import('../../src/cli/main.js');
  const sink = { write: () => true };
  for (const argv of [['ui', '--agent', 'nope'], ['ui', '--open'], ['ui', '--port', '70000']]) {
    assert.equal(await main(argv, { stdout: sink, stderr: sink }), 2, argv.join(' '));
  }
});
