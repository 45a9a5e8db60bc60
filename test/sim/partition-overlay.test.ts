// Issue 20 §3: a partition that outlived the failure detector leaves two HyParView overlays;
// after the heal they must be one again, not only the member lists. After 2 minutes apart the
// passive views still point across and HyParView's own repair finds the other side (through
// one or two links); after 30 minutes they have forgotten it, and only the membership's
// reconnect (the node whose reconnect was answered JOINs through that member,
// `AppIo.peerReconnected`) joins the overlays. A control run with the hint switched off shows
// that the long partition's split is real and that the hint is what ends it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionAndHeal, type PartitionRow } from '../../src/sim/exp-membership-partition.js';

const NODES = 300;
const LONG_MS = 1_800_000;
/** Bound on the time from the heal to one overlay component (virtual seconds); measured 0.25 s
 *  (the first sample) at 300 nodes for seeds 1 and 2, docs/results.md. */
const ONE_OVERLAY_S = 5;

const show = (seed: number, r: PartitionRow): string => `seed ${seed}: ${JSON.stringify(r)}`;

test(`a 50/50 partition of ${NODES} nodes for 30 minutes is one overlay within ${ONE_OVERLAY_S} s of the heal, with several links across`, () => {
  // Seed 1, as the control below (seed 2 measured too: docs/results.md).
  for (const seed of [1]) {
    const r = partitionAndHeal(NODES, seed, LONG_MS);
    assert.ok(r.overlay_components_before_heal >= 2, `the partition split the overlay (${show(seed, r)})`);
    assert.ok(r.reconnect_joins >= 1, `some answered reconnect sent a JOIN (${show(seed, r)})`);
    assert.ok(r.overlay_one_component_s !== null && r.overlay_one_component_s <= ONE_OVERLAY_S, `one component within ${ONE_OVERLAY_S} s (${show(seed, r)})`);
    assert.ok(r.overlay_links_across_end >= 5, `more than a single bridge between the halves (${show(seed, r)})`);
    assert.ok(r.heal_to_full_s !== null && r.heal_to_full_s <= 5, `member lists whole within 5 s (${show(seed, r)})`);
  }
});

test('control: without the overlay hint the 30-minute partition stays two overlays for 120 s after the heal', () => {
  const r = partitionAndHeal(NODES, 1, LONG_MS, { overlayHint: false });
  assert.equal(r.reconnect_joins, 0, 'no JOIN without the hint');
  assert.ok(r.overlay_one_component_s === null && r.overlay_components_end >= 2 && r.overlay_links_across_end === 0, `still split: ${show(1, r)}`);
  assert.ok(r.heal_to_full_s !== null, `the member lists heal anyway (${show(1, r)})`);
});
