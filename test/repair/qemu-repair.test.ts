import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath, damagedImages, readJson, sidecar } from '../helpers/corpus';
import { EditSession } from '../../electron/edit/edit-session';
import { CUTS, cutAt, cutImageAndOtherSave, intactOf, otherSave } from './fixtures';
import { expectOriginalsUnchanged, tempFolder } from '../helpers/evidence';
import { haveQemu, loadInQemu, withLoadedImage } from '../helpers/qemu';

/**
 * Repairs proven by QEMU 7.2: each damaged sample fails to load as it is (QEMU's own error
 * is printed, so the difference is visible), and loads once repaired.
 */
const CORRUPT = damagedImages('corrupt');
/** QEMU's arguments for a damaged copy (its intact image's) or for an intact corpus image. */
const argsOf = (image: string): string[] => readJson(sidecar(path.dirname(image).endsWith('corrupt') ? intactOf(image) : image, 'meta')).qemu_argv.slice(1);
const RECORDED: Record<string, { qemu_load: { qemu_stderr: string[] } }> = readJson(corpusPath('qemu', 'corrupt', 'results.json'));

async function load(image: string, args: string[]): Promise<{ loaded: boolean; stderr: string[]; runstate?: string }> {
  const r = await loadInQemu({ version: '7.2', image, args });
  await r.quit();
  return r;
}

describe.skipIf(!haveQemu('7.2'))('repaired images load in QEMU 7.2', () => {
  expectOriginalsUnchanged([...CORRUPT, ...new Set(CORRUPT.map(intactOf))]);
  const tmp = tempFolder('migwb-repair-qemu-');

  const cases = CORRUPT.filter((f) => !f.includes('vmdesc-cut')).map((f) => [path.basename(f), f]);
  it.each(cases)('%s: QEMU rejects it as it is and loads the repair', async (name, damaged) => {
    const before = await load(damaged, argsOf(damaged));
    console.log(`${name} unrepaired: QEMU 7.2 says:\n  ${before.stderr.join('\n  ')}`);
    expect(before.loaded).toBe(false);
    expect(before.stderr).toEqual(RECORDED[name].qemu_load.qemu_stderr);

    const out = path.join(tmp(), `${name}.repaired.mig`);
    const donor = name.includes('trunc') ? ['--donor', intactOf(damaged)] : [];
    const r = await migwb('repair', damaged, ...donor, '-o', out);
    expect(r.code, r.err).toBe(0);
    const after = await load(out, argsOf(damaged));
    console.log(`${name} repaired${donor.length ? ' with its intact image as donor' : ''}: loaded=${after.loaded}, runstate ${after.runstate}`);
    expect(after.loaded, after.stderr.join(' | ')).toBe(true);
    expect(after.stderr).toEqual([]);
  });

  it.each(CORRUPT.filter((f) => f.includes('trunc')).map((f) => [path.basename(f), f]))('%s: ended cleanly without a donor, it loads too (RAM up to the cut, devices at reset)', async (name, damaged) => {
    const out = path.join(tmp(), `${name}.no-donor.mig`);
    expect((await migwb('repair', damaged, '-o', out)).code).toBe(0);
    const after = await load(out, argsOf(damaged));
    expect(after.loaded, after.stderr.join(' | ')).toBe(true);
  });

  it.each(CORRUPT.filter((f) => f.includes('vmdesc-cut')).map((f) => [path.basename(f), f]))('%s: QEMU ignores the vmdesc, so it loads before and after the rebuild', async (_name, damaged) => {
    const out = path.join(tmp(), `${path.basename(damaged)}.repaired.mig`);
    expect((await migwb('repair', damaged, '-o', out)).code).toBe(0);
    expect((await load(damaged, argsOf(damaged))).loaded).toBe(true);
    expect((await load(out, argsOf(damaged))).loaded).toBe(true);
  });

  it('a cut image that also lost pages mid-block, completed from another save of the same VM, loads with the guest memory of the original', async () => {
    const { cut, original, damaged, donor } = await cutImageAndOtherSave(tmp());
    const out = path.join(tmp(), 'completed.mig');
    expect((await migwb('repair', damaged, '--donor', donor, '-o', out)).code).toBe(0);
    expect((await load(damaged, argsOf(cut))).loaded).toBe(false);
    const memory = (image: string) =>
      withLoadedImage({ version: '7.2', image, args: argsOf(cut) }, async (qmp, loaded) => {
        const file = path.join(tmp(), `${path.basename(image)}.ram`);
        await qmp.execute('pmemsave', { val: 0, size: 16 << 20, filename: file });
        return { ram: fs.readFileSync(file), runstate: loaded.runstate };
      });
    const a = await memory(original);
    const b = await memory(out);
    expect(b.runstate).toBe(a.runstate);
    expect(b.ram.equals(a.ram)).toBe(true);
  });
});

describe.skipIf(!haveQemu('7.2'))('a save cut at other places (made at test time) loads in QEMU 7.2 once repaired', () => {
  const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
  expectOriginalsUnchanged([MINIMAL]);
  const tmp = tempFolder('migwb-repair-cuts-');

  it.each(Object.keys(CUTS))('cut %s: QEMU rejects the cut copy and loads its repair (with and without a donor)', async (where) => {
    const cut = path.join(tmp(), `cut-${where.replace(/\W+/g, '-')}.mig`);
    const s = EditSession.open(MINIMAL);
    try {
      cutAt(s, CUTS[where as keyof typeof CUTS](s));
      await s.save(cut, { force: true });
    } finally {
      s.close();
    }
    const donor = await otherSave(MINIMAL, path.join(tmp(), 'other.mig'));
    expect((await load(cut, argsOf(MINIMAL))).loaded).toBe(false);
    for (const withDonor of [[], ['--donor', donor]]) {
      const out = `${cut}.${withDonor.length ? 'donor' : 'plain'}.repaired`;
      const r = await migwb('repair', cut, ...withDonor, '-o', out);
      expect(r.code, r.err).toBe(0);
      const after = await load(out, argsOf(MINIMAL));
      expect(after.loaded, `${where} ${withDonor.length ? 'with' : 'without'} a donor: ${after.stderr.join(' | ')}`).toBe(true);
    }
  });
});

describe.skipIf(!haveQemu('10.0'))('QEMU 10 streams (a COMMAND element, the configuration in the vmdesc) repair the same way', () => {
  const IMAGE = corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig');
  expectOriginalsUnchanged([IMAGE]);
  const tmp = tempFolder('migwb-repair-qemu10-');

  it('a copy cut mid-RAM and one with a flipped section name are repaired and load in QEMU 10.0', async () => {
    const bytes = fs.readFileSync(IMAGE);
    const cut = path.join(tmp(), 'cut.mig');
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
    const flipped = path.join(tmp(), 'flipped.mig');
    const cpu = bytes.indexOf(Buffer.from('\x03cpu\x00\x00\x00\x00', 'latin1'));
    const damaged = Buffer.from(bytes);
    damaged[cpu + 1] ^= 0x01;
    fs.writeFileSync(flipped, damaged);
    const args: string[] = readJson(sidecar(IMAGE, 'meta')).qemu_argv.slice(1);
    const files = [corpusPath('qemu10', 'payload-1M.bin')];
    for (const [file, donor] of [[cut, []], [cut, ['--donor', IMAGE]], [flipped, []]] as const) {
      const out = `${file}.${donor.length ? 'donor' : 'plain'}.repaired`;
      const r = await migwb('repair', file, ...donor, '-o', out);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('repaired image: no errors');
      if (donor.length || file === flipped) expect(fs.readFileSync(out).equals(bytes)).toBe(true);
      const loaded = await loadInQemu({ version: '10.0', image: out, args, files });
      await loaded.quit();
      expect(loaded.loaded, loaded.stderr.join(' | ')).toBe(true);
    }
  });
});
