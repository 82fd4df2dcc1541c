import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../electron/services/open-image';
import { deriveHardware } from '../../shared/launch/derive-hardware';
import { qemuCommand } from '../../shared/launch/qemu-command';
import { preflight, type PreflightTarget } from '../../shared/preflight/preflight';
import { parseVmstateSchema } from '../../shared/preflight/vmstate-schema';
import { releaseById } from '../../shared/transform/releases';
import { migwb } from '../helpers/cli';
import { corpusPath, readJson } from '../helpers/corpus';
import { haveQemu } from '../helpers/qemu';

/**
 * preflight's engine over the corpus schemas (../shared/corpus/vmstate-schemas) and the
 * transform rules' release table, without any QEMU binary; the comparison with real QEMU
 * over the whole cross-version matrix is in qemu-launch.test.ts.
 */
const schema72 = parseVmstateSchema(readJson(corpusPath('vmstate-schemas', 'qemu-7.2.22_pc-i440fx-7.2.vmstate.json')));

function predict(image: string, release: '7.2' | '10.0', machine?: string, schema = schema72) {
  const img = openImage(image);
  try {
    const hw = deriveHardware(img.source, img.model);
    const command = qemuCommand(hw, { machine, incomingUri: `exec:cat ${image}` });
    const target: PreflightTarget = { program: 'qemu-system-x86_64', version: `${release}.0`, release: releaseById(release), schema };
    return preflight({ image: { source: img.source, model: img.model }, command, target, fileOffset: img.fileOffsetOf, imageName: 'IMAGE' });
  } finally {
    img.close();
  }
}

/** A copy of a corpus image with bytes replaced (same length, so the stream still parses). */
function patched(image: string, edits: [string, string][]): string {
  let bytes = fs.readFileSync(image);
  for (const [from, to] of edits) {
    expect(from.length).toBe(to.length);
    let at = bytes.indexOf(Buffer.from(from));
    expect(at, from).toBeGreaterThanOrEqual(0);
    while (at >= 0) {
      bytes.write(to, at, 'latin1');
      at = bytes.indexOf(Buffer.from(from), at + 1);
    }
  }
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-preflight-')), path.basename(image));
  fs.writeFileSync(out, bytes);
  bytes = Buffer.alloc(0);
  return out;
}

describe('preflight engine: the transform rules and the target schema, in QEMU\'s order', () => {
  it("the schema of -dump-vmstate: device vmsds with versions and subsections, nested structs kept apart", () => {
    expect(schema72.machine).toBe('pc-i440fx-7.2');
    expect(schema72.devices.get('mc146818rtc')).toMatchObject({ version: 3, minimumVersion: 1 });
    expect([...schema72.devices.get('mc146818rtc')!.subsections]).toContain('mc146818rtc/irq_reinject_on_ack_count');
    // "timer" is the cpu timers' section, and only a nested struct of a board device in the schema.
    expect(schema72.devices.has('timer')).toBe(false);
  });

  it('a 10.0 image for 7.2 with its compat machine type: the machine type in CONFIGURATION first, then SWITCHOVER_START, each with the fix', () => {
    const r = predict(corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig'), '7.2', 'pc-i440fx-7.2');
    expect(r.loads).toBe(false);
    expect(r.firstError).toBe("qemu-system-x86_64: Machine type received is 'pc-i440fx-10.0' and local is 'pc-i440fx-7.2'");
    expect(r.failures.map((f) => f.check).slice(0, 2)).toEqual(['machine-type', 'switchover-start']);
    expect(r.failures[0]).toMatchObject({ stage: 'stream', section: 'configuration', field: 'name', blocker: false, fix: 'migwb transform IMAGE --to qemu-7.2 --machine pc-i440fx-7.2 -o OUT (rule machine-type)' });
    expect(r.failures[0].fileOffset).toBe(r.failures[0].offset);
  });

  it('a capability the release removed fails over QMP before the stream is read, and names the rule that makes it unnecessary', () => {
    const r = predict(corpusPath('qemu', 'x86_64-pc-compress-payload-paused-32M.mig'), '10.0', 'pc-i440fx-7.2');
    expect(r.firstError).toBe("Parameter 'capability' does not accept value 'compress'");
    expect(r.failures[0]).toMatchObject({ stage: 'capabilities', fix: expect.stringMatching(/\(rule compress-to-page: the stream then no longer needs compress\)$/) });
  });

  it('a section version from the future and a subsection the target does not know, from the schema', () => {
    // mc146818rtc is version 3 (be32 00000003 after the idstr and instance).
    const image = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
    const newer = patched(image, [['\x0bmc146818rtc\x00\x00\x00\x00\x00\x00\x00\x03', '\x0bmc146818rtc\x00\x00\x00\x00\x00\x00\x00\x09']]);
    const v = predict(newer, '7.2');
    expect(v.firstError).toBe("qemu-system-x86_64: savevm: unsupported version 9 for 'mc146818rtc' v3");
    expect(v.failures[0]).toMatchObject({ check: 'schema-section-version', section: 'mc146818rtc (instance 0, section id 20)', blocker: true });
    const sub = patched(image, [['pckbd/extended_state', 'pckbd/extended_statX']]);
    const s = predict(sub, '7.2');
    // The subsection is in i8042's nested "kbd" struct: QEMU reports the struct first (measured with 7.2 and 10.0).
    expect(s.firstError).toBe('qemu-system-x86_64: Failed to load pckbd:kbd');
    expect(s.failures[0].qemuLines).toContain("qemu-system-x86_64: error while loading state for instance 0x0 of device 'pckbd'");
    expect(s.failures[0].check).toBe('schema-subsection');
  });

  it('a stream without a vmdesc loads, and QEMU says so on the way', () => {
    const r = predict(corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig'), '7.2');
    expect(r).toMatchObject({ loads: true, notices: ['qemu-system-x86_64: Expected vmdescription section, but got 0'] });
  });

  it('a QEMU the rules do not know is predicted from its lists and schema only, and the result says so', () => {
    const img = openImage(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'));
    try {
      const command = qemuCommand(deriveHardware(img.source, img.model), { incomingUri: 'exec:cat x' });
      const r = preflight({ image: img, command, target: { program: 'qemu-system-x86_64', version: '9.1.0', machines: { types: new Set(['pc-i440fx-9.1']), aliases: new Map() } }, imageName: 'x' });
      expect(r.firstError).toBe('qemu-system-x86_64: unsupported machine type');
      expect(r.limits.join('\n')).toMatch(/QEMU 9\.1\.0 is not a release the transform rules know/);
    } finally {
      img.close();
    }
  });
});

describe.skipIf(!haveQemu('7.2'))('migwb preflight (CLI)', () => {
  it('exit 1 with the first error, the failures in order and the fix; --json; --schema from the corpus', async () => {
    const image = corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig');
    const r = await migwb('preflight', image, '--to', 'qemu-7.2', '--machine', 'pc-i440fx-7.2', '--schema', corpusPath('vmstate-schemas', 'qemu-7.2.22_pc-i440fx-7.2.vmstate.json'));
    expect(r.code).toBe(1);
    expect(r.out).toContain("First error: qemu-system-x86_64: Machine type received is 'pc-i440fx-10.0' and local is 'pc-i440fx-7.2'");
    expect(r.out).toMatch(/1\. \[machine-type\] configuration, field name, stream 0x000000[0-9a-f]{2}\n/);
    const json = JSON.parse((await migwb('preflight', image, '--to', 'qemu-7.2', '--machine', 'pc-i440fx-7.2', '--json')).out);
    expect(json).toMatchObject({ loads: false, machine: 'pc-i440fx-7.2', qemu: { series: '7.2' } });
    expect(json.schema).toMatch(/vmstate-schemas/);
  });

  it('exit 0 when it loads; exit 2 without a target', async () => {
    const image = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
    expect((await migwb('preflight', image, '--to', 'qemu-7.2')).code).toBe(0);
    const none = await migwb('preflight', image);
    expect(none.code).toBe(2);
    expect(none.err).toBe('migwb: preflight needs the QEMU to predict for: --qemu BIN or --to qemu-7.2|qemu-10.0\n');
  });
});
