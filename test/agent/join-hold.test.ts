/**
 * JoinHold (src/agent/members.ts): a member that enters the table before its name is not
 * reported as joined under its address; its join is released when the name comes, or just
 * before any later event of that member.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JoinHold } from '../../src/agent/members.js';

function setup(): { hold: JoinHold; names: Set<string>; out: string[] } {
  const names = new Set<string>();
  const out: string[] = [];
  const hold = new JoinHold((a) => names.has(a), (a) => out.push(`member-join ${a} ${names.has(a) ? 'named' : 'unnamed'}`));
  return { hold, names, out };
}

test('a join with the name known passes at once', () => {
  const { hold, names, out } = setup();
  names.add('a:1');
  assert.equal(hold.pass('member-join', 'a:1'), true);
  assert.deepEqual(out, []);
  assert.equal(hold.size, 0);
});

test('a join without the name is held, and released once, when the name comes', () => {
  const { hold, names, out } = setup();
  assert.equal(hold.pass('member-join', 'b:1'), false);
  assert.equal(hold.size, 1);
  hold.named('c:1'); // another member: nothing
  assert.deepEqual(out, []);
  names.add('b:1');
  hold.named('b:1');
  hold.named('b:1');
  assert.deepEqual(out, ['member-join b:1 named']);
  assert.equal(hold.size, 0);
});

test('a held member that fails before its name came: its join first (under its address), then the failure', () => {
  const { hold, out } = setup();
  assert.equal(hold.pass('member-join', 'd:1'), false);
  assert.equal(hold.pass('member-failed', 'd:1'), true);
  assert.deepEqual(out, ['member-join d:1 unnamed']);
  assert.equal(hold.pass('member-reap', 'd:1'), true);
  assert.deepEqual(out, ['member-join d:1 unnamed'], 'released once');
});
