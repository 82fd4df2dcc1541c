/**
 * Serialises like Python's `json.JSONEncoder(indent=4, separators=(',', ': '))` with the
 * default ensure_ascii=True, so output can be compared byte for byte with scripts such as
 * QEMU's analyze-migration.py. Maps keep insertion order (Python's OrderedDict); plain
 * objects keep JavaScript key order.
 */
export type PyValue = null | boolean | number | bigint | string | PyValue[] | Map<string, PyValue> | { [key: string]: PyValue };

export function pyJsonDumps(value: PyValue, indent = 4): string {
  const out: string[] = [];
  write(value, 0, indent, out);
  return out.join('');
}

function write(v: PyValue, level: number, indent: number, out: string[]): void {
  if (v === null) out.push('null');
  else if (v === true) out.push('true');
  else if (v === false) out.push('false');
  else if (typeof v === 'number') out.push(formatNumber(v));
  else if (typeof v === 'bigint') out.push(v.toString());
  else if (typeof v === 'string') out.push(pyString(v));
  else if (Array.isArray(v)) {
    if (v.length === 0) return void out.push('[]');
    const pad = '\n' + ' '.repeat(indent * (level + 1));
    out.push('[');
    v.forEach((item, i) => {
      out.push(i === 0 ? pad : ',' + pad);
      write(item, level + 1, indent, out);
    });
    out.push('\n' + ' '.repeat(indent * level) + ']');
  } else {
    const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
    if (entries.length === 0) return void out.push('{}');
    const pad = '\n' + ' '.repeat(indent * (level + 1));
    out.push('{');
    entries.forEach(([k, item], i) => {
      out.push(i === 0 ? pad : ',' + pad);
      out.push(pyString(k), ': ');
      write(item, level + 1, indent, out);
    });
    out.push('\n' + ' '.repeat(indent * level) + '}');
  }
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  return String(n); // Python repr of floats differs in rare cases; vmdesc has none
}

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** A JSON string literal with Python's ensure_ascii escaping (\uXXXX for anything non-ASCII). */
export function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const code = s.charCodeAt(i);
    if (ESCAPES[c]) out += ESCAPES[c];
    else if (code < 0x20 || code > 0x7e) out += '\\u' + code.toString(16).padStart(4, '0');
    else out += c;
  }
  return out + '"';
}
