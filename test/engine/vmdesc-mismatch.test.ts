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
    expect(errors[0].hint).toMatch(/pointer arrays containing NULL/);
    expect(apic.delimitedBy).toBe('footer-scan');
    // The recovery is exact: the element table is the reference's, offset for offset.
    const reference = readJson(sidecar(IMAGE, 'sections')).elements;
    expect(wireElements(model).map((e) => `${e.offset}:${e.type}:${e.length}`)).toEqual(reference.map((e) => `${e.offset}:${e.type}:${e.length}`));
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
