// The agent's keyring: file with mode 0600, refusal of a readable file, --encrypt against an
// existing file, and the cluster-wide keys operations (request/response) in-process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '../../src/agent/agent.js';
import { resolveAgentConfig } from '../../src/agent/config.js';
import { startTestAgent } from './support.js';
import { loadAgentKeyring } from '../../src/agent/keyring.js';
import { generateKey, keyFingerprint } from '../../src/wire/crypto.js';

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const agents: Agent[] = [];
after(() => Promise.all(agents.map((a) => a.shutdown())));

async function startAgent(name: string, flags: Record<string, unknown>): Promise<Agent> {
  const a = await startTestAgent({ name, ...flags });
  agents.push(a);
  return a;
}

test('config: --encrypt must be a 32-byte base64 key; mode needs a key', () => {
  const bad = resolveAgentConfig({ flags: { encrypt: 'c2hvcnQ=' }, isTTY: false });
  assert.deepEqual(bad, { ok: false, reason: 'flag --encrypt: encrypt: expected a base64 key of 32 bytes, got 5 bytes' });
  const env = resolveAgentConfig({ env: { RUMOR_ENCRYPT_MODE: 'loud' }, isTTY: false });
  assert.equal(env.ok, false);
  assert.match((env as { reason: string }).reason, /environment RUMOR_ENCRYPT_MODE: encryptMode: expected accept, send or enforce/);
  assert.match((loadAgentKeyring({ encryptMode: 'enforce' }) as { reason: string }).reason, /no key/);
});

test('keyring file: created 0600, refused when group/world readable, --encrypt against it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rumor-keyring-'));
  const k1 = generateKey();
  const first = loadAgentKeyring({ encrypt: k1, dataDir: dir });
  assert.ok(first.ok);
  const path = join(dir, 'keyring.json');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { keys: [k1], mode: 'enforce', removed: [] });
  chmodSync(path, 0o644);
  const refused = loadAgentKeyring({ dataDir: dir });
  assert.deepEqual(refused, { ok: false, reason: `keyring file ${path} is accessible by group or others (mode 0644); it holds the cluster keys: run chmod 600 ${path}` });
  chmodSync(path, 0o600);
  // A rotation happened while this node was down: k2 is current, k1 was removed.
  const k2 = generateKey();
  writeFileSync(path, JSON.stringify({ keys: [k1], removed: [] }), { mode: 0o600 });
  const back = loadAgentKeyring({ encrypt: k2, dataDir: dir });
  assert.ok(back.ok);
  assert.deepEqual(back.value.keyring.list64(), [k2, k1], 'a key new to the node becomes primary');
  assert.match(back.value.warnings[0], /installed it as the primary key/);
  // The original --encrypt of a static service file after the rotation removed it: ignored.
  writeFileSync(path, JSON.stringify({ keys: [k2], removed: [keyFingerprint(k1)] }), { mode: 0o600 });
  const stale = loadAgentKeyring({ encrypt: k1, dataDir: dir });
  assert.ok(stale.ok);
  assert.deepEqual(stale.value.keyring.list64(), [k2]);
  assert.match(stale.value.warnings[0], /ignoring the --encrypt key .* removed it/);
});

test('cluster-wide keys operations answer per node; an install in plaintext is refused', async () => {
  const k1 = generateKey();
  const a = await startAgent('ka', { encrypt: k1 });
  const b = await startAgent('kb', { encrypt: k1, join: [a.node.address] });
  const c = await startAgent('kc', { encrypt: k1, join: [b.node.address] });
  const all = [a, b, c];
  await waitUntil(() => all.every((x) => x.members().filter((m) => m.status === 'alive').length === 3), 15_000, 'three alive members everywhere');
  const list = await c.keysOp({ op: 'list' });
  assert.deepEqual(list.missing, []);
  assert.deepEqual(list.answers.map((x) => [x.name, x.ok, x.fields]), ['ka', 'kb', 'kc'].map((n) => [n, true, ['enforce', keyFingerprint(k1)]]));
  const k2 = generateKey();
  const inst = await a.keysOp({ op: 'install', key: k2 });
  assert.deepEqual(inst.answers.map((x) => x.fields), all.map(() => ['enforce', keyFingerprint(k1), keyFingerprint(k2)]));
  const bad = await b.keysOp({ op: 'remove', key: k1 });
  assert.deepEqual(bad.answers.map((x) => x.ok), [false, false, false]);
  assert.match(bad.answers[0].error, /is the primary key/);
  await b.keysOp({ op: 'use', key: k2 });
  const rm = await b.keysOp({ op: 'remove', key: keyFingerprint(k1) });
  assert.deepEqual(rm.answers.map((x) => x.fields), all.map(() => ['enforce', keyFingerprint(k2)]));
  // Still one cluster: a user event reaches everyone under the new key.
  a.event('after-rotation', new Uint8Array(0));
  await waitUntil(() => all.every((x) => x.counters.userEventsReceived >= 1), 10_000, 'the event after the rotation reaches every agent');
  // A plaintext cluster: a cluster-wide install would carry the key in the clear.
  const p = await startAgent('pa', {});
  await assert.rejects(p.keysOp({ op: 'install', key: generateKey() }), /does not encrypt its traffic yet/);
  const local = await p.keysOp({ op: 'install', key: k2, local: true });
  assert.deepEqual(local.answers[0].fields, ['accept', keyFingerprint(k2)]);
});

test('request/response codec: round trip and every malformed input refused with a reason', async () => {
  const { encodeStrings, decodeStrings } = await import('../../src/agent/cluster-request.js');
  const list = ['req', 'é', '', 'x'.repeat(1000)];
  assert.deepEqual(decodeStrings(encodeStrings(list)), { ok: true, list });
  const good = Buffer.from(encodeStrings(['a', 'b']));
  assert.match((decodeStrings(good.subarray(0, good.length - 1)) as { reason: string }).reason, /string 1: length 1 out of bounds/);
  assert.match((decodeStrings(Buffer.concat([good, Buffer.from([0])])) as { reason: string }).reason, /1 trailing bytes/);
  assert.match((decodeStrings(Buffer.from([2, 0, 0])) as { reason: string }).reason, /expected version 1/);
  assert.match((decodeStrings(Buffer.from([1, 0xff, 0xff])) as { reason: string }).reason, /65535 strings, at most 64/);
  const huge = Buffer.from([1, 0, 1, 0x7f, 0xff, 0xff, 0xff]);
  assert.match((decodeStrings(huge) as { reason: string }).reason, /out of bounds/);
});
