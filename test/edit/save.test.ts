import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemorySource, readBytes, SliceSource } from '../../shared/io/byte-source';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { openImage } from '../../electron/services/open-image';
import { sealImage } from '../../electron/services/seal-image';
import { saveAtomically, SaveRefusedError } from '../../electron/edit/atomic-save';
import { EditSession } from '../../electron/edit/edit-session';
import { UserError } from '../../electron/services/user-error';
import { corpusPath, damagedImages, qemuCorpusImages, readJson, sidecar } from '../helpers/corpus';
import { expectOriginalsUnchanged, sha256File, tempFolder } from '../helpers/evidence';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const ALL = [...qemuCorpusImages(), ...damagedImages('trailer')];

describe('saving through the journal', () => {
  expectOriginalsUnchanged(ALL);
  const tmp = tempFolder('migwb-save-');

  it.each(ALL.map((f) => [path.relative(corpusPath(), f), f]))('%s: opened and saved with no edits, the result is byte-identical', async (_name, image) => {
    const session = EditSession.open(image);
    try {
      const out = path.join(tmp(), path.basename(image));
      const saved = await session.save(out);
      expect(saved.sha256).toBe(sha256File(image));
      expect(sha256File(out)).toBe(sha256File(image));
      if (fs.existsSync(sidecar(image, 'meta'))) expect(saved.sha256).toBe(readJson(sidecar(image, 'meta')).sha256);
      expect(saved.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    } finally {
      session.close();
    }
  });

  it('refuses to write over the original, a hard link to it, or a donor, and leaves no temp file behind', async () => {
    const session = EditSession.open(MINIMAL);
    const donor = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
    session.addDonor(donor);
    const copyDir = tmp();
    const link = path.join(copyDir, 'hard-link.mig');
    fs.linkSync(MINIMAL, link);
    try {
      await expect(session.save(MINIMAL)).rejects.toThrow(/refusing to write .*evidence and is never modified/);
      await expect(session.save(path.join(path.dirname(MINIMAL), '.', path.basename(MINIMAL)))).rejects.toThrow(UserError);
      await expect(session.save(link)).rejects.toThrow(/same file as/);
      await expect(session.save(donor)).rejects.toThrow(/refusing to write/);
      await expect(session.save(copyDir)).rejects.toThrow(/is a folder/);
      await expect(session.save(path.join(copyDir, 'no-such-folder', 'x.mig'))).rejects.toThrow(/does not exist/);
    } finally {
      session.close();
    }
    expect(fs.readdirSync(copyDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(fs.readdirSync(path.dirname(MINIMAL)).filter((f) => f.includes('.migwb-'))).toEqual([]);
  });

  it('re-validates what it wrote: a result with errors is refused (nothing written) unless forced', async () => {
    const session = EditSession.open(MINIMAL);
    const out = path.join(tmp(), 'damaged-on-purpose.mig');
    try {
      // Break the type byte of the cpu section.
      const cpu = session.model().elements.find((e) => e.idstr === 'cpu')!;
      session.apply({ op: 'replace-bytes', offset: cpu.offset, hex: '44' });
      const refused = await session.save(out).catch((e) => e);
      expect(refused).toBeInstanceOf(SaveRefusedError);
      expect(refused.message).toMatch(/not saved: the result would have 1 error:\n {2}0x4d6de Unknown section type 0x44.*\nFix them, or save anyway with --force/);
      expect(fs.existsSync(out)).toBe(false);
      expect(fs.readdirSync(tmp()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      const forced = await session.save(out, { force: true });
      expect(forced.notes).toContain('saved with 1 error because --force was given');
      expect(fs.statSync(out).size).toBe(forced.size);
    } finally {
      session.close();
    }
  });

  it('keeps a trailer (a section directory) as it was and says it no longer describes an edited stream', async () => {
    const sealed = corpusPath('qemu', 'trailer', 'x86_64-pc-minimal-paused-16M.trail-directory.mig');
    const session = EditSession.open(sealed);
    try {
      const trailer = session.image.model.trailing!;
      session.apply({ op: 'set-field', field: 'cpu.env.regs[0]', value: '1' });
      const saved = await session.save(path.join(tmp(), 'sealed-edited.mig'));
      expect(saved.notes).toEqual([`the ${trailer.length} bytes after the stream (a section directory or other trailer) were kept as they were; they do not describe the edited stream`]);
      const out = fs.readFileSync(saved.path);
      expect(out.subarray(trailer.offset).equals(fs.readFileSync(sealed).subarray(trailer.offset))).toBe(true);
    } finally {
      session.close();
    }
  });

  it('re-seals an edited image that had a migwb section directory, so it still opens without a scan', async () => {
    const sealed = path.join(tmp(), 'sealed.mig');
    sealImage(MINIMAL, { kind: 'copy', output: sealed });
    const session = EditSession.open(sealed);
    try {
      expect(session.image.via).toBe('directory');
      session.apply({ op: 'set-field', field: 'cpu.env.regs[0]', value: '0x1122334455667788' });
      const saved = await session.save(path.join(tmp(), 'sealed-edited.mig'));
      expect(saved.notes).toEqual(['the section directory was rewritten for the edited stream']);
      const reopened = openImage(saved.path);
      const directoryAt = reopened.model.elements.find((e) => e.type === 'DIRECTORY')?.offset;
      const scanned = parseQemuStream(new SliceSource(reopened.file, 0, directoryAt));
      try {
        expect(reopened.via).toBe('directory');
        expect(reopened.model.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
        expect(reopened.model.elements.filter((e) => e.type !== 'DIRECTORY').map((e) => [e.type, e.offset, e.length])).toEqual(scanned.elements.map((e) => [e.type, e.offset, e.length]));
      } finally {
        reopened.close();
      }
    } finally {
      session.close();
    }
  });

  it('saves an edited raw libvirt save inside its wrapper, and a gzip one as a raw libvirt save', async () => {
    for (const name of ['wb-tiny-i440fx-raw.sav', 'wb-tiny-i440fx-gzip-paused.sav']) {
      const original = corpusPath('libvirt', name);
      const session = await EditSession.openAsync(original);
      try {
        session.apply({ op: 'set-field', field: 'cpu.env.regs[0]', value: '0x1122334455667788' });
        const saved = await session.save(path.join(tmp(), name));
        expect(saved.notes).toEqual(name.includes('gzip') ? ['the QEMU stream was gzip-compressed; it is saved uncompressed (libvirt format "raw", which virsh restore reads as well)'] : []);
        const reopened = openImage(saved.path);
        try {
          const layer = reopened.layers[0];
          expect(layer).toMatchObject({ kind: 'libvirt-save', compression: 'raw', storedAs: 'raw' });
          // Header, XML and padding are the original's; the stream is the edited one.
          const before = fs.readFileSync(original);
          const after = fs.readFileSync(saved.path);
          const streamAt = reopened.streamBase!;
          expect(after.subarray(0, 28).equals(before.subarray(0, 28))).toBe(true);
          expect(after.subarray(32, streamAt).equals(before.subarray(32, streamAt))).toBe(true);
          expect(after.subarray(streamAt).equals(Buffer.from(readBytes(session.view, 0, session.view.size)))).toBe(true);
          expect(reopened.model.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        } finally {
          reopened.close();
        }
      } finally {
        session.close();
      }
    }
  });

  it('refuses to write an edited qcow2 snapshot back, and writes its stream alone with --stream-only', async () => {
    const session = EditSession.open(corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2'));
    try {
      session.apply({ op: 'set-field', field: 'cpu.env.regs[0]', value: '1' });
      await expect(session.save(path.join(tmp(), 'snap.qcow2'))).rejects.toThrow(/not supported yet\. Save the edited VM state as a migration stream with --stream-only/);
      const saved = await session.save(path.join(tmp(), 'snap.mig'), { streamOnly: true });
      expect(fs.readFileSync(saved.path).equals(Buffer.from(readBytes(session.view, 0, session.view.size)))).toBe(true);
      expect(saved.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    } finally {
      session.close();
    }
  });

  it('reports progress and can be cancelled, leaving nothing behind', async () => {
    const content = new MemorySource(new Uint8Array(9 << 20).fill(7));
    const seen: number[] = [];
    const out = path.join(tmp(), 'progress.bin');
    await saveAtomically(out, content, { protect: [], validate: () => [], onProgress: (done) => seen.push(done) });
    expect(seen).toEqual([4 << 20, 8 << 20, 9 << 20]);
    const abort = new AbortController();
    const cancelled = path.join(tmp(), 'cancelled.bin');
    const p = saveAtomically(cancelled, content, { protect: [], validate: () => [], signal: abort.signal, onProgress: () => abort.abort() });
    await expect(p).rejects.toThrow(/save cancelled; nothing was written/);
    expect(fs.existsSync(cancelled)).toBe(false);
    expect(fs.readdirSync(tmp()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
