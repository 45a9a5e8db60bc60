// The benches' check of a build's V8 code cache (bench/startup.ts `codeCacheStamped`): a cache
// counts only with the stamp scripts/code-cache.mjs writes, for this bundle, this Node and these
// very bytes (a cache an agent rewrote under the same key does not).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeCacheStamped } from '../../bench/startup.js';

test('codeCacheStamped: only a cache stamped for this bundle, Node and bytes', () => {
  const root = mkdtempSync(join(tmpdir(), 'rumor-stamp-'));
  mkdirSync(join(root, 'dist'));
  const build = '//# rumorBuild=0123456789abcdef';
  writeFileSync(join(root, 'dist', 'rumor.cjs'), `module.exports = {};\n${build}\n`);
  const cache = Buffer.concat([Buffer.from(`${build}\n`), Buffer.alloc(64, 7)]);
  writeFileSync(join(root, 'dist', 'rumor.cjs.cache'), cache);
  assert.equal(codeCacheStamped(root), false, 'a cache without a stamp (an agent wrote it)');
  const stamp = { build, node: process.version, v8: process.versions.v8, arch: process.arch, cacheSha256: createHash('sha256').update(cache).digest('hex') };
  const stampFile = join(root, 'dist', 'rumor.cjs.cache.json');
  writeFileSync(stampFile, JSON.stringify(stamp));
  assert.equal(codeCacheStamped(root), true);
  writeFileSync(stampFile, JSON.stringify({ ...stamp, node: 'v0.0.0' }));
  assert.equal(codeCacheStamped(root), false, 'stamped under another Node');
  writeFileSync(stampFile, JSON.stringify({ ...stamp, build: '//# rumorBuild=ffffffffffffffff' }));
  assert.equal(codeCacheStamped(root), false, 'stamped for another bundle');
  writeFileSync(stampFile, JSON.stringify(stamp));
  writeFileSync(join(root, 'dist', 'rumor.cjs.cache'), Buffer.concat([Buffer.from(`${build}\n`), Buffer.alloc(64, 8)]));
  assert.equal(codeCacheStamped(root), false, 'rewritten since its stamp');
  writeFileSync(stampFile, '{not json');
  assert.equal(codeCacheStamped(root), false, 'an unreadable stamp');
});
