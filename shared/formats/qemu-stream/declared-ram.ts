import { MemorySource } from '../../io/byte-source';
import { parseQemuStream } from './stream-parser';

/**
 * The guest RAM a QEMU stream declares of itself: the MEM_SIZE record at the start of its
 * "ram" section lists every RAM block with its length (migration/ram.c ram_save_setup).
 * Read from the first bytes of a stream (the start of a decompression), so a stream whose
 * container says nothing about the guest still bounds what it can decompress to. Undefined
 * when `start` holds no block list.
 */
export function declaredRamBytes(start: Uint8Array): number | undefined {
  const model = parseQemuStream(new MemorySource(start), { maxDiagnostics: 16 });
  const listed = model.elements.find((e) => e.ramBlocks?.length)?.ramBlocks;
  if (!listed) return undefined;
  const total = listed.reduce((sum, b) => sum + b.usedLength, 0);
  return Number.isSafeInteger(total) && total > 0 ? total : undefined;
}
