// Flooder process of bench/flood.ts: connects to TARGET as a fake peer and sends gossip
// frames of new, well-formed messages (distinct ids: each would be delivered and forwarded)
// as fast as its socket drains, until killed.
import { connect } from 'node:net';
import { encodeFrame, encodeEnvelope, messageIdFor, PROTOCOL_VERSION } from '../src/wire/index.js';

const [target, addr] = [process.argv[2], process.argv[3]];
const i = target.lastIndexOf(':');
const sock = connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
sock.on('error', () => process.exit(0));
sock.on('close', () => process.exit(0));
sock.on('data', () => {});
let seq = 0;
function frame(): Uint8Array {
  const payload = encodeEnvelope({ origin: addr, seq: seq++, channel: 'flood', timestamp: Date.now(), data: new Uint8Array(64) });
  const enc = encodeFrame({ type: 'gossip', id: messageIdFor(payload), round: 0, payload });
  if (!enc.ok) throw new Error(enc.reason);
  return enc.frame;
}
function pump(): void {
  for (let k = 0; k < 256; k++) if (!sock.write(frame())) return void sock.once('drain', pump);
  setImmediate(pump);
}
sock.on('connect', () => {
  const hello = encodeFrame({ type: 'hello', versionMin: PROTOCOL_VERSION, versionMax: PROTOCOL_VERSION, cluster: 'rumor', id: 'flooder', addr });
  if (!hello.ok) throw new Error(hello.reason);
  sock.write(hello.frame);
  setTimeout(pump, 100);
});
