// `walkEndWithRoom` (hyparview-config.ts; hyparview.ts "Walk end with room"): a FORWARDJOIN
// whose TTL is down to it ends at a node with a free slot in its active view; a full node, a
// higher TTL, and the default 0 keep the paper's walk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HYPARVIEW_CONFIG, HyParView, validateHyParViewConfig, type HyParViewConfig } from '../../src/proto/hyparview.js';
import { PROFILES } from '../../src/net/profiles.js';
import { Rec, TapRng, withActive } from './membership-rec.js';

const HIGH = { type: 'neighbor', priority: 'high' } as const;

function mk(over: Partial<HyParViewConfig> = {}) {
  const io = new Rec();
  const hv = new HyParView<number>(0, { ...DEFAULT_HYPARVIEW_CONFIG, ...over }, new TapRng(1), io);
  return { hv, io };
}

test('walkEndWithRoom: a walk with TTL <= it ends at a node with a free slot (joiner added, NEIGHBOR high, not forwarded)', () => {
  for (const ttl of [1, 2, 3]) {
    const { hv, io } = mk({ walkEndWithRoom: 3 });
    withActive(hv, io, [1, 2, 3]);
    hv.handleMessage(1, { type: 'forward-join', peer: 9, ttl }, 0);
    assert.deepEqual(io.take(), [['connect', 9], ['up', 9], ['send', 9, HIGH]], `ttl ${ttl}`);
    assert.deepEqual(hv.activeView(), [1, 2, 3, 9]);
    assert.deepEqual(hv.passiveView(), [], 'ended at PRWL: active, not passive');
  }
});

test('walkEndWithRoom: a higher TTL, a full active view, or the default 0 walk on as the paper says', () => {
  // TTL above the threshold: forwarded with ttl - 1.
  const a = mk({ walkEndWithRoom: 3 });
  withActive(a.hv, a.io, [1, 2]);
  a.hv.handleMessage(1, { type: 'forward-join', peer: 9, ttl: 4 }, 0);
  assert.deepEqual(a.io.take(), [['send', 2, { type: 'forward-join', peer: 9, ttl: 3 }]]);
  assert.deepEqual(a.hv.activeView(), [1, 2]);

  // Full active view: no free slot, the walk goes on (no eviction before TTL 0).
  const b = mk({ walkEndWithRoom: 3 });
  withActive(b.hv, b.io, [1, 2, 3, 4, 5]);
  b.hv.handleMessage(1, { type: 'forward-join', peer: 9, ttl: 2 }, 0);
  const out = b.io.take();
  assert.equal(out.length, 1);
  assert.equal(out[0][0], 'send');
  assert.deepEqual(out[0][2], { type: 'forward-join', peer: 9, ttl: 1 });
  assert.ok([2, 3, 4, 5].includes(out[0][1] as number));
  assert.deepEqual(b.hv.activeView(), [1, 2, 3, 4, 5]);

  // Default (0): the paper's walk even with room; the joiner enters the passive view at PRWL.
  const c = mk();
  assert.equal(DEFAULT_HYPARVIEW_CONFIG.walkEndWithRoom, 0);
  withActive(c.hv, c.io, [1, 2]);
  c.hv.handleMessage(1, { type: 'forward-join', peer: 9, ttl: 3 }, 0);
  assert.deepEqual(c.io.take(), [['send', 2, { type: 'forward-join', peer: 9, ttl: 2 }]]);
  assert.deepEqual(c.hv.passiveView(), [9]);
});

test('walkEndWithRoom: validated (an integer >= 0), set by the lan and wan profiles, not local', () => {
  for (const bad of [-1, 1.5, Number.NaN, '3']) {
    const r = validateHyParViewConfig({ ...DEFAULT_HYPARVIEW_CONFIG, walkEndWithRoom: bad as number });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, /^walkEndWithRoom: expected an integer >= 0/);
  }
  assert.equal(PROFILES.lan.protocol.hyparview?.walkEndWithRoom, 3);
  assert.equal(PROFILES.wan.protocol.hyparview?.walkEndWithRoom, 3);
  assert.equal(PROFILES.local.protocol.hyparview?.walkEndWithRoom, undefined);
});
