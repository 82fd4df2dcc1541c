import { hex } from '../diagnostics';
import type { QemuStreamModel } from '../qemu/model';
import { EditError } from './errors';

/** A guest-physical address resolved to a RAM block and the offset inside it. */
export interface BlockAddress {
  block: number;
  offset: number;
  /** The mapping rule used, in words (for the journal). */
  rule: string;
}

const LOW_RAM_LIMIT = 0x8000_0000;
const LEGACY_HOLE = { start: 0xa_0000, end: 0x10_0000 };

/**
 * Guest-physical address → RAM block offset, for the cases that can be stated exactly
 * without the machine's full memory map:
 * - streams with x-ignore-shared carry each block's guest address;
 * - pc and q35: below 2 GiB (under the PCI hole of every pc/q35 machine type) pc.ram is
 *   mapped 1:1, except the legacy VGA/BIOS window 0xa0000-0xfffff, which is not plain RAM;
 * - arm virt: mach-virt.ram at 0x40000000; riscv virt: riscv_virt_board.ram at 0x80000000.
 * Issue #4 builds the complete layout (shared/memory/layout.ts, resolveGuestAddress); at
 * the merge this module is replaced by a call to it.
 */
export function guestAddressToBlock(model: QemuStreamModel, gpa: number): BlockAddress {
  const blocks = model.ramBlocks;
  const placed = blocks.findIndex((b) => b.mrAddr !== undefined && gpa >= b.mrAddr && gpa < b.mrAddr + b.usedLength);
  if (placed >= 0) return { block: placed, offset: gpa - blocks[placed].mrAddr!, rule: `${blocks[placed].id} is mapped at ${hex(blocks[placed].mrAddr!)} (x-ignore-shared block address)` };
  const at = (id: string, base: number, rule: string): BlockAddress | undefined => {
    const block = blocks.findIndex((b) => b.id === id);
    if (block < 0 || gpa < base || gpa >= base + blocks[block].usedLength) return undefined;
    return { block, offset: gpa - base, rule };
  };
  const pcRam = /^pc-/.test(model.machineType ?? '') ? blocks.findIndex((b) => b.id === 'pc.ram') : -1;
  if (pcRam >= 0) {
    if (gpa >= LEGACY_HOLE.start && gpa < LEGACY_HOLE.end) {
      throw new EditError(`${hex(gpa)} lies in the legacy VGA/BIOS window (0xa0000-0xfffff), which the guest does not see as plain RAM; address pc.ram directly with --ram-block pc.ram:${hex(gpa)}=HEX`);
    }
    const hit = gpa < LOW_RAM_LIMIT ? at('pc.ram', 0, 'pc/q35: pc.ram is mapped 1:1 below 2 GiB') : undefined;
    if (hit) return hit;
  }
  const hit = at('mach-virt.ram', 0x4000_0000, 'arm virt: RAM at 0x40000000') ?? at('riscv_virt_board.ram', 0x8000_0000, 'riscv virt: RAM at 0x80000000');
  if (hit) return hit;
  throw new EditError(
    `guest-physical address ${hex(gpa)} cannot be placed in a RAM block of this ${model.machineType ?? 'unknown'} machine by this version (known: pc/q35 RAM below 2 GiB, arm and riscv virt RAM); address it as --ram-block BLOCK:OFFSET=HEX (blocks: ${blocks.map((b) => b.id).join(', ')})`,
  );
}
