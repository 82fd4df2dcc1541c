import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHostileInputs, type HostileFamily, type HostileInput } from '../helpers/hostile-inputs';
import { measureMigwb, type MeasuredRun } from '../helpers/measured-run';
import { CORPUS_DIR } from '../helpers/corpus';
import { REPO } from '../helpers/cli';

/**
 * Hostile inputs, made at test time from the corpus by structure-aware mutation (see
 * test/helpers/hostile-inputs.ts): vmdesc bombs and 10,000-deep nesting, qcow2 tables and
 * sizes that claim terabytes, decompression bombs of 8 GiB in every libvirt compression,
 * cut and mis-sized libvirt saves, control characters in names, wrappers pointing past the
 * end of the file. Every command runs as a real child process; each run's time and peak RSS
 * are recorded (test-output/hostile/runs.json) and must stay within 20 s and 500 MB, with
 * no crash, no stack trace and no internal message.
 */
const TIME_LIMIT_MS = 20_000;
const RSS_LIMIT_MB = 500;

/**
 * validate runs with --json (the later checks read its diagnostics from the same run); its
 * human output is checked on the names, where escaping is what matters. Every bomb is
 * validated (each decoder has its own backpressure); info and ram read a bounded stream the
 * same way whatever decoder made it, so they run on the gzip bombs (with and without a
 * declared memory size).
 */
const COMMANDS: Record<HostileFamily, string[][]> = {
  vmdesc: [['validate', '--json'], ['info'], ['dump'], ['dump', '--analyze-compat'], ['dump', '--analyze-compat', '--desc'], ['ram'], ['search', '--string', 'MIGIMG'], ['extract-ram', '--out', 'OUT']],
  qcow2: [['validate', '--json'], ['info'], ['dump'], ['ram'], ['search', '--string', 'MIGIMG']],
  bomb: [['validate', '--json'], ['info'], ['ram']],
  libvirt: [['validate', '--json'], ['info'], ['dump'], ['ram']],
  names: [['validate'], ['info'], ['dump'], ['ram'], ['extract-ram', '--out', 'OUT']],
  offsets: [['validate', '--json'], ['info']],
};
const ON_GZIP_BOMBS_ONLY = new Set(['info', 'ram']);

let dir: string;
let cache: string;
let inputs: HostileInput[];
const runs: { input: string; family: HostileFamily; args: string[]; code: number | null; ms: number; peakRssMB: number; killed?: string }[] = [];

function env(): NodeJS.ProcessEnv {
  return { ...process.env, MIGWB_CACHE_DIR: cache };
}

/** Each command runs once per input; the checks after the family runs read the same run. */
const done = new Map<string, Promise<MeasuredRun>>();

function run(input: HostileInput, args: string[]): Promise<MeasuredRun> {
  const key = JSON.stringify([input.name, ...args]);
  if (!done.has(key)) done.set(key, measure(input, args));
  return done.get(key)!;
}

async function measure(input: HostileInput, args: string[]): Promise<MeasuredRun> {
  const out = path.join(dir, 'out', input.name);
  const full = [args[0], input.file, ...args.slice(1).map((a) => (a === 'OUT' ? out : a))];
  const r = await measureMigwb(full, { env: env(), timeoutMs: 3 * TIME_LIMIT_MS, maxRssMB: 3 * RSS_LIMIT_MB });
  runs.push({ input: input.name, family: input.family, args, code: r.code, ms: Math.round(r.ms), peakRssMB: r.peakRssMB, ...(r.killed ? { killed: r.killed } : {}) });
  return r;
}

/** The bounds every run must meet, and what no run may print. */
function expectWellBehaved(r: MeasuredRun, what: string): void {
  expect(r.killed, `${what}: stopped by the watchdog`).toBeUndefined();
  expect(r.ms, `${what}: wall time`).toBeLessThan(TIME_LIMIT_MS);
  expect(r.peakRssMB, `${what}: peak RSS`).toBeLessThan(RSS_LIMIT_MB);
  expect([0, 1], `${what}: exit status ${r.code}\n${r.err}`).toContain(r.code);
  expect(r.err, what).not.toMatch(/internal error|openImageAsync|\n\s+at .*\(/);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-hostile-'));
  cache = path.join(dir, 'cache');
  inputs = makeHostileInputs(CORPUS_DIR, path.join(dir, 'in'));
}, 120_000);

afterAll(() => {
  const report = path.join(REPO, 'test-output', 'hostile');
  fs.mkdirSync(report, { recursive: true });
  fs.writeFileSync(path.join(report, 'runs.json'), JSON.stringify(runs, null, 2) + '\n');
  const worst = [...runs].sort((a, b) => b.ms - a.ms).slice(0, 5);
  console.log(`hostile inputs: ${runs.length} runs; slowest: ${worst.map((r) => `${r.input} ${r.args[0]} ${r.ms} ms ${r.peakRssMB} MB`).join('; ')}; most memory: ${Math.max(...runs.map((r) => r.peakRssMB))} MB`);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('hostile inputs: every command finishes within 20 s and 500 MB, with diagnostics', () => {
  for (const family of Object.keys(COMMANDS) as HostileFamily[]) {
    it(`${family}: every command on every input`, async () => {
      for (const input of inputs.filter((i) => i.family === family)) {
        for (const args of COMMANDS[family].filter((a) => family !== 'bomb' || !ON_GZIP_BOMBS_ONLY.has(a[0]) || input.name.startsWith('bomb-gzip'))) {
          const r = await run(input, args);
          expectWellBehaved(r, `${input.name} (${input.what}): migwb ${args.join(' ')}`);
        }
      }
    }, 900_000);
  }

  it('a described size that cannot fit is a diagnostic: validate reports it', async () => {
    for (const input of inputs.filter((i) => i.family === 'vmdesc' && /array-bomb|huge/.test(i.name))) {
      const r = await run(input, ['validate', '--json']);
      expect(r.code, input.name).toBe(1);
      const codes = JSON.parse(r.out).diagnostics.map((d: { code: string }) => d.code);
      expect(codes, input.name).toContain('vmdesc-size-mismatch');
    }
    for (const input of inputs.filter((i) => i.family === 'vmdesc' && /deep/.test(i.name))) {
      const r = await run(input, ['validate', '--json']);
      expect(JSON.parse(r.out).diagnostics.map((d: { message: string }) => d.message).join('\n'), input.name).toMatch(/vmdesc is damaged|could not be read/);
    }
  }, 300_000);

  it('a bomb stops at the bound the save declares, says the expansion ratio, and leaves nothing in the cache', async () => {
    for (const input of inputs.filter((i) => i.family === 'bomb')) {
      const r = await run(input, ['validate', '--json']);
      const bound = JSON.parse(r.out).diagnostics.find((d: { code: string }) => d.code === 'decompression-bound');
      expect(bound, `${input.name}: ${r.out.slice(0, 400)}`).toBeDefined();
      expect(bound.found).toMatch(/expanded \d+:1/);
      // Without a memory size in the XML, the RAM block list at the start of the stream bounds it as tightly.
      expect(bound.found).toMatch(input.name.includes('no-memory') ? /declares no memory size; the stream's RAM block list declares RAM blocks of 16\.4 MiB/ : /declares memory 16 MiB/);
    }
    // Incomplete streams belong to their process: nothing stays after the runs, no temp file either.
    const left = fs.existsSync(cache) ? fs.readdirSync(cache).filter((f) => f !== 'by-file') : [];
    expect(left).toEqual([]);
  }, 300_000);

  it('a cut gzip save and a data_len past the end get diagnostics, as raw saves do', async () => {
    for (const input of inputs.filter((i) => i.family === 'libvirt')) {
      const r = await run(input, ['validate', '--json']);
      expect(r.code, `${input.name}: ${r.err}`).toBe(1);
      expect(JSON.parse(r.out).counts.error, input.name).toBeGreaterThan(0);
    }
  }, 300_000);

  it('control characters in idstrs and block names are escaped in human output', async () => {
    for (const input of inputs.filter((i) => i.family === 'names')) {
      for (const args of [['info'], ['validate'], ['ram'], ['dump']]) {
        const r = await run(input, args);
        // eslint-disable-next-line no-control-regex -- raw control characters are what must not be printed
        expect(r.out, `${input.name} ${args[0]}`).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
        expect(r.out.split('\n').some((l) => l.startsWith('X')), `${input.name} ${args[0]}: a name broke a line`).toBe(false);
      }
      expect((await run(input, ['info'])).out).toMatch(/\\x1b\[31m|\\x0aX\\x00/);
    }
  }, 300_000);

  it('no diagnostic labelled offset_space "file" points outside the file', async () => {
    for (const input of inputs) {
      const r = await run(input, ['validate', '--json']);
      expect(r.code, `${input.name}: ${r.err}`).not.toBe(2);
      const size = fs.statSync(input.file).size;
      const outside = JSON.parse(r.out).diagnostics.filter((d: { offset_space: string; offset: number }) => d.offset_space === 'file' && d.offset >= size);
      expect(outside, input.name).toEqual([]);
    }
  }, 600_000);

  it('index records every input (a name that is not UTF-8 too) within its bounds', async () => {
    const folder = path.join(dir, 'in');
    const badName = Buffer.concat([Buffer.from(folder + path.sep), Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x2e, 0x6d, 0x69, 0x67])]);
    fs.copyFileSync(path.join(CORPUS_DIR, 'qemu', 'x86_64-pc-minimal-paused-16M.mig'), badName);
    const db = path.join(dir, 'library.sqlite');
    const indexed = await measureMigwb(['index', folder, '--db', db, '--json'], { env: env(), timeoutMs: 300_000, maxRssMB: 3 * RSS_LIMIT_MB });
    expect(indexed.code, indexed.err).toBe(0);
    expect(indexed.peakRssMB).toBeLessThan(RSS_LIMIT_MB);
    const report = JSON.parse(indexed.out);
    const files = fs.readdirSync(folder, { encoding: 'buffer' }).length;
    expect(report.files).toBe(files);
    const rows: { path: string; status: string; errors: number; status_detail: string | null }[] = JSON.parse((await measureMigwb(['query', '--db', db, '--json', 'SELECT path, status, errors, status_detail FROM images'], { env: env() })).out);
    const byName = new Map(rows.map((r) => [path.basename(r.path), r]));
    expect(byName.get('bad\\xff\\xfe.mig')?.status).toBe('unreadable');
    expect(byName.get('bad\\xff\\xfe.mig')?.status_detail).toMatch(/not valid UTF-8/);
    // The vmdesc bombs are indexed with their errors, not as valid images.
    expect(byName.get('vmdesc-array-bomb.mig')?.errors).toBeGreaterThan(0);
  }, 600_000);
});
