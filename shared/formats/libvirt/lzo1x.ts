/**
 * LZO1X decompression (the "safe" decoder of LZO 2.x lzo1x_d.ch, as in Linux's
 * lib/lzo/lzo1x_decompress_safe.c without its LZO-RLE extension), for lzop-compressed
 * libvirt saves. Hand-written because npm has no maintained pure-JS/WASM LZO1X decoder
 * (the packages there are native V8 addons or need a bundler); tests check it against
 * the real lzop tool. Every read and copy is bounds-checked: damaged input throws.
 */
export class LzoError extends Error {}

const M2_MAX_OFFSET = 0x0800;

export function lzo1xDecompress(input: Uint8Array, outLength: number): Uint8Array {
  const out = new Uint8Array(outLength);
  const inEnd = input.length;
  let ip = 0;
  let op = 0;
  let t = 0;
  let next = 0;
  let state = 0;
  let mPos = 0;

  const needIn = (n: number) => {
    if (ip + n > inEnd) throw new LzoError(`input overrun at compressed offset ${ip}`);
  };
  const needOut = (n: number) => {
    if (op + n > outLength) throw new LzoError(`output overrun: the block decodes to more than ${outLength} bytes`);
  };
  const copyLiterals = (n: number) => {
    needIn(n);
    needOut(n);
    out.set(input.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  /** Lengths above the 3-, 5- or 8-bit field: a run of zero bytes adds 255 each, then one byte. */
  const extendLength = (base: number) => {
    const start = ip;
    while (true) {
      needIn(1);
      if (input[ip] !== 0) break;
      ip++;
    }
    const zeros = ip - start;
    return zeros * 255 + base + input[ip++];
  };

  needIn(3);
  let skipToMatchNext = false;
  if (input[ip] > 17) {
    t = input[ip++] - 17;
    if (t < 4) {
      next = t;
      skipToMatchNext = true;
    } else {
      copyLiterals(t);
      state = 4;
    }
  }

  for (;;) {
    if (!skipToMatchNext) {
      needIn(1);
      t = input[ip++];
      let matchLength: number;
      if (t < 16) {
        if (state === 0) {
          // A literal run.
          if (t === 0) t = extendLength(15);
          copyLiterals(t + 3);
          state = 4;
          continue;
        }
        needIn(1);
        if (state !== 4) {
          // M1: a 2-byte match right after a short literal run.
          next = t & 3;
          mPos = op - 1 - (t >> 2) - (input[ip++] << 2);
          if (mPos < 0) throw new LzoError(`match before the start of the output at ${op}`);
          needOut(2);
          out[op] = out[mPos];
          out[op + 1] = out[mPos + 1];
          op += 2;
          state = next;
          copyLiterals(next);
          continue;
        }
        // A 3-byte match after a literal run of 4 or more.
        next = t & 3;
        mPos = op - (1 + M2_MAX_OFFSET) - (t >> 2) - (input[ip++] << 2);
        matchLength = 3;
      } else if (t >= 64) {
        // M2: 3-8 bytes, offset up to 2 KiB.
        needIn(1);
        next = t & 3;
        mPos = op - 1 - ((t >> 2) & 7) - (input[ip++] << 3);
        matchLength = (t >> 5) + 1;
      } else if (t >= 32) {
        // M3: offset up to 16 KiB.
        matchLength = (t & 31) + 2;
        if (matchLength === 2) matchLength = extendLength(31) + 2;
        needIn(2);
        const word = input[ip] | (input[ip + 1] << 8);
        ip += 2;
        mPos = op - 1 - (word >> 2);
        next = word & 3;
      } else {
        // M4: offset 16-48 KiB, or the end-of-stream marker.
        mPos = op - ((t & 8) << 11);
        matchLength = (t & 7) + 2;
        if (matchLength === 2) matchLength = extendLength(7) + 2;
        needIn(2);
        const word = input[ip] | (input[ip + 1] << 8);
        ip += 2;
        mPos -= word >> 2;
        next = word & 3;
        if (mPos === op) {
          if (matchLength !== 3) throw new LzoError('malformed end-of-stream marker');
          if (ip !== inEnd) throw new LzoError(`${inEnd - ip} bytes of input after the end-of-stream marker`);
          if (op !== outLength) throw new LzoError(`the block decodes to ${op} bytes, not ${outLength}`);
          return out;
        }
        mPos -= 0x4000;
      }
      if (mPos < 0) throw new LzoError(`match before the start of the output at ${op}`);
      needOut(matchLength);
      // Byte by byte: matches may overlap their own output (run-length repeats).
      for (let i = 0; i < matchLength; i++) out[op + i] = out[mPos + i];
      op += matchLength;
    }
    skipToMatchNext = false;
    state = next;
    copyLiterals(next);
  }
}
