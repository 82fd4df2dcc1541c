import { isAscii } from 'node:buffer';
import type { SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeDirectory, readLocator } from '../../shared/formats/section-directory/section-directory';
import { migwbProcessWith, REPO } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';

/**
 * bin/migwb.js keeps V8's compiled code for the bundled CLI in the user's cache folder
 * (XDG_CACHE_HOME/migwb/code-cache). That cache may only ever save time: whatever state it
 * is in, the command runs and says exactly what it says without one.
 */
const IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const VERSION: string = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).version;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-code-cache-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let homes = 0;
function freshHome(): string {
  const home = path.join(dir, `home${homes++}`);
  fs.mkdirSync(home);
  return home;
}

const cacheFolder = (home: string) => path.join(home, 'migwb', 'code-cache');
const cacheFiles = (home: string) => (fs.existsSync(cacheFolder(home)) ? fs.readdirSync(cacheFolder(home)).map((f) => path.join(cacheFolder(home), f)) : []);

/** The cache file's layout (bin/migwb.js): magic, the bundle file's identity, the sha256 of the data, V8's data. */
const MAGIC_BYTES = 8;
const IDENTITY_END = MAGIC_BYTES + 40;
const HEADER_BYTES = IDENTITY_END + 32;

/** A cache file made again: for the same bundle as `good` (magic and bundle identity), its data whole (the data digest). */
function expectIntactCacheLike(bytes: Buffer, good: Buffer): void {
  expect(bytes.subarray(0, IDENTITY_END).equals(good.subarray(0, IDENTITY_END))).toBe(true);
  expect(bytes.length).toBeGreaterThan(10_000);
  expect(createHash('sha256').update(bytes.subarray(HEADER_BYTES)).digest().equals(bytes.subarray(IDENTITY_END, HEADER_BYTES))).toBe(true);
}

/** validate's JSON report, run with this cache home: the command whose output the cache must not change. */
function validate(home: string, options: SpawnSyncOptions = {}) {
  return migwbProcessWith({ ...options, env: { ...process.env, XDG_CACHE_HOME: home } }, 'validate', IMAGE, '--json');
}

const reference = validate(freshHome());

describe("the launcher's code cache", () => {
  it('is written by the first run and used, unchanged, by the next', () => {
    expect(reference.code).toBe(0);
    expect(JSON.parse(reference.out).counts.error).toBe(0);
    const home = freshHome();
    expect(validate(home)).toEqual(reference);
    const [file] = cacheFiles(home);
    expect(cacheFiles(home)).toHaveLength(1);
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    // V8 accepted it: an accepted cache is not written again.
    const before = fs.readFileSync(file);
    fs.utimesSync(file, new Date(0), new Date(0));
    expect(validate(home)).toEqual(reference);
    expect(fs.statSync(file).mtimeMs).toBe(0);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('a corrupted or truncated cache file is rejected, the command runs as without it, and the cache is made again', () => {
    const home = freshHome();
    validate(home);
    const [file] = cacheFiles(home);
    const good = fs.readFileSync(file);
    const otherBundle = Buffer.from(good);
    otherBundle[MAGIC_BYTES + 8] ^= 1; // the identity (inode) of the bundle it was made for
    // Damaged V8 data that reached V8 would crash the process in its deserializer.
    const damaged = [Buffer.from(good).fill(0xa5, 200, 4096), otherBundle, good.subarray(0, 100), Buffer.alloc(0), Buffer.from('not a code cache')];
    for (const bytes of damaged) {
      fs.writeFileSync(file, bytes);
      expect(validate(home)).toEqual(reference);
      expect(cacheFiles(home)).toEqual([file]);
      expectIntactCacheLike(fs.readFileSync(file), good);
    }
  });

  it('a cache folder that cannot be made or written only costs time (the cache home is a file; the cache file is a folder)', () => {
    const notAFolder = path.join(dir, 'a-file');
    fs.writeFileSync(notAFolder, 'x');
    expect(validate(notAFolder)).toEqual(reference);
    const home = freshHome();
    validate(home);
    const [file] = cacheFiles(home);
    fs.rmSync(file);
    fs.mkdirSync(file);
    expect(validate(home)).toEqual(reference);
    expect(fs.statSync(file).isDirectory()).toBe(true);
  });

  it('a read-only cache folder only costs time, and a cache in it is still used (as an unprivileged user when the tests run as root)', () => {
    const asRoot = process.getuid?.() === 0;
    const as: SpawnSyncOptions = asRoot ? { uid: 65534, gid: 65534, cwd: os.tmpdir() } : {};
    const home = freshHome();
    fs.chmodSync(dir, 0o755);
    const readOnly = () => fs.chmodSync(cacheFolder(home), 0o555);
    // Empty and read-only: nothing can be written.
    fs.mkdirSync(cacheFolder(home), { recursive: true });
    readOnly();
    expect(validate(home, as)).toEqual(reference);
    expect(cacheFiles(home)).toEqual([]);
    // Read-only with a cache made earlier: used (not rewritten, which would fail).
    fs.chmodSync(cacheFolder(home), 0o755);
    validate(home);
    const [file] = cacheFiles(home);
    fs.chmodSync(file, 0o444);
    readOnly();
    const before = fs.readFileSync(file);
    expect(validate(home, as)).toEqual(reference);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    // Read-only with a damaged cache: rejected, and the command still runs.
    fs.chmodSync(cacheFolder(home), 0o755);
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, before.subarray(0, 1000));
    fs.chmodSync(file, 0o444);
    readOnly();
    expect(validate(home, as)).toEqual(reference);
    fs.chmodSync(cacheFolder(home), 0o755);
  });

  it('a bundle file replaced by another of the same length is not given the cache of the old one', () => {
    const home = freshHome();
    validate(home);
    const [file] = cacheFiles(home);
    const before = fs.readFileSync(file);
    // What a rebuild does: a new file at the bundle's path (same bytes here, so same length).
    const bundle = path.join(REPO, 'build', 'cli', 'migwb.js');
    const copy = `${bundle}.${process.pid}.tmp`;
    fs.copyFileSync(bundle, copy);
    fs.renameSync(copy, bundle);
    expect(validate(home)).toEqual(reference);
    const after = fs.readFileSync(file);
    expect(after.subarray(MAGIC_BYTES, IDENTITY_END).equals(before.subarray(MAGIC_BYTES, IDENTITY_END))).toBe(false);
    expectIntactCacheLike(after, after);
  });

  it('a cache left by another Node is removed, not kept beside the new one', () => {
    const home = freshHome();
    validate(home);
    const [file] = cacheFiles(home);
    const older = file.replace(/-[0-9a-f]+\.v8$/, '-0.v8');
    fs.renameSync(file, older);
    expect(validate(home)).toEqual(reference);
    expect(cacheFiles(home)).toEqual([file]);
  });
});

describe('the bundle', () => {
  it('is ASCII, the CLI and each worker (the launcher reads it as latin1: a one-byte string without decoding UTF-8)', () => {
    const bundled = [path.join(REPO, 'build', 'cli', 'migwb.js'), ...fs.readdirSync(path.join(REPO, 'build', 'cli', 'workers')).map((f) => path.join(REPO, 'build', 'cli', 'workers', f))];
    expect(bundled.length).toBeGreaterThan(1);
    for (const file of bundled) expect(isAscii(fs.readFileSync(file)), file).toBe(true);
  });
});

describe('the bundled workers', () => {
  it('find the build: a copy sealed by the launcher (in its bundled seal worker) names this migwb version', () => {
    const sealed = path.join(dir, 'sealed.mig');
    const r = migwbProcessWith({ env: { ...process.env, XDG_CACHE_HOME: freshHome() } }, 'seal', IMAGE, '-o', sealed);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const bytes = fs.readFileSync(sealed);
    const locator = readLocator(bytes.subarray(bytes.length - 18), bytes.length);
    expect(locator).toBeDefined();
    expect(decodeDirectory(bytes.subarray(locator!.directoryAt), 0).header.sealedBy).toBe(`migwb ${VERSION}`);
  });
});
