import * as fs from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MemorySource } from '../../shared/io/byte-source';
import { verifierVerdict } from '../../shared/formats/xen/diagnostics';
import type { XenDiagnostic } from '../../shared/formats/xen/diagnostics';
import type { XenStreamModel } from '../../shared/formats/xen/model';
import { parseXen } from '../../shared/formats/xen/parse';
import { recordName } from '../../shared/formats/xen/records';
import { corpusPath, xenCorpusFiles } from '../helpers/corpus';
import { tempDir } from '../helpers/xen';
import { haveXenTools, runVerifier, verifierLayer, XEN_TOOLS_MISSING } from '../helpers/xen-tools';

/**
 * Every check verify-stream-v2 makes, provoked one at a time by a damaged copy of a corpus
 * stream made here, and the verifier's verdict on it compared with ours (exit status and the
 * exception it raises). The damage is placed with our own index of the file.
 */
const tmp = tempDir();
afterAll(() => tmp.cleanup());

type Patch = (b: Buffer, m: XenStreamModel) => void;

const record = (m: XenStreamModel, name: string, k = 0) => m.records.filter((r) => recordName(r) === name)[k];
const body = (m: XenStreamModel, name: string, k = 0) => record(m, name, k).offset + 8;

const MUTATIONS: [string, string, Patch, RegExp][] = [
  ['hvm-v3.libxc', 'image marker', (b) => void (b[0] = 0xfe), /Bad image marker/],
  ['hvm-v3.libxc', 'image version 4', (b) => b.writeUInt32BE(4, 12), /Unknown image version/],
  ['hvm-v3.libxc', 'image options reserved bit', (b) => b.writeUInt16BE(2, 16), /Reserved bits set in image options field: 0x2/],
  ['hvm-v3.libxc', 'image header reserved', (b) => b.writeUInt16BE(1, 18), /Reserved bits set in image header/],
  ['hvm-v3.libxc', 'domain type 3 (PVH)', (b) => b.writeUInt32LE(3, 24), /Unrecognised domain type 0x3/],
  ['hvm-v3.libxc', 'domain header reserved', (b) => b.writeUInt16LE(1, 30), /Reserved bits set in domain header/],
  ['hvm-v3.libxc', 'page shift 13', (b) => b.writeUInt16LE(13, 28), /Page shift expected to be 12/],
  ['hvm-v3.libxc', 'unknown mandatory record type', (b, m) => b.writeUInt32LE(0x13, record(m, 'X86_TSC_INFO').offset), /Unrecognised record type 0x13/],
  ['hvm-v3.libxc', 'TOOLSTACK record', (b, m) => b.writeUInt32LE(0x0b, record(m, 'X86_TSC_INFO').offset), /DeprecationWarning: Found Toolstack record/],
  ['hvm-v3.libxc', 'CHECKPOINT_DIRTY_PFN_LIST in a file', (b, m) => b.writeUInt32LE(0x0f, record(m, 'X86_TSC_INFO').offset), /Found checkpoint dirty pfn list record/],
  ['hvm-v3.libxc', 'PAGE_DATA reserved word', (b, m) => b.writeUInt32LE(1, body(m, 'PAGE_DATA') + 4), /Reserved bits set in PAGE_DATA record/],
  ['hvm-v3.libxc', 'PAGE_DATA count 0', (b, m) => b.writeUInt32LE(0, body(m, 'PAGE_DATA')), /Expected 8 \+ 0 \+ 0, got/],
  ['hvm-v3.libxc', 'PAGE_DATA count past the pfn list', (b, m) => b.writeUInt32LE(100000, body(m, 'PAGE_DATA')), /must contain a pfn record for each count/],
  ['hvm-v3.libxc', 'pfn of type 6', (b, m) => b.writeBigUInt64LE(6n << 60n, body(m, 'PAGE_DATA') + 8), /Invalid type value in pfn\[0\]: 0x6000000000000000/],
  ['hvm-v3.libxc', 'pfn of type XTAB (no page where one is sent)', (b, m) => b.writeBigUInt64LE(0xfn << 60n, body(m, 'PAGE_DATA') + 8), /Expected 8 \+ 16 \+ 4096, got 8216/],
  ['hvm-v3.libxc', 'TSC_INFO reserved', (b, m) => b.writeUInt32LE(5, body(m, 'X86_TSC_INFO') + 20), /Reserved bits set in X86_TSC_INFO/],
  ['hvm-v3.libxc', 'HVM_PARAMS reserved', (b, m) => b.writeUInt32LE(1, body(m, 'HVM_PARAMS') + 4), /Reserved field not zero/],
  ['hvm-v3.libxc', 'HVM_PARAMS count', (b, m) => b.writeUInt32LE(7, body(m, 'HVM_PARAMS')), /Length should be 120 bytes/],
  ['hvm-v3.libxc', 'CPUID policy in a v2 image', (b) => b.writeUInt32BE(2, 12), /x86 CPUID policy record found in v2 stream/],
  ['pv-v3.libxc', 'X86_PV_INFO width 5', (b, m) => void (b[body(m, 'X86_PV_INFO')] = 5), /Expected width of 4 or 8, got 5/],
  ['pv-v3.libxc', 'X86_PV_INFO levels 2', (b, m) => void (b[body(m, 'X86_PV_INFO') + 1] = 2), /Expected levels of 3 or 4, got 2/],
  ['pv-v3.libxc', 'X86_PV_INFO reserved', (b, m) => void (b[body(m, 'X86_PV_INFO') + 7] = 1), /Reserved bits set in X86_PV_INFO/],
  ['pv-v3.libxc', 'VCPU_BASIC reserved', (b, m) => b.writeUInt32LE(1, body(m, 'X86_PV_VCPU_BASIC') + 4), /Reserved bits set in x86_pv_vcpu_basic record/],
  ['hvm-v3.libxl', 'libxl ident', (b) => void (b[0] = 0x6c), /Bad image id: Expected 0x4c6962786c466d74, got 0x6c6962786c466d74/],
  ['hvm-v3.libxl', 'libxl version 3', (b) => b.writeUInt32BE(3, 8), /Unknown image version: Expected 2, got 3/],
  ['hvm-v3.libxl', 'libxl options reserved bit 2', (b) => b.writeUInt32BE(4, 12), /Reserved bits set in image options field: 0x4/],
  ['hvm-v3.libxl', 'unknown libxl record type', (b, m) => b.writeUInt32LE(9, record(m, 'EMULATOR_CONTEXT').offset), /Unrecognised record type 9$/],
  ['hvm-v3.libxl', 'emulator id 7', (b, m) => b.writeUInt32LE(7, body(m, 'EMULATOR_CONTEXT')), /Unrecognised emulator id 0x7/],
  ['hvm-v3.libxl', 'cut inside a record body', () => undefined, /OSError: Stream truncated/],
];

const skip = haveXenTools ? '' : ` — skipped: ${XEN_TOOLS_MISSING}`;

describe(`each verify-stream-v2 check, provoked: its verdict is the one we predict${skip}`, () => {
  it.skipIf(!haveXenTools).each(MUTATIONS.map(([file, what, patch, says], i) => [i, file, what, patch, says] as const))('#%i %s: %s', (i, file, what, patch, says) => {
    const original = fs.readFileSync(corpusPath('xen', file));
    const model = parseXen(new MemorySource(original));
    let bytes = Buffer.from(original);
    if (what.startsWith('cut')) bytes = bytes.subarray(0, record(model, 'PAGE_DATA', 1).offset + 100);
    else patch(bytes, model);
    const damaged = tmp.file(`${i}-${file}`, bytes);
    const ours = parseXen(new MemorySource(bytes));
    const predicted = verifierVerdict(ours.diagnostics);
    const run = runVerifier(damaged, verifierLayer(model.kind));
    expect(run.says).toMatch(says);
    expect([run.exit, run.says]).toEqual([predicted?.exit, predicted?.says]);
    // Our verdict: an error of ours at the record the verifier stopped at (a TOOLSTACK record is only deprecated).
    const source = ours.diagnostics.find((d) => (d as XenDiagnostic).verifier === predicted)!;
    expect(source.severity).toBe(what === 'TOOLSTACK record' ? 'warning' : 'error');
  });
});

describe('damage never stops the reader', () => {
  it('a damaged record header: reported, and the records after it are still found on the 8-byte framing', () => {
    const original = fs.readFileSync(corpusPath('xen', 'hvm-v3.libxc'));
    const model = parseXen(new MemorySource(original));
    const bytes = Buffer.from(original);
    const victim = record(model, 'PAGE_DATA', 1);
    bytes.writeUInt32LE(0x7fff1234, victim.offset);
    bytes.writeUInt32LE(0xfffffff0, victim.offset + 4);
    const damaged = parseXen(new MemorySource(bytes));
    const bad = damaged.diagnostics.find((d) => d.code === 'xen-bad-record')!;
    expect(bad.offset).toBe(victim.offset);
    expect(bad.message).toMatch(/skipped to the next record/);
    // Every record after the damaged one is found again, at its offset.
    const after = model.records.filter((r) => r.offset > victim.offset).map((r) => [r.offset, r.type]);
    expect(damaged.records.filter((r) => r.offset > victim.offset).map((r) => [r.offset, r.type])).toEqual(after);
  });

  it('random damage to any corpus stream: the parser never throws, and a damaged stream is never reported clean', () => {
    const files = xenCorpusFiles().map((f) => fs.readFileSync(f));
    fc.assert(
      fc.property(fc.nat(files.length - 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), fc.option(fc.nat()), (k, flips, cut) => {
        const b = Buffer.from(files[k]);
        for (const [at, v] of flips) b[at % b.length] = v;
        const damaged = cut === null ? b : b.subarray(0, cut % b.length);
        const m = parseXen(new MemorySource(damaged));
        expect(m.diagnostics.every((d) => Number.isInteger(d.offset) && d.offset >= 0 && d.offset <= damaged.length)).toBe(true);
        if (cut !== null && cut % b.length < files[k].length - 8) expect(m.diagnostics.some((d) => d.severity === 'error')).toBe(true);
      }),
      { numRuns: 300, seed: 18 },
    );
  });
});
