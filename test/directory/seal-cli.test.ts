import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { sealImageInWorker } from '../../electron/services/seal-image';
import { tempDir } from './sealed';

const IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const dir = tempDir('seal-cli');
const sha256 = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('migwb seal', () => {
  it('-o writes a sealed copy; the original is unchanged; info then reports the DIRECTORY element', async () => {
    const before = sha256(IMAGE);
    const out = path.join(dir, 'sealed.mig');
    const r = await migwb('seal', IMAGE, '-o', out, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report).toMatchObject({ written: out, kind: 'copy', stream_length: 433073, model_via: 'scan' });
    expect(fs.statSync(out).size).toBe(433073 + report.directory_length);
    expect(sha256(IMAGE)).toBe(before);
    const info = JSON.parse((await migwb('info', out, '--json')).out);
    expect(info.elements.at(-1)).toMatchObject({ type: 'DIRECTORY', offset: 433073 });
    expect(info.diagnostics).toEqual({ error: 0, warning: 0, info: 0 });
  });

  it('sealing a sealed copy again replaces its directory instead of stacking a second one', async () => {
    const once = path.join(dir, 'once.mig');
    const twice = path.join(dir, 'twice.mig');
    expect((await migwb('seal', IMAGE, '-o', once)).code).toBe(0);
    const r = JSON.parse((await migwb('seal', once, '-o', twice, '--json')).out);
    expect(r).toMatchObject({ model_via: 'directory', stream_length: 433073 });
    expect(fs.readFileSync(twice).equals(fs.readFileSync(once))).toBe(true);
  });

  it('--sidecar writes IMAGE.migdir beside an image that stays untouched', async () => {
    const copy = path.join(dir, 'evidence.mig');
    fs.copyFileSync(IMAGE, copy);
    const r = await migwb('seal', copy, '--sidecar');
    expect(r).toMatchObject({ code: 0, out: expect.stringContaining(`${copy}.migdir: for ${copy}`) });
    expect(fs.readFileSync(copy).equals(fs.readFileSync(IMAGE))).toBe(true);
  });

  it('refuses, in one line, what would damage evidence or surprise', async () => {
    const existing = path.join(dir, 'existing.mig');
    fs.writeFileSync(existing, 'keep me');
    const cases: [string[], RegExp][] = [
      [['seal', IMAGE], /either -o FILE .* or --sidecar/],
      [['seal', IMAGE, '-o', existing], /already exists; use --force/],
      [['seal', IMAGE, '-o', IMAGE], /refusing to write .* \(-o\): it is the image .*evidence and is never modified/],
      [['seal', IMAGE, '-o', path.join(dir, 'no', 'such', 'x.mig')], /does not exist; create it first/],
      [['seal', corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.trunc-mid-ram.mig'), '-o', path.join(dir, 't.mig')], /has no QEMU_VM_EOF .* Use --sidecar/],
    ];
    for (const [args, message] of cases) {
      const r = await migwb(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      // One line, and for a wrong command line the pointer to the command's help.
      const [line, ...rest] = r.err.trim().split('\n');
      expect(line).toMatch(message);
      expect(rest).toEqual(args.length === 2 ? ['(run "migwb seal --help" for usage)'] : []);
    }
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep me');
    expect((await migwb('seal', IMAGE, '-o', existing, '--force')).code).toBe(0);
  });

  it('the worker-thread service reports progress, and a cancelled seal leaves no file behind', async () => {
    const big = corpusPath('qemu', 'x86_64-pc-virtio-net-payload-running-32M.mig');
    const controller = new AbortController();
    controller.abort();
    const out = path.join(dir, 'cancelled.mig');
    expect(await sealImageInWorker(big, { kind: 'copy', output: out }, { signal: controller.signal })).toBe('cancelled');
    expect(fs.readdirSync(dir).filter((f) => f.includes('cancelled'))).toEqual([]);
    const progress: { done: number; total: number }[] = [];
    const done = await sealImageInWorker(big, { kind: 'copy', output: out }, { onProgress: (p) => progress.push(p) });
    expect(done).toMatchObject({ written: out, kind: 'copy' });
    expect(progress.length).toBeGreaterThan(0);
  });
});
