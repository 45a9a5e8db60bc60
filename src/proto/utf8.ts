/**
 * UTF-8 byte length of a string without encoding it, shared by the key-value state's limits
 * (src/proto/state) and the wire codec's string sizes (src/wire/bytes.ts).
 */

/** UTF-8 length of `s`, or -1 for a lone surrogate (such a key is refused). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return -1;
      n += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) return -1;
    else n += 3;
  }
  return n;
}
