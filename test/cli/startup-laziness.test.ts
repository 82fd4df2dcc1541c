import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migwbProcessWith } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';

/**
 * Issue #12 §7: a command loads only what it needs. These run the real launcher over the
 * bundle and list every module the process asked Node for and every built-in Node loaded,
 * so a static import that drags a native addon or a heavy built-in into every start fails here.
 */
const IMAGE = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-startup-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const PRELOAD = path.join(dir, 'record-loads.js');
fs.writeFileSync(
  PRELOAD,
  `const Module = require('node:module');
const load = Module._load;
const asked = new Set();
Module._load = function (request) { asked.add(request); return load.apply(this, arguments); };
process.on('exit', () => require('node:fs').writeFileSync(process.env.MIGWB_TEST_LOADS, JSON.stringify({ asked: [...asked], builtins: process.moduleLoadList })));
`,
);

/** Runs migwb with the recorder; what it asked for (requests) and the built-ins Node loaded. */
function loadsOf(...args: string[]): { code: number; out: string; asked: string[]; builtins: string[] } {
  const record = path.join(dir, `loads-${args[0]}-${Date.now()}.json`);
  const r = migwbProcessWith({ env: { ...process.env, NODE_OPTIONS: `--require ${PRELOAD}`, MIGWB_TEST_LOADS: record } }, ...args);
  const { asked, builtins } = JSON.parse(fs.readFileSync(record, 'utf8')) as { asked: string[]; builtins: string[] };
  return { code: r.code, out: r.out, asked, builtins };
}

/** Native addons and built-ins no read-only look at a QEMU image needs. */
// (node:net is not among them: Node loads it for a piped stdout, as these tests' is.)
const NOT_AT_START = ['better-sqlite3', '@node-rs/crc32', 'node:child_process', 'node:zlib', 'node:worker_threads'];
const builtinName = (m: string) => `node:${m.replace(/^NativeModule /, '')}`;

function expectNoneOf(loads: { asked: string[]; builtins: string[] }): void {
  const loaded = new Set([...loads.asked.map((a) => (a.startsWith('node:') || a.includes('/') || a.startsWith('@') || a === 'better-sqlite3' ? a : `node:${a}`)), ...loads.builtins.filter((b) => b.startsWith('NativeModule ')).map(builtinName)]);
  for (const name of NOT_AT_START) expect(loaded.has(name), `${name} was loaded`).toBe(false);
}

describe('what a command loads', () => {
  const sealed = path.join(dir, 'sealed.mig');
  const seal = migwbProcessWith({}, 'seal', IMAGE, '-o', sealed);

  it('the recorder sees what a command does load (SQLite for a library command)', () => {
    const r = loadsOf('index', IMAGE, '--db', path.join(dir, 'library.sqlite'));
    expect(r.code).toBe(0);
    expect(r.asked).toContain('better-sqlite3');
  });

  it('--version loads no native addon, no SQLite and none of the heavy built-ins', () => {
    const r = loadsOf('--version');
    expect(r.code).toBe(0);
    expectNoneOf(r);
  });

  it('info on a sealed image loads neither the native CRC-32, SQLite, zlib, child_process nor worker threads', () => {
    expect(seal.code, seal.out).toBe(0);
    const r = loadsOf('info', sealed);
    expect(r.code).toBe(0);
    expect(r.out).toContain('DIRECTORY');
    expectNoneOf(r);
  });

  it('info on an unsealed image (scanned) does not either', () => {
    const r = loadsOf('info', IMAGE);
    expect(r.code).toBe(0);
    expect(r.out).toContain('No problems found.');
    expectNoneOf(r);
  });

  it('a command that computes CRC-32s loads the native one when it first needs it (pack)', () => {
    const r = loadsOf('pack', IMAGE, '-o', path.join(dir, 'packed.migc'));
    expect(r.code).toBe(0);
    expect(r.asked).toContain('@node-rs/crc32');
  });
});
