// The agent membership's codec wrapper (src/agent/members.ts): a flush's batch, one message
// object sent to several links, is encoded once; every send is still counted by type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentMembers } from '../../src/agent/members.js';
import type { AppSpec } from '../../src/net/app-host.js';
import type { RumorNode } from '../../src/net/rumor-node.js';
import { decodeMembers } from '../../src/wire/members.js';
import { pack, type MembersEvent, type MembersMessage, type MembersTimer } from '../../src/proto/members/types.js';

type Spec = AppSpec<MembersMessage<string>, MembersTimer<string>, MembersEvent<string>>;

/** An AgentMembers over a node that only records the application spec it is given. */
function captured(): { members: AgentMembers; spec: Spec } {
  let spec: Spec | undefined;
  const node = {
    address: '127.0.0.1:7946',
    runApp: (s: Spec) => {
      spec = s;
      return { app: s.create('127.0.0.1:7946', { send() {}, sendDatagram() {}, broadcast() {}, timer() {}, event() {}, peerReconnected() {} }), stop() {}, stats: () => ({}) };
    },
  } as unknown as RumorNode;
  const members = new AgentMembers(node, { name: 'n1', tags: {}, incarnation: 1, config: {}, seed: 1, onEvent() {} });
  return { members, spec: spec! };
}

test('agent membership codec: one batch object sent to several links is encoded once, each send counted', () => {
  const { members, spec } = captured();
  const batch: MembersMessage<string> = { type: 'm-changes', ids: ['127.0.0.1:1', '127.0.0.1:2'], states: [pack(1, 0), pack(2, 0)], metas: [{ name: 'a', tags: { role: 'web' } }, null], sync: false };
  const first = spec.codec.encode(batch);
  const second = spec.codec.encode(batch);
  assert.ok(first.ok && second.ok);
  assert.equal(second.value, first.value, 'the same bytes, not encoded again');
  const d = decodeMembers(first.value);
  assert.ok(d.ok && d.msg.type === 'm-changes');
  assert.deepEqual(d.msg.ids, batch.ids);
  // Another object with other contents (a link's copy without an entry) is encoded on its own.
  const copy: MembersMessage<string> = { ...batch, skip: [1] };
  const third = spec.codec.encode(copy);
  assert.ok(third.ok);
  assert.notEqual(third.value, first.value);
  const d3 = decodeMembers(third.value);
  assert.ok(d3.ok && d3.msg.type === 'm-changes');
  assert.deepEqual(d3.msg.ids, ['127.0.0.1:2'], 'the skipped entry is left out');
  assert.equal(members.traffic().sent['m-changes'], 3, 'every send counted');
  // A message the codec refuses is refused every time (nothing cached for it).
  const bad = { type: 'm-ping', seq: -1, ids: [], states: [] } as MembersMessage<string>;
  assert.equal(spec.codec.encode(bad).ok, false);
  assert.equal(spec.codec.encode(bad).ok, false);
});
