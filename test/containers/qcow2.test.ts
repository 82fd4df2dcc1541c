import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBytes } from '../../shared/io/byte-source';
import { openImage } from '../../electron/services/open-image';
import { migwb } from '../helpers/cli';
import { corpusPath, metaOf } from '../helpers/corpus';
import { readRange } from '../helpers/elf';
import { QEMU_IMG } from '../helpers/tools';

/**
 * qcow2 internal snapshots: the vmstate is read through the snapshot's own L1/L2 tables
 * without being copied, and equals what the corpus generator extracted (and QEMU loaded).
 */
const QCOW2 = corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2');
const EXTRACTED = corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.vmstate.mig');
const meta = metaOf(EXTRACTED);
// A qcow2 snapshot's meta says where the corpus found the vmstate, and what qemu-img saw.
const extraction = meta.vmstate_extraction!;
const imgInfo = meta.qemu_img_info!;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-qcow2-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const qemuImg = QEMU_IMG;

describe('qcow2 internal snapshots', () => {
  it('the snapshot vmstate, mapped through L1/L2, equals the extracted stream byte for byte', () => {
    const img = openImage(QCOW2);
    expect(img.kind).toBe('qcow2');
    expect(img.offsetSpace).toBe('vmstate');
    const bytes = readBytes(img.source, 0, img.source.size);
    expect(bytes.length).toBe(extraction.vm_state_size);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(extraction.extracted_sha256);
    expect(img.model.diagnostics).toEqual([]);
    // Stream offsets map to the host clusters that hold them.
    const host = img.fileOffsetOf(0x10000 + 5)!;
    expect(fs.readFileSync(QCOW2).subarray(host, host + 16)).toEqual(Buffer.from(bytes.subarray(0x10005, 0x10015)));
    img.close();
  });

  it('guest memory of the snapshot: the planted payload is extracted whole at its guest-physical address', async () => {
    const out = path.join(work, 'extracted');
    expect((await migwb('extract-ram', QCOW2, '--out', out, '--layout', 'physical')).code).toBe(0);
    const payload = readRange(path.join(out, 'physical.raw'), 0x100000, 0x100000); // a 4 GiB sparse file (the BIOS sits below 4 GiB)
    expect(createHash('sha256').update(payload).digest('hex')).toBe(meta.planted_payload!.checked_in_extracted_stream!.sha256);
  });

  it('info lists the snapshots as qemu-img does, and marks the one opened', async () => {
    const info = JSON.parse((await migwb('info', QCOW2, '--json')).out);
    const [layer] = info.container.layers;
    const ref = imgInfo.snapshots[0];
    expect(layer).toMatchObject({ kind: 'qcow2', version: 3, cluster_size: imgInfo['cluster-size'], virtual_size: imgInfo['virtual-size'], selected: 0 });
    expect(layer.snapshots[0]).toMatchObject({ id: ref.id, name: ref.name, vm_state_size: ref['vm-state-size'], date_sec: ref['date-sec'], vm_state_offset: extraction.vm_state_offset, l1_table_offset: extraction.l1_table_offset });
    expect(layer.snapshots[0].vm_clock_nsec).toBe(ref['vm-clock-sec'] * 1e9 + ref['vm-clock-nsec']);
    const text = (await migwb('info', QCOW2)).out;
    expect(text).toMatch(/\*\s+1\s+snap1\s+1929244/);
  });

  it.skipIf(!qemuImg)('several snapshots: the newest with a VM state by default, --snapshot by name or id, disk-only ones refused (qemu-img makes them; skipped without it)', async () => {
    const copy = path.join(work, 'two-snapshots.qcow2');
    fs.copyFileSync(QCOW2, copy);
    execFileSync(qemuImg!, ['snapshot', '-c', 'disk-only', copy]);
    const info = JSON.parse((await migwb('info', copy, '--json')).out);
    expect(info.container.layers[0].snapshots.map((s: { name: string; vm_state_size: number }) => [s.name, s.vm_state_size > 0])).toEqual([
      ['snap1', true],
      ['disk-only', false],
    ]);
    expect(info.container.layers[0].selected).toBe(0);
    expect((await migwb('info', copy, '--snapshot', '1', '--json')).code).toBe(0);
    const refused = await migwb('info', copy, '--snapshot', 'disk-only');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/snapshot 2 "disk-only" has no VM state/);
    const missing = await migwb('info', copy, '--snapshot', 'nope');
    expect(missing.err).toMatch(/no snapshot named or numbered "nope" \(snapshots: 1 "snap1", 2 "disk-only"\)/);
  });

  it.skipIf(!qemuImg)('a qcow2 disk without snapshots is refused in one line (skipped without qemu-img)', async () => {
    const disk = path.join(work, 'plain.qcow2');
    execFileSync(qemuImg!, ['create', '-q', '-f', 'qcow2', disk, '1M']);
    const r = await migwb('info', disk);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is a qcow2 disk image, but it has no internal snapshots/);
  });

  it('a damaged L1 pointer is a diagnostic, and the unreadable part reads as zeros', () => {
    const bytes = fs.readFileSync(QCOW2);
    const l1 = extraction.l1_table_offset;
    const index = extraction.vm_state_offset / (65536 * 8192);
    bytes.writeBigUInt64BE(0x7fff_0000n, l1 + index * 8); // an L2 table far past the end of the file
    const file = path.join(work, 'bad-l1.qcow2');
    fs.writeFileSync(file, bytes);
    const img = openImage(file);
    expect(img.containerDiagnostics.map((d) => d.code)).toContain('qcow2-l2-table');
    expect(readBytes(img.source, 0, 16).every((b) => b === 0)).toBe(true);
    img.close();
  });
});
