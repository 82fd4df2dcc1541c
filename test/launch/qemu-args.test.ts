import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../electron/services/open-image';
import { deriveHardware } from '../../shared/launch/derive-hardware';
import { checkDomainXml, domainXml } from '../../shared/launch/libvirt-domain';
import { migwb } from '../helpers/cli';
import { corpusPath, qemuCorpusImages, readJson, sidecar } from '../helpers/corpus';
import { deviceArg, qemuArgsJson } from '../helpers/launch';

/**
 * What qemu-args derives from an image alone, checked against what the corpus records of
 * the command line that made it (NAME.meta.json) and libvirt's own XML. The real loads are
 * in qemu-launch.test.ts.
 */
const plan = qemuArgsJson;
const device = deviceArg;

describe('migwb qemu-args: the command line from the image alone', () => {
  it('e1000 guest: machine type, RAM, the NIC at its PCI address with the MAC of its EEPROM and its ROM size, an isolated stand-in network', async () => {
    const p = await plan(corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'));
    expect(p.binary).toBe('qemu-system-x86_64');
    expect(p.argv.slice(0, 2)).toEqual(['-machine', 'pc-i440fx-7.2']);
    expect(p.argv).toEqual(expect.arrayContaining(['-m', '32M', '-smp', '1', '-nodefaults']));
    // meta.json: -device e1000,mac=52:54:00:12:34:56 (slot 03.0, efi-e1000.rom 256 KiB).
    expect(device(p, 'e1000')).toBe('e1000,id=net0,bus=pci.0,addr=03.0,mac=52:54:00:12:34:56,romsize=262144,netdev=net0-backend');
    expect(device(p, 'VGA')).toContain('addr=02.0,vgamem_mb=16,romsize=65536');
    expect(p.placeholders.find((x) => x.device === 'net0')).toMatchObject({ kind: 'netdev', option: '-netdev', value: 'hubport,id=net0-backend,hubid=0' });
    expect(p.incoming_uri).toBe(`exec:cat ${corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig')}`);
    expect(p.argv.slice(-3)).toEqual(['-S', '-incoming', p.incoming_uri]);
    const mac = p.hardware.devices.find((d) => d.driver === 'e1000')!.properties.find((x) => x.name === 'mac')!;
    expect(mac.evidence).toMatchObject({ section: '0000:00:03.0/e1000', field: 'eeprom_data[0]' });
  });

  it('x-ignore-shared: the capability is set on the monitor before migrate_incoming (-incoming defer), which works in 7.2 and 10.0 alike', async () => {
    const p = await plan(corpusPath('qemu', 'x86_64-pc-ignore-shared-paused-16M.mig'));
    expect(p.deferred).toBe(true);
    expect(p.argv).toEqual(expect.arrayContaining(['-monitor', 'stdio', '-incoming', 'defer']));
    expect(p.monitor).toEqual(['migrate_set_capability x-ignore-shared on', `migrate_incoming ${p.incoming_uri}`]);
    expect(p.qmp[0]).toEqual({ execute: 'migrate-set-capabilities', arguments: { capabilities: [{ capability: 'x-ignore-shared', state: true }] } });
  });

  it('compress: COMPRESS_PAGE records need the compress capability', async () => {
    expect((await plan(corpusPath('qemu', 'x86_64-pc-compress-payload-paused-32M.mig'))).capabilities).toEqual(['compress']);
  });

  it('a machine type of 2.3 (no configuration, no footers, a vmdesc) is inferred and says so; a global vga.vram is the VGA\'s, not a memory backend', async () => {
    const p = await plan(corpusPath('qemu', 'x86_64-pc-i440fx-2.3-legacy-paused-16M.mig'));
    expect(p.machine_type).toBe('pc-i440fx-2.3');
    expect(p.hardware.machine.inferred).toMatch(/no configuration section and no section footers/);
    expect(p.argv).toEqual(expect.arrayContaining(['-m', '16M']));
    expect(p.argv.join(' ')).not.toContain('memory-backend');
  });

  it('two vCPUs from two cpu sections; q35 devices on pcie.0; a second ISA serial port', async () => {
    expect((await plan(corpusPath('qemu', 'x86_64-pc-smp2-running-32M.mig'))).argv).toEqual(expect.arrayContaining(['-smp', '2']));
    const q35 = await plan(corpusPath('qemu', 'x86_64-q35-serial-rtc-payload-paused-32M.mig'));
    expect(q35.argv[1]).toBe('pc-q35-7.2');
    expect(device(q35, 'VGA')).toContain('bus=pcie.0,addr=01.0');
    expect(q35.argv.filter((a) => a.startsWith('isa-serial,'))).toEqual(['isa-serial,id=serial0,index=0,chardev=serial0-host', 'isa-serial,id=serial1,index=1,chardev=serial1-host']);
  });

  it('virtio-mem (QEMU 10.0): its memory backend from the RAM block list, address and block size from the early-setup section, maxmem for the device memory', async () => {
    const p = await plan(corpusPath('qemu10', 'x86_64-pc-virtio-mem-early-setup-payload-paused-16M.mig'));
    expect(p.argv).toEqual(expect.arrayContaining(['-m', 'size=16M,maxmem=80M', '-object', 'memory-backend-ram,id=vmem0,size=67108864']));
    expect(device(p, 'virtio-mem-pci')).toBe('virtio-mem-pci,id=vmem0,bus=pci.0,addr=03.0,memdev=vmem0,memaddr=0x100000000,block-size=2097152,requested-size=0');
    // Compat properties only where the target QEMU has them: 10.0 does (x-early-migration since 8.0, vectors of virtio-mem-pci since 10.0).
    const ten = await plan('--to', 'qemu-10.0', corpusPath('qemu10', 'x86_64-pc-virtio-mem-early-setup-payload-paused-16M.mig'));
    expect(device(ten, 'virtio-mem-pci')).toBe('virtio-mem-pci,id=vmem0,bus=pci.0,addr=03.0,vectors=2,x-early-migration=on,memdev=vmem0,memaddr=0x100000000,block-size=2097152,requested-size=0');
  });

  it('ARM and RISC-V: the emulator of the target, the Cortex-A15 from the MIDR in the cpreg list, the GIC version from its section', async () => {
    const arm = await plan(corpusPath('qemu', 'armv7-virt-cortex-a15-payload-paused-32M.mig'));
    expect(arm.binary).toBe('qemu-system-arm');
    expect(arm.argv.slice(0, 4)).toEqual(['-machine', 'virt-7.2,gic-version=2', '-cpu', 'cortex-a15']);
    const riscv = await plan(corpusPath('qemu', 'riscv64-virt-payload-paused-32M.mig'));
    expect(riscv.binary).toBe('qemu-system-riscv64');
    expect(riscv.argv.slice(0, 2)).toEqual(['-machine', 'virt']);
  });

  it('a libvirt save: the stream is read past the header (and through gzip), QXL sizes from the RAM blocks and the QXLRom, ACPI off, the virtio-serial port the stream lists', async () => {
    const raw = await plan(corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav'));
    expect(raw.incoming_uri).toBe(`exec:tail -c +67323 ${corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav')}`);
    expect(raw.argv[1]).toBe('pc-i440fx-7.2,acpi=off');
    // define.xml: <model type='qxl' ram='16384' vram='8192' vgamem='8192'/> (KiB).
    expect(device(raw, 'qxl-vga')).toBe('qxl-vga,id=video0,bus=pci.0,addr=02.0,ram_size=16777216,vram_size=8388608,vgamem_mb=8,romsize=65536');
    expect(device(raw, 'virtserialport')).toBe('virtserialport,id=channel0,bus=vserial0.0,nr=1,chardev=channel0-host');
    const gzip = await plan(corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav'));
    expect(gzip.incoming_uri).toBe(`exec:tail -c +66731 ${corpusPath('libvirt', 'wb-tiny-i440fx-gzip-paused.sav')} | gzip -dc`);
  });

  it('a qcow2 snapshot: QEMU reads the vmstate through "migwb stream", which writes exactly the stream QEMU saved', async () => {
    const qcow2 = corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.qcow2');
    const p = await plan(qcow2);
    expect(p.incoming_uri).toMatch(/^exec:.*bin\/migwb\.js stream --snapshot 1 .*x86_64-pc-qcow2-savevm-snap1-32M\.qcow2$/);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-stream-')), 'vmstate.mig');
    expect((await migwb('stream', qcow2, '-o', out)).code).toBe(0);
    expect(fs.readFileSync(out).equals(fs.readFileSync(corpusPath('qemu', 'x86_64-pc-qcow2-savevm-snap1-32M.vmstate.mig')))).toBe(true);
  });

  it('mapped-ram: QEMU reads the file itself (file:), with the capability the configuration section lists', async () => {
    const image = corpusPath('qemu10', 'x86_64-pc-mapped-ram-payload-paused-4M.mig');
    const p = await plan(image);
    expect(p.incoming_uri).toBe(`file:${image}`);
    expect(p.capabilities).toEqual(['mapped-ram']);
  });

  it('without a vmdesc the section names still rebuild the VM', async () => {
    const p = await plan(corpusPath('qemu', 'x86_64-pc-suppress-vmdesc-paused-16M.mig'));
    expect(device(p, 'VGA')).toContain('addr=02.0');
    expect(p.findings.filter((f) => f.level === 'error')).toEqual([]);
  });

  it('every corpus stream gets a command line, and no finding says a section is unaccounted for', async () => {
    for (const image of qemuCorpusImages()) {
      const p = await plan(image);
      expect(p.findings.filter((f) => f.level === 'error'), image).toEqual([]);
    }
  });

  it('a section no rule knows is named with the error QEMU will give; the command line is still printed', async () => {
    const bytes = fs.readFileSync(corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'));
    const e1000 = readJson(sidecar(corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'), 'sections')).elements.find((e) => e.idstr === '0000:00:03.0/e1000')!;
    // "e1000" → "e9000" in the section header (same length, so the stream still parses).
    const at = bytes.indexOf(Buffer.from('0000:00:03.0/e1000'), e1000.offset);
    bytes[at + 14] = '9'.charCodeAt(0);
    const damaged = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-unknown-')), 'unknown-device.mig');
    fs.writeFileSync(damaged, bytes);
    const r = await migwb('qemu-args', damaged);
    expect(r.code).toBe(0);
    expect(r.out).toContain("error: 0000:00:03.0/e9000: no rule knows which device saves section 0000:00:03.0/e9000; QEMU will reject the stream (\"Unknown savevm section or instance '0000:00:03.0/e9000' 0\")");
  });

  it('an image that is not a QEMU stream, or of a machine no rule describes, is a one-line error (exit 2)', async () => {
    const xen = await migwb('qemu-args', corpusPath('xen', 'hvm-v3.libxl'));
    expect(xen.code).toBe(2);
    expect(xen.err.trim().split('\n')).toHaveLength(1);
    const none = await migwb('qemu-args', '--to', 'qemu-9.9', corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'));
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/no qemu-system-x86_64 of QEMU 9\.9 was found/);
    const bad = await migwb('qemu-args', '--to', 'seven', corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'));
    expect(bad.err).toMatch(/--to "seven" is not a QEMU version: write it as qemu-7.2 or qemu-10.0/);
  });

  it('prints the command for a shell, the stand-ins to replace and the notes', async () => {
    const r = await migwb('qemu-args', corpusPath('qemu', 'x86_64-pc-virtio-blk-payload-paused-32M.mig'));
    expect(r.out).toMatch(/^# .*: pc-i440fx-7\.2, x86_64, 1 vCPU, 32 MiB RAM, 4 devices\nqemu-system-x86_64 \\\n {2}-machine pc-i440fx-7\.2 \\\n/);
    expect(r.out).toContain('-blockdev driver=null-co,node-name=disk0-backend,size=1073741824,read-zeroes=on');
    expect(r.out).toContain('for disk0: the disk image of 0000:00:03.0/virtio-blk (its size is not in the stream)');
  });
});

describe('migwb qemu-args --libvirt', () => {
  const validator = spawnSync('virt-xml-validate', ['--help'], { encoding: 'utf8' }).error === undefined;

  it("a libvirt save: its own domain XML, checked against the stream (machine, memory, vCPUs, ACPI, every PCI slot, the QXL sizes)", async () => {
    const image = corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav');
    const r = await migwb('qemu-args', '--libvirt', image);
    expect(r.code).toBe(0);
    const img = openImage(image);
    const layer = img.layers[0];
    img.close();
    expect(layer.kind === 'libvirt-save' && r.out.trimEnd()).toBe(layer.kind === 'libvirt-save' && layer.xml!.text.trimEnd());
    expect(r.out).toContain('<name>wb-tiny-qxl</name>');
    expect(r.err).toBe('migwb: the embedded domain XML checked against the stream: 9 facts agree, 0 disagree\n');
    const json = JSON.parse((await migwb('qemu-args', '--libvirt', '--json', image)).out);
    expect(json).toMatchObject({ source: 'embedded', check: { agree: 9, findings: [] } });
  });

  it('an XML that does not match the stream is called out fact by fact', () => {
    const img = openImage(corpusPath('libvirt', 'wb-tiny-qxl-spice-raw.sav'));
    try {
      const hw = deriveHardware(img.source, img.model);
      const layer = img.layers[0];
      if (layer.kind !== 'libvirt-save' || !layer.xml) throw new Error('no XML');
      const xml = layer.xml.text.replace("<vcpu placement='static'>1</vcpu>", "<vcpu placement='static'>2</vcpu>").replace("vgamem='8192'", "vgamem='16384'").replace("slot='0x03'", "slot='0x05'");
      const check = checkDomainXml(xml, hw);
      expect(check.findings.map((f) => f.message)).toEqual([
        'vCPUs: the domain XML says 2, the stream says 1',
        'the stream has virtio-serial-pci at slot 03.0, which the domain XML does not list',
        'QXL vgamem at slot 02.0: the domain XML says 16384, the stream says 8192',
        "the domain XML puts a <controller> at slot 05.0, which has no section in the stream",
      ]);
    } finally {
      img.close();
    }
  });

  it.skipIf(!validator)('a domain XML rebuilt from any corpus stream is valid by libvirt\'s own schema (virt-xml-validate)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migwb-domain-'));
    for (const image of qemuCorpusImages()) {
      const r = await migwb('qemu-args', '--libvirt', image);
      expect(r.code, image).toBe(0);
      const file = path.join(dir, `${path.basename(image)}.xml`);
      fs.writeFileSync(file, r.out);
      const v = spawnSync('virt-xml-validate', [file, 'domain'], { encoding: 'utf8' });
      expect(v.status, `${image}: ${v.stderr}`).toBe(0);
    }
  });

  it('the rebuilt XML names the devices with their PCI addresses and marks the stand-ins', () => {
    const img = openImage(corpusPath('qemu', 'x86_64-pc-e1000-payload-paused-32M.mig'));
    try {
      const xml = domainXml(deriveHardware(img.source, img.model), { name: 'e1000-guest' });
      expect(xml).toContain("<type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>");
      expect(xml).toContain("<mac address='52:54:00:12:34:56'/>");
      expect(xml).toContain("<address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>");
      expect(xml).toContain('<!-- migwb stand-in: the network 0000:00:03.0/e1000 was connected to');
    } finally {
      img.close();
    }
  });
});
