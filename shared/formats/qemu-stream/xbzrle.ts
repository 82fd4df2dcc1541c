/**
 * XBZRLE delta decoding (migration/xbzrle.c xbzrle_decode_buffer): the encoded page is a
 * sequence of (uleb128 zero-run, uleb128 nonzero-run, nonzero-run literal bytes) applied
 * to the previously sent copy of the page. A zero run means "unchanged bytes".
 */
export class XbzrleError extends Error {}

export function applyXbzrle(previous: Uint8Array, encoded: Uint8Array): Uint8Array {
  const out = new Uint8Array(previous);
  let i = 0;
  let d = 0;
  while (i < encoded.length) {
    const zrun = uleb128(encoded, i);
    i = zrun.next;
    d += zrun.value;
    // QEMU may end the encoding after a final unchanged run.
    if (i >= encoded.length) break;
    const nzrun = uleb128(encoded, i);
    i = nzrun.next;
    if (d + nzrun.value > out.length || i + nzrun.value > encoded.length) {
      throw new XbzrleError(`XBZRLE run of ${nzrun.value} bytes at page offset ${d} overflows the page or the record`);
    }
    out.set(encoded.subarray(i, i + nzrun.value), d);
    i += nzrun.value;
    d += nzrun.value;
  }
  if (d > out.length) throw new XbzrleError(`XBZRLE runs cover ${d} bytes of a ${out.length}-byte page`);
  return out;
}

function uleb128(b: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length && shift < 28; i++, shift += 7) {
    value |= (b[i] & 0x7f) << shift;
    if (!(b[i] & 0x80)) return { value, next: i + 1 };
  }
  throw new XbzrleError(`unterminated uleb128 at encoded offset ${at}`);
}
