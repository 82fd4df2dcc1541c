import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath, qemuCorpusImages } from '../helpers/corpus';
import { canMake, GUESTS, guestBinary, makeGuestImage } from '../helpers/guests';
import { child, expectWhollyDecoded, virtioFields } from '../helpers/virtio';

/**
 * A valid image validates with no errors and repair plans nothing for it: every valid
 * image of the corpus, and guests of every machine family made here with QEMU 7.2 and 10.0
 * (legacy save_state sections such as slirp, s390-skeys and todclock, which the vmdesc
 * describes by size only; s390_css's ≤ 9.x vmdesc quirk, which is a warning naming it).
 */
const KNOWN_QUIRKS = new Set(['vmdesc-null-pointer-array', 'duplicate-legacy-instance']);

async function expectValid(image: string): Promise<void> {
  const v = await migwb('validate', image, '--json');
  const report = JSON.parse(v.out) as { diagnostics: { severity: string; code: string; message: string }[] };
  const errors = report.diagnostics.filter((d) => d.severity === 'error');
  expect(errors, `${image}: ${JSON.stringify(errors, null, 1)}`).toEqual([]);
  expect(v.code).toBe(0);
  // Warnings on a valid image are only QEMU's own known quirks, each named.
  for (const w of report.diagnostics.filter((d) => d.severity === 'warning')) {
    expect(KNOWN_QUIRKS.has(w.code), `${image}: unexpected warning ${w.code}: ${w.message}`).toBe(true);
    expect(w.message).toMatch(/QEMU .*quirk/);
  }
  const r = await migwb('repair', image, '--dry-run', '--json');
  const plan = JSON.parse(r.out);
  expect(plan.actions, `${image}: ${r.out}`).toEqual([]);
  expect(plan.stopped).toBeUndefined();
  expect(r.code).toBe(0);
}

describe('every valid corpus image validates clean and needs no repair', () => {
  const images = [...qemuCorpusImages(), corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2'), ...fs.readdirSync(corpusPath('libvirt')).filter((f) => f.endsWith('.sav')).map((f) => corpusPath('libvirt', f))];
  for (const image of images) it(path.basename(image), () => expectValid(image));
});

describe('guests made here with QEMU 7.2 and 10.0 validate clean and need no repair', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-valid-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const g of GUESTS) {
    it.skipIf(!canMake(g))(`${g.name}: ${g.args.join(' ')} (skipped without ${guestBinary(g)})`, async () => {
      const image = await makeGuestImage(g, dir);
      await expectValid(image);
      // The six virtio devices each guest has are decoded by meaning, on every transport.
      const virtio = virtioFields(image);
      expect(virtio.map((f) => f.section.replace(/^.*\//, '')).sort()).toEqual(['virtio-balloon', 'virtio-blk', 'virtio-console', 'virtio-net', 'virtio-rng', 'virtio-scsi']);
      for (const f of virtio) {
        expectWhollyDecoded(f);
        expect(child(f.node, 'device')?.problem, f.section).toBeUndefined();
      }
    }, 120_000);
  }
});
