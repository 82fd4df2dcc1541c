import { utf8Decode, utf8Encode } from '../../util/text-bytes';

/**
 * The byte-level encoding of the section directory (docs/section-directory.md §2): every
 * byte it writes has the high bit set, so a directory never contains 0x00 (which would
 * break analyze-migration.py's "last NUL byte" search for the vmdesc), nor "{" or 0x06.
 *
 * - unsigned integers: a fixed number of 7-bit groups, most significant first
 *   (an 8-group "pointer" carries 56 bits);
 * - text: UTF-8 bytes; 0x01-0x7f become byte|0x80, every other byte an escape 0x80 followed
 *   by its two nibbles |0x80;
 * - records: tagged attributes ended by 0xff, each tag naming its value kind so that a
 *   reader skips attributes it does not know.
 */

export const enum AttrKind {
  /** Zigzag-encoded integer in 8 groups. */
  NUMBER = 0,
  TEXT = 1,
  /** A flag that is present: no value. */
  TRUE = 2,
  /** A nested record. */
  RECORD = 3,
  /** Columns of unsigned integers: column count, group width per column, row count, rows. */
  TABLE = 4,
}

export const RECORD_END = 0xff;
export const POINTER_GROUPS = 8;

/** Raised on bytes that do not follow the encoding; the directory is then ignored. */
export class MalformedDirectory extends Error {
  constructor(readonly at: number, message: string) {
    super(message);
  }
}

export class NulFreeWriter {
  private buf = new Uint8Array(1 << 16);
  private len = 0;

  get length(): number {
    return this.len;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  byte(b: number): void {
    if (b < 0x80 || b > 0xff) throw new Error(`directory byte ${b} is not in 0x80-0xff`);
    if (this.len === this.buf.length) {
      const grown = new Uint8Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.len++] = b;
  }

  /** An unsigned integer in `groups` 7-bit groups. */
  uint(value: number, groups: number): void {
    if (!Number.isSafeInteger(value) || value < 0 || value >= 2 ** (7 * groups)) {
      throw new Error(`directory value ${value} does not fit ${groups} groups of 7 bits`);
    }
    for (let g = groups - 1; g >= 0; g--) this.byte(0x80 | (Math.floor(value / 2 ** (7 * g)) % 128));
  }

  /** Overwrites an unsigned integer written earlier (lengths and checksums known last). */
  patchUint(at: number, value: number, groups: number): void {
    const end = this.len;
    this.len = at;
    this.uint(value, groups);
    this.len = end;
  }

  text(s: string): void {
    const utf8 = utf8Encode(s);
    this.uint(utf8.length, 5);
    for (const b of utf8) {
      if (b >= 0x01 && b <= 0x7f) this.byte(b | 0x80);
      else {
        this.byte(0x80);
        this.byte(0x80 | (b >> 4));
        this.byte(0x80 | (b & 0x0f));
      }
    }
  }

  tag(kind: AttrKind, id: number): void {
    this.byte(0x80 | (kind << 4) | id);
  }

  number(value: number): void {
    if (!Number.isSafeInteger(value)) throw new Error(`directory number ${value} is not an integer`);
    this.uint(value >= 0 ? value * 2 : -value * 2 - 1, 8);
  }
}

export class NulFreeReader {
  pos = 0;

  constructor(readonly buf: Uint8Array, readonly end = buf.length) {}

  byte(): number {
    if (this.pos >= this.end) throw new MalformedDirectory(this.pos, 'the directory ends inside an entry');
    const b = this.buf[this.pos++];
    if (b < 0x80) throw new MalformedDirectory(this.pos - 1, `byte 0x${b.toString(16).padStart(2, '0')} has no high bit`);
    return b;
  }

  peek(): number {
    return this.pos < this.end ? this.buf[this.pos] : -1;
  }

  uint(groups: number): number {
    // The hot path of opening a sealed image (every entry is made of these): one bounds check,
    // then the bytes themselves; byte() only to report the first bad one.
    const { buf, pos } = this;
    if (pos + groups > this.end) return this.uintChecked(groups);
    let v = 0;
    for (let g = 0; g < groups; g++) {
      const b = buf[pos + g];
      if (b < 0x80) return this.uintChecked(groups);
      v = v * 128 + (b & 0x7f);
    }
    this.pos = pos + groups;
    return v;
  }

  private uintChecked(groups: number): number {
    let v = 0;
    for (let g = 0; g < groups; g++) v = v * 128 + (this.byte() & 0x7f);
    return v;
  }

  text(): string {
    const n = this.uint(5);
    if (n > this.end - this.pos) throw new MalformedDirectory(this.pos, `a text of ${n} bytes runs past the directory`);
    const { buf, pos } = this;
    // Names are ASCII (no escapes, each byte 0x81-0xff): a string at once, without a decoder.
    let ascii = '';
    for (let i = 0; i < n; i++) {
      const b = buf[pos + i];
      if (b <= 0x80) return this.textEscaped(n);
      ascii += String.fromCharCode(b & 0x7f);
    }
    this.pos = pos + n;
    return ascii;
  }

  private textEscaped(n: number): string {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const b = this.byte();
      out[i] = b !== 0x80 ? b & 0x7f : ((this.byte() & 0x0f) << 4) | (this.byte() & 0x0f);
    }
    return utf8Decode(out);
  }

  number(): number {
    const z = this.uint(8);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** Columns of a TABLE value, each as a Float64Array of its rows. */
  table(): Float64Array[] {
    const columns = this.uint(2);
    const widths: number[] = [];
    for (let c = 0; c < columns; c++) widths.push(this.uint(2));
    const rows = this.uint(5);
    const rowBytes = widths.reduce((a, b) => a + b, 0);
    if (rows * rowBytes > this.end - this.pos) throw new MalformedDirectory(this.pos, `a table of ${rows} rows runs past the directory`);
    const out = widths.map(() => new Float64Array(rows));
    for (let r = 0; r < rows; r++) for (let c = 0; c < columns; c++) out[c][r] = this.uint(widths[c]);
    return out;
  }

  /** Skips the value of an attribute this reader does not know. */
  skipValue(kind: number): void {
    switch (kind) {
      case AttrKind.NUMBER:
        this.uint(8);
        return;
      case AttrKind.TEXT:
        this.text();
        return;
      case AttrKind.TRUE:
        return;
      case AttrKind.RECORD:
        while (this.byte() !== RECORD_END) this.skipValue((this.buf[this.pos - 1] >> 4) & 7);
        return;
      case AttrKind.TABLE:
        this.table();
        return;
      default:
        throw new MalformedDirectory(this.pos - 1, `attribute kind ${kind} is not defined`);
    }
  }
}

export function writeTable(w: NulFreeWriter, widths: readonly number[], rows: number, cell: (row: number, column: number) => number): void {
  w.uint(widths.length, 2);
  for (const g of widths) w.uint(g, 2);
  w.uint(rows, 5);
  for (let r = 0; r < rows; r++) for (let c = 0; c < widths.length; c++) w.uint(cell(r, c), widths[c]);
}

// ------------------------------------------------------------------ records by schema

/**
 * How one property of a model object is stored: its attribute id (unique per kind within
 * the record) and kind. `bool` is a required boolean (absent = false), `flag` an optional
 * `true`; `records`/`texts` are lists: a nested record whose items are attribute 0, so an
 * empty list stays distinct from an absent one.
 */
export type FieldSpec =
  | { id: number; kind: 'number' | 'text' | 'flag' | 'bool' | 'texts' }
  | { id: number; kind: 'record' | 'records'; schema: Schema };

export type Schema = Readonly<Record<string, FieldSpec>>;

const KIND_OF: Record<FieldSpec['kind'], AttrKind> = {
  number: AttrKind.NUMBER,
  text: AttrKind.TEXT,
  texts: AttrKind.RECORD,
  flag: AttrKind.TRUE,
  bool: AttrKind.TRUE,
  record: AttrKind.RECORD,
  records: AttrKind.RECORD,
};

export function writeRecord(w: NulFreeWriter, value: object, schema: Schema): void {
  const obj = value as Record<string, unknown>;
  for (const [name, spec] of Object.entries(schema)) {
    const v = obj[name];
    if (v === undefined || v === false) continue;
    const kind = KIND_OF[spec.kind];
    switch (spec.kind) {
      case 'number':
        w.tag(kind, spec.id);
        w.number(v as number);
        break;
      case 'text':
        w.tag(kind, spec.id);
        w.text(v as string);
        break;
      case 'texts':
        w.tag(kind, spec.id);
        for (const s of v as string[]) {
          w.tag(AttrKind.TEXT, 0);
          w.text(s);
        }
        w.byte(RECORD_END);
        break;
      case 'flag':
      case 'bool':
        w.tag(kind, spec.id);
        break;
      case 'record':
        w.tag(kind, spec.id);
        writeRecord(w, v as object, spec.schema);
        break;
      case 'records':
        w.tag(kind, spec.id);
        for (const item of v as object[]) {
          w.tag(AttrKind.RECORD, 0);
          writeRecord(w, item, spec.schema);
        }
        w.byte(RECORD_END);
        break;
    }
  }
  w.byte(RECORD_END);
}

/** A schema as the reader uses it: each field by its tag byte, and the bools that default to false. */
interface SchemaLookup {
  byTag: ([string, FieldSpec] | undefined)[];
  bools: string[];
}

const lookups = new WeakMap<Schema, SchemaLookup>();

function lookupOf(schema: Schema): SchemaLookup {
  let m = lookups.get(schema);
  if (!m) {
    const byTag: ([string, FieldSpec] | undefined)[] = new Array(256).fill(undefined);
    for (const [name, spec] of Object.entries(schema)) byTag[0x80 | (KIND_OF[spec.kind] << 4) | spec.id] = [name, spec];
    m = { byTag, bools: Object.entries(schema).filter(([, spec]) => spec.kind === 'bool').map(([name]) => name) };
    lookups.set(schema, m);
  }
  return m;
}

/**
 * Reads one record into `into` (a new object unless given: a caller that sets some
 * properties first keeps them first, in the order it set them).
 */
export function readRecord<T>(r: NulFreeReader, schema: Schema, into: Record<string, unknown> = {}): T {
  const out = into;
  const { byTag, bools } = lookupOf(schema);
  for (const name of bools) out[name] = false;
  for (;;) {
    const tag = r.byte();
    if (tag === RECORD_END) break;
    const known = byTag[tag];
    if (!known) {
      r.skipValue((tag >> 4) & 7);
      continue;
    }
    const [name, spec] = known;
    switch (spec.kind) {
      case 'number':
        out[name] = r.number();
        break;
      case 'text':
        out[name] = r.text();
        break;
      case 'texts':
        out[name] = readList(r, AttrKind.TEXT, () => r.text());
        break;
      case 'flag':
      case 'bool':
        out[name] = true;
        break;
      case 'record':
        out[name] = readRecord(r, spec.schema);
        break;
      case 'records':
        out[name] = readList(r, AttrKind.RECORD, () => readRecord(r, spec.schema));
        break;
    }
  }
  return out as T;
}

/** Items of a list attribute: attribute 0 of `kind`, repeated; anything else is skipped. */
function readList<T>(r: NulFreeReader, kind: AttrKind, item: () => T): T[] {
  const out: T[] = [];
  for (;;) {
    const tag = r.byte();
    if (tag === RECORD_END) return out;
    if (tag === (0x80 | (kind << 4))) out.push(item());
    else r.skipValue((tag >> 4) & 7);
  }
}
