/**
 * Plumtree's GOSSIP messages, shared (plumtree.ts `push`): a message is immutable once made, so
 * every machine of a process can send the same object for the same (id, round, payload).
 */
import type { BroadcastMessage, MsgId } from './types.js';

/** GOSSIP messages are immutable, so every machine of a process shares one per (id, round,
 *  payload): the ones made last, for one id and payload, indexed by round (rounds from
 *  `FLY_ROUNDS` on are made per push). In a simulation every node forwards the same payload
 *  object, so a wave of 10^6 pushes makes a few dozen messages instead of 10^6 (each read by
 *  its receivers while still in cache), and the flush of another id only starts the table
 *  again. Nothing compares messages by identity but the agent's frame cache (net/shared-frame.ts),
 *  whose frame depends on the content alone. Limit: the table keeps the last id's payload
 *  (and up to 64 messages) alive until another id is pushed: one payload per process. */
export const FLY_ROUNDS = 64;
let flyId: MsgId | undefined;
let flyPayload: Uint8Array | undefined;
const flyMsgs: (BroadcastMessage | undefined)[] = new Array<BroadcastMessage | undefined>(FLY_ROUNDS).fill(undefined);

export function gossipMessage(id: MsgId, round: number, payload: Uint8Array): BroadcastMessage {
  if (!(round >= 0 && round < FLY_ROUNDS && (round | 0) === round)) return { type: 'gossip', id, round, payload };
  if (id !== flyId || payload !== flyPayload) {
    flyId = id;
    flyPayload = payload;
    flyMsgs.fill(undefined);
  }
  let m = flyMsgs[round];
  if (m === undefined) {
    m = { type: 'gossip', id, round, payload };
    flyMsgs[round] = m;
  }
  return m;
}
