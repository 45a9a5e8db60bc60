/**
 * Approximate wire size of a message, for byte counts in the simulator.
 *
 * The simulator never encodes messages (that is `src/wire`'s job and would cost more than
 * the protocol itself at 10^6 nodes); it charges each message a size computed from its
 * fields, close to a compact binary framing: a fixed frame overhead (length 4, version 1,
 * type 1, checksum 4 = 10 bytes), 4 bytes per peer id, 2 bytes per small integer, and the
 * length-prefixed bytes of message ids and payloads.
 */
import type { Message } from '../proto/types.js';

/** Frame overhead per message: length(4) + version(1) + type(1) + crc32c(4). */
export const FRAME_OVERHEAD = 10;
const PEER = 4;
const SMALL = 2;

/** Length-prefixed string size (ids are ASCII in the simulator). */
function str(s: string): number {
  return SMALL + s.length;
}

/** Every message type tag, in a fixed order: the index of a type in per-type counters. */
export const MESSAGE_TYPES = [
  'join', 'forward-join', 'neighbor', 'neighbor-reply', 'disconnect', 'shuffle', 'shuffle-reply',
  'gossip', 'ihave', 'graft', 'prune', 'cyclon-shuffle', 'cyclon-reply',
] as const;
export type CountedType = (typeof MESSAGE_TYPES)[number];

/** Index of `type` in `MESSAGE_TYPES`. */
export function typeIndex(type: Message<number>['type']): number {
  switch (type) {
    case 'join': return 0;
    case 'forward-join': return 1;
    case 'neighbor': return 2;
    case 'neighbor-reply': return 3;
    case 'disconnect': return 4;
    case 'shuffle': return 5;
    case 'shuffle-reply': return 6;
    case 'gossip': return 7;
    case 'ihave': return 8;
    case 'graft': return 9;
    case 'prune': return 10;
    case 'cyclon-shuffle': return 11;
    case 'cyclon-reply': return 12;
  }
}

/** Approximate encoded size of `msg` in bytes, frame included. */
export function messageSize(msg: Message<number>): number {
  switch (msg.type) {
    case 'join': return FRAME_OVERHEAD;
    case 'forward-join': return FRAME_OVERHEAD + PEER + SMALL;
    case 'neighbor': return FRAME_OVERHEAD + 1;
    case 'neighbor-reply': return FRAME_OVERHEAD + 1;
    case 'disconnect': return FRAME_OVERHEAD + 1;
    case 'shuffle': return FRAME_OVERHEAD + PEER + SMALL + SMALL + PEER * msg.peers.length;
    case 'shuffle-reply': return FRAME_OVERHEAD + SMALL + PEER * msg.peers.length;
    case 'gossip': return FRAME_OVERHEAD + str(msg.id) + SMALL + 4 + msg.payload.length;
    case 'ihave': {
      let s = FRAME_OVERHEAD + SMALL;
      for (const e of msg.entries) s += str(e.id) + SMALL;
      return s;
    }
    case 'graft': return FRAME_OVERHEAD + 1 + (msg.id === null ? 0 : str(msg.id)) + SMALL;
    case 'prune': return FRAME_OVERHEAD;
    case 'cyclon-shuffle':
    case 'cyclon-reply':
      return FRAME_OVERHEAD + SMALL + (PEER + SMALL) * msg.entries.length;
  }
}
