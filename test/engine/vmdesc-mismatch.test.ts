import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../shared/io/byte-source';
import { decodeSection } from '../../shared/formats/qemu-stream/section-decoder';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import { wireElements } from '../helpers/parse';

const IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');

/**
 * QEMU up to 9.x describes a compressed array of pointers containing NULL with the size of
 * its first element (qemu-format.md §4), so the vmdesc understates the section. The same
 * lie, planted in a corpus image: apic's lvt array (6 × uint32) described as 1 byte each.
 */
function withLyingVmdesc(): Buffer {
  const bytes = Buffer.from(fs.readFileSync(IMAGE));
  const entry = '{"name": "lvt", "array_len": 6, "type": "uint32", "size": 4}';
  const at = bytes.indexOf(entry, 0, 'latin1');
  expect(at).toBeGreaterThan(0);
  bytes.write(entry.replace('"size": 4', '"size": 1'), at, 'latin1');
  return bytes;
}

describe('a vmdesc that understates a section (the ≤ 9.x pointer-array bug)', () => {
  it('is reported at the section, which is still delimited by its footer; every element stays where it is', () => {
    const model = parseQemuStream(new MemorySource(withLyingVmdesc()));
    const apic = model.elements.find((e) => e.idstr === 'apic')!;
    const errors = model.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'vmdesc-size-mismatch', offset: apic.payloadOffset });
    expect(errors[0].section).toMatch(/apic/);
    // Not QEMU's NULL-pointer quirk (lvt[0] is not the 0x30 marker): the vmdesc or the data is damaged.
    expect(errors[0].hint).toMatch(/damaged/);
    expect(apic.delimitedBy).toBe('footer-scan');
    // The recovery is exact: the element table is the reference's, offset for offset.
    const reference = readJson(sidecar(IMAGE, 'sections')).elements;
    expect(wireElements(model).map((e) => `${e.offset}:${e.type}:${e.length}`)).toEqual(reference.map((e) => `${e.offset}:${e.type}:${e.length}`));
  });

  it('is the ≤ 9.x quirk, a warning naming it, when the array starts with the NULL-pointer marker 0x30 where the vmdesc puts it', () => {
    const bytes = withLyingVmdesc();
    const plain = parseQemuStream(new MemorySource(bytes));
    const apic = plain.elements.find((e) => e.idstr === 'apic')!;
    // Where the description puts lvt's first element (the fields before it are described exactly).
    const described = plain.vmdesc!.devices[apic.deviceIndex!].fields!;
    const lvtAt = described.slice(0, described.findIndex((f) => f.name === 'lvt')).reduce((n, f) => n + f.size * (f.array_len ?? 1), 0);
    bytes[apic.payloadOffset! + lvtAt] = 0x30;
    const model = parseQemuStream(new MemorySource(bytes));
    expect(model.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const [w] = model.diagnostics.filter((d) => d.severity === 'warning');
    expect(w).toMatchObject({ code: 'vmdesc-null-pointer-array', offset: apic.payloadOffset });
    expect(w.message).toMatch(/QEMU ≤ 9\.x vmdesc quirk: the NULL-pointer array lvt of apic/);
    expect(w.found).toContain(`0x30 at 0x${(apic.payloadOffset! + lvtAt).toString(16)}`);
    expect(model.elements.find((e) => e.idstr === 'apic')!.delimitedBy).toBe('footer-scan');
  });

  it('does not decode garbage: the lying section is shown as raw bytes, the others from the vmdesc', () => {
    const source = new MemorySource(withLyingVmdesc());
    const model = parseQemuStream(source);
    const element = model.elements.find((e) => e.idstr === 'apic')!;
    const apic = decodeSection(source, model, element);
    // One buffer over the whole payload, and the reason.
    expect(apic.nodes.map((n) => [n.name, n.type, n.offset, n.size])).toEqual([['data', 'buffer', element.payloadOffset, 181]]);
    expect(apic.problem).toMatch(/the description covers 163 of the section's 181 bytes/);
    const cpu = decodeSection(source, model, model.elements.find((e) => e.idstr === 'cpu')!);
    expect(cpu.nodes.find((n) => n.name === 'env.eip')?.value).toMatchObject({ kind: 'int', hex: '0x000000000000fff0' });
  });
});
