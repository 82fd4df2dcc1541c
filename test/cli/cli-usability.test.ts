import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DETECT_BYTES, describeDetected, detectFormat, type ImageKind } from '../../shared/formats/registry';
import { MemorySource } from '../../shared/io/byte-source';
import { sectionsNamed } from '../../shared/formats/qemu-stream/section-names';
import { humanSize } from '../../shared/util/size';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { tempFolder } from '../helpers/evidence';
import { parseFile } from '../helpers/parse';

/** The rough edges a new user hit (issue 12, part 4), each with its fix. */
const E1000 = corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig');
const MINIMAL = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const tmp = tempFolder('migwb-cli-usability-');

describe('one section-name resolver for every command that takes a section', () => {
  const SPELLINGS = ['0000:00:03.0/e1000', '0000:00:03.0/e1000:0', 'e1000', 'e1000:0'];

  it('dump --section: the idstr, with its instance, the short device name, with its instance', async () => {
    for (const spec of SPELLINGS) {
      const r = await migwb('dump', E1000, '--section', spec, '--json');
      expect(r.code, `${spec}: ${r.err}`).toBe(0);
      expect(JSON.parse(r.out).sections.map((s: { idstr: string; instance_id: number }) => `${s.idstr}:${s.instance_id}`)).toEqual(['0000:00:03.0/e1000:0']);
    }
    const wrong = await migwb('dump', E1000, '--section', 'e1000:1');
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/no device section e1000:1 in this image; did you mean 0000:00:03\.0\/e1000:0\?/);
  });

  it('the vmsd name (from the vmdesc) names a section too; only a trailing :N is an instance', () => {
    const model = parseFile(E1000);
    const nic = model.elements.find((e) => e.idstr === '0000:00:03.0/e1000')!;
    // A device whose vmsd name differs from its idstr: rename the vmsd in this in-memory model.
    model.vmdesc!.devices[nic.deviceIndex!] = { ...model.vmdesc!.devices[nic.deviceIndex!], vmsd_name: 'intel-82540em' };
    expect(sectionsNamed(model, 'intel-82540em')).toEqual([nic]);
    expect(sectionsNamed(model, 'intel-82540em:0')).toEqual([nic]);
    expect(sectionsNamed(model, 'intel-82540em:1')).toEqual([]);
    expect(sectionsNamed(model, '0000:00')).toEqual([]);
    expect(sectionsNamed(model, 'configuration').map((e) => e.type)).toEqual(['CONFIGURATION']);
  });

  it('edit --fields, --set and --delete-section take the same names', async () => {
    for (const spec of SPELLINGS) {
      const r = await migwb('edit', E1000, '--fields', spec, '--json');
      expect(r.code, `${spec}: ${r.err}`).toBe(0);
      expect(JSON.parse(r.out).fields.map((f: { path: string }) => f.path)).toContain('rxbuf_size');
    }
    const journal = path.join(tmp(), 'names.json');
    const set = await migwb('edit', E1000, '--journal', journal, '--set', 'e1000.rxbuf_size=0x800', '--delete-section', 'e1000:0');
    expect(set.code, set.err).toBe(0);
    expect(set.out).toMatch(/\+ 0000:00:03\.0\/e1000:0 rxbuf_size \(uint32 at 0x193084\): 0x00000000 \(0\) → 0x00000800 \(2048\)/);
    expect(set.out).toMatch(/\+ deleted section 0000:00:03\.0\/e1000:0/);
  });
});

describe('migwb read', () => {
  it('reads one guest page when no --length is given', async () => {
    const r = await migwb('read', MINIMAL, '--gpa', '0x100000', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).length).toBe(4096);
    const text = await migwb('read', MINIMAL, '--gpa', '0x100000');
    expect(text.out.split('\n').filter((l) => l.startsWith('0x')).length).toBe(4096 / 16);
  });

  it('--raw writes the bytes themselves to standard output, -o FILE to a file; both equal the hex of --json', async () => {
    const json = JSON.parse((await migwb('read', E1000, '--gpa', '0x100000', '--length', '64', '--json')).out);
    const raw = await migwb('read', E1000, '--gpa', '0x100000', '--length', '64', '--raw');
    expect(raw.code).toBe(0);
    expect(raw.out).toBe('');
    expect(raw.bytes.toString('hex')).toBe(json.hex);
    expect(raw.bytes.subarray(0, 6).toString('latin1')).toBe('MIGIMG');
    const file = path.join(tmp(), 'page.bin');
    const written = await migwb('read', E1000, '--block', 'pc.ram', '--offset', '0x100000', '--length', '64', '-o', file);
    expect(written.code, written.err).toBe(0);
    expect(written.out).toMatch(/wrote 64 bytes to .*page\.bin/);
    expect(fs.readFileSync(file).toString('hex')).toBe(json.hex);
    const never = await migwb('read', E1000, '--gpa', '0x100000', '-o', E1000);
    expect(never.code).toBe(2);
  });
});

describe('edit --fields without a journal', () => {
  it('lists the fields and writes nothing; edits still need --journal', async () => {
    const before = fs.readdirSync(tmp());
    const r = await migwb('edit', MINIMAL, '--fields', 'cpu');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/env\.eip {2}uint64 {2}8 bytes {2}0x000000000000fff0/);
    expect(fs.readdirSync(tmp())).toEqual(before);
    const edit = await migwb('edit', MINIMAL, '--set', 'cpu.env.eip=0');
    expect(edit.code).toBe(2);
    expect(edit.err).toBe('migwb: give --journal FILE to record edits (the image itself is never written); only --fields SECTION works without one\n(run "migwb edit --help" for usage)\n');
  });
});

describe('errors point to the help of the command they are for', () => {
  it.each([
    [['read', MINIMAL], /required option '--gpa|give either --gpa ADDRESS or --block NAME/],
    [['read', MINIMAL, '--gpa', 'nowhere'], /--gpa "nowhere" is not an address/],
    [['extract-ram', MINIMAL, '--out', '/tmp/x', '--format', 'pdf'], /--format must be raw or elf, not pdf/],
    [['repair', MINIMAL], /give the output file with -o OUT/],
    [['search', MINIMAL], /give exactly one of --string, --hex or --regex/],
    [['info'], /missing required argument 'image'/],
    [['validate', MINIMAL, '--bogus'], /unknown option '--bogus'/],
  ])('migwb %j', async (args, message) => {
    const r = await migwb(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toContain(`(run "migwb ${(args as string[])[0]} --help" for usage)`);
  });

  it('a problem that is not the command line (a missing file) does not send the user to the help', async () => {
    const r = await migwb('info', '/nonexistent.mig');
    expect(r.err).toMatch(/does not exist/);
    expect(r.err).not.toMatch(/--help/);
  });
});

describe('search shows the text around each match beside the hex', () => {
  it('TEXT AROUND IT: up to 8 bytes either side, unprintable bytes as dots; --json has the preview', async () => {
    const r = await migwb('search', E1000, '--string', 'MIGIMG-FORENSIC-MARKER', '--max-hits', '1');
    expect(r.out).toMatch(/MATCH +TEXT AROUND IT\n.* 4d4947494d472d464f52454e5349432d… {2}[ -~]{8}MIGIMG-FORENSIC-MARKER[ -~]{0,8}\n/);
    const hit = JSON.parse((await migwb('search', E1000, '--string', 'MIGIMG-FORENSIC-MARKER', '--max-hits', '1', '--json')).out).results[0].hits[0];
    expect(hit.preview.block_offset).toBe(hit.block_offset - 8);
    expect(Buffer.from(hit.preview.hex, 'hex').subarray(8, 30).toString('latin1')).toBe('MIGIMG-FORENSIC-MARKER');
  });
});

describe('summaries count and size things the way people read them', () => {
  it('a recognised format this version cannot open is refused as unsupported, not as a failure', () => {
    // Every registered format opens now (Xen through its own engine); a row without a reader
    // stands for the next format that is recognised before it is supported.
    const head = new Uint8Array(64);
    const described = describeDetected(new MemorySource(head), { format: { id: 'future', signatures: [] }, kind: 'qemu-stream' as ImageKind, label: 'future save format' });
    expect(described).toEqual({ refusal: 'is a future save format, which this version cannot open yet', unsupported: true });
  });

  it('Xen streams, recognised by content, are indexed (neither unsupported nor failed)', async () => {
    const db = path.join(tmp(), 'xen.sqlite');
    const r = await migwb('index', corpusPath('xen'), '--db', db, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    // The Xen files recognised by their signature (the legacy .bin ones are found by content probes, and indexed too).
    const xen = fs.readdirSync(corpusPath('xen')).filter((f) => detectFormat(fs.readFileSync(corpusPath('xen', f)).subarray(0, DETECT_BYTES))?.kind.startsWith('xen-'));
    expect(xen.length).toBeGreaterThan(10);
    expect(report.indexed).toBeGreaterThanOrEqual(xen.length);
    expect(report.unsupported).toBe(0);
    expect(report.failed).toBe(0);
  });

  it('"1 error", not "1 errors"', async () => {
    const r = await migwb('validate', corpusPath('qemu', 'corrupt', 'x86_64-q35-minimal-running-32M.flip-hdr.mig'));
    expect(r.out).toMatch(/: 1 error, 0 warnings, 0 notes\n/);
  });

  it('sizes under 1 MiB are shown in KiB (never "0.0 MiB"), in the CLI and in the app alike', async () => {
    expect([512, 4096, 68 * 1024, 100 * 1024 - 1, 1.5 * 2 ** 20, 16 * 2 ** 20, 2 ** 30].map(humanSize)).toEqual(['512 bytes', '4 KiB', '68 KiB', '100 KiB', '1.5 MiB', '16 MiB', '1 GiB']);
    const info = await migwb('info', MINIMAL);
    expect(info.out).toMatch(/\/rom@etc\/acpi\/rsdp\s+4 KiB\s+1/);
  });
});
