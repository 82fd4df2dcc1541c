import { describe, expect, it } from 'vitest';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import { describeMappedRegions, guestAddressesOf, machineFamily, machineLayout, resolveGuestAddress, type MachineLayout } from '../../shared/memory/layout';

/**
 * Machine layouts from the rules alone (test/memory/qemu-memory.test.ts checks them against
 * QEMU's own memory map): RAM splits, the legacy BIOS area under the PAM registers, and device
 * RAM behind the PCI BARs a guest programmed.
 */
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function blocksModel(machineType: string | undefined, blocks: [string, number][], idstrs: string[] = []): QemuStreamModel {
  return { machineType, ramBlocks: blocks.map(([id, usedLength]) => ({ id, usedLength, recordOffset: 0 })), elements: idstrs.map((idstr) => ({ type: 'FULL', idstr })) } as unknown as QemuStreamModel;
}

const regionsOf = (layout: MachineLayout) => layout.regions.map((r) => [r.blockId, r.gpa, r.size, r.blockOffset, r.readOnly]);

describe('machine layouts for large guests (QEMU pc_piix.c / pc_q35.c rules)', () => {
  const model = (machineType: string, ram: number): QemuStreamModel =>
    ({ machineType, ramBlocks: [{ id: 'pc.ram', usedLength: ram, recordOffset: 0 }, { id: 'pc.bios', usedLength: 256 << 10, recordOffset: 0 }], elements: [] }) as unknown as QemuStreamModel;
  const GiB = 1024 ** 3;
  const split = (machineType: string, ram: number, max?: number) => {
    const layout = machineLayout(model(machineType, ram), { maxRamBelow4g: max })!;
    const ramRegions = layout.regions.filter((r) => r.blockId === 'pc.ram');
    const high = ramRegions.find((r) => r.gpa === 4 * GiB);
    const lowEnd = Math.max(...ramRegions.filter((r) => r.gpa < 4 * GiB).map((r) => r.gpa + r.size));
    return [lowEnd / GiB, (high?.size ?? 0) / GiB];
  };
  it('pc: 3 GiB below 4 GiB once RAM does not fit under 3.5 GiB; pc-i440fx-1.7 keeps 3.5 GiB; max-ram-below-4g', () => {
    expect(split('pc-i440fx-7.2', 2 * GiB)).toEqual([2, 0]);
    expect(split('pc-i440fx-7.2', 3.5 * GiB)).toEqual([3, 0.5]);
    expect(split('pc-i440fx-7.2', 4 * GiB)).toEqual([3, 1]);
    expect(split('pc-i440fx-1.7', 4 * GiB)).toEqual([3.5, 0.5]);
    expect(split('pc-i440fx-7.2', 4 * GiB, 2 * GiB)).toEqual([2, 2]);
  });
  it('q35: 2 GiB below 4 GiB from 2.75 GiB of RAM on, else up to 2.75 GiB', () => {
    expect(split('pc-q35-7.2', 2.5 * GiB)).toEqual([2.5, 0]);
    expect(split('pc-q35-7.2', 2.75 * GiB)).toEqual([2, 0.75]);
    expect(split('pc-q35-7.2', 8 * GiB)).toEqual([2, 6]);
  });
  it('arm virt, riscv virt and s390x place RAM at 1 GiB, 2 GiB and 0', () => {
    const blocks = (...ids: [string, number][]) => ({ machineType: 'virt-7.2', ramBlocks: ids.map(([id, usedLength]) => ({ id, usedLength, recordOffset: 0 })), elements: [] }) as unknown as QemuStreamModel;
    const arm = machineLayout(blocks(['virt.flash0', 64 << 20], ['virt.flash1', 64 << 20], ['mach-virt.ram', GiB]))!;
    expect(arm.regions.map((r) => [r.blockId, r.gpa])).toEqual([['virt.flash0', 0], ['virt.flash1', 64 << 20], ['mach-virt.ram', GiB]]);
    const riscv = machineLayout(blocks(['riscv_virt_board.ram', GiB], ['riscv_virt_board.mrom', 0xf000]))!;
    expect(riscv.regions.map((r) => [r.blockId, r.gpa])).toEqual([['riscv_virt_board.mrom', 0x1000], ['riscv_virt_board.ram', 2 * GiB]]);
    const s390 = machineLayout({ ...blocks(['s390.ram', 2 * GiB]), machineType: 's390-ccw-virtio-7.2' } as QemuStreamModel)!;
    expect(s390.regions.map((r) => [r.blockId, r.gpa, r.size])).toEqual([['s390.ram', 0, 2 * GiB]]);
    expect(machineLayout({ ...blocks(['weird.ram', GiB]), machineType: 'mystery-1.0' } as QemuStreamModel)).toBeUndefined();
  });

  it('resolveGuestAddress and guestAddressesOf are inverse, aliases included', () => {
    const layout = machineLayout(model('pc-i440fx-7.2', 4 * GiB))!;
    expect(resolveGuestAddress(layout, 4 * GiB + 5)).toMatchObject({ offset: 3 * GiB + 5 });
    expect(resolveGuestAddress(layout, 0xa0000)).toBeUndefined();
    const bios = layout.regions.find((r) => r.blockId === 'pc.bios')!.block;
    expect(guestAddressesOf(layout, bios, 0x3fff0)).toEqual([0xffff0, 0xfffffff0]);
  });
});

/** A PCI config space with the command register and BARs given (little-endian, as in the stream). */
function pciConfig(command: number, bars: Record<number, number>, rom = 0): Uint8Array {
  const config = new Uint8Array(256);
  const view = new DataView(config.buffer);
  view.setUint16(0x04, command, true);
  for (const [bar, value] of Object.entries(bars)) view.setUint32(0x10 + 4 * Number(bar), value >>> 0, true);
  view.setUint32(0x30, rom >>> 0, true);
  return config;
}

describe('device RAM behind the PCI BARs a guest programmed', () => {
  const QXL = '0000:00:01.0';
  const qxlGuest = (vram: number) =>
    blocksModel('pc-q35-7.2', [
      ['pc.ram', 64 * MiB],
      ['pc.bios', 256 * 1024],
      [`${QXL}/vga.vram`, 64 * MiB],
      [`${QXL}/qxl.vram`, vram],
      [`${QXL}/qxl.vrom`, 8192],
      [`${QXL}/qxl.rom`, 64 * 1024],
    ]);
  const pciPart = (layout: MachineLayout) => regionsOf(layout).filter(([, gpa]) => (gpa as number) >= 0xe0000000);
  // The BARs SeaBIOS programmed for -device qxl-vga,vram64_size_mb=1024 (test/memory/qemu-memory.test.ts makes that guest).
  const QXL_BARS = { 0: 0xf4000000, 1: 0xf8000000, 2: 0xfc010000, 3: 0xc041, 4: 0x0000000c, 5: 0x1 };

  it('QXL with a 64-bit BAR4 above 4 GiB: all of qxl.vram there, its first 64 MiB (vram_size) at BAR1', () => {
    const layout = machineLayout(qxlGuest(GiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, QXL_BARS)]]) })!;
    expect(pciPart(layout)).toEqual([
      [`${QXL}/vga.vram`, 0xf4000000, 64 * MiB, 0, false],
      [`${QXL}/qxl.vram`, 0xf8000000, 64 * MiB, 0, false],
      [`${QXL}/qxl.vrom`, 0xfc010000, 8192, 0, false],
      ['pc.bios', 0xfffc0000, 256 * 1024, 0, true],
      [`${QXL}/qxl.vram`, 4 * GiB, GiB, 0, false],
    ]);
    expect(layout.regions.find((r) => r.gpa === 4 * GiB)!.why).toBe(`PCI BAR4 (64-bit) of ${QXL}`);
    expect(resolveGuestAddress(layout, 4 * GiB + 0x1234)).toMatchObject({ offset: 0x1234 });
    // The same surface byte is seen at both BARs while it lies in the first 64 MiB.
    const vram = layout.regions.find((r) => r.gpa === 4 * GiB)!.block;
    expect(guestAddressesOf(layout, vram, 0x10)).toEqual([0xf8000010, 4 * GiB + 0x10]);
    expect(guestAddressesOf(layout, vram, 64 * MiB)).toEqual([4 * GiB + 64 * MiB]);
    // A vram_size other than QEMU's default is given as an option (the stream does not record it).
    const wider = machineLayout(qxlGuest(GiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, QXL_BARS)]]), qxlVram32Size: 32 * MiB })!;
    expect(pciPart(wider)[1]).toEqual([`${QXL}/qxl.vram`, 0xf8000000, 32 * MiB, 0, false]);
  });

  it('a 64-bit BAR programmed below 4 GiB, and one the firmware left at 0', () => {
    const below = machineLayout(qxlGuest(128 * MiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, { ...QXL_BARS, 4: 0xe800000c, 5: 0 })]]) })!;
    expect(pciPart(below).filter(([id]) => id === `${QXL}/qxl.vram`)).toEqual([
      [`${QXL}/qxl.vram`, 0xe8000000, 128 * MiB, 0, false],
      [`${QXL}/qxl.vram`, 0xf8000000, 64 * MiB, 0, false],
    ]);
    // BAR4 exists (64-bit type bits) but has no address yet: only BAR1's part is visible.
    const unplaced = machineLayout(qxlGuest(GiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, { ...QXL_BARS, 4: 0x0000000c, 5: 0 })]]) })!;
    expect(pciPart(unplaced).filter(([id]) => id === `${QXL}/qxl.vram`)).toEqual([[`${QXL}/qxl.vram`, 0xf8000000, 64 * MiB, 0, false]]);
  });

  it('QXL without BAR4 (vram64 no larger than vram32): BAR1 shows all of qxl.vram, whatever its size', () => {
    const layout = machineLayout(qxlGuest(128 * MiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, { ...QXL_BARS, 1: 0xe8000000, 4: 0, 5: 0 })]]) })!;
    expect(pciPart(layout).filter(([id]) => id === `${QXL}/qxl.vram`)).toEqual([[`${QXL}/qxl.vram`, 0xe8000000, 128 * MiB, 0, false]]);
    expect(layout.regions.find((r) => r.gpa === 0xe8000000)!.why).toBe(`PCI BAR1 of ${QXL}`);
  });

  it("only the device's own blocks, and only those it maps: another device's RAM and unknown blocks stay unmapped", () => {
    const model = blocksModel('pc-q35-7.2', [
      ['pc.ram', 64 * MiB],
      [`${QXL}/vga.vram`, 16 * MiB],
      [`${QXL}/extra.ram`, MiB],
      ['0000:00:02.0/vga.vram', 16 * MiB],
    ]);
    const layout = machineLayout(model, { pciConfig: new Map([[QXL, pciConfig(0x0002, { 0: 0xfd000000 }, 0xfe000001)]]) })!;
    expect(regionsOf(layout).filter(([id]) => id !== 'pc.ram')).toEqual([[`${QXL}/vga.vram`, 0xfd000000, 16 * MiB, 0, false]]);
    expect(layout.unmapped.map((u) => [u.blockId, u.reason])).toEqual([
      [`${QXL}/extra.ram`, 'not mapped in guest-physical space in this state (unprogrammed PCI BAR, or a block QEMU does not map)'],
      ['0000:00:02.0/vga.vram', 'not mapped in guest-physical space in this state (unprogrammed PCI BAR, or a block QEMU does not map)'],
    ]);
  });

  it('nothing is mapped while memory decoding is off, and an I/O BAR is never memory', () => {
    const off = machineLayout(qxlGuest(GiB), { pciConfig: new Map([[QXL, pciConfig(0x0005, QXL_BARS)]]) })!;
    expect(pciPart(off)).toEqual([['pc.bios', 0xfffc0000, 256 * 1024, 0, true]]);
    expect(off.unmapped.map((u) => u.blockId)).toEqual([`${QXL}/vga.vram`, `${QXL}/qxl.vram`, `${QXL}/qxl.vrom`, `${QXL}/qxl.rom`]);
    const io = machineLayout(qxlGuest(GiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, { ...QXL_BARS, 0: 0xc001 })]]) })!;
    expect(regionsOf(io).map(([id]) => id)).not.toContain(`${QXL}/vga.vram`);
    // A config space too short to hold the BARs is not read.
    const short = machineLayout(qxlGuest(GiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, QXL_BARS).subarray(0, 0x30)]]) })!;
    expect(pciPart(short)).toEqual([['pc.bios', 0xfffc0000, 256 * 1024, 0, true]]);
  });

  it('an option ROM at the expansion ROM BAR when enabled, read-only', () => {
    const config = (rom: number) => new Map([[QXL, pciConfig(0x0007, QXL_BARS, rom)]]);
    const enabled = machineLayout(qxlGuest(GiB), { pciConfig: config(0xfc000001) })!;
    expect(regionsOf(enabled)).toContainEqual([`${QXL}/qxl.rom`, 0xfc000000, 64 * 1024, 0, true]);
    expect(enabled.regions.find((r) => r.gpa === 0xfc000000)!.why).toBe(`expansion ROM BAR of ${QXL}`);
    expect(regionsOf(machineLayout(qxlGuest(GiB), { pciConfig: config(0xfc000000) })!).map(([id]) => id)).not.toContain(`${QXL}/qxl.rom`);
    expect(regionsOf(machineLayout(qxlGuest(GiB), { pciConfig: config(0x00000001) })!).map(([id]) => id)).not.toContain(`${QXL}/qxl.rom`);
  });
});

describe('the legacy BIOS area 0xc0000-0xfffff under the PAM registers (hw/pci-host/pam.c)', () => {
  const HOST = '0000:00:00.0';
  const x86 = (machineType: string) =>
    blocksModel(machineType, [
      ['pc.ram', 32 * MiB],
      ['pc.bios', 256 * 1024],
      ['pc.rom', 128 * 1024],
      ['/rom@etc/acpi/tables', 128 * 1024],
    ]);
  /** A host bridge config space with PAM0..PAM6 at `base`. */
  const host = (base: number, pam: number[]) => {
    const config = new Uint8Array(256);
    config.set(pam, base);
    return new Map([[HOST, config]]);
  };

  it('never booted (PAM all 0): pc.rom at 0xc0000 and the last 128 KiB of pc.bios at 0xe0000, read-only', () => {
    const layout = machineLayout(x86('pc-i440fx-7.2'), { pciConfig: host(0x59, [0, 0, 0, 0, 0, 0, 0]) })!;
    expect(layout.regions.map((r) => [r.blockId, r.gpa, r.size, r.blockOffset, r.readOnly, r.why])).toEqual([
      ['pc.ram', 0, 0xa0000, 0, false, 'RAM below the legacy VGA window'],
      ['pc.rom', 0xc0000, 0x20000, 0, true, 'pc.rom: option ROM area at 0xc0000'],
      ['pc.bios', 0xe0000, 0x20000, 0x20000, true, 'isa-bios: the last 128 KiB of pc.bios below 1 MiB'],
      ['pc.ram', 0x100000, 32 * MiB - 0x100000, 0x100000, false, 'RAM from 1 MiB to the PCI hole'],
      ['pc.bios', 0xfffc0000, 0x40000, 0, true, 'BIOS ROM just below 4 GiB'],
    ]);
    expect(layout.unmapped.map((u) => [u.blockId, u.reason])).toEqual([['/rom@etc/acpi/tables', 'fw_cfg blob, read by the firmware through fw_cfg, never mapped']]);
    // The same with no host bridge state at all.
    expect(regionsOf(machineLayout(x86('pc-i440fx-7.2'))!)).toEqual(regionsOf(layout));
  });

  it('as SeaBIOS leaves a q35 guest (PAM 10 11 11 11 11 11 33, x86_64-q35-minimal-running-32M): RAM shadows the ROMs, read-only but 0xe8000-0xeffff', () => {
    // These are QEMU's own regions for that image (test/memory/qemu-memory.test.ts compares them with info mtree -f).
    const layout = machineLayout(x86('pc-q35-7.2'), { pciConfig: host(0x90, [0x10, 0x11, 0x11, 0x11, 0x11, 0x11, 0x33]) })!;
    expect(layout.regions.filter((r) => r.gpa < 0x100000).map((r) => [r.blockId, r.gpa, r.size, r.blockOffset, r.readOnly, r.why])).toEqual([
      ['pc.ram', 0, 0xa0000, 0, false, 'RAM below the legacy VGA window'],
      ['pc.ram', 0xc0000, 0x28000, 0xc0000, true, 'PAM read-only: RAM shadows the ROM'],
      ['pc.ram', 0xe8000, 0x8000, 0xe8000, false, 'PAM read-write: RAM shadows the ROM'],
      ['pc.ram', 0xf0000, 0x10000, 0xf0000, true, 'PAM read-only: RAM shadows the ROM'],
    ]);
  });

  it('each PAM nibble decides one segment: 12 of 16 KiB from 0xc0000 (PAM1-6, low nibble first), 64 KiB at 0xf0000 (PAM0 high nibble)', () => {
    for (let segment = 0; segment < 13; segment++) {
      const pam = [0, 0, 0, 0, 0, 0, 0];
      // Read-only RAM in exactly one segment; the rest shows the ROMs.
      if (segment === 12) pam[0] = 0x10;
      else pam[1 + (segment >> 1)] = segment & 1 ? 0x10 : 0x01;
      const layout = machineLayout(x86('pc-i440fx-7.2'), { pciConfig: host(0x59, pam) })!;
      const shadow = layout.regions.filter((r) => r.blockId === 'pc.ram' && r.readOnly);
      const start = segment === 12 ? 0xf0000 : 0xc0000 + segment * 0x4000;
      expect(shadow.map((r) => [r.gpa, r.size, r.blockOffset]), `segment ${segment}`).toEqual([[start, segment === 12 ? 0x10000 : 0x4000, start]]);
      // What the segment no longer shows: pc.rom below 0xe0000, the isa-bios alias above.
      const romOrBios = layout.regions.filter((r) => r.gpa >= 0xc0000 && r.gpa < 0x100000 && r.blockId !== 'pc.ram');
      expect(romOrBios.reduce((n, r) => n + r.size, 0)).toBe(0x40000 - (segment === 12 ? 0x10000 : 0x4000));
    }
  });

  it('PAM read-write everywhere: one stretch of writable RAM from 0xc0000 up, joined with the RAM above 1 MiB', () => {
    const layout = machineLayout(x86('pc-i440fx-7.2'), { pciConfig: host(0x59, [0x30, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33]) })!;
    expect(layout.regions.filter((r) => r.blockId === 'pc.ram').map((r) => [r.gpa, r.size, r.blockOffset, r.readOnly, r.why])).toEqual([
      [0, 0xa0000, 0, false, 'RAM below the legacy VGA window'],
      [0xc0000, 32 * MiB - 0xc0000, 0xc0000, false, 'PAM read-write: RAM shadows the ROM; RAM from 1 MiB to the PCI hole'],
    ]);
    // The PAM registers sit at 0x59 on i440fx and at 0x90 on q35: the other offset means nothing.
    expect(regionsOf(machineLayout(x86('pc-q35-7.2'), { pciConfig: host(0x59, [0x30, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33]) })!)).toEqual(regionsOf(machineLayout(x86('pc-q35-7.2'))!));
  });

  it('write-only PAM (reads go to the ROM) shows the ROM', () => {
    const layout = machineLayout(x86('pc-i440fx-7.2'), { pciConfig: host(0x59, [0x20, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22]) })!;
    expect(regionsOf(layout)).toEqual(regionsOf(machineLayout(x86('pc-i440fx-7.2'))!));
  });
});

describe('which machine, and its rule in words', () => {
  const pcBlocks: [string, number][] = [['pc.ram', 32 * MiB]];
  it('by machine type, else by RAM block names (and for x86 without a machine type, by the q35 host bridge "mch")', () => {
    expect(machineFamily(blocksModel('pc-q35-7.2', pcBlocks))).toBe('q35');
    expect(machineFamily(blocksModel('q35', pcBlocks))).toBe('q35');
    expect(machineFamily(blocksModel('pc-i440fx-7.2', pcBlocks))).toBe('pc');
    expect(machineFamily(blocksModel('pc-1.7', pcBlocks))).toBe('pc');
    expect(machineFamily(blocksModel('pc', pcBlocks))).toBe('pc');
    expect(machineFamily(blocksModel(undefined, pcBlocks))).toBe('pc');
    expect(machineFamily(blocksModel(undefined, pcBlocks, ['timer', '0000:00:00.0/mch']))).toBe('q35');
    expect(machineFamily(blocksModel(undefined, [['mach-virt.ram', GiB]]))).toBe('arm-virt');
    expect(machineFamily(blocksModel(undefined, [['riscv_virt_board.ram', GiB]]))).toBe('riscv-virt');
    expect(machineFamily(blocksModel('s390-ccw-virtio-7.2', [['other.ram', GiB]]))).toBe('s390x');
    expect(machineFamily(blocksModel(undefined, [['s390.ram', GiB]]))).toBe('s390x');
    // Names that only contain a known one are not it.
    expect(machineFamily(blocksModel('my-pc-q35-7.2', [['x.ram', GiB]]))).toBeUndefined();
    expect(machineFamily(blocksModel('xpc-i440fx-7.2', [['x.ram', GiB]]))).toBeUndefined();
    expect(machineFamily(blocksModel('pcx', [['x.ram', GiB]]))).toBeUndefined();
    expect(machineFamily(blocksModel('my-s390-ccw-virtio', [['x.ram', GiB]]))).toBeUndefined();
  });

  it('the split below 4 GiB follows the machine type version: 3.5 GiB kept up to pc-i440fx-1.7 (also written pc-1.7)', () => {
    const lowEnd = (machineType: string) => {
      const layout = machineLayout(blocksModel(machineType, [['pc.ram', 4 * GiB]]))!;
      return Math.max(...layout.regions.filter((r) => r.gpa < 4 * GiB).map((r) => r.gpa + r.size)) / GiB;
    };
    expect([lowEnd('pc-i440fx-1.7'), lowEnd('pc-1.7'), lowEnd('pc-0.15'), lowEnd('pc-1.6')]).toEqual([3.5, 3.5, 3.5, 3.5]);
    expect([lowEnd('pc-i440fx-1.8'), lowEnd('pc-i440fx-2.0'), lowEnd('pc-i440fx-10.0'), lowEnd('pc-i440fx-1.10'), lowEnd('pc')]).toEqual([3, 3, 3, 3, 3]);
  });

  it('states its rule and why each region is where it is', () => {
    expect(machineLayout(blocksModel('pc-i440fx-7.2', [['pc.ram', 4 * GiB]]))!.rule).toBe('pc: RAM below 4 GiB up to 3 GiB (max-ram-below-4g 3584 MiB, split moved to 3 GiB when RAM does not fit), rest from 4 GiB');
    expect(machineLayout(blocksModel('pc-i440fx-1.7', [['pc.ram', 32 * MiB]]))!.rule).toBe('pc: RAM below 4 GiB up to 32 MiB (max-ram-below-4g 3584 MiB), rest from 4 GiB');
    expect(machineLayout(blocksModel('pc-i440fx-7.2', [['pc.ram', 0x12345000]]), { maxRamBelow4g: 0x10001000 })!.rule).toBe('pc: RAM below 4 GiB up to 0x10001000 (max-ram-below-4g 0x10001000, split moved to 3 GiB when RAM does not fit), rest from 4 GiB');
    expect(machineLayout(blocksModel('pc-q35-7.2', [['pc.ram', 3 * GiB]]))!.rule).toBe('q35: RAM below 4 GiB up to 2 GiB (2 GiB when RAM >= 2.75 GiB, else 2.75 GiB), rest from 4 GiB');
    const arm = machineLayout(blocksModel('virt-7.2', [['virt.flash0', 64 * MiB], ['virt.flash1', 64 * MiB], ['mach-virt.ram', GiB]]))!;
    expect([arm.rule, ...arm.regions.map((r) => `${r.blockId} ${r.readOnly ? 'ro' : 'rw'} ${r.why}`)]).toEqual([
      'arm virt: flash at 0 and 64 MiB, RAM from 1 GiB',
      'virt.flash0 ro flash0 (hw/arm/virt.c VIRT_FLASH)',
      'virt.flash1 ro flash1 (VIRT_FLASH + 64 MiB)',
      'mach-virt.ram rw RAM at 1 GiB (VIRT_MEM)',
    ]);
    const riscv = machineLayout(blocksModel('virt-7.2', [['riscv_virt_board.mrom', 0xf000], ['virt.flash0', 32 * MiB], ['virt.flash1', 32 * MiB], ['riscv_virt_board.ram', GiB]]))!;
    expect([riscv.rule, ...riscv.regions.map((r) => `${r.blockId} 0x${r.gpa.toString(16)} ${r.readOnly ? 'ro' : 'rw'} ${r.why}`)]).toEqual([
      'riscv virt: mask ROM at 0x1000, flash at 0x20000000, RAM from 2 GiB',
      'riscv_virt_board.mrom 0x1000 ro mask ROM (VIRT_MROM)',
      'virt.flash0 0x20000000 ro flash0 (VIRT_FLASH)',
      'virt.flash1 0x22000000 ro flash1 (VIRT_FLASH + 32 MiB)',
      'riscv_virt_board.ram 0x80000000 rw RAM at 2 GiB (VIRT_DRAM)',
    ]);
    const s390 = machineLayout(blocksModel('s390-ccw-virtio-7.2', [['s390.ram', GiB]]))!;
    expect([s390.rule, s390.regions[0].readOnly, s390.regions[0].why]).toEqual(['s390x: RAM from 0', false, 'RAM at 0']);
    expect(machineLayout(blocksModel('pc-i440fx-7.2', [['pc.ram', 4 * GiB]]))!.regions.map((r) => r.why)).toEqual(['RAM below the legacy VGA window', 'RAM from 1 MiB to the PCI hole', 'RAM above 4 GiB']);
  });

  it('q35 with max-ram-below-4g lower than its own split', () => {
    const layout = machineLayout(blocksModel('pc-q35-7.2', [['pc.ram', 2 * GiB]]), { maxRamBelow4g: GiB })!;
    expect(regionsOf(layout).filter(([id]) => id === 'pc.ram').map(([, gpa, size]) => [gpa, size])).toEqual([
      [0, 0xa0000],
      [0x100000, GiB - 0x100000],
      [4 * GiB, GiB],
    ]);
    // A max-ram-below-4g above the split changes nothing.
    expect(regionsOf(machineLayout(blocksModel('pc-q35-7.2', [['pc.ram', 2 * GiB]]), { maxRamBelow4g: 3 * GiB })!)).toEqual(regionsOf(machineLayout(blocksModel('pc-q35-7.2', [['pc.ram', 2 * GiB]]))!));
  });
});

describe('overlaps, lookups and the list of mapped regions', () => {
  it('a BAR programmed over RAM is cut around it (the RAM mapped first wins), keeping its block offsets', () => {
    const model = blocksModel('pc-q35-7.2', [
      ['pc.ram', 32 * MiB],
      ['0000:00:01.0/vga.vram', 16 * MiB],
    ]);
    const config = pciConfig(0x0002, { 0: 24 * MiB });
    const layout = machineLayout(model, { pciConfig: new Map([['0000:00:01.0', config]]) })!;
    expect(regionsOf(layout).filter(([id]) => id === '0000:00:01.0/vga.vram')).toEqual([['0000:00:01.0/vga.vram', 32 * MiB, 8 * MiB, 8 * MiB, false]]);
    // Inside RAM on both sides: only the part past the RAM remains; entirely inside: nothing.
    const inside = machineLayout(blocksModel('pc-q35-7.2', [['pc.ram', 32 * MiB], ['0000:00:01.0/vga.vram', MiB]]), { pciConfig: new Map([['0000:00:01.0', config]]) })!;
    expect(inside.unmapped.map((u) => u.blockId)).toEqual(['0000:00:01.0/vga.vram']);
    // Over the legacy window, where this guest has neither RAM nor ROM: only that part shows.
    const hole = machineLayout(model, { pciConfig: new Map([['0000:00:01.0', pciConfig(0x0002, { 0: 0x90000 })]]) })!;
    expect(regionsOf(hole).filter(([id]) => id === '0000:00:01.0/vga.vram')).toEqual([['0000:00:01.0/vga.vram', 0xa0000, 0x60000, 0x10000, false]]);
  });

  it('resolveGuestAddress at region edges; guestAddressesOf at block offset edges; describeMappedRegions', () => {
    const layout = machineLayout(blocksModel('pc-i440fx-7.2', [['pc.ram', 32 * MiB], ['pc.bios', 256 * 1024]]))!;
    expect(resolveGuestAddress(layout, 0)).toMatchObject({ offset: 0, region: { gpa: 0 } });
    expect(resolveGuestAddress(layout, 0x9ffff)).toMatchObject({ offset: 0x9ffff });
    expect(resolveGuestAddress(layout, 0x100000)).toMatchObject({ offset: 0x100000, region: { gpa: 0x100000 } });
    expect(resolveGuestAddress(layout, 32 * MiB)).toBeUndefined();
    expect(resolveGuestAddress(layout, 0xfffc0000)).toMatchObject({ offset: 0 });
    expect(resolveGuestAddress(layout, 4 * GiB)).toBeUndefined();
    const ram = layout.regions[0].block;
    expect(guestAddressesOf(layout, ram, 0x100000)).toEqual([0x100000]);
    expect(guestAddressesOf(layout, ram, 0xfffff)).toEqual([]); // under the ROMs
    expect(guestAddressesOf(layout, ram, 32 * MiB)).toEqual([]);
    expect(describeMappedRegions(layout)).toBe('mapped: 0x00000000-0x0009ffff pc.ram, 0x000e0000-0x000fffff pc.bios, 0x00100000-0x01ffffff pc.ram, 0xfffc0000-0xffffffff pc.bios');
  });
});
