import {
  EMULATOR_IDS,
  LIBXC_RECORD_NAMES,
  LIBXL_RECORD_NAMES,
  LibxcRecord,
  LibxlRecord,
  PFINFO_NAMES,
  PFN_RESERVED_MASK,
  PFN_TYPE_SHIFT,
  pfinfoHasData,
  pfinfoIsValid,
  XEN_PAGE_SIZE,
  CHECKPOINT_STATES,
} from './constants';
import { VERIFY, type Finding } from './diagnostics';
import type { XenBytes } from './wire';

/**
 * The checks of every record body, written once: what verify-stream-v2 checks (with the
 * exception and message it raises, so its verdict can be predicted and compared), and what
 * it does not but Xen's restore code or the spec requires. Offsets in findings are relative
 * to the record body.
 */
export interface RecordInput {
  type: number;
  /** Body length from the record header. */
  length: number;
  littleEndian: boolean;
  /** libxc image version (2 or 3) for libxc records. */
  version: number;
  /** The first `n` bytes of the body (fewer at the end of the file). */
  head(n: number): XenBytes;
}

const hex = (n: number | bigint, width = 0): string => '0x' + n.toString(16).padStart(width, '0');

type Rule = (r: RecordInput) => Finding[];

function mustBeEmpty(what: string, verifierWhat: string): Rule {
  return (r) =>
    r.length === 0
      ? []
      : [{ severity: 'error', code: 'xen-record-length', expected: 'body length 0', found: `${r.length}`, message: `${what} record has a body of ${r.length} bytes`, hint: 'Xen refuses it; a repair sets the length to 0.', verifier: VERIFY.record(`${verifierWhat} record with non-zero length`) }];
}

function lengthIs(what: string, expected: number, verifierMessage: (n: number) => ReturnType<typeof VERIFY.record>): Rule {
  return (r) =>
    r.length === expected
      ? []
      : [{ severity: 'error', code: 'xen-record-length', expected: `${expected} bytes`, found: `${r.length} bytes`, message: `${what} must be ${expected} bytes long`, hint: "Xen's restore refuses a record of another size.", verifier: verifierMessage(r.length) }];
}

// ---------------------------------------------------------------- libxc

function pageData(r: RecordInput): Finding[] {
  const out: Finding[] = [];
  if (r.length <= 8) {
    out.push({ severity: 'error', code: 'xen-page-data-short', expected: 'a count, a reserved word and at least one pfn', found: `${r.length} bytes`, message: 'PAGE_DATA record too short to hold a pfn', verifier: VERIFY.record('PAGE_DATA record must be at least 8 bytes long') });
    return out;
  }
  const h = r.head(8);
  const count = h.u32(0);
  const reserved = h.u32(4);
  if (reserved !== 0) {
    out.push({ severity: 'error', code: 'xen-reserved', at: 4, length: 4, expected: 'reserved word 0', found: hex(reserved), message: 'Reserved bits set in the PAGE_DATA header', verifier: VERIFY.stream(`Reserved bits set in PAGE_DATA record ${hex(reserved, 4)}`) });
  }
  if (count === 0) {
    out.push({ severity: 'error', code: 'xen-page-data-count', expected: 'count > 0 (spec: "Count is strictly > 0")', found: '0', message: 'PAGE_DATA record describes no pages', length: 4 });
  }
  if (r.length - 8 < count * 8) {
    out.push({ severity: 'error', code: 'xen-page-data-count', length: 4, expected: `${count} pfn entries (${count * 8} bytes)`, found: `${r.length - 8} bytes after the header`, message: 'PAGE_DATA count exceeds the pfn entries in the record', hint: 'The count or the record length is damaged.', verifier: VERIFY.record('PAGE_DATA record must contain a pfn record for each count') });
    return out;
  }
  const pfns = r.head(8 + count * 8);
  let withData = 0;
  let flaggedReserved = false;
  let flaggedType = false;
  const seen = new Set<number>();
  let duplicates = 0;
  for (let i = 0; i < count; i++) {
    const entry = pfns.u64big(8 + i * 8);
    const type = Number(entry >> PFN_TYPE_SHIFT);
    const at = 8 + i * 8;
    if (entry & PFN_RESERVED_MASK && !flaggedReserved) {
      flaggedReserved = true;
      out.push({ severity: 'error', code: 'xen-pfn-reserved', at, length: 8, expected: 'bits 59-52 of every pfn entry clear', found: `pfn[${i}] = ${hex(entry, 16)}`, message: `Reserved bits set in pfn[${i}]`, hint: 'Xen refuses the stream; a repair clears the reserved bits.', verifier: VERIFY.record(`Reserved bits set in pfn[${i}]: ${hex(entry & PFN_RESERVED_MASK, 16)}`) });
    }
    if (!pfinfoIsValid(type) && !flaggedType) {
      flaggedType = true;
      out.push({ severity: 'error', code: 'xen-pfn-type', at, length: 8, expected: 'a XEN_DOMCTL_PFINFO type (0-4, 9-0xf)', found: `type ${hex(type)} in pfn[${i}]`, message: `Invalid page type in pfn[${i}]`, verifier: VERIFY.record(`Invalid type value in pfn[${i}]: ${hex(BigInt(type) << PFN_TYPE_SHIFT, 16)}`) });
    }
    if (pfinfoHasData(type)) withData++;
    const pfn = Number(entry & ((1n << 52n) - 1n));
    if (seen.has(pfn)) duplicates++;
    else seen.add(pfn);
  }
  const expected = 8 + count * 8 + withData * XEN_PAGE_SIZE;
  if (r.length !== expected) {
    out.push({
      severity: 'error',
      code: 'xen-page-data-length',
      expected: `8 + ${count * 8} + ${withData * XEN_PAGE_SIZE} = ${expected} bytes (${withData} of ${count} pfns carry a page)`,
      found: `${r.length} bytes`,
      message: `PAGE_DATA record length does not match its pfn list`,
      hint: r.length < expected ? 'Pages are missing: the record was cut or its count is too large.' : 'There are more bytes than the pfn list accounts for.',
      verifier: VERIFY.record(`Expected 8 + ${count * 8} + ${withData * XEN_PAGE_SIZE}, got ${r.length}`),
    });
  }
  if (duplicates) {
    out.push({ severity: 'warning', code: 'xen-pfn-duplicate', at: 8, length: count * 8, expected: 'each pfn once per record', found: `${duplicates} repeated pfn${duplicates === 1 ? '' : 's'}`, message: 'PAGE_DATA record lists a pfn more than once', hint: 'The last copy wins when the stream is restored.' });
  }
  return out;
}

function pvInfo(r: RecordInput): Finding[] {
  if (r.length !== 8) return lengthIs('X86_PV_INFO', 8, (n) => VERIFY.record(`x86_pv_info: expected length of 8, got ${n}`))(r);
  const h = r.head(8);
  const out: Finding[] = [];
  const width = h.u8(0);
  const levels = h.u8(1);
  if (width !== 4 && width !== 8) out.push({ severity: 'error', code: 'xen-pv-info', length: 1, expected: 'guest width 4 or 8', found: `${width}`, message: 'Invalid guest width in X86_PV_INFO', verifier: VERIFY.record(`Expected width of 4 or 8, got ${width}`) });
  if (levels !== 3 && levels !== 4) out.push({ severity: 'error', code: 'xen-pv-info', at: 1, length: 1, expected: 'page table levels 3 or 4', found: `${levels}`, message: 'Invalid page-table levels in X86_PV_INFO', verifier: VERIFY.record(`Expected levels of 3 or 4, got ${levels}`) });
  const res1 = h.u16(2);
  const res2 = h.u32(4);
  if (res1 || res2) out.push({ severity: 'error', code: 'xen-reserved', at: 2, length: 6, expected: 'reserved bytes 0', found: `${hex(res1, 4)} ${hex(res2, 8)}`, message: 'Reserved bits set in X86_PV_INFO', verifier: VERIFY.stream(`Reserved bits set in X86_PV_INFO: ${hex(res1, 4)} ${hex(res2, 8)}`) });
  return out;
}

function p2mFrames(r: RecordInput): Finding[] {
  if (r.length < 8) return [{ severity: 'error', code: 'xen-record-length', expected: 'at least 8 bytes', found: `${r.length} bytes`, message: 'X86_PV_P2M_FRAMES too short', verifier: VERIFY.record('x86_pv_p2m_frames: record length must be at least 8 bytes long') }];
  if (r.length % 8) return [{ severity: 'error', code: 'xen-record-length', expected: 'a multiple of 8 bytes', found: `${r.length} bytes`, message: 'X86_PV_P2M_FRAMES length is not a multiple of 8', verifier: VERIFY.record(`Length expected to be a multiple of 8, not ${r.length}`) }];
  const h = r.head(8);
  const start = h.u32(0);
  const end = h.u32(4);
  if (end < start) return [{ severity: 'error', code: 'xen-p2m-range', expected: 'p2m_end_pfn ≥ p2m_start_pfn', found: `${start}…${end}`, message: 'X86_PV_P2M_FRAMES range is empty' }];
  return [];
}

function vcpu(name: string): Rule {
  return (r) => {
    if (r.length < 8) return [{ severity: 'error', code: 'xen-record-length', expected: 'at least 8 bytes (vcpu_id, reserved)', found: `${r.length} bytes`, message: `X86_PV_VCPU_${name.toUpperCase()} too short`, verifier: VERIFY.record(`X86_PV_VCPU_${name} record length must be at least 8 bytes long`) }];
    const out: Finding[] = [];
    if (r.length === 8) out.push({ severity: 'warning', code: 'xen-empty-record', expected: 'vCPU context data', found: 'none', message: `X86_PV_VCPU_${name.toUpperCase()} record with zero content`, hint: 'Xen 4.6-4.8 wrote such records (spec errata); restore ignores them.' });
    const res = r.head(8).u32(4);
    if (res) out.push({ severity: 'error', code: 'xen-reserved', at: 4, length: 4, expected: 'reserved word 0', found: hex(res), message: `Reserved bits set in X86_PV_VCPU_${name.toUpperCase()}`, verifier: VERIFY.stream(`Reserved bits set in x86_pv_vcpu_${name} record ${hex(res, 4)}`) });
    return out;
  };
}

function tscInfo(r: RecordInput): Finding[] {
  if (r.length !== 24) return lengthIs('X86_TSC_INFO', 24, () => VERIFY.record('Length should be 24 bytes'))(r);
  const res = r.head(24).u32(20);
  return res ? [{ severity: 'error', code: 'xen-reserved', at: 20, length: 4, expected: 'reserved word 0', found: hex(res), message: 'Reserved bits set in X86_TSC_INFO', verifier: VERIFY.stream(`Reserved bits set in X86_TSC_INFO: ${hex(res, 8)}`) }] : [];
}

function hvmContext(r: RecordInput): Finding[] {
  return r.length === 0 ? [{ severity: 'error', code: 'xen-record-length', expected: 'an HVM context blob', found: '0 bytes', message: 'Zero length HVM_CONTEXT', verifier: VERIFY.record('Zero length HVM context') }] : [];
}

function hvmParams(r: RecordInput): Finding[] {
  if (r.length < 8) return [{ severity: 'error', code: 'xen-record-length', expected: 'at least 8 bytes', found: `${r.length} bytes`, message: 'HVM_PARAMS too short', verifier: VERIFY.record('Length should be at least 8 bytes') }];
  const h = r.head(8);
  const count = h.u32(0);
  const rsvd = h.u32(4);
  const out: Finding[] = [];
  if (rsvd) out.push({ severity: 'error', code: 'xen-reserved', at: 4, length: 4, expected: 'reserved word 0', found: hex(rsvd), message: 'Reserved field not zero in HVM_PARAMS', verifier: VERIFY.record(`Reserved field not zero (${hex(rsvd, 4)})`) });
  if (count === 0) out.push({ severity: 'warning', code: 'xen-empty-record', expected: 'at least one parameter', found: 'count 0', message: 'HVM_PARAMS record with zero content', hint: 'Xen 4.6-4.8 wrote such records (spec errata); restore ignores them.' });
  const want = 8 + count * 16;
  if (r.length !== want) out.push({ severity: 'error', code: 'xen-record-length', expected: `8 + 16 × ${count} = ${want} bytes`, found: `${r.length} bytes`, message: 'HVM_PARAMS length does not match its count', verifier: VERIFY.record(`Length should be ${want} bytes`) });
  return out;
}

function policy(name: string, entry: number, verifierName: string): Rule {
  return (r) => {
    const out: Finding[] = [];
    if (r.version < 3) out.push({ severity: 'error', code: 'xen-v3-record-in-v2', length: r.length, expected: 'image version 3 for this record', found: 'version 2', message: `${name} in a version 2 image`, hint: 'Set the image version to 3 (migwb transform --to xen-v3 does it properly).', verifier: VERIFY.record(`${verifierName} record found in v2 stream`) });
    if (r.length < entry || r.length % entry) out.push({ severity: 'error', code: 'xen-record-length', expected: `a non-zero multiple of ${entry} bytes`, found: `${r.length} bytes`, message: `${name} length is not a whole number of entries`, verifier: VERIFY.record(`Record length ${r.length}, expected multiple of ${entry}`) });
    return out;
  };
}

function staticDataEnd(r: RecordInput): Finding[] {
  // The verifier reuses the END record's wording for this check.
  const out = mustBeEmpty('STATIC_DATA_END', 'End')(r);
  if (!out.length && r.version < 3) {
    out.push({ severity: 'error', code: 'xen-v3-record-in-v2', expected: 'image version 3 (STATIC_DATA_END is new in v3)', found: 'version 2', message: 'STATIC_DATA_END in a version 2 image', hint: 'Either the image version or this record is wrong: upgrade the version to 3, or remove the record.', verifier: VERIFY.record('Static data end record found in v2 stream') });
  }
  return out;
}

const LIBXC_RULES: Readonly<Record<number, Rule>> = {
  [LibxcRecord.END]: mustBeEmpty('END', 'End'),
  [LibxcRecord.PAGE_DATA]: pageData,
  [LibxcRecord.X86_PV_INFO]: pvInfo,
  [LibxcRecord.X86_PV_P2M_FRAMES]: p2mFrames,
  [LibxcRecord.X86_PV_VCPU_BASIC]: vcpu('basic'),
  [LibxcRecord.X86_PV_VCPU_EXTENDED]: vcpu('extended'),
  [LibxcRecord.X86_PV_VCPU_XSAVE]: vcpu('xsave'),
  [LibxcRecord.X86_PV_VCPU_MSRS]: vcpu('msrs'),
  [LibxcRecord.SHARED_INFO]: lengthIs('SHARED_INFO', XEN_PAGE_SIZE, (n) => VERIFY.record(`Length expected to be 4906 bytes, not ${n}`)),
  [LibxcRecord.X86_TSC_INFO]: tscInfo,
  [LibxcRecord.HVM_CONTEXT]: hvmContext,
  [LibxcRecord.HVM_PARAMS]: hvmParams,
  [LibxcRecord.TOOLSTACK]: () => [
    { severity: 'warning', code: 'xen-deprecated-record', expected: 'no TOOLSTACK record (deprecated since Xen 4.6 development)', found: 'a TOOLSTACK record', message: 'Deprecated TOOLSTACK record', hint: "Xen's restore ignores its content; libxl carries this data in EMULATOR_XENSTORE_DATA.", verifier: VERIFY.script('DeprecationWarning', 'Found Toolstack record in stream') },
  ],
  [LibxcRecord.VERIFY]: mustBeEmpty('VERIFY', 'Verify'),
  [LibxcRecord.CHECKPOINT]: mustBeEmpty('CHECKPOINT', 'Checkpoint'),
  [LibxcRecord.CHECKPOINT_DIRTY_PFN_LIST]: () => [
    { severity: 'error', code: 'xen-back-channel-record', expected: 'no COLO back-channel record in a saved stream', found: 'CHECKPOINT_DIRTY_PFN_LIST', message: 'COLO back-channel record in the stream', hint: 'The secondary sends this record to the primary; it never belongs in a save file.', verifier: VERIFY.record('Found checkpoint dirty pfn list record in stream') },
  ],
  [LibxcRecord.STATIC_DATA_END]: staticDataEnd,
  [LibxcRecord.X86_CPUID_POLICY]: policy('X86_CPUID_POLICY', 24, 'x86 CPUID policy'),
  [LibxcRecord.X86_MSR_POLICY]: policy('X86_MSR_POLICY', 16, 'x86 MSR policy'),
};

export function checkLibxcRecord(r: RecordInput): Finding[] {
  return LIBXC_RULES[r.type]?.(r) ?? [];
}

export function isKnownLibxcRecord(type: number): boolean {
  return LIBXC_RECORD_NAMES[type] !== undefined;
}

// ---------------------------------------------------------------- libxl

function emulatorHeader(name: string): (r: RecordInput) => { id?: number; findings: Finding[] } {
  return (r) => {
    if (r.length < 8) return { findings: [{ severity: 'error', code: 'xen-record-length', expected: 'at least 8 bytes (emulator_id, index)', found: `${r.length} bytes`, message: `${name} too short`, verifier: VERIFY.record(`Length must be at least 8 bytes, got ${r.length}`) }] };
    const id = r.head(4).u32(0);
    if (EMULATOR_IDS[id] === undefined) return { id, findings: [{ severity: 'error', code: 'xen-emulator-id', length: 4, expected: 'emulator id 0 (unknown), 1 (QEMU traditional) or 2 (QEMU upstream)', found: hex(id), message: `Unrecognised emulator id in ${name}`, verifier: VERIFY.record(`Unrecognised emulator id ${hex(id)}`) }] };
    return { id, findings: [] };
  };
}

/** xenstore key characters the spec allows ("strictly as alphanumeric ASCII and -/_@"). */
const XENSTORE_KEY = /^[A-Za-z0-9\-/_@]+$/;

function xenstoreData(r: RecordInput): Finding[] {
  const { findings } = emulatorHeader('EMULATOR_XENSTORE_DATA')(r);
  if (findings.length) return findings;
  const body = r.head(r.length).data;
  const data = body.subarray(8);
  if (!data.length) return [];
  const out: Finding[] = [];
  if (data[data.length - 1] !== 0) {
    out.push({ severity: 'error', code: 'xen-xenstore-data', at: r.length - 1, length: 1, expected: 'NUL-terminated key/value strings', found: `last byte ${hex(data[data.length - 1], 2)}`, message: 'EMULATOR_XENSTORE_DATA is not NUL terminated', verifier: VERIFY.record('Data not NUL terminated') });
    return out;
  }
  // verify-stream-v2 compares a byte with the str '\x00' under Python 3, which is never equal.
  out.push({
    severity: 'info',
    code: 'xen-verifier-quirk',
    at: r.length - 1,
    length: 1,
    expected: 'verify-stream-v2 to accept NUL-terminated xenstore data',
    found: 'it rejects every non-empty EMULATOR_XENSTORE_DATA under Python 3',
    message: 'verify-stream-v2 will reject this valid record (a Python 3 bug in its NUL check)',
    hint: "libxl.py compares content[-1] (an int under Python 3) with '\\x00' (a str). The record is valid; Python 2.7 runs of the same verifier accept it.",
    verifier: VERIFY.record('Data not NUL terminated'),
  });
  const parts = splitNul(data.subarray(0, data.length - 1));
  if (parts.length % 2) {
    out.push({ severity: 'error', code: 'xen-xenstore-data', at: 8, length: data.length, expected: 'key/value pairs (an even number of strings)', found: `${parts.length} strings`, message: 'EMULATOR_XENSTORE_DATA has a key without a value', verifier: VERIFY.record(`Expected an even number of strings, got ${parts.length}`) });
  }
  for (let k = 0; k < parts.length; k += 2) {
    if (!XENSTORE_KEY.test(parts[k])) {
      out.push({ severity: 'warning', code: 'xen-xenstore-key', at: 8, length: data.length, expected: 'keys of alphanumeric ASCII and -/_@ (spec)', found: JSON.stringify(parts[k]), message: 'xenstore key with characters the spec does not allow' });
      break;
    }
  }
  return out;
}

function emulatorContext(r: RecordInput): Finding[] {
  return emulatorHeader('EMULATOR_CONTEXT')(r).findings;
}

function checkpointState(r: RecordInput): Finding[] {
  if (r.length === 0) return [{ severity: 'error', code: 'xen-record-length', expected: '8 bytes (control_id, padding)', found: '0 bytes', message: 'CHECKPOINT_STATE without a control id', verifier: VERIFY.record('Checkpoint state record with zero length') }];
  const out: Finding[] = [
    { severity: 'warning', code: 'xen-back-channel-record', length: r.length, expected: 'no COLO back-channel record in a saved stream', found: 'CHECKPOINT_STATE', message: 'COLO back-channel record in the stream', hint: 'COLO sends CHECKPOINT_STATE between primary and secondary; libxl ignores it in a restore stream.' },
  ];
  if (r.length !== 8) out.push({ severity: 'error', code: 'xen-record-length', expected: '8 bytes', found: `${r.length} bytes`, message: 'CHECKPOINT_STATE must be 8 bytes long' });
  else if (CHECKPOINT_STATES[r.head(4).u32(0)] === undefined) out.push({ severity: 'warning', code: 'xen-checkpoint-state', length: 4, expected: 'control id 0-3', found: hex(r.head(4).u32(0)), message: 'Unknown COLO control id' });
  return out;
}

const LIBXL_RULES: Readonly<Record<number, Rule>> = {
  [LibxlRecord.END]: mustBeEmpty('libxl END', 'End'),
  [LibxlRecord.LIBXC_CONTEXT]: mustBeEmpty('LIBXC_CONTEXT', 'Libxc context'),
  [LibxlRecord.EMULATOR_XENSTORE_DATA]: xenstoreData,
  [LibxlRecord.EMULATOR_CONTEXT]: emulatorContext,
  [LibxlRecord.CHECKPOINT_END]: mustBeEmpty('CHECKPOINT_END', 'Checkpoint end'),
  [LibxlRecord.CHECKPOINT_STATE]: checkpointState,
};

export function checkLibxlRecord(r: RecordInput): Finding[] {
  return LIBXL_RULES[r.type]?.(r) ?? [];
}

export function isKnownLibxlRecord(type: number): boolean {
  return LIBXL_RECORD_NAMES[type] !== undefined;
}

/** The NUL-separated strings of xenstore data (without the final NUL). */
export function splitNul(b: Uint8Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (let k = 0; k <= b.length; k++) {
    if (k === b.length || b[k] === 0) {
      out.push(String.fromCharCode(...b.subarray(start, k)));
      start = k + 1;
    }
  }
  return out;
}

export const PFINFO_LABEL = (type: number): string => PFINFO_NAMES[type] ?? `reserved type ${hex(type)}`;
