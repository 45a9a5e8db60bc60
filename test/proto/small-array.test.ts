import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roomy6 } from '../../src/proto/small-array.js';

test('roomy6: an empty packed array that takes pushes, pops and any length like []', () => {
  const a = roomy6<number>();
  assert.deepEqual([...a], []);
  assert.equal(a.length, 0);
  for (let i = 0; i < 9; i++) a.push(i * 10);
  assert.deepEqual(a, [0, 10, 20, 30, 40, 50, 60, 70, 80]);
  assert.equal(a.indexOf(70), 7);
  assert.equal(a.pop(), 80);
  assert.equal(0 in roomy6<number>(), false, 'no element left behind');
  const s = roomy6<string>();
  s.push('x', 'y');
  assert.deepEqual(s, ['x', 'y']);
  assert.notEqual(roomy6(), roomy6(), 'a new array each call');
});
