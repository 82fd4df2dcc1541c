/**
 * The data inspector: the bytes at the cursor read as every type a reverse engineer asks
 * for (integers of each width, sign and byte order, floats, strings, timestamps, flags),
 * like ImHex's and VS Code's hex editor inspectors. Pure functions over a byte array.
 */
export interface InspectorRow {
  label: string;
  value: string;
}

const EPOCH_MS_MAX = 8.64e15; // the largest Date

export function inspectBytes(b: Uint8Array): InspectorRow[] {
  const rows: InspectorRow[] = [];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const has = (n: number) => b.length >= n;
  if (has(1)) {
    rows.push({ label: 'uint8', value: fmt(BigInt(b[0])) });
    rows.push({ label: 'int8', value: String(view.getInt8(0)) });
    rows.push({ label: 'binary', value: b[0].toString(2).padStart(8, '0') });
  }
  for (const [bits, le] of [[16, true], [16, false], [32, true], [32, false], [64, true], [64, false]] as const) {
    if (!has(bits / 8)) continue;
    const u = readUnsigned(b, bits / 8, le);
    const s = u >= 1n << BigInt(bits - 1) ? u - (1n << BigInt(bits)) : u;
    const order = le ? 'LE' : 'BE';
    rows.push({ label: `uint${bits} ${order}`, value: fmt(u) });
    rows.push({ label: `int${bits} ${order}`, value: s.toString() });
  }
  if (has(4)) {
    rows.push({ label: 'float32 LE', value: String(view.getFloat32(0, true)) });
    rows.push({ label: 'float32 BE', value: String(view.getFloat32(0, false)) });
  }
  if (has(8)) {
    rows.push({ label: 'float64 LE', value: String(view.getFloat64(0, true)) });
    rows.push({ label: 'float64 BE', value: String(view.getFloat64(0, false)) });
  }
  if (has(4)) {
    rows.push({ label: 'unix time32 LE', value: date(view.getUint32(0, true) * 1000) });
    rows.push({ label: 'unix time32 BE', value: date(view.getUint32(0, false) * 1000) });
  }
  if (has(8)) {
    // QEMU clocks and timers are nanoseconds (be64 in the stream).
    rows.push({ label: 'nanoseconds BE', value: date(Number(readUnsigned(b, 8, false) / 1_000_000n)) });
    rows.push({ label: 'nanoseconds LE', value: date(Number(readUnsigned(b, 8, true) / 1_000_000n)) });
  }
  rows.push({ label: 'ASCII', value: JSON.stringify(ascii(b)) });
  rows.push({ label: 'UTF-8', value: JSON.stringify(utf8(b)) });
  return rows;
}

function readUnsigned(b: Uint8Array, n: number, le: boolean): bigint {
  let v = 0n;
  for (let k = 0; k < n; k++) v = (v << 8n) | BigInt(b[le ? n - 1 - k : k]);
  return v;
}

function fmt(v: bigint): string {
  return `${v.toString()} (0x${v.toString(16)})`;
}

function date(ms: number): string {
  return Math.abs(ms) <= EPOCH_MS_MAX ? new Date(ms).toISOString() : 'out of range';
}

/** Printable ASCII up to the first NUL (others as "."). */
function ascii(b: Uint8Array): string {
  let s = '';
  for (const c of b) {
    if (c === 0) break;
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.';
  }
  return s;
}

/** UTF-8 up to the first NUL; invalid sequences become U+FFFD. */
function utf8(b: Uint8Array): string {
  const end = b.indexOf(0);
  const bytes = end < 0 ? b : b.subarray(0, end);
  let s = '';
  for (let i = 0; i < bytes.length; ) {
    const c = bytes[i];
    const n = c < 0x80 ? 1 : c >> 5 === 6 ? 2 : c >> 4 === 14 ? 3 : c >> 3 === 30 ? 4 : 0;
    if (n === 0 || i + n > bytes.length) {
      s += '\ufffd';
      i++;
      continue;
    }
    let cp = n === 1 ? c : c & (0xff >> (n + 1));
    let ok = true;
    for (let k = 1; k < n; k++) {
      if (bytes[i + k] >> 6 !== 2) ok = false;
      cp = (cp << 6) | (bytes[i + k] & 0x3f);
    }
    s += ok ? String.fromCodePoint(cp) : '\ufffd';
    i += ok ? n : 1;
  }
  return s;
}
