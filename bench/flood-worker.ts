// Flooder process of bench/flood.ts: connects to TARGET as a fake peer and sends gossip
// frames of new, well-formed messages (distinct ids: each would be delivered and forwarded)
// as fast as its socket drains; when the node cuts it off (quarantine) it reconnects every
// 100 ms and floods again, until killed. It starts on the message 'start' from its parent.
import { connect, type Socket } from 'node:net';
import { encodeFrame, encodeEnvelope, messageIdFor, PROTOCOL_VERSION } from '../src/wire/index.js';

const [target, addr] = [process.argv[2], process.argv[3]];
const i = target.lastIndexOf(':');
let seq = 0;
function frame(): Uint8Array {
  const payload = encodeEnvelope({ origin: addr, seq: seq++, channel: 'flood', timestamp: Date.now(), data: new Uint8Array(64) });
  const enc = encodeFrame({ type: 'gossip', id: messageIdFor(payload), round: 0, payload });
  if (!enc.ok) throw new Error(enc.reason);
  return enc.frame;
}
function flood(): void {
  const sock: Socket = connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
  let open = true;
  const pump = (): void => {
    if (!open) return;
    for (let k = 0; k < 256; k++) if (!sock.write(frame())) return void sock.once('drain', pump);
    setImmediate(pump);
  };
  sock.on('error', () => {});
  sock.on('close', () => {
    open = false;
    setTimeout(flood, 100);
  });
  sock.on('data', () => {});
  sock.on('connect', () => {
    const hello = encodeFrame({ type: 'hello', versionMin: PROTOCOL_VERSION, versionMax: PROTOCOL_VERSION, cluster: 'rumor', id: 'flooder', addr });
    if (!hello.ok) throw new Error(hello.reason);
    sock.write(hello.frame);
    setTimeout(pump, 100);
  });
}
// Start on the parent's signal (its process start-up is not part of the measurement).
process.on('message', (m) => {
  if (m === 'start') flood();
});
process.send?.('ready');
