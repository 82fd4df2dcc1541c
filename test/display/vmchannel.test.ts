import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../../electron/services/open-image';
import { buildBootDisk, haveAssembler, removeGuestFolder, tempDir } from '../helpers/boot-program';
import { spiceChannelsOfImage } from '../../electron/display/spice-channels-service';
import { migwb } from '../helpers/cli';
import { corpusPath } from '../helpers/corpus';
import { haveQemu, loadInQemu, QEMU, startGuest } from '../helpers/qemu';
import { saveGuest, waitStep } from '../helpers/screens';
import { VMCHANNEL_GUEST, VMCHANNEL_PROGRAM } from './vmchannel-guest';

/**
 * The SPICE vmchannels of a saved VM: a virtio-serial controller with the ports a SPICE
 * guest has (the agent com.redhat.spice.0 on a spicevmc chardev, webdav on a spiceport
 * chardev), one more port on a socket chardev whose host end the test connects, and
 * usbredir (a usb-redir device on a spicevmc chardev, which is USB, not virtio-serial).
 * QEMU 7.2 has SPICE; the 10.0 build's SPICE support is not needed here.
 */
const MACHINE = [
  '-M', 'pc', '-m', '32M', '-serial', 'null', '-drive', 'file=vs.img,format=raw,if=ide',
  '-spice', 'unix=on,addr=spice.sock,disable-ticketing=on',
  '-device', 'virtio-serial-pci,id=vser,addr=03.0',
  '-chardev', 'spicevmc,id=vdagent,name=vdagent', '-device', 'virtserialport,chardev=vdagent,name=com.redhat.spice.0,nr=1',
  '-chardev', 'spiceport,id=webdav,name=org.spice-space.webdav.0', '-device', 'virtserialport,chardev=webdav,name=org.spice-space.webdav.0,nr=2',
  '-chardev', 'socket,id=chan3,path=chan3.sock,server=on,wait=off', '-device', 'virtserialport,chardev=chan3,name=org.example.channel,nr=3',
  '-device', 'qemu-xhci', '-chardev', 'spicevmc,id=usbredir,name=usbredir', '-device', 'usb-redir,chardev=usbredir',
];
const LOADER = [...MACHINE, '-display', 'none', '-nic', 'none'];

describe.skipIf(!haveQemu('7.2') || !haveAssembler())('SPICE vmchannels (virtio-serial ports) in QEMU 7.2 (skipped without QEMU 7.2 or binutils)', () => {
  let dir: string;
  let disk: string;
  let image: string;

  beforeAll(async () => {
    dir = tempDir('migwb-vmchannel-');
    disk = buildBootDisk(dir, 'vs', VMCHANNEL_PROGRAM);
    image = path.join(dir, 'vmchannel.mig');
    // Paused until the host end of port 3 is connected: connecting later would make QEMU flush the data the guest queued there.
    const guest = await startGuest({ binary: QEMU['7.2'], args: MACHINE, files: [disk] });
    const host = net.connect(path.join(guest.dir, 'chan3.sock'));
    try {
      await new Promise<void>((resolve, reject) => host.once('connect', resolve).once('error', reject));
      await guest.qmp.execute('cont');
      await waitStep(guest.qmp, 0, 120_000);
      await saveGuest(guest.qmp, image);
    } finally {
      host.destroy();
      await guest.quit();
    }
  }, 300_000);

  afterAll(() => removeGuestFolder(dir));

  const VSER = '/machine/peripheral/vser/virtio-backend';
  const channelsOf = (file: string) => {
    const img = openImage(file);
    try {
      return spiceChannelsOfImage(img);
    } finally {
      img.close();
    }
  };

  it('the ports, whether each was open and the data queued in them, decoded from the image', () => {
    const { controllers, usbRedirs } = channelsOf(image);
    expect(controllers).toHaveLength(1);
    const ports = controllers[0].ports;
    expect(ports.map((p) => [p.id, p.guestConnected, p.hostConnected])).toEqual([
      [1, true, true], // spicevmc vdagent: QEMU keeps its host end open
      [2, false, false], // spiceport webdav: no client, not opened by the guest
      [3, true, true], // socket: the test was connected, the guest opened it
    ]);
    const text = (p: (typeof ports)[number]) => p.toHost.buffers.map((b) => Buffer.from(b.data ?? []).toString('latin1'));
    expect(text(ports[0])).toEqual([VMCHANNEL_GUEST.pending[1]]);
    expect(text(ports[2])).toEqual([VMCHANNEL_GUEST.pending[3]]);
    expect(ports[1].toHost.pending).toBe(0);
    expect(ports[0].toGuest.buffers.map((b) => [b.length, b.writable])).toEqual(Array(VMCHANNEL_GUEST.rxBuffers.count).fill([VMCHANNEL_GUEST.rxBuffers.length, true]));
    // No port names in a QEMU stream: the command line has them.
    expect(ports.every((p) => p.name === undefined)).toBe(true);
    expect(usbRedirs).toEqual([expect.objectContaining({ section: '0000:00:04.0/1/usb-redir', parserBytes: 0, endpoints: [] })]);
  });

  it("QEMU's view of the loaded VM agrees: its virtqueue state and elements, and each port's chardev opened by the guest side", async () => {
    const ports = channelsOf(image).controllers[0].ports;
    const load = await loadInQemu({ version: '7.2', image, args: LOADER, files: [disk] });
    expect(load.loaded, load.stderr.join('\n')).toBe(true);
    try {
      const qmp = load.qmp!;
      for (const p of ports) {
        for (const q of [p.toHost, p.toGuest]) {
          const status = await qmp.execute<{ 'last-avail-idx': number; 'shadow-avail-idx': number }>('x-query-virtio-queue-status', { path: VSER, queue: q.queue });
          expect((status['shadow-avail-idx'] - status['last-avail-idx']) & 0xffff, `port ${p.id} queue ${q.queue}`).toBe(q.pending);
          for (const b of q.buffers) {
            const element = await qmp.execute<{ descs: { addr: number; len: number; flags: string[] }[] }>('x-query-virtio-queue-element', { path: VSER, queue: q.queue, index: b.index });
            expect(element.descs.map((d) => [d.addr, d.len, d.flags.includes('write')])).toEqual([[b.gpa, b.length, b.writable]]);
          }
        }
      }
      // After the load, QEMU reopens the chardev of every port the guest had open (virtio_serial_post_load).
      await qmp.execute('cont');
      const chardevOf: Record<number, string> = { 1: 'vdagent', 2: 'webdav', 3: 'chan3' };
      const deadline = Date.now() + 10_000;
      let open: Record<string, boolean> = {};
      do {
        const list = await qmp.execute<{ label: string; 'frontend-open': boolean }[]>('query-chardev');
        open = Object.fromEntries(list.map((c) => [c.label, c['frontend-open']]));
        if (ports.every((p) => open[chardevOf[p.id]] === p.guestConnected)) break;
        await new Promise((r) => setTimeout(r, 100));
      } while (Date.now() < deadline);
      expect(ports.map((p) => [p.id, open[chardevOf[p.id]]])).toEqual(ports.map((p) => [p.id, p.guestConnected]));
    } finally {
      await load.quit();
    }
  }, 180_000);

  it('migwb dump --section virtio-console --decoded prints the ports and their queued data, in text and JSON', async () => {
    const text = await migwb('dump', '--section', 'virtio-console', '--decoded', image);
    expect(text.code, text.err).toBe(0);
    expect(text.out.match(/port 3 {2}\(open at both ends\)/g)).toHaveLength(1);
    expect(text.out).toContain(JSON.stringify(VMCHANNEL_GUEST.pending[3]));
    const json = await migwb('dump', '--section', 'usb-redir', '--decoded', '--json', image);
    expect(JSON.parse(json.out).sections[0].title).toMatch(/usbredir/);
  });
});

describe('the libvirt SPICE+QXL corpus save: its vmchannel port named from the domain XML', () => {
  it('port 1 is the SPICE agent, com.redhat.spice.0 on a spicevmc chardev', () => {
    const img = openImage(corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav'));
    try {
      const { controllers } = spiceChannelsOfImage(img);
      expect(controllers).toHaveLength(1);
      const agent = controllers[0].ports.find((p) => p.id === 1)!;
      expect(agent).toMatchObject({ name: 'com.redhat.spice.0', hostEnd: 'spicevmc', role: expect.stringMatching(/SPICE agent/) });
      // SeaBIOS has no virtio-serial driver: the guest never opened the port.
      expect(agent.guestConnected).toBe(false);
    } finally {
      img.close();
    }
  });
});
