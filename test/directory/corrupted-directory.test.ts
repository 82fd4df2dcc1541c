import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusPath } from '../helpers/corpus';
import { parseFile } from '../helpers/parse';
import { sealImage } from '../../electron/services/seal-image';
import { FileSource } from '../../electron/io/file-source';
import { encodeDirectory } from '../../shared/formats/section-directory/section-directory';
import { parseQemuStream } from '../../shared/formats/qemu-stream/stream-parser';
import { comparable, load, sealedCopy, tempDir } from './sealed';

/**
 * A directory is used only if it is sound and matches the stream. Every kind of damage or
 * lie below must lead to the scan's model, plus a diagnostic saying what happened.
 */
const IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const dir = tempDir('corrupt-dir');
const original = parseFile(IMAGE);
const streamLength = original.size;
const sealedBytes = fs.readFileSync(sealedCopy(IMAGE, dir, 'good.mig'));

function variant(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** The scan of the stream part, for comparison: what the workbench must fall back to. */
function expectScanResult(file: string, code: 'directory-ignored' | 'stale-directory') {
  const loaded = load(file);
  expect(loaded.via).toBe('scan');
  const notes = loaded.model.diagnostics.filter((d) => d.code === code);
  expect(notes).toHaveLength(1);
  const rest = loaded.model.diagnostics.filter((d) => d.code !== code && d.code !== 'trailing-data');
  expect(rest).toEqual(original.diagnostics);
  expect([...loaded.model.pages.runs()]).toEqual([...original.pages.runs()]);
  return { model: loaded.model, note: notes[0] };
}

/** A directory encoded from a doctored model: its CRC is right, its content is not. */
function lyingDirectory(name: string, doctor: (m: ReturnType<typeof parseFile>) => void): string {
  const model = parseFile(IMAGE);
  doctor(model);
  const dirBytes = encodeDirectory(model, { placedAt: streamLength, sealedBy: 'test' });
  return variant(name, Buffer.concat([sealedBytes.subarray(0, streamLength), dirBytes]));
}

describe('a damaged directory is detected and the scan is used', () => {
  it('a flipped bit inside the directory fails the CRC', () => {
    const bytes = Buffer.from(sealedBytes);
    bytes[streamLength + 200] ^= 0x01;
    const { note, model } = expectScanResult(variant('flipped-entry.mig', bytes), 'directory-ignored');
    expect(note).toMatchObject({ severity: 'warning', found: expect.stringMatching(/changed or damaged/) });
    // Its own bytes are unsound, so they are reported as data after the stream, not as a directory.
    expect(model.elements.some((e) => e.type === 'DIRECTORY')).toBe(false);
    expect(model.trailing).toEqual({ offset: streamLength, length: bytes.length - streamLength });
  });

  it('a flipped pointer in the DIRECTORY locator points at no directory header', () => {
    const bytes = Buffer.from(sealedBytes);
    const last = bytes.length - 2; // 128s group of the pointer: it now points 128 bytes off
    bytes[last] = bytes[last] === 0x80 ? 0x81 : bytes[last] - 1;
    const { note } = expectScanResult(variant('flipped-locator.mig', bytes), 'directory-ignored');
    expect(note.expected).toMatch(/directory header/);
  });

  it('a shifted element pointer, with the CRC recomputed, is caught by re-reading the stream', () => {
    // The first, last, configuration, EOF and vmdesc elements are always among those re-read.
    for (const [name, pick] of [['first', 0], ['eof', -2]] as const) {
      const file = lyingDirectory(`lying-${name}.mig`, (m) => (m.elements.at(pick)!.offset += 4));
      const { note } = expectScanResult(file, 'directory-ignored');
      expect(note.message).toMatch(/does not match the stream/);
    }
  });

  it('page runs that point at the wrong bytes are caught', () => {
    const file = lyingDirectory('lying-runs.mig', (m) => {
      const runs = [...m.pages.runs()];
      const pages = new (m.pages.constructor as new () => typeof m.pages)();
      for (const r of runs) pages.addRun({ ...r, dataOffset: r.dataOffset + 16 });
      m.pages = pages;
    });
    const { note } = expectScanResult(file, 'directory-ignored');
    expect(note.expected).toMatch(/RAM (page|zero page) record/);
  });

  it('a directory describing another stream length is not used', () => {
    const file = lyingDirectory('lying-length.mig', (m) => (m.size -= 1));
    const { note } = expectScanResult(file, 'directory-ignored');
    expect(note.expected).toMatch(new RegExp(`${streamLength}-byte stream`));
  });

  it('a directory of a newer major version is not used', () => {
    const bytes = Buffer.from(sealedBytes);
    bytes[streamLength + 10] = 0x82; // major version 2
    const { note } = expectScanResult(variant('version-2.mig', bytes), 'directory-ignored');
    expect(note.found).toMatch(/version 2\.0/);
  });

  it('a truncated directory has no locators: scanned, with a note that a directory starts there', () => {
    const { note, model } = expectScanResult(variant('truncated.mig', sealedBytes.subarray(0, sealedBytes.length - 7)), 'stale-directory');
    expect(note.offset).toBe(streamLength);
    expect(model.diagnostics.some((d) => d.code === 'trailing-data')).toBe(true);
  });

  it('stale after the image grew: bytes appended after the directory', () => {
    const grown = Buffer.concat([sealedBytes, Buffer.from('appended later\n')]);
    const { note } = expectScanResult(variant('grown.mig', grown), 'stale-directory');
    expect(note.message).toMatch(/appended after it or it was cut short/);
  });

  it('random bytes after a stream are never taken for a directory', () => {
    const junk = fs.readFileSync(corpusPath('qemu', 'trailer', 'x86_64-pc-minimal-paused-16M.trail-junk-4K.mig'));
    const highJunk = Buffer.concat([sealedBytes.subarray(0, streamLength), Buffer.from(Array.from({ length: 4096 }, (_, i) => 0x80 | ((i * 37) & 0x7f)))]);
    for (const file of [variant('junk.mig', junk), variant('high-junk.mig', highJunk)]) {
      const loaded = load(file);
      expect(loaded.via).toBe('scan');
      expect(loaded.model.diagnostics.filter((d) => d.code.includes('directory'))).toEqual([]);
    }
  });
});

describe('a sidecar that no longer matches its image is detected', () => {
  it('changed content of the same size (mtime differs, fingerprint differs)', () => {
    const image = path.join(dir, 'sidecar-changed.mig');
    fs.copyFileSync(IMAGE, image);
    sealImage(image, { kind: 'sidecar' });
    expect(load(image).via).toBe('sidecar');
    const bytes = fs.readFileSync(image);
    bytes[bytes.length - 10] ^= 0x20; // inside the vmdesc JSON
    fs.writeFileSync(image, bytes);
    fs.utimesSync(image, new Date(), new Date(Date.now() + 5000));
    const loaded = load(image);
    expect(loaded.via).toBe('scan');
    expect(loaded.model.diagnostics.find((d) => d.code === 'directory-ignored')).toMatchObject({ message: expect.stringMatching(/another version of this image/) });
  });

  it('the same content copied with a new mtime is still recognised by its fingerprint', () => {
    const image = path.join(dir, 'sidecar-touched.mig');
    fs.copyFileSync(IMAGE, image);
    sealImage(image, { kind: 'sidecar' });
    fs.utimesSync(image, new Date(), new Date(Date.now() + 60_000));
    const loaded = load(image);
    expect(loaded.via).toBe('sidecar');
    const src = new FileSource(image);
    try {
      expect(comparable(loaded.model)).toEqual(comparable(parseQemuStream(src)));
    } finally {
      src.close();
    }
  });

  it('a different size is detected without reading the image', () => {
    const image = path.join(dir, 'sidecar-grown.mig');
    fs.copyFileSync(IMAGE, image);
    sealImage(image, { kind: 'sidecar' });
    fs.appendFileSync(image, 'x');
    const note = load(image).model.diagnostics.find((d) => d.code === 'directory-ignored');
    expect(note?.expected).toBe(`an image of ${streamLength} bytes`);
  });
});
