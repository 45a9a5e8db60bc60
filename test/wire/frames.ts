import { crc32c } from '@node-rs/crc32';

/** A frame (or datagram) from raw version/type/body bytes, with a correct length prefix and
 *  CRC-32C: for tests that need frames the encoder would never write. */
export function reframe(version: number, code: number, body: Uint8Array | readonly number[]): Uint8Array {
  const f = new Uint8Array(4 + 2 + body.length + 4);
  const dv = new DataView(f.buffer);
  dv.setUint32(0, f.length - 4);
  f[4] = version;
  f[5] = code;
  f.set(body, 6);
  dv.setUint32(f.length - 4, crc32c(f.subarray(4, f.length - 4)));
  return f;
}
