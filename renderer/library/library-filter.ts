import type { LibraryImage } from '../../shared/api/contract';

/**
 * The library's filter: words and `field:value` terms, all of which a row must match.
 *
 *   e1000 "case 4711"      words, anywhere in the row (name, path, wrapper, devices, tags,
 *                          notes, problem codes, and "error"/"warning" when it has them)
 *   tag:evidence           a tag (exactly); device:e1000, machine:pc-q35*, qemu:7.2,
 *                          code:damaged-section-type, severity:error, status:missing,
 *                          format:libvirt, wrapper:gzip, note:seized, name:flip
 *   ram>=1G  ram<64M       RAM size compared (K, M, G, T: powers of 1024)
 *   -tag:done  -missing    a minus excludes rows matching the term
 */
export const FILTER_HELP =
  'Words match anywhere (name, wrapper, devices, tags, notes, problem codes; "error" and "warning" match rows that have them). ' +
  'Terms: tag:T device:D machine:M (* wildcard) qemu:7.2 code:C severity:error status:S format:F wrapper:W note:N name:N, ram>=1G ram<64M; -term excludes.';

/** A row with what the filter and the sort read, computed once per list. */
export interface LibraryRow {
  image: LibraryImage;
  name: string;
  /** Everything a word can match, lower case. */
  text: string;
  /** errors first, then warnings: the problems column's sort order. */
  problemRank: number;
}

export function libraryRows(images: readonly LibraryImage[]): LibraryRow[] {
  return images.map((image) => {
    const name = image.path.split(/[/\\]/).pop() ?? image.path;
    const severities = [image.errors ? 'error errors' : '', image.warnings ? 'warning warnings' : ''].join(' ');
    const text = [
      image.path,
      image.status,
      image.format,
      image.wrapper,
      image.machineType,
      image.qemuVersion ? `qemu ${image.qemuVersion}` : '',
      severities,
      ...image.devices,
      ...image.tags,
      ...image.problems.map((p) => p.code),
      ...image.userNotes.map((n) => n.text),
    ]
      .filter(Boolean)
      .join('\n')
      .toLowerCase();
    return { image, name, text, problemRank: image.errors * 1e6 + image.warnings };
  });
}

type Test = (row: LibraryRow) => boolean;

/** The rows that match every term of `query`; a term that cannot be read matches as a word. */
export function filterRows(rows: readonly LibraryRow[], query: string): LibraryRow[] {
  const tests = terms(query).map(compileTerm);
  return tests.length ? rows.filter((r) => tests.every((t) => t(r))) : [...rows];
}

/** Splits on spaces, keeping "quoted phrases" together (and a field's quoted value: note:"case 4711"). */
export function terms(query: string): string[] {
  return [...query.matchAll(/-?[\w.-]*(?:[:<>=]+)?"[^"]*"?|\S+/g)].map((m) => m[0].replace(/"/g, '')).filter((t) => t && t !== '-');
}

const FIELDS: Record<string, (value: string) => Test> = {
  tag: (v) => (r) => r.image.tags.some((t) => t.toLowerCase() === v),
  device: (v) => (r) => r.image.devices.some((d) => glob(v)(d.toLowerCase().replace(/ ×\d+$/, ''))),
  machine: (v) => (r) => glob(v)((r.image.machineType ?? '').toLowerCase()),
  qemu: (v) => (r) => fitsVersion(r.image.qemuVersion, v),
  code: (v) => (r) => r.image.problems.some((p) => glob(v)(p.code)),
  severity: (v) => (r) => (v.startsWith('err') ? r.image.errors > 0 : v.startsWith('warn') ? r.image.warnings > 0 : r.image.problems.some((p) => p.severity === v)),
  status: (v) => (r) => r.image.status === v,
  format: (v) => (r) => (r.image.format ?? '').toLowerCase().includes(v),
  wrapper: (v) => (r) => (r.image.wrapper ?? 'bare stream').toLowerCase().includes(v),
  note: (v) => (r) => r.image.userNotes.some((n) => n.text.toLowerCase().includes(v)),
  name: (v) => (r) => r.name.toLowerCase().includes(v),
};
const ALIASES: Record<string, string> = { tags: 'tag', dev: 'device', devices: 'device', sev: 'severity', problem: 'code', notes: 'note', version: 'qemu' };

function compileTerm(term: string): Test {
  if (term.startsWith('-') && term.length > 1) {
    const inner = compileTerm(term.slice(1));
    return (r) => !inner(r);
  }
  const ram = /^ram(<=|>=|<|>|=|:)(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(term);
  if (ram) {
    const bytes = Number(ram[2]) * 1024 ** ' kmgt'.indexOf((ram[3] || ' ').toLowerCase());
    const op = ram[1];
    return (r) => {
      const have = r.image.ramBytes;
      if (have === null) return false;
      return op === '<' ? have < bytes : op === '<=' ? have <= bytes : op === '>' ? have > bytes : op === '>=' ? have >= bytes : have === bytes;
    };
  }
  const field = /^([a-z]+):(.+)$/i.exec(term);
  const key = field && (ALIASES[field[1].toLowerCase()] ?? field[1].toLowerCase());
  if (field && key && FIELDS[key]) return FIELDS[key](field[2].toLowerCase());
  const word = term.toLowerCase();
  return (r) => r.text.includes(word);
}

/** `pc-q35*` as a wildcard pattern; a plain value matches exactly. */
function glob(pattern: string): (text: string) => boolean {
  if (!/[*?]/.test(pattern)) return (t) => t === pattern;
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return (t) => re.test(t);
}

/** Whether release `v` ("7.2") is within a hint ("≥ 7.2", "7.2–9.0", "≤ 9.0", "10.0"). */
function fitsVersion(hint: string | null, v: string): boolean {
  if (!hint) return false;
  const n = versionNumber(v);
  if (n === null) return hint.toLowerCase().includes(v);
  const range = /^(?:≥ (\S+)|≤ (\S+)|(\S+)–(\S+)|(\d+\.\d+))$/.exec(hint);
  if (!range) return false;
  const [, atLeast, atMost, from, to, exact] = range;
  const lo = versionNumber(atLeast ?? from ?? exact ?? '0.0') ?? 0;
  const hi = versionNumber(atMost ?? to ?? exact ?? '999.0') ?? Infinity;
  return n >= lo && n <= hi;
}

function versionNumber(v: string): number | null {
  const m = /^(\d+)\.(\d+)$/.exec(v.trim());
  return m ? Number(m[1]) * 1000 + Number(m[2]) : null;
}

export type SortKey = 'name' | 'wrapper' | 'machineType' | 'qemuVersion' | 'ramBytes' | 'devices' | 'size' | 'status' | 'problems' | 'tags' | 'indexedAt';

/** localeCompare's order, without building a collator for each of the 130,000 comparisons of 10,000 rows. */
const COLLATOR = new Intl.Collator();

/** Sorts rows by a column (stable; empty values last either way). */
export function sortRows(rows: readonly LibraryRow[], key: SortKey, descending: boolean): LibraryRow[] {
  const value = (r: LibraryRow): string | number | null => {
    switch (key) {
      case 'name':
        return r.name;
      case 'problems':
        return r.problemRank;
      case 'devices':
        return r.image.devices.length;
      case 'tags':
        return r.image.tags.join(' ') || null;
      case 'qemuVersion':
        return r.image.qemuVersion ? versionNumber(r.image.qemuVersion.replace(/^[≥≤] /, '').split('–')[0]) : null;
      default:
        return r.image[key];
    }
  };
  const keyed = rows.map((r) => ({ r, v: value(r) }));
  keyed.sort((a, b) => {
    if (a.v === null || a.v === '') return b.v === null || b.v === '' ? 0 : 1;
    if (b.v === null || b.v === '') return -1;
    const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : COLLATOR.compare(String(a.v), String(b.v));
    return descending ? -c : c;
  });
  return keyed.map((k) => k.r);
}
