import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EditSession } from '../../electron/edit/edit-session';
import { readBytes, type ByteSource } from '../../shared/io/byte-source';
import type { QemuStreamModel, StreamElement } from '../../shared/formats/qemu-stream/model';
import { ANALYZE_MIGRATION, analyzeMigrationOutput, haveAnalyzeMigration } from '../helpers/analyze-migration';
import { corpusPath } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const LEGACY = corpusPath('qemu', 'x86_64-pc-i440fx-2.3-legacy-paused-16M.mig');
const NO_VMDESC = corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig');

function fulls(model: QemuStreamModel): StreamElement[] {
  return model.elements.filter((e) => e.type === 'FULL');
}

function labels(model: QemuStreamModel): string[] {
  return fulls(model).map((e) => `${e.idstr}:${e.instanceId}`);
}

/** The framing invariants every section edit must keep: a clean parse, and a vmdesc listing exactly the FULL sections in order. */
function expectConsistent(s: EditSession): void {
  const model = s.model();
  expect(model.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
  if (model.vmdesc) {
    expect(model.vmdesc.devices.map((d) => `${d.name}:${d.instance_id}`)).toEqual(labels(model));
    expect(fulls(model).every((e) => e.delimitedBy === 'vmdesc')).toBe(true);
  }
  for (const e of fulls(model)) {
    if (e.footerOffset === undefined) continue;
    const footer = readBytes(s.view, e.footerOffset, 5);
    expect(footer[0]).toBe(0x7e);
    expect(Buffer.from(footer.subarray(1)).readUInt32BE(0)).toBe(e.sectionId);
  }
}

describe('section edits keep the framing right', () => {
  expectOriginalsUnchanged([MINIMAL, E1000, LEGACY, NO_VMDESC]);
  const tmp = tempFolder('migwb-sections-');

  it('delete: the section and its vmdesc entry go, the JSON length is rewritten', () => {
    const s = EditSession.open(MINIMAL);
    try {
      const pcspk = fulls(s.model()).find((e) => e.idstr === 'pcspk')!;
      const e = s.apply({ op: 'delete-section', section: 'pcspk' });
      expect(e.summary).toBe(`deleted section pcspk:0 (section id ${pcspk.sectionId}, ${pcspk.length} bytes at 0x${pcspk.offset.toString(16)})`);
      expect(e.fixups[0]).toMatch(/vmdesc rewritten for the new section list: 32 device entries/);
      expect(labels(s.model())).not.toContain('pcspk:0');
      expectConsistent(s);
    } finally {
      s.close();
    }
  });

  it('move: the section and its vmdesc entry move together', () => {
    const s = EditSession.open(MINIMAL);
    try {
      s.apply({ op: 'move-section', section: 'pcspk', position: { before: 'timer' } });
      expect(labels(s.model()).slice(0, 2)).toEqual(['pcspk:0', 'timer:0']);
      expectConsistent(s);
      s.apply({ op: 'move-section', section: 'timer:0', position: { end: true } });
      expect(labels(s.model()).at(-1)).toBe('timer:0');
      s.apply({ op: 'move-section', section: 'dma:1', position: { after: 'globalstate' } });
      expect(labels(s.model()).slice(-3)).toEqual(['globalstate:0', 'dma:1', 'timer:0']);
      expectConsistent(s);
      expect(() => s.apply({ op: 'move-section', section: 'dma:1', position: { before: 'dma:1' } })).toThrow(/relative to itself/);
      expect(s.view.size).toBe(s.image.source.size);
      while (s.undo());
      expect(Buffer.from(readBytes(s.view, 0, s.view.size)).equals(Buffer.from(readBytes(s.image.source, 0, s.image.source.size)))).toBe(true);
    } finally {
      s.close();
    }
  });

  /** MINIMAL with E1000's NIC grafted in. */
  function graftedNic(): EditSession {
    const s = EditSession.open(MINIMAL);
    s.addDonor(E1000);
    return s;
  }

  it("graft: a donor's section is placed as in the donor, with a fresh section id where its own is taken", () => {
    const s = graftedNic();
    try {
      const taken = fulls(s.model()).find((e) => e.sectionId === 42)!;
      expect(taken.idstr).toBe('acpi_build');
      const e = s.apply({ op: 'graft-section', source: 'donor', section: '0000:00:03.0/e1000' });
      expect(e.summary).toBe(`grafted from donor ${E1000} (sha256 ${sha256File(E1000)}): 0000:00:03.0/e1000:0 after 0000:00:01.3/piix4_pm:0`);
      expect(e.intent).toMatchObject({ source: 'donor', donor: { id: 'donor', path: E1000, sha256: sha256File(E1000) } });
      expect(e.fixups[0]).toBe('section id 42 of 0000:00:03.0/e1000:0 is taken in this stream; the section was given id 44 (header and footer)');
      const grafted = fulls(s.model()).find((x) => x.idstr === '0000:00:03.0/e1000')!;
      expect(grafted.sectionId).toBe(44);
      expect(labels(s.model()).indexOf('0000:00:03.0/e1000:0')).toBe(labels(s.model()).indexOf('0000:00:01.3/piix4_pm:0') + 1);
      expectConsistent(s);
      expect(() => s.apply({ op: 'graft-section', source: 'donor', section: 'cpu' })).toThrow(/already has a section cpu:0; use replace-section/);
    } finally {
      s.close();
    }
  });

  it.skipIf(!haveAnalyzeMigration)(`graft: QEMU's analyze-migration.py reads the saved image and names the grafted section by its new id (needs ${ANALYZE_MIGRATION})`, async () => {
    const s = graftedNic();
    try {
      s.apply({ op: 'graft-section', source: 'donor', section: '0000:00:03.0/e1000' });
      const saved = await s.save(path.join(tmp(), 'grafted.mig'));
      const state = JSON.parse(analyzeMigrationOutput(saved.path, 'state'));
      expect(Object.keys(state)).toContain('0000:00:03.0/e1000 (44)');
    } finally {
      s.close();
    }
  });

  it("replace: the donor's copy takes the section's place, keeping this stream's section id", () => {
    const s = EditSession.open(MINIMAL);
    try {
      s.addDonor(E1000);
      const before = fulls(s.model()).find((e) => e.idstr === 'mc146818rtc')!;
      s.apply({ op: 'replace-section', source: 'donor', section: 'mc146818rtc' });
      const after = fulls(s.model()).find((e) => e.idstr === 'mc146818rtc')!;
      expect(after.sectionId).toBe(before.sectionId);
      const donorRtc = fulls(s.context().donor('donor')!.model).find((e) => e.idstr === 'mc146818rtc')!;
      const payload = (e: StreamElement, src: ByteSource) => Buffer.from(readBytes(src, e.payloadOffset!, e.footerOffset! - e.payloadOffset!));
      expect(payload(after, s.view).equals(payload(donorRtc, s.context().donor('donor')!.source))).toBe(true);
      expectConsistent(s);
    } finally {
      s.close();
    }
  });

  it('insert: a complete section element given as bytes, checked and framed for this stream', () => {
    const donor = EditSession.open(E1000);
    const s = EditSession.open(MINIMAL);
    try {
      const nic = fulls(donor.model()).find((e) => e.idstr === '0000:00:03.0/e1000')!;
      const bytes = Buffer.from(readBytes(donor.view, nic.offset, nic.length)).toString('hex');
      s.apply({ op: 'insert-section', hex: bytes, position: { before: 'acpi_build' } });
      expect(labels(s.model()).indexOf('0000:00:03.0/e1000:0') + 1).toBe(labels(s.model()).indexOf('acpi_build:0'));
      expectConsistent(s);
      expect(() => s.apply({ op: 'insert-section', hex: bytes, position: { end: true } })).toThrow(/already has a section 0000:00:03.0\/e1000:0/);
      expect(() => s.apply({ op: 'insert-section', hex: bytes.slice(0, -10), position: { end: true } })).toThrow(/must end with 7e 0x0000002a/);
      expect(() => s.apply({ op: 'insert-section', hex: '0102', position: { end: true } })).toThrow(/must start with a FULL section header/);
    } finally {
      s.close();
      donor.close();
    }
  });

  it('follows the stream conventions: no footers in a footer-less stream, no vmdesc where there is none', () => {
    const legacy = EditSession.open(LEGACY);
    const plain = EditSession.open(NO_VMDESC);
    try {
      legacy.addDonor(E1000);
      legacy.apply({ op: 'graft-section', source: 'donor', section: '0000:00:03.0/e1000', position: { end: true } });
      expect(fulls(legacy.model()).every((e) => e.footerOffset === undefined)).toBe(true);
      expectConsistent(legacy);
      const e = plain.apply({ op: 'delete-section', section: 'pcspk' });
      expect(e.fixups).toEqual(['the stream has no vmdesc, so none was written']);
      expect(plain.model().diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      expect(labels(plain.model())).not.toContain('pcspk:0');
    } finally {
      legacy.close();
      plain.close();
    }
  });

  it('names sections unambiguously or says how', () => {
    const s = EditSession.open(MINIMAL);
    try {
      expect(() => s.apply({ op: 'delete-section', section: 'dma' })).toThrow(/dma is ambiguous: 2 sections match \(dma:0, dma:1\); add the instance/);
      expect(() => s.apply({ op: 'delete-section', section: 'i825' })).toThrow(/no device section i825 in this image; did you mean i8259:0, i8259:1, i8254:0\?/);
      expect(() => s.apply({ op: 'delete-section', section: 'ram' })).toThrow(/no device section ram/);
      expect(() => s.apply({ op: 'graft-section', source: 'donor', section: 'cpu' })).toThrow(/no donor image "donor" is open; give one with --donor/);
    } finally {
      s.close();
    }
  });
});
