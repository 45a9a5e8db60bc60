/**
 * The transport's table of live connections (transport.ts): every connection, and those of
 * each known peer (a connection joins its peer's list once the handshake named the peer, or
 * at once for a dial). `pick` chooses the connection a send goes on.
 *
 * Limits: a peer may have several connections (its dial and ours can cross); `pick` prefers
 * an open one, else the first usable one (still connecting or handshaking: frames queue).
 */
import type { Connection } from './connection.js';

/** Live connections, all and by peer. */
export class ConnTable {
  /** Every live connection (the transport iterates it and counts it). */
  readonly all = new Set<Connection>();
  private readonly byPeer = new Map<string, Connection[]>();

  /** The connections to `peer` (undefined: none). */
  of(peer: string): Connection[] | undefined {
    return this.byPeer.get(peer);
  }

  /** A usable connection to `peer`: an open one if any, else one that is still opening. */
  pick(peer: string): Connection | null {
    const list = this.byPeer.get(peer);
    if (list === undefined) return null;
    let fallback: Connection | null = null;
    for (const c of list) {
      if (!c.usable()) continue;
      if (c.state === 'open') return c;
      fallback ??= c;
    }
    return fallback;
  }

  register(c: Connection): void {
    this.all.add(c);
    if (c.peer === null) return;
    const list = this.byPeer.get(c.peer);
    if (list === undefined) this.byPeer.set(c.peer, [c]);
    else list.push(c);
  }

  unregister(c: Connection): void {
    this.all.delete(c);
    if (c.peer === null) return;
    const list = this.byPeer.get(c.peer);
    if (list === undefined) return;
    const i = list.indexOf(c);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byPeer.delete(c.peer);
  }
}
