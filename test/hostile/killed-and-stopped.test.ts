import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Library } from '../../electron/index/library';
import { makeHostileInputs, type HostileInput } from '../helpers/hostile-inputs';
import { migwb, REPO } from '../helpers/cli';
import { CORPUS_DIR, corpusPath } from '../helpers/corpus';

/**
 * What a killed or stopped run leaves behind, and how the next run deals with it: temp
 * files of a save or a decompression killed with kill -9 are removed by the next save into
 * that folder or the next decompression; an index run stops at once when cancelled, and a
 * file over its time budget is recorded as failed while the run goes on.
 */
const IMAGE = corpusPath('qemu', 'x86_64-pc-smp2-running-32M.mig');
let dir: string;
let bombs: HostileInput[];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-killed-'));
  bombs = makeHostileInputs(CORPUS_DIR, path.join(dir, 'in'), { bombFormats: ['gzip', 'bzip2'], families: ['bomb'] });
}, 120_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Starts migwb, SIGKILLs it as soon as `appears` finds its temp file in `folder`; the temp file's name. */
async function killWhenTempAppears(args: string[], folder: string, appears: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const child = spawn(process.execPath, [path.join(REPO, 'bin', 'migwb.js'), ...args], { env, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let found: string | undefined;
  const started = Date.now();
  while (!found && child.exitCode === null && Date.now() - started < 60_000) {
    found = fs.existsSync(folder) ? fs.readdirSync(folder).find((f) => appears.test(f) && f.includes(String(child.pid))) : undefined;
    if (!found) await new Promise((r) => setTimeout(r, 2));
  }
  child.kill('SIGKILL');
  await exited;
  return found;
}

describe('after kill -9', () => {
  it('the temp file of a killed save is removed by the next save into that folder', async () => {
    const out = path.join(dir, 'saves');
    fs.mkdirSync(out);
    const journal = path.join(dir, 'j.json');
    expect((await migwb('edit', IMAGE, '--journal', journal, '--replace-bytes', '0x100=00')).code).toBe(0);
    // A save big enough to catch in the middle (32 MiB guest); tried a few times in case it wins the race.
    let temp: string | undefined;
    for (let attempt = 0; attempt < 5 && !temp; attempt++) {
      temp = await killWhenTempAppears(['apply', IMAGE, journal, '-o', path.join(out, 'killed.mig'), '--force'], out, /^\.killed\.mig\.migwb-\d+-[0-9a-f]+\.tmp$/);
    }
    expect(temp, 'the save was never caught in the middle').toBeDefined();
    expect(fs.existsSync(path.join(out, temp!))).toBe(true); // kill -9 left it behind
    expect(fs.existsSync(path.join(out, 'killed.mig'))).toBe(false);
    const next = await migwb('apply', IMAGE, journal, '-o', path.join(out, 'next.mig'), '--force');
    expect(next.code, next.err).toBe(0);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 300_000);

  it('the temp file of a killed decompression is removed by the next decompression', async () => {
    const cache = path.join(dir, 'cache');
    const env = { ...process.env, MIGWB_CACHE_DIR: cache };
    const bomb = bombs.find((b) => b.name === 'bomb-gzip.sav')!;
    const temp = await killWhenTempAppears(['info', bomb.file], cache, /\.qevm\.tmp-\d+-\d+$/, env);
    expect(temp).toBeDefined();
    expect(fs.existsSync(path.join(cache, temp!))).toBe(true);
    const previous = process.env.MIGWB_CACHE_DIR;
    process.env.MIGWB_CACHE_DIR = cache;
    try {
      const r = await migwb('info', corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav'));
      expect(r.code, r.err).toBe(0);
    } finally {
      process.env.MIGWB_CACHE_DIR = previous;
    }
    expect(fs.readdirSync(cache).filter((f) => f.includes('.tmp-'))).toEqual([]);
  }, 300_000);
});

describe('an index run', () => {
  it('is cancelled at once, even in the middle of a file that takes long', async () => {
    const library = Library.open(path.join(dir, 'cancel.sqlite'));
    try {
      const abort = new AbortController();
      const started = Date.now();
      const run = library.index([path.join(dir, 'in')], { signal: abort.signal });
      setTimeout(() => abort.abort(), 500);
      const report = await run;
      expect(report.cancelled).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      library.close();
    }
  }, 60_000);

  it('records a file over its time budget as failed, with the reason, and indexes the rest', async () => {
    const folder = path.join(dir, 'budget');
    fs.mkdirSync(folder);
    fs.copyFileSync(bombs.find((b) => b.name === 'bomb-bzip2.sav')!.file, path.join(folder, 'a-slow.sav'));
    fs.copyFileSync(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'), path.join(folder, 'b-fine.mig'));
    const library = Library.open(path.join(dir, 'budget.sqlite'));
    try {
      // The bzip2 bomb decompresses for seconds; 300 ms is its budget here, the fine image needs less.
      const report = await library.index([folder], { fileBudgetMs: (size) => (size > 100_000 && size < 300_000 ? 300 : 60_000) });
      expect(report).toMatchObject({ files: 2, indexed: 1, failed: 1, unchanged: 0, cancelled: false });
      const rows = library.list({ all: true });
      expect(rows.find((r) => r.path.endsWith('a-slow.sav'))).toMatchObject({ status: 'unreadable', statusDetail: expect.stringMatching(/took longer than 0 s, so it was stopped/) });
      expect(rows.find((r) => r.path.endsWith('b-fine.mig'))).toMatchObject({ status: 'indexed' });
    } finally {
      library.close();
    }
  }, 120_000);
});
