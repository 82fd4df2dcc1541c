import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutputs, identityOf } from '../../electron/io/output-paths';
import { migwb } from '../helpers/cli';
import { corpusPath, damagedImages } from '../helpers/corpus';

/**
 * Outputs never overwrite inputs: every writing command checks each output (-o, --journal,
 * --report, --out, --db) against every input (image, donors, journals, vmdesc source) and
 * against the other outputs by file identity (hard links, symlinks, other spellings, files
 * not created yet). Each case checks the refusal and that no input changed.
 */
const damaged = damagedImages('corrupt').find((f) => f.includes('flip-hdr'))!;
const intact = corpusPath('qemu', path.basename(damaged).replace(/\.flip-hdr\.mig$/, '.mig'));
let dir: string;
let image: string;
let donor: string;

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-outputs-'));
  image = path.join(dir, 'dmg.mig');
  donor = path.join(dir, 'donor.mig');
  fs.copyFileSync(damaged, image);
  fs.copyFileSync(intact, donor);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs migwb and checks it refused (exit 2, the message names the clash) and left every input as it was. */
async function refused(args: string[], mentions: RegExp): Promise<void> {
  const before = [image, donor].map(sha);
  const r = await migwb(...args);
  expect(r.code, r.out + r.err).toBe(2);
  expect(r.err).toMatch(/refusing to write/);
  expect(r.err).toMatch(mentions);
  expect([image, donor].map(sha)).toEqual(before);
}

describe('outputs never overwrite inputs', () => {
  it('repair --journal DONOR, --report DONOR and --journal OUT (the issue\'s cases) are refused before anything is written', async () => {
    const out = path.join(dir, 'out.mig');
    await refused(['repair', image, '--donor', donor, '-o', out, '--journal', donor], /--journal.*the donor/);
    await refused(['repair', image, '--donor', donor, '-o', out, '--report', donor], /--report.*the donor/);
    await refused(['repair', image, '--donor', donor, '-o', out, '--journal', out], /--journal.*-o writes/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('catches a hard link, a symlink and another spelling of an input', async () => {
    const hard = path.join(dir, 'hard-link-of-donor.json');
    fs.linkSync(donor, hard);
    const soft = path.join(dir, 'symlink-to-image.md');
    fs.symlinkSync(image, soft);
    fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
    const spelled = path.join(dir, 'sub', '..', 'donor.mig');
    await refused(['repair', image, '--donor', donor, '-o', path.join(dir, 'o1.mig'), '--journal', hard], /same file as the donor/);
    await refused(['repair', image, '-o', path.join(dir, 'o2.mig'), '--report', soft], /same file as the image/);
    await refused(['repair', image, '--donor', donor, '-o', spelled], /-o.*the donor/);
  });

  it('two outputs that would be one new file are caught by folder and name', async () => {
    const a = path.join(dir, 'new.json');
    const b = path.join(dir, 'sub', '..', 'new.json');
    await refused(['repair', image, '-o', path.join(dir, 'o3.mig'), '--journal', a, '--report', b], /--report.*--journal writes/);
    expect(fs.existsSync(a)).toBe(false);
  });

  it('apply, edit, seal, extract-ram and index check their outputs the same way', async () => {
    const journal = path.join(dir, 'j.json');
    expect((await migwb('edit', donor, '--journal', journal, '--replace-bytes', '0x100=00')).code).toBe(0);
    const journalSha = sha(journal);
    await refused(['apply', donor, journal, '-o', path.join(dir, 'a.mig'), '--report', journal], /--report.*the journal/);
    expect(sha(journal)).toBe(journalSha);
    await refused(['edit', donor, '--journal', donor, '--replace-bytes', '0x100=00'], /--journal.*the image/);
    await refused(['edit', donor, '--journal', journal, '--report', donor], /--report.*the image/);
    await refused(['seal', donor, '-o', path.join(dir, 'sub', '..', 'donor.mig')], /-o.*the image/);
    const out = path.join(dir, 'extract');
    fs.mkdirSync(out);
    fs.linkSync(donor, path.join(out, 'ram-map.json'));
    await refused(['extract-ram', donor, '--out', out, '--force'], /--out.*the image/);
    await refused(['index', donor, '--db', donor], /--db.*an image to index/);
  });

  it('identity: an existing file by device and inode, a new one by its folder and name', () => {
    const fresh = path.join(dir, 'not-yet.txt');
    expect(identityOf(fresh)).toBe(identityOf(path.join(dir, 'sub', '..', 'not-yet.txt')));
    expect(identityOf(fresh)).not.toBe(identityOf(path.join(dir, 'not-yet-2.txt')));
    expect(identityOf(path.join(dir, 'no-such-folder', 'x'))).toBeUndefined();
    expect(() => checkOutputs([{ path: image, role: 'the image' }], [{ path: path.join(dir, 'fine.mig'), role: '-o' }])).not.toThrow();
  });
});
