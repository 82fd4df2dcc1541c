import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { damagedImages, qemuCorpusImages } from '../helpers/corpus';
import { parseFile, wireElements } from '../helpers/parse';
import { sealImage } from '../../electron/services/seal-image';
import { comparable, load, sealedCopy, tempDir } from './sealed';

/**
 * Every corpus image, sealed, opens through its directory to exactly the model a full scan
 * builds: elements with all their fields, RAM blocks, page runs, vmdesc, diagnostics.
 */
const dir = tempDir('roundtrip');

describe('sealed copies open through the directory with the same model as a full scan', () => {
  for (const image of qemuCorpusImages()) {
    it(path.basename(image), () => {
      const sealed = sealedCopy(image, dir);
      const viaDirectory = load(sealed);
      expect(viaDirectory.via).toBe('directory');
      const scanned = load(sealed, { directory: 'ignore' });
      expect(scanned.via).toBe('scan');
      expect(comparable(viaDirectory.model)).toEqual(comparable(scanned.model));

      // Against the untouched original: the same elements plus one DIRECTORY element at the end.
      const original = parseFile(image);
      const elements = wireElements(viaDirectory.model);
      expect(elements.at(-1)).toMatchObject({ type: 'DIRECTORY', offset: original.size, length: fs.statSync(sealed).size - original.size });
      expect(elements.slice(0, -1)).toEqual(wireElements(original));
      expect(viaDirectory.model.diagnostics).toEqual(original.diagnostics);
      expect([...viaDirectory.model.pages.runs()]).toEqual([...original.pages.runs()]);
      expect(viaDirectory.model.vmdesc).toEqual(original.vmdesc);
      // The copy is the original stream, byte for byte, then the directory.
      expect(fs.readFileSync(sealed).subarray(0, original.size).equals(fs.readFileSync(image))).toBe(true);
    });
  }
});

describe('damaged images round-trip through a sidecar, diagnostics included', () => {
  for (const image of [...damagedImages('corrupt'), ...damagedImages('trailer')]) {
    it(path.basename(image), () => {
      // The corpus is read-only: work on a copy, sidecar beside it.
      const copy = path.join(dir, path.basename(image));
      fs.copyFileSync(image, copy);
      const sealed = sealImage(copy, { kind: 'sidecar' });
      expect(sealed.written).toBe(copy + '.migdir');
      const viaSidecar = load(copy);
      expect(viaSidecar.via).toBe('sidecar');
      const original = parseFile(image);
      expect(comparable(viaSidecar.model)).toEqual(comparable(original));
      expect(original.diagnostics.length).toBeGreaterThan(0);
    });
  }
});

describe('the directory keeps NUL-free and is invisible to analyze-migration.py heuristics', () => {
  it('every byte of every directory is 0x80-0xff, so it has no 0x00, "{" or 0x06', () => {
    for (const image of qemuCorpusImages()) {
      const sealed = sealedCopy(image, dir, `nul-${path.basename(image)}`);
      const bytes = fs.readFileSync(sealed).subarray(fs.statSync(image).size);
      expect(bytes.length).toBeGreaterThan(18);
      expect(bytes.every((b) => b >= 0x80)).toBe(true);
      expect(bytes[0]).toBe(0xc0);
      expect([bytes.at(-18), bytes.at(-9)]).toEqual([0x80, 0x89]);
    }
  });
});
