/**
 * `probe`: can a node be reached right now? Opens a throwaway TCP connection, performs the
 * handshake (hello → welcome | refuse) and closes it. Used by the agent's membership layer to
 * confirm that a peer whose link failed is really gone before declaring it failed.
 * Independent of the transport's connection table, so it never disturbs the protocol.
 */
import { connect } from 'node:net';
import { FrameDecoder, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION, encodeFrame, type WireLimits } from '../wire/index.js';
import { StreamOpener, StreamSealer, TAG_BYTES, type Keyring } from '../wire/crypto.js';
import { localFrom, parseAddr } from './util.js';

export interface ProbeIdentity {
  cluster: string;
  id: string;
  address: string;
  limits: WireLimits;
  /** Local address to dial from (the node's bind address); undefined: the kernel picks. */
  localAddress?: string;
  /** The node's keyring: the probe speaks as the node's connections do (encrypted or not). */
  keyring: Keyring;
}

/** Resolves true when `peer` answers the handshake with `welcome` within `timeoutMs`. */
export function probePeer(peer: string, me: ProbeIdentity, timeoutMs: number): Promise<boolean> {
  const a = parseAddr(peer);
  if (!a.ok) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = connect({ host: a.value.host, port: a.value.port, ...localFrom(me.localAddress, a.value.host) });
    let decoder = new FrameDecoder(me.limits, { detectEncrypted: true });
    let opener: StreamOpener | null = null;
    let settled = false;
    const done = (ok: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
    socket.on('connect', () => {
      const hello = encodeFrame(
        { type: 'hello', versionMin: MIN_PROTOCOL_VERSION, versionMax: PROTOCOL_VERSION, cluster: me.cluster, id: me.id, addr: me.address },
        me.limits,
      );
      if (!hello.ok) return done(false);
      socket.write(me.keyring.sendsEncrypted() ? new StreamSealer(me.keyring, me.cluster).seal(hello.frame) : hello.frame);
    });
    socket.on('data', (chunk: Buffer) => {
      if (opener === null) decoder.push(chunk);
      else opener.push(chunk);
      for (;;) {
        const r = decoder.next();
        if (r !== null && !r.ok && r.error === 'encrypted' && opener === null && me.keyring.enabled) {
          opener = new StreamOpener(me.keyring, me.cluster, me.limits.maxFrameBytes + 4 + TAG_BYTES);
          for (const c of decoder.rest()) opener.push(c);
          decoder = new FrameDecoder(me.limits, { detectEncrypted: true });
        } else if (r !== null) {
          return done(r.ok && r.msg.type === 'welcome' && (opener !== null || me.keyring.acceptsPlaintext()));
        }
        if (opener === null) return;
        const step = opener.next();
        if (step.type === 'need') return;
        if (step.type === 'error') return done(false);
        decoder.push(step.bytes);
      }
    });
  });
}
