import { SliceSource, type ByteSource } from '../../io/byte-source';
import type { QemuStreamModel } from '../qemu-stream/model';
import { parseQemuStream } from '../qemu-stream/stream-parser';
import type { XenStreamModel } from './model';

/**
 * The QEMU device state a Xen stream carries (EMULATOR_CONTEXT of QEMU upstream, or the
 * legacy "DeviceModelRecord0002" tail): a QEVM stream without RAM, which the QEMU engine
 * reads as a nested level. Its offsets are relative to the blob; `offset` is the blob's
 * file offset.
 */
export interface NestedQemu {
  /** Where the blob sits in the Xen file. */
  offset: number;
  length: number;
  source: ByteSource;
  model: QemuStreamModel;
}

/** Every QEMU state blob of the stream, in file order (one per checkpoint in a Remus/COLO stream). */
export function qemuBlobs(model: XenStreamModel): { offset: number; length: number; owner: string }[] {
  const out: { offset: number; length: number; owner: string }[] = [];
  for (const e of model.emulators) if (e.qemu) out.push({ offset: e.offset, length: e.length, owner: `r${e.record}` });
  model.legacy?.checkpoints.forEach((cp, k) => {
    if (cp.qemu?.qemu) out.push({ offset: cp.qemu.data.offset, length: cp.qemu.data.length, owner: `q${k}` });
  });
  return out;
}

/** Parses the QEMU state at [offset, offset + length) of the Xen file. */
export function openNestedQemu(file: ByteSource, offset: number, length: number): NestedQemu {
  const source = new SliceSource(file, offset, length);
  return { offset, length, source, model: parseQemuStream(source, { devicesOnly: true }) };
}
