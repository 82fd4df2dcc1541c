import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { migwb, migwbProcess, migwbProcessWith, REPO } from '../helpers/cli';
import { corpusPath, readJson, sidecar } from '../helpers/corpus';
import type { DumpedField, RamBlock } from '../helpers/wire';

const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const FLIPPED = corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig');

describe('migwb info', () => {
  it('--json: format, versions, machine type, page size, RAM blocks and the element table of NAME.sections.json', async () => {
    const r = await migwb('info', MINIMAL, '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.out);
    expect(info).toMatchObject({ format: 'qemu-migration-stream', file_version: 3, machine_type: 'pc-i440fx-7.2', page_size: 4096, section_footers: true });
    const reference = readJson(sidecar(MINIMAL, 'sections')).elements;
    expect(info.ram_blocks.map((b: RamBlock) => [b.id, b.used_length])).toEqual(reference[1].ram_blocks!.map((b) => [b.id, b.used_length]));
    expect(info.elements).toHaveLength(reference.length);
    for (const [i, ref] of reference.entries()) {
      for (const key of ['offset', 'type', 'section_id', 'idstr', 'instance_id', 'version_id', 'length'] as const) expect(info.elements[i][key]).toEqual(ref[key]);
    }
  });

  it('prints a readable summary by default', async () => {
    const r = await migwb('info', MINIMAL);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/machine type\s+pc-i440fx-7\.2/);
    expect(r.out).toMatch(/pc\.ram\s+16 MiB\s+4096/);
    expect(r.out).toMatch(/0x0004d6de\s+FULL\s+cpu \(instance 0, section id 5\)\s+12\s+1873/);
    expect(r.out).toMatch(/No problems found/);
  });
});

describe('migwb validate', () => {
  it('exit 0 and "no problems" for an intact image', async () => {
    const r = await migwb('validate', MINIMAL);
    expect(r).toMatchObject({ code: 0 });
    expect(r.out).toMatch(/no problems found/);
  });

  it('exit 1 with offset, expectation and finding for a damaged one', async () => {
    const r = await migwb('validate', FLIPPED);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^error\s+0x000bb64c\s+Unknown section type 0x14/m);
    expect(r.out).toMatch(/expected section type 0x04 \(FULL\); found 0x14/);
    const j = JSON.parse((await migwb('validate', FLIPPED, '--json')).out);
    expect(j).toMatchObject({ valid: false, counts: { error: 1 } });
    expect(j.diagnostics[0]).toMatchObject({ severity: 'error', code: 'damaged-section-type', offset: 0xbb64c, expected: expect.any(String), found: '0x14' });
  });
});

describe('migwb dump', () => {
  it('--analyze-compat prints analyze-migration.py -d state, --desc prints -d desc', async () => {
    const ref = readJson(sidecar(MINIMAL, 'analyze'));
    expect(JSON.parse((await migwb('dump', MINIMAL, '--analyze-compat')).out)).toEqual(ref.state.output);
    expect(JSON.parse((await migwb('dump', MINIMAL, '--analyze-compat', '--desc')).out)).toEqual(ref.desc.output);
  });

  it('--json gives every field with type, value, offset and length', async () => {
    const r = await migwb('dump', MINIMAL, '--json', '--section', 'cpu');
    const [cpu] = JSON.parse(r.out).sections;
    expect(cpu).toMatchObject({ idstr: 'cpu', instance_id: 0, section_id: 5, version_id: 12, described_by: 'vmdesc' });
    const eip = cpu.fields.find((f: DumpedField) => f.name === 'env.eip');
    expect(eip).toMatchObject({ type: 'uint64', size: 8, value: { kind: 'int', hex: '0x000000000000fff0', dec: '65520' } });
    // The reported offset holds the bytes that were decoded.
    const bytes = fs.readFileSync(MINIMAL).subarray(eip.offset, eip.offset + 8);
    expect(bytes.toString('hex')).toBe('000000000000fff0');
    const subsection = cpu.fields.find((f: DumpedField) => f.type === 'subsection');
    expect(subsection).toMatchObject({ name: 'cpu/poll_control_msr', version: 1 });
  });

  it('--section takes a PCI idstr (colons and all), with or without its instance', async () => {
    const image = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
    for (const spec of ['0000:00:03.0/e1000', '0000:00:03.0/e1000:0']) {
      const r = await migwb('dump', image, '--section', spec);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^0x[0-9a-f]{8} {2}FULL 0000:00:03\.0\/e1000 \(instance 0, section id 42\) version 2/);
    }
  });

  it('prints a field tree by default', async () => {
    const r = await migwb('dump', MINIMAL, '--section', 'fdc');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/FULL fdc \(instance 0, section id 25\) version 2/);
    expect(r.out).toMatch(/^0x[0-9a-f]{8}\s+fifo\s+array$/m);
    expect(r.out).toMatch(/^0x[0-9a-f]{8}\s+fdrive\/media_rate\s+subsection$/m);
  });
});

describe('usage and unreadable input: a one-line error and exit status 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-cli-'));
  const empty = path.join(dir, 'empty.mig');
  fs.writeFileSync(empty, '');
  const elf = path.join(dir, 'not-an-image.bin');
  fs.writeFileSync(elf, Buffer.from('7f454c4602010100000000000000000003003e00', 'hex'));
  const cases: [string, string[], RegExp][] = [
    ['a missing file', ['info', path.join(dir, 'nope.mig')], /nope\.mig does not exist/],
    ['a directory', ['validate', dir], /is a directory/],
    ['an empty file', ['dump', empty], /is empty \(0 bytes\)/],
    ['a non-QEVM file', ['info', elf], /not a recognised migration image; expected/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['a missing argument', ['info'], /missing required argument 'image'/],
    ['--desc without --analyze-compat', ['dump', MINIMAL, '--desc'], /--desc only applies together with --analyze-compat/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await migwb(...args);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')[0]).toMatch(/^(migwb: |error: )/);
    });
  }

  it('an unreadable file (the real launcher; as an unprivileged user when the tests run as root, who may read anything)', () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-cli-locked-'));
    try {
      fs.chmodSync(folder, 0o755);
      const locked = path.join(folder, 'locked.mig');
      fs.copyFileSync(MINIMAL, locked);
      fs.chmodSync(locked, 0o000);
      const asRoot = process.getuid?.() === 0;
      const r = migwbProcessWith(asRoot ? { uid: 65534, gid: 65534, cwd: os.tmpdir() } : {}, 'info', locked);
      expect(r.err).toBe(`migwb: ${locked} cannot be read: permission denied\n`);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('the installed launcher (bin/migwb.js over the build)', () => {
  it('runs as a real process with real exit statuses', () => {
    expect(migwbProcess('validate', MINIMAL).code).toBe(0);
    const damaged = migwbProcess('validate', FLIPPED, '--json');
    expect(damaged.code).toBe(1);
    expect(JSON.parse(damaged.out).counts.error).toBe(1);
    const missing = migwbProcess('info', '/nonexistent/image.mig');
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('migwb: /nonexistent/image.mig does not exist\n');
    expect(migwbProcess('--help').out).toMatch(/Usage: migwb/);
  });

  it('stops quietly when the reader of its output goes away (| head)', () => {
    // 1.3 MB of JSON: far more than a pipe buffers, so the write fails with EPIPE.
    const launcher = path.join(REPO, 'bin', 'migwb.js');
    const r = spawnSync('bash', ['-c', 'node "$0" dump "$1" --json | head -c 100 >/dev/null; echo "${PIPESTATUS[0]}"', launcher, MINIMAL], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('0');
  });
});
