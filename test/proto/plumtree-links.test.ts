// Plumtree unit tests about links: a neighbour going down, orphaned ids, fresh links and their ages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MISS, MISSING, gossip, node, send } from './plumtree-fixture.js';

test('neighborDown: removed from both sets and from missing announcements', () => {
  const { pt, take } = node([1, 3, 4], [3, 4]);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 1 }, { id: 'y', round: 1 }] }, 0);
  pt.handleMessage(4, { type: 'ihave', entries: [{ id: 'x', round: 2 }] }, 0);
  take();
  pt.neighborDown(3, 1);
  assert.deepEqual(pt.lazyPeers(), [4]);
  assert.equal(pt.missingCount(), 1); // 'y' had only 3 as announcer
  pt.handleTimer(MISSING('x', 100), 100);
  assert.deepEqual(take(), [MISS(50, 'x', 150), send(4, { type: 'graft', id: 'x', round: 2 })]);
  pt.handleTimer(MISSING('y', 100), 100);
  assert.deepEqual(take(), []);
  pt.neighborDown(1, 2);
  pt.neighborDown(4, 2);
  assert.deepEqual([pt.eagerPeers(), pt.lazyPeers(), pt.missingCount()], [[], [], 1]);
  pt.handleTimer(MISSING('x', 150), 150); // the GRAFT to 4 timed out: nobody left
  assert.deepEqual([take(), pt.missingCount()], [[], 0]);
});

test('missing: a firing grafts however late it is (holding late timers is the driver\'s job)', () => {
  const { pt, take } = node([1, 3, 4], [3, 4]);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 1 }, { id: 'y', round: 1 }] }, 0);
  assert.deepEqual(take(), [MISS(100, 'x', 100), MISS(100, 'y', 100)]);
  pt.handleMessage(1, gossip('x', 0), 120); // 'x' arrived before its timer fired: no GRAFT
  take();
  pt.handleTimer(MISSING('x', 100), 130);
  assert.deepEqual(take(), []);
  // 'y' fires 30 ms late: grafted at once, timeout2 counted from now.
  pt.handleTimer(MISSING('y', 100), 130);
  assert.deepEqual(take(), [MISS(50, 'y', 180), send(3, { type: 'graft', id: 'y', round: 1 })]);
});

test('eager neighbour down: ids announced but not received are grafted at once, not at timeout1', () => {
  const { pt, take } = node([1, 3, 4], [3, 4]);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 1 }] }, 0);
  pt.handleMessage(4, { type: 'ihave', entries: [{ id: 'x', round: 2 }] }, 2);
  assert.deepEqual(take(), [MISS(100, 'x', 100)]);
  pt.neighborDown(1, 10); // 1 was eager: the tree link that was to bring 'x'
  assert.deepEqual(take(), [MISS(50, 'x', 60), send(3, { type: 'graft', id: 'x', round: 1 })]);
  assert.deepEqual([pt.eagerPeers(), pt.lazyPeers()], [[3], [4]]);
  pt.handleTimer(MISSING('x', 100), 100); // the timeout1 firing is stale now
  assert.deepEqual(take(), []);
  pt.handleTimer(MISSING('x', 60), 60); // timeout2: the next announcer
  assert.deepEqual(take(), [MISS(50, 'x', 110), send(4, { type: 'graft', id: 'x', round: 2 })]);
});

test('orphaned after an eager neighbour went down: the next IHAVE grafts at once until a first copy arrives', () => {
  const { pt, take } = node([1, 2, 3], [3]);
  pt.neighborDown(4, 0); // not a neighbour: nothing changes
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'a', round: 1 }] }, 1);
  assert.deepEqual(take(), [MISS(100, 'a', 101)]);
  pt.neighborDown(3, 2); // a lazy link: still not orphaned; 'a' lost its only announcer
  assert.deepEqual([take(), pt.missingCount()], [[], 0]);
  pt.neighborUp(3, 3);
  pt.handleMessage(3, { type: 'prune' }, 3);
  pt.neighborDown(1, 4); // eager: orphaned
  assert.deepEqual(take(), []);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'b', round: 1 }] }, 5);
  assert.deepEqual(take(), [MISS(50, 'b', 55), send(3, { type: 'graft', id: 'b', round: 1 })]);
  // The grafted copy arrives (first copy): no longer orphaned, IHAVEs wait for timeout1 again.
  pt.handleMessage(3, gossip('b', 1), 6);
  take();
  pt.handleMessage(2, { type: 'prune' }, 7);
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'c', round: 3 }] }, 8);
  assert.deepEqual(take(), [MISS(100, 'c', 108)]);
});

test('IHAVE over a link younger than timeout1 grafts at once; once the link is older, timeout1 applies again', () => {
  const { pt, take } = node([1, 2], [2]);
  pt.neighborUp(3, 0); // fresh link (syncOnNeighborUp is off in CFG: no IHAVE out)
  assert.deepEqual(take(), []);
  // 99 ms after link-up (< ihaveTimeoutMs = 100): its announcements predate the link.
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 2 }] }, 99);
  assert.deepEqual(take(), [MISS(50, 'x', 149), send(3, { type: 'graft', id: 'x', round: 2 })]);
  // An older link announcing the same id joins the list, for timeout2; no second GRAFT.
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'x', round: 1 }] }, 99);
  assert.deepEqual(take(), []);
  // 100 ms after link-up: no longer fresh, the tree gets its timeout1.
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'y', round: 2 }] }, 100);
  assert.deepEqual(take(), [MISS(100, 'y', 200)]);
  // An old link announcing: timeout1.
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'z', round: 1 }] }, 100);
  assert.deepEqual(take(), [MISS(100, 'z', 200)]);
});

test('fresh link: an id already waiting for timeout1 is grafted from the fresh announcer at once', () => {
  const { pt, take } = node([1, 2], [2]);
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'x', round: 1 }] }, 10);
  assert.deepEqual(take(), [MISS(100, 'x', 110)]);
  pt.neighborUp(3, 20);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 3 }] }, 30);
  // The first announcer is grafted (it announced first), timeout2 armed; timeout1's firing is stale.
  assert.deepEqual(take(), [MISS(50, 'x', 80), send(2, { type: 'graft', id: 'x', round: 1 })]);
  pt.handleTimer(MISSING('x', 110), 110);
  assert.deepEqual(take(), []);
});

test('fresh link that went down and came back: its age restarts; a link gone is not fresh', () => {
  const { pt, take } = node([1, 2], [2]);
  pt.neighborUp(3, 0);
  pt.handleMessage(3, { type: 'prune' }, 1); // lazy: losing it does not orphan us
  pt.neighborDown(3, 50);
  pt.neighborUp(3, 80);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 0 }] }, 150); // 70 ms old
  assert.deepEqual(take(), [MISS(50, 'x', 200), send(3, { type: 'graft', id: 'x', round: 0 })]);
  pt.handleMessage(3, { type: 'prune' }, 155); // lazy again, so its loss does not orphan us
  pt.neighborDown(3, 160);
  take();
  // A non-neighbour announcing (e.g. an IHAVE still in flight): timeout1, like any old link.
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'y', round: 0 }] }, 161);
  assert.deepEqual(take(), [MISS(100, 'y', 261)]);
});

test('link ages: several fresh links expire one by one, then all at once; a new link is fresh again', () => {
  const { pt, take } = node([1, 2], [2]);
  pt.neighborUp(3, 0);
  pt.neighborUp(4, 50);
  pt.handleMessage(3, { type: 'prune' }, 51);
  pt.handleMessage(4, { type: 'prune' }, 51);
  take();
  // t = 120: link 3 (120 ms) is old, link 4 (70 ms) still fresh.
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'a', round: 1 }] }, 120);
  assert.deepEqual(take(), [MISS(100, 'a', 220)]);
  pt.handleMessage(4, { type: 'ihave', entries: [{ id: 'b', round: 1 }] }, 120);
  assert.deepEqual(take(), [MISS(50, 'b', 170), send(4, { type: 'graft', id: 'b', round: 1 })]);
  // t = 150: both old (the newest link is exactly ihaveTimeoutMs old).
  pt.handleMessage(4, { type: 'ihave', entries: [{ id: 'c', round: 1 }] }, 150);
  assert.deepEqual(take(), [MISS(100, 'c', 250)]);
  // A link down and up again later is fresh from its new start.
  pt.handleMessage(4, { type: 'prune' }, 151);
  pt.neighborDown(4, 160);
  pt.neighborUp(4, 300);
  pt.handleMessage(4, { type: 'prune' }, 301);
  take();
  pt.handleMessage(4, { type: 'ihave', entries: [{ id: 'd', round: 1 }] }, 399);
  assert.deepEqual(take(), [MISS(50, 'd', 449), send(4, { type: 'graft', id: 'd', round: 1 })]);
});

test('link ages move with their links between the eager and lazy sets; an age equal to a peer id is no link', () => {
  const { pt, take } = node([1, 2], [2]);
  pt.neighborUp(3, 0);
  pt.neighborUp(4, 50);
  pt.handleMessage(3, { type: 'prune' }, 51); // 3 lazy: behind 2
  pt.handleMessage(3, { type: 'graft', id: null, round: 0 }, 52); // and eager again, after 4
  pt.handleMessage(4, { type: 'prune' }, 53);
  assert.deepEqual(pt.eagerPeers(), [1, 3]);
  assert.deepEqual(pt.lazyPeers(), [2, 4]);
  take();
  // t = 99: 3 (up at 0) is still fresh, and 4 (up at 50) too.
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'a', round: 1 }] }, 99);
  assert.deepEqual(take(), [MISS(50, 'a', 149), send(3, { type: 'graft', id: 'a', round: 1 })]);
  // t = 120: 3 is old, 4 still fresh.
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'b', round: 1 }] }, 120);
  assert.deepEqual(take(), [MISS(100, 'b', 220)]);
  pt.handleMessage(4, { type: 'ihave', entries: [{ id: 'c', round: 1 }] }, 120);
  assert.deepEqual(take(), [MISS(50, 'c', 170), send(4, { type: 'graft', id: 'c', round: 1 })]);
  // A link up at t = 130 is stored beside the age 130: peer 130, no link, is not fresh.
  pt.neighborUp(5, 130);
  take();
  pt.handleMessage(130, { type: 'ihave', entries: [{ id: 'd', round: 1 }] }, 140);
  assert.deepEqual(take(), [MISS(100, 'd', 240)]);
  assert.deepEqual(pt.eagerPeers(), [1, 3, 4, 5]);
});

test('IHAVE of an id already announced: one timer, announcers in order, the same id twice in one IHAVE counted once', () => {
  const { pt, take } = node([1, 2, 3], [2, 3]);
  pt.handleMessage(1, gossip('old', 0), 0);
  take();
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'x', round: 4 }, { id: 'x', round: 4 }, { id: 'old', round: 1 }] }, 10);
  assert.deepEqual(take(), [MISS(100, 'x', 110)]);
  pt.handleMessage(3, { type: 'ihave', entries: [{ id: 'x', round: 2 }] }, 20);
  assert.deepEqual(take(), []);
  // timeout1: the first announcer is grafted, then (timeout2) the second.
  pt.handleTimer(MISSING('x', 110), 110);
  assert.deepEqual(take(), [MISS(50, 'x', 160), send(2, { type: 'graft', id: 'x', round: 4 })]);
  pt.handleTimer(MISSING('x', 160), 160);
  assert.deepEqual(take(), [MISS(50, 'x', 210), send(3, { type: 'graft', id: 'x', round: 2 })]);
  // It arrives: a later IHAVE of it (or of the older id) is known, nothing sent, no timer.
  pt.handleMessage(3, gossip('x', 2), 170);
  take();
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'old', round: 1 }, { id: 'x', round: 4 }] }, 180);
  assert.deepEqual(take(), []);
  assert.equal(pt.missingCount(), 0);
});

test('no eager link at all: IHAVE grafts at once (no tree can bring it)', () => {
  const { pt, take } = node([1, 2], [1, 2]);
  assert.deepEqual(pt.eagerPeers(), []);
  pt.handleMessage(1, { type: 'ihave', entries: [{ id: 'x', round: 5 }] }, 0);
  assert.deepEqual(take(), [MISS(50, 'x', 50), send(1, { type: 'graft', id: 'x', round: 5 })]);
  assert.deepEqual(pt.eagerPeers(), [1]);
  // Now 1 is eager: the next IHAVE (from 2) waits timeout1.
  pt.handleMessage(2, { type: 'ihave', entries: [{ id: 'y', round: 5 }] }, 1);
  assert.deepEqual(take(), [MISS(100, 'y', 101)]);
});

