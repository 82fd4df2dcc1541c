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

  it('QXL without BAR4 (vram64 no larger than vram32): BAR1 shows all of qxl.vram', () => {
    const layout = machineLayout(qxlGuest(64 * MiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, { ...QXL_BARS, 4: 0, 5: 0 })]]) })!;
    expect(pciPart(layout).filter(([id]) => id === `${QXL}/qxl.vram`)).toEqual([[`${QXL}/qxl.vram`, 0xf8000000, 64 * MiB, 0, false]]);
  });

  it('nothing is mapped while memory decoding is off, and an I/O BAR is never memory', () => {
    const off = machineLayout(qxlGuest(GiB), { pciConfig: new Map([[QXL, pciConfig(0x0005, QXL_BARS)]]) })!;
    expect(pciPart(off)).toEqual([['pc.bios', 0xfffc0000, 256 * 1024, 0, true]]);
    expect(off.unmapped.map((u) => u.blockId)).toEqual([`${QXL}/vga.vram`, `${QXL}/qxl.vram`, `${QXL}/qxl.vrom`, `${QXL}/qxl.rom`]);
    const io = machineLayout(qxlGuest(GiB), { pciConfig: new Map([[QXL, pciConfig(0x0007, { ...QXL_BARS, 0: 0xc001 })]]) })!;
    expect(pciPart(io).map(([id]) => id)).not.toContain(`${QXL}/vga.vram`);
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
