import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, formatTextLine } from '../../src/agent/log.js';

test('JSON lines in pino format: level number, time, bindings, fields, msg; below the level dropped', () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format: 'json', destination: { write: (s: string) => lines.push(s) } });
  log.debug({ a: 1 }, 'hidden');
  log.info({ peer: 'p:1' }, 'neighbour up');
  log.child({ component: 'net' }).warn({ err: new Error('boom') }, 'oops');
  log.error('plain message');
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
  const [a, b, c] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(typeof a.time, 'number');
  assert.deepEqual({ ...a, time: 0 }, { level: 30, time: 0, peer: 'p:1', msg: 'neighbour up' });
  assert.equal(b.level, 40);
  assert.equal(b.component, 'net');
  assert.deepEqual((b.err as Record<string, unknown>).message, 'boom');
  assert.deepEqual({ ...c, time: 0 }, { level: 50, time: 0, msg: 'plain message' });
});

test('text format, silent level, and a bad level is an error', () => {
  const lines: string[] = [];
  createLogger({ level: 'trace', format: 'text', destination: { write: (s: string) => lines.push(s) } }).trace({ k: 'v w' }, 'hello');
  assert.match(lines[0], /^\d\d:\d\d:\d\d\.\d{3} TRACE hello k="v w"\n$/);
  const none: string[] = [];
  createLogger({ level: 'silent', format: 'json', destination: { write: (s: string) => none.push(s) } }).fatal({}, 'x');
  assert.deepEqual(none, []);
  assert.throws(() => createLogger({ level: 'loud', format: 'json' }), /log level: expected trace, debug/);
  assert.equal(formatTextLine('not json\n'), 'not json\n');
});
