import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FieldNode } from '../../shared/formats/qemu-stream/vmstate-decode';
import { migwb } from '../helpers/cli';
import { corpusPath, qemuCorpusImages } from '../helpers/corpus';
import { tempFolder } from '../helpers/evidence';
import { child, expectWhollyDecoded, int, virtioFields } from '../helpers/virtio';
import { haveQemu, loadInQemu, saveInQemu, type Qmp } from '../helpers/qemu';

/**
 * virtio_save's state, decoded by meaning: named fields with offsets for the transport,
 * status, features (named bits), config space, queues, the device's own part and the
 * virtio subsections; checked against what QEMU 7.2 itself shows for the loaded image.
 */
describe('virtio devices of the corpus decode by meaning, every byte accounted for', () => {
  const images = qemuCorpusImages().filter((f) => virtioFields(f).length);
  it('the corpus has virtio devices (virtio-blk, virtio-net, virtio-mem)', () => {
    expect(images.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['x86_64-pc-virtio-blk-payload-paused-32M.mig', 'x86_64-pc-virtio-net-payload-running-32M.mig']));
  });
  it.each(images.map((f) => [path.basename(f), f]))('%s', (_name, image) => {
    for (const f of virtioFields(image)) {
      expectWhollyDecoded(f);
      const device = child(f.node, 'device');
      // virtio-mem's own part is not among the six devices decoded; the rest are.
      if (!f.section.endsWith('/virtio-mem')) expect(device?.problem, f.section).toBeUndefined();
    }
    const net = virtioFields(image).find((f) => f.section.endsWith('/virtio-net'));
    if (net) expect(child(child(net.node, 'config'), 'mac')?.value).toMatchObject({ kind: 'bytes', hex: '52 54 00 12 34 57' });
  });
});

// ---------------------------------------------------------------- against QEMU

/**
 * No guest OS is available here, so the guest is firmware only: SeaBIOS reads the virtio-blk
 * disk it boots from, then iPXE (virtio-net's option ROM) brings up virtio-net and talks
 * DHCP to QEMU's user network. The other devices are left as the firmware leaves them.
 */
const ARGS = [
  '-M', 'pc', '-m', '64M', '-nic', 'none', '-serial', 'null', '-monitor', 'none', '-display', 'none',
  '-drive', 'file=tiny-disk-64K.raw,if=none,id=d0,format=raw', '-device', 'virtio-blk-pci,drive=d0,bootindex=1',
  '-netdev', 'user,id=n1', '-device', 'virtio-net-pci,netdev=n1,mac=52:54:00:12:34:57,bootindex=2',
  '-device', 'virtio-serial-pci', '-device', 'virtio-balloon-pci', '-device', 'virtio-scsi-pci', '-device', 'virtio-rng-pci',
];
const DISK = corpusPath('qemu', 'tiny-disk-64K.raw');

/** "key: value" lines of HMP output (the first occurrence of each key). */
function hmpFields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^[ \t]*([\w ]+?):[ \t]+(.*?)[ \t]*$/gm)) if (!out.has(m[1])) out.set(m[1], m[2]);
  return out;
}

/** The names under a heading of `info virtio-status` ("status:", "Guest features:"), up to the next heading. */
function hmpNames(text: string, heading: string): string[] {
  const at = text.indexOf(`  ${heading}:`);
  if (at < 0) return [];
  const lines = text.slice(at).split('\n').slice(1);
  const names: string[] = [];
  for (const l of lines) {
    const m = /^\t([A-Z][A-Z0-9_]+):/.exec(l);
    if (!m) break;
    names.push(m[1]);
  }
  return names;
}

async function virtioPaths(qmp: Qmp): Promise<Map<string, string>> {
  const list = await qmp.hmp('info virtio');
  return new Map([...list.matchAll(/^(\S+) \[([\w-]+)\]$/gm)].map((m) => [m[2], m[1]]));
}

describe.skipIf(!haveQemu('7.2'))('virtio state against QEMU 7.2 (info virtio-status, virtio-queue-status, virtio-queue-element)', () => {
  const tmp = tempFolder('migwb-virtio-');
  let image: string;
  beforeAll(async () => {
    image = path.join(tmp(), 'firmware-virtio.mig');
    await saveInQemu({ version: '7.2', args: ARGS, files: [DISK], runMs: 5000, image });
  }, 120_000);

  /** Our section name for QEMU's device name in `info virtio`. */
  const SECTION: Record<string, string> = { 'virtio-net': 'virtio-net', 'virtio-blk': 'virtio-blk', 'virtio-serial': 'virtio-console', 'virtio-balloon': 'virtio-balloon', 'virtio-scsi': 'virtio-scsi', 'virtio-rng': 'virtio-rng' };

  it('status, ISR, queue_sel, feature names and every queue equal what QEMU shows for the loaded image', async () => {
    const ours = virtioFields(image);
    expect(ours).toHaveLength(6);
    ours.forEach(expectWhollyDecoded);
    // SeaBIOS read the disk's config space: its capacity in 512-byte sectors.
    const blk = ours.find((f) => f.section.endsWith('/virtio-blk'))!;
    expect(int(child(child(blk.node, 'config'), 'capacity'))).toBe(BigInt(fs.statSync(DISK).size / 512));
    const r = await loadInQemu({ version: '7.2', image, args: ARGS, files: [DISK] });
    expect(r.loaded, r.stderr.join('\n')).toBe(true);
    let drivenQueues = 0;
    try {
      const qmp = r.qmp!;
      const paths = await virtioPaths(qmp);
      expect([...paths.keys()].sort()).toEqual(Object.keys(SECTION).sort());
      for (const [name, qomPath] of paths) {
        const f = ours.find((o) => o.section.endsWith(`/${SECTION[name]}`))!;
        const status = await qmp.hmp(`info virtio-status ${qomPath}`);
        const fields = hmpFields(status);
        const queues = child(f.node, 'queues')?.children ?? [];
        expect(Number(fields.get('num_vqs')), name).toBe(queues.length);
        expect(BigInt(fields.get('queue_sel')!), name).toBe(int(child(f.node, 'queue_sel')));
        expect(BigInt(fields.get('isr')!), name).toBe(int(child(f.node, 'isr')));
        expect(hmpNames(status, 'status').sort(), `${name} status`).toEqual(noteNames(child(f.node, 'status')).sort());
        const features = child(child(f.node, 'virtio/64bit_features'), 'guest_features') ?? child(f.node, 'guest_features_lo');
        expect(hmpNames(status, 'Guest features').sort(), `${name} guest features`).toEqual(noteNames(features).sort());
        for (const q of queues) {
          const qs = hmpFields(await qmp.hmp(`info virtio-queue-status ${qomPath} ${q.index}`));
          expect(BigInt(qs.get('num')!), `${name} queue ${q.index} num`).toBe(int(child(q, 'num')));
          expect(BigInt(qs.get('desc')!), `${name} queue ${q.index} desc`).toBe(int(child(q, 'desc')));
          expect(Number(qs.get('last_avail_idx')), `${name} queue ${q.index} last_avail_idx`).toBe(Number(int(child(q, 'last_avail_idx'))));
          const rings = /used_idx (\d+), avail idx (\d+), in use (\d+); avail flags (\d+), used flags (\d+); next element: head (\d+)(?:: (.*))? \(read from guest memory.*; rings: desc (0x[0-9a-f]+), avail (0x[0-9a-f]+), used (0x[0-9a-f]+)\)$/.exec(q.note ?? '');
          if (int(child(q, 'desc')) === 0n) {
            expect(q.note).toBe('not set up by the guest (no descriptor table)');
            continue;
          }
          expect(rings, `${name} queue ${q.index}: ${q.note}`).not.toBeNull();
          const [, used, avail, inUse, availFlags, usedFlags, head, descs, , availAt, usedAt] = rings!;
          expect([qs.get('used_idx'), qs.get('shadow_avail_idx'), qs.get('inuse')], `${name} queue ${q.index}`).toEqual([used, avail, inUse]);
          expect([BigInt(qs.get('avail')!), BigInt(qs.get('used')!)]).toEqual([BigInt(availAt), BigInt(usedAt)]);
          // The element QEMU would pop next, as `info virtio-queue-element` shows it.
          const element = await qmp.hmp(`info virtio-queue-element ${qomPath} ${q.index}`);
          const el = hmpFields(element);
          expect(el.get('index'), `${name} queue ${q.index}`).toBe(head);
          expect([...element.matchAll(/^\s+flags: (\d+)$/gm)].map((m) => m[1])).toEqual([availFlags, usedFlags]);
          expect([...element.matchAll(/^\s+idx:\s+(\d+)$/gm)].map((m) => m[1])).toEqual([avail, used]);
          expect(descriptorSet(element)).toEqual(descriptorSet(descs ?? ''));
          if (Number(used) > 0) drivenQueues++;
        }
      }
    } finally {
      await r.quit();
    }
    // The firmware drove at least virtio-net's two data queues (iPXE's DHCP).
    expect(drivenQueues).toBeGreaterThanOrEqual(2);
  }, 180_000);

  it('a decoded field is edited like any other, and QEMU shows the new value', async () => {
    const journal = path.join(tmp(), 'virtio-edit.json');
    const edited = path.join(tmp(), 'virtio-edited.mig');
    // virtio_save's common part (queue_sel) and a device's own part (the balloon's actual size, in 4 KiB pages).
    const e = await migwb('edit', image, '--journal', journal, '--set', 'virtio-net.virtio.queue_sel=2', '--set', 'virtio-balloon.virtio.device.actual=4096');
    expect(e.code, e.err).toBe(0);
    expect(e.out).toMatch(/virtio-net:0 virtio\.queue_sel \(uint16 at 0x[0-9a-f]+\): 0x[0-9a-f]{4} \(\d\) → 0x0002 \(2\)/);
    expect(e.out).toMatch(/virtio-balloon:0 virtio\.device\.actual \(uint32 at 0x[0-9a-f]+\): 0x00000000 \(0\) → 0x00001000 \(4096\)/);
    expect((await migwb('apply', image, journal, '-o', edited)).code).toBe(0);
    const r = await loadInQemu({ version: '7.2', image: edited, args: ARGS, files: [DISK] });
    expect(r.loaded, r.stderr.join('\n')).toBe(true);
    try {
      const qomPath = (await virtioPaths(r.qmp!)).get('virtio-net')!;
      expect(hmpFields(await r.qmp!.hmp(`info virtio-status ${qomPath}`)).get('queue_sel')).toBe('2');
      // info balloon: the guest's RAM less what the balloon holds (64 MiB - 4096 × 4 KiB).
      expect((await r.qmp!.hmp('info balloon')).trim()).toBe('balloon: actual=48');
    } finally {
      await r.quit();
    }
  }, 180_000);
});

/** The names a field's note lists (named bits), without the "bit N" ones QEMU does not name. */
function noteNames(n: FieldNode | undefined): string[] {
  const note = n?.note ?? '';
  return note === 'none' ? [] : note.split(', ').filter((x) => !x.startsWith('bit '));
}

/** "addr 0x… len N (flags)" entries as a sorted list of "addr len flags" (QEMU lists the chain backwards). */
function descriptorSet(text: string): string[] {
  return [...text.matchAll(/addr (0x[0-9a-f]+) len (\d+)(?: \(([\w, ]+)\))?/g)].map((m) => `${BigInt(m[1])} ${m[2]} ${(m[3] ?? '').split(', ').sort().join(',')}`).sort();
}
