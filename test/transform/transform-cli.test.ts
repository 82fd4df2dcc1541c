import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBytes } from '../../shared/io/byte-source';
import { detectFindings, predictLoad } from '../../shared/transform/detect';
import { releaseById } from '../../shared/transform/releases';
import { TRANSFORM_RULES } from '../../shared/transform/rules';
import { EditSession } from '../../electron/edit/edit-session';
import { openImage } from '../../electron/services/open-image';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';

const PC72 = corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig');
const PC10 = corpusPath('qemu10', 'x86_64-pc-minimal-payload-paused-16M.mig');
const COMPRESS = corpusPath('qemu', 'x86_64-pc-compress-payload-paused-32M.mig');
const MAPPED = corpusPath('qemu10', 'x86_64-pc-mapped-ram-payload-paused-4M.mig');
const XBZRLE = corpusPath('qemu', 'x86_64-pc-xbzrle-dirty-running-32M.mig');
const LEGACY = corpusPath('qemu', 'x86_64-pc-i440fx-2.3-legacy-paused-16M.mig');
const LIBVIRT = corpusPath('libvirt', 'wb-tiny-i440fx-raw.sav');
const QCOW2 = corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2');
const CORRUPT = corpusPath('qemu', 'corrupt', 'x86_64-pc-minimal-paused-16M.flip-hdr.mig');
const Q35 = corpusPath('qemu10', 'x86_64-q35-e1000-payload-paused-32M.mig');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-transform-'));
const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('the rules table', () => {
  it('has one row per rule, each with a description, a citation and a kind', () => {
    const names = TRANSFORM_RULES.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const r of TRANSFORM_RULES) {
      expect(r.name, r.name).toMatch(/^[a-z0-9-]+$/);
      expect(r.description.length, r.name).toBeGreaterThan(40);
      expect(r.cites.length, r.name).toBeGreaterThan(0);
      expect(['required', 'normalise', 'cosmetic']).toContain(r.kind);
    }
  });

  it('migwb transform --list-rules prints every row with its QEMU source', async () => {
    const r = await migwb('transform', '--list-rules', '--json');
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out).rules;
    expect(rows.map((x: { name: string }) => x.name)).toEqual(TRANSFORM_RULES.map((x) => x.name));
    expect(rows.find((x: { name: string }) => x.name === 'pcie-ext-tag').cites[0].compat).toBe('hw_compat_9_1: TYPE_PCI_DEVICE x-pcie-ext-tag=false');
  });

  it('predicts QEMU\'s first error line from the detectors alone (what preflight uses)', () => {
    const img = openImage(PC10);
    try {
      const target = { release: releaseById('qemu-7.2')!, machine: 'pc-i440fx-7.2' };
      const first = predictLoad(img, target);
      expect(first.loads).toBe(false);
      expect(first.firstError!.qemuError![0]).toBe("Machine type received is 'pc-i440fx-10.0' and local is 'pc-i440fx-7.2'");
      // Findings come in stream order, each naming its rule.
      const findings = detectFindings(img, target);
      expect(findings.map((f) => f.offset)).toEqual([...findings.map((f) => f.offset)].sort((a, b) => a - b));
      expect(findings.map((f) => f.rule)).toContain('switchover-start');
    } finally {
      img.close();
    }
  });
});

describe('migwb transform', () => {
  it('--dry-run prints the plan with rules and citations and writes nothing', async () => {
    const out = path.join(tmp(), 'out.mig');
    const r = await migwb('transform', PC10, '--to', 'qemu-7.2', '--dry-run', '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("as it is: QEMU 7.2 refuses it: Machine type received is 'pc-i440fx-10.0' and local is 'pc-i440fx-7.2'");
    expect(r.out).toMatch(/\[machine-type\] CONFIGURATION: machine type pc-i440fx-10.0 → pc-i440fx-7.2/);
    expect(r.out).toMatch(/\[switchover-start\] COMMAND: dropped QEMU_VM_COMMAND SWITCHOVER_START/);
    expect(r.out).toContain('QEMU: migration/savevm.c configuration_post_load');
    expect(r.out).toContain('dry run: nothing was written');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('writes the transformed image atomically and never touches the original', async () => {
    const before = sha(PC10);
    const mtime = fs.statSync(PC10).mtimeMs;
    const out = path.join(tmp(), 'out.mig');
    const r = await migwb('transform', PC10, '--to', 'qemu-7.2', '-o', out, '--json');
    expect(r.code, r.err).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.output.path).toBe(path.resolve(out));
    expect(json.after.counts.error).toBe(0);
    expect(sha(PC10)).toBe(before);
    expect(fs.statSync(PC10).mtimeMs).toBe(mtime);
    const img = openImage(out);
    try {
      expect(img.model.machineType).toBe('pc-i440fx-7.2');
      expect(img.model.elements.some((e) => e.type === 'COMMAND')).toBe(false);
      expect(img.model.vmdesc!.configuration).toBeUndefined();
      expect(img.model.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    } finally {
      img.close();
    }
    // Never over the original.
    const refused = await migwb('transform', PC10, '--to', 'qemu-7.2', '-o', PC10);
    expect(refused.code).toBe(2);
    expect(sha(PC10)).toBe(before);
  });

  it('is one journal entry: saved as a journal, re-applied by migwb apply to the same bytes (re-encoded RAM included)', async () => {
    for (const [image, to] of [
      [COMPRESS, 'qemu-10.0'],
      [MAPPED, 'qemu-7.2'],
    ]) {
      const dir = tmp();
      const out = path.join(dir, 'out.mig');
      const journal = path.join(dir, 'j.json');
      const r = await migwb('transform', image, '--to', to, '-o', out, '--journal', journal);
      expect(r.code, r.err).toBe(0);
      const doc = JSON.parse(fs.readFileSync(journal, 'utf8'));
      expect(doc.edits).toHaveLength(1);
      expect(doc.edits[0].intent.op).toBe('transform');
      expect(doc.edits[0].derived[0].recipe.kind).toBe('ram-reencode');
      // The journal holds ranges of the re-encoded RAM, not the pages themselves.
      expect(fs.statSync(journal).size).toBeLessThan(400_000);
      const again = path.join(dir, 'again.mig');
      const apply = await migwb('apply', image, journal, '-o', again);
      expect(apply.code, apply.err).toBe(0);
      expect(sha(again)).toBe(sha(out));
    }
  });

  it('can be undone as one step, leaving the image as it was', () => {
    const session = EditSession.open(COMPRESS);
    try {
      const original = readBytes(session.view, 0, session.view.size);
      const outcome = session.transform({ to: 'qemu-10.0' });
      expect(outcome.applied).toBeDefined();
      expect(session.entries).toHaveLength(1);
      expect(session.model().elements.reduce((n, e) => n + (e.pages?.compress ?? 0), 0)).toBe(0);
      session.undo();
      expect(Buffer.from(readBytes(session.view, 0, session.view.size)).equals(Buffer.from(original))).toBe(true);
      session.redo();
      expect(session.model().machineType).toBe('pc-i440fx-7.2');
    } finally {
      session.close();
    }
  });

  it('turns XBZRLE records into pages only when asked, with the same guest memory', async () => {
    const plain = await migwb('transform', XBZRLE, '--to', 'qemu-10.0', '--dry-run', '--json');
    expect(JSON.parse(plain.out).plan.changes.map((c: { rule: string }) => c.rule)).not.toContain('xbzrle-to-page');
    const out = path.join(tmp(), 'x.mig');
    const r = await migwb('transform', XBZRLE, '--to', 'qemu-10.0', '--xbzrle-to-page', '-o', out);
    expect(r.code, r.err).toBe(0);
    const a = openImage(XBZRLE);
    const b = openImage(out);
    try {
      expect(b.model.elements.reduce((n, e) => n + (e.pages?.xbzrle ?? 0), 0)).toBe(0);
      const block = a.model.ramBlocks.findIndex((x) => x.id === 'pc.ram');
      const { readGuestRange } = await import('../../shared/formats/qemu-stream/ram-reader');
      const size = a.model.ramBlocks[block].usedLength;
      expect(Buffer.from(readGuestRange(b.source, b.model, block, 0, size)).equals(Buffer.from(readGuestRange(a.source, a.model, block, 0, size)))).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps a libvirt save\'s wrapper, whose stream is what --stream-only writes', async () => {
    const dir = tmp();
    const wrapped = path.join(dir, 'out.sav');
    const bare = path.join(dir, 'out.mig');
    expect((await migwb('transform', LIBVIRT, '--to', 'qemu-10.0', '--machine', 'newest', '-o', wrapped)).code).toBe(0);
    expect((await migwb('transform', LIBVIRT, '--to', 'qemu-10.0', '--machine', 'newest', '-o', bare, '--stream-only')).code).toBe(0);
    const img = openImage(wrapped);
    try {
      expect(img.layers.map((l) => l.kind)).toEqual(['libvirt-save']);
      expect(img.model.machineType).toBe('pc-i440fx-10.0');
      const original = fs.readFileSync(LIBVIRT);
      const written = fs.readFileSync(wrapped);
      expect(written.subarray(0, img.streamBase!).equals(original.subarray(0, img.streamBase!))).toBe(true);
      expect(written.subarray(img.streamBase!).equals(fs.readFileSync(bare))).toBe(true);
    } finally {
      img.close();
    }
  });

  it('writes a qcow2 snapshot\'s VM state with --stream-only and says so without it', async () => {
    const out = path.join(tmp(), 'vmstate.mig');
    const without = await migwb('transform', QCOW2, '--to', 'qemu-10.0', '-o', out);
    expect(without.code).toBe(2);
    expect(without.err).toMatch(/--stream-only/);
    const r = await migwb('transform', QCOW2, '--to', 'qemu-10.0', '--machine', 'newest', '-o', out, '--stream-only');
    expect(r.code, r.err).toBe(0);
    const img = openImage(out);
    try {
      expect(img.kind).toBe('qemu-migration-stream');
      expect(img.model.machineType).toBe('pc-i440fx-10.0');
    } finally {
      img.close();
    }
  });

  it('says before writing anything that a removed machine type cannot be loaded, and names what would load it', async () => {
    const out = path.join(tmp(), 'legacy.mig');
    const r = await migwb('transform', LEGACY, '--to', 'qemu-10.0', '--machine', 'pc-i440fx-2.3', '-o', out);
    expect(r.code).toBe(1);
    expect(r.out).toContain('QEMU 10.0 has no machine type pc-i440fx-2.3');
    expect(r.out).toContain('closest target that loads it: qemu-7.2 with -M pc-i440fx-2.3');
    expect(r.out).toContain('nothing was written');
    expect(fs.existsSync(out)).toBe(false);
    const oldest = await migwb('transform', LEGACY, '--to', 'qemu-10.0', '--machine', 'pc-i440fx-2.4', '-o', out, '--json');
    expect(oldest.code).toBe(1);
    expect(JSON.parse(oldest.out).plan.blockers[0].reason).toMatch(/no section footers and no CONFIGURATION/);
  });
});

describe('bad input: a one-line error or a plan that says what cannot be done, and the original is never written', () => {
  const oneLine = (err: string) => expect(err.trim().split('\n')).toHaveLength(1);

  it('a wrong target name', async () => {
    const r = await migwb('transform', PC72, '--to', 'qemu-8.0', '-o', path.join(tmp(), 'x.mig'));
    expect(r.code).toBe(2);
    oneLine(r.err);
    expect(r.err).toContain('unknown target "qemu-8.0": use --to qemu-7.2 or --to qemu-10.0');
  });

  it('a machine type of another family, and an unknown option', async () => {
    const r = await migwb('transform', PC72, '--to', 'qemu-10.0', '--machine', 'pc-q35-10.0', '--dry-run');
    expect(r.code).toBe(2);
    oneLine(r.err);
    expect(r.err).toContain('pc-q35-10.0 is a q35 machine, the image is a pc machine');
    const m = await migwb('transform', PC72, '--to', 'qemu-7.2', '--mapped-ram', '--dry-run');
    expect(m.code).toBe(2);
    expect(m.err).toContain('QEMU 7.2 has no mapped-ram');
  });

  it('an image with errors', async () => {
    const before = sha(CORRUPT);
    const r = await migwb('transform', CORRUPT, '--to', 'qemu-10.0', '-o', path.join(tmp(), 'x.mig'));
    expect(r.code).toBe(2);
    oneLine(r.err);
    expect(r.err).toMatch(/has 1 error .*repair it first/);
    expect(sha(CORRUPT)).toBe(before);
  });

  it('a template of another configuration', async () => {
    const r = await migwb('transform', PC72, '--to', 'qemu-10.0', '--template', Q35, '--dry-run');
    expect(r.code).toBe(2);
    oneLine(r.err);
    expect(r.err).toContain('the template was saved with pc-q35-10.0, a q35 machine, the image with pc-i440fx-7.2, a pc machine: it is not an image of the same configuration');
    const other = await migwb('transform', PC72, '--to', 'qemu-10.0', '--template', corpusPath('qemu10', 'x86_64-pc-virtio-mem-early-setup-payload-paused-16M.mig'), '--dry-run');
    expect(other.code).toBe(2);
    oneLine(other.err);
    expect(other.err).toContain('is not an image of the same configuration');
    expect(other.err).toContain('0000:00:03.0/vmem0');
  });

  it('a template of the wrong version', async () => {
    // A 7.2 image offered as the template of a 10.0 target (same machine type, pc-i440fx-7.2).
    const r = await migwb('transform', corpusPath('qemu10', 'x86_64-pc-i440fx-7.2-payload-paused-16M.mig'), '--to', 'qemu-10.0', '--template', PC72, '--dry-run');
    expect(r.code).toBe(2);
    oneLine(r.err);
    expect(r.err).toContain('was not saved by QEMU 10.0');
    const down = await migwb('transform', PC72, '--to', 'qemu-7.2', '--machine', 'pc-i440fx-7.2', '--template', corpusPath('qemu10', 'x86_64-pc-i440fx-7.2-payload-paused-16M.mig'), '--dry-run');
    expect(down.code).toBe(2);
    expect(down.err).toContain('was not saved by QEMU 7.2');
  });

  it('an ARM image without a template: the plan says it needs one', async () => {
    const r = await migwb('transform', corpusPath('qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig'), '--to', 'qemu-10.0', '-o', path.join(tmp(), 'a.mig'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('[arm-cpreg-list]');
    expect(r.out).toContain('--template');
    expect(r.out).toContain('nothing was written');
  });
});
