import { pciMemoryBar } from '../memory/layout';
import { group, hex, type DecodedItem } from './decoded';
import type { DeviceBlocks } from './devices';
import { interruptNames, readGuestCursor, readMonitorsConfig, readQxlRam, type QxlCommand, type QxlMonitorsConfig, type QxlPlace, type QxlRamHeader, type QxlRing } from './qxl-ram';
import { QXL_BAR, qxlMemory, qxlRamBlockName, readQxlRom, type QxlMemory, type QxlSavedState } from './qxl-state';

/**
 * The QXL state that lives in guest memory, by meaning: everything a UI or the CLI shows
 * beside the device registers. Reached through the memory slots exactly as QEMU reaches it.
 */
export interface QxlGuestState {
  memory: QxlMemory;
  /** undefined with `problem` when the ROM or RAM BAR is missing. */
  ram?: QxlRamHeader;
  /** The device's guest_monitors_config (the one QEMU replays), decoded. */
  monitorsConfig?: QxlMonitorsConfig;
  /** The device's guest_cursor: the last cursor SET command it consumed, with its shape. */
  cursor?: QxlCommand;
  problem?: string;
}

export function qxlGuestState(state: QxlSavedState, blocks: Pick<DeviceBlocks, 'get'>): QxlGuestState {
  const ram = blocks.get(qxlRamBlockName(state.config));
  const rom = blocks.get('qxl.vrom');
  const memory = qxlMemory(state, ram, blocks.get('qxl.vram'));
  const out: QxlGuestState = { memory };
  if (state.guestMonitorsConfig) out.monitorsConfig = readMonitorsConfig(memory, state.guestMonitorsConfig);
  out.cursor = readGuestCursor(memory, state.guestCursor);
  if (!ram || !rom) {
    out.problem = `the image has no ${!ram ? qxlRamBlockName(state.config) : 'qxl.vrom'} RAM block, so the QXLRam header cannot be read`;
    return out;
  }
  const headerOffset = readQxlRom(rom).ramHeaderOffset;
  if (headerOffset + 5412 > ram.size) {
    out.problem = `the ROM puts the RAM header at ${hex(headerOffset)}, past the end of the ${ram.size}-byte RAM BAR`;
    return out;
  }
  out.ram = readQxlRam(ram, headerOffset, pciMemoryBar(state.config, QXL_BAR.RAM), memory);
  return out;
}

/** The decoded items of the guest-memory side of QXL (for `migwb dump --decoded` and the app). */
export function qxlGuestItems(g: QxlGuestState, guestCursorOffset?: number): DecodedItem[] {
  const items: DecodedItem[] = [];
  if (g.ram) items.push(ramItems(g.ram));
  else if (g.problem) items.push({ label: 'QXLRam header', problem: g.problem });
  if (g.monitorsConfig) items.push(monitorsItems('guest monitors config (replayed on load)', g.monitorsConfig));
  items.push(g.cursor ? { ...commandItem('guest cursor (replayed on load)', g.cursor), offset: guestCursorOffset } : { label: 'guest cursor', value: 'none', meaning: 'the device consumed no cursor SET command', offset: guestCursorOffset });
  return items;
}

function at(p: QxlPlace | undefined): Partial<DecodedItem> {
  return p ? { block: p.block, blockOffset: p.blockOffset, gpa: p.gpa } : {};
}

function ramItems(r: QxlRamHeader): DecodedItem {
  const c = r.createSurface;
  return group(
    'QXLRam header',
    [
      { label: 'magic', value: hex(r.magic, 8), meaning: r.problem ? undefined : '"QXRA"', problem: r.problem, ...at(r.at) },
      { label: 'int_pending', value: hex(r.intPending), meaning: interruptNames(r.intPending) },
      { label: 'int_mask', value: hex(r.intMask), meaning: interruptNames(r.intMask) },
      ...r.rings.map(ringItem),
      ...(r.releaseBeingFilled ? [{ label: 'release list being filled', value: hex(r.releaseBeingFilled), meaning: 'at the release ring\'s producer: QEMU adds freed resources here and pushes it when 32 are collected' }] : []),
      { label: 'mem_slot (last QXL_IO_MEMSLOT_ADD)', value: `${hex(r.memSlot.start)}-${hex(r.memSlot.end)}` },
      group('create_surface (last QXL_IO_CREATE_PRIMARY)', [
        { label: 'size', value: `${c.width}x${c.height}` },
        { label: 'stride', value: `${c.stride}`, meaning: c.stride < 0 ? 'bottom-up' : undefined },
        { label: 'format', value: `${c.format}` },
        { label: 'mem', value: hex(c.mem) },
      ]),
      { label: 'monitors_config', value: hex(r.monitorsConfig), meaning: r.monitorsConfig ? 'the last config the guest announced' : 'none' },
    ],
    at(r.at),
  );
}

function ringItem(r: QxlRing): DecodedItem {
  const waiting = (r.prod - r.cons) >>> 0;
  // SPICE_RING_PUSH: the producer notifies when prod reaches notify_on_prod (set by the consumer when it went to sleep).
  const owed = waiting > 0 && ((r.notifyOnProd - r.cons) >>> 0) >= 1 && ((r.notifyOnProd - r.cons) >>> 0) <= waiting;
  const notify = owed ? `; the consumer asked to be woken when the producer reached ${r.notifyOnProd}, which it did: the entries wait for a notify` : '';
  return group(
    `${r.name} ring`,
    [
      { label: 'producer', value: `${r.prod}`, meaning: `notify_on_prod ${r.notifyOnProd}` },
      { label: 'consumer', value: `${r.cons}`, meaning: `notify_on_cons ${r.notifyOnCons}` },
      ...r.pending.map((p): DecodedItem => (p.command ? { ...commandItem(`[${p.index}]`, p.command), ...at(p.at) } : { label: `[${p.index}]`, value: hex(p.releaseId!), meaning: 'release id (head of a list chained through release_info.next)', ...at(p.at) })),
    ],
    { value: `${waiting} pending`, meaning: `${r.numItems} entries${notify}`, problem: r.problem, ...at(r.at) },
  );
}

function commandItem(label: string, c: QxlCommand): DecodedItem {
  const children: DecodedItem[] = [];
  if (c.releaseId !== undefined) children.push({ label: 'release id', value: hex(c.releaseId), ...at(c.at) });
  const d = c.draw;
  if (d) {
    children.push({ label: 'bbox', value: `${d.bbox.right - d.bbox.left}x${d.bbox.bottom - d.bbox.top}+${d.bbox.left}+${d.bbox.top}` });
    if (d.brush) children.push({ label: 'brush', value: d.brush.type === 1 ? `solid ${hex(d.brush.colour, 6)}` : `type ${d.brush.type}` });
  }
  const k = c.cursor;
  if (k?.shapeHeader) children.push({ label: 'shape', value: `${k.shapeHeader.typeName} ${k.shapeHeader.width}x${k.shapeHeader.height}`, meaning: `hot spot +${k.shapeHeader.hotSpotX}+${k.shapeHeader.hotSpotY}, ${k.shapeHeader.dataSize} bytes of image`, ...at(k.shapeHeader.at) });
  const s = c.surface;
  if (s?.type === 0) children.push({ label: 'surface data', value: hex(s.data) });
  return { label, value: c.typeName, meaning: c.log, problem: c.problem ?? k?.problem, ...at(c.at), children };
}

function monitorsItems(label: string, m: QxlMonitorsConfig): DecodedItem {
  return group(
    label,
    m.heads.map((h, i) => ({ label: `head ${i}`, value: `${h.width}x${h.height}+${h.x}+${h.y}`, meaning: `id ${h.id}, surface ${h.surfaceId}${h.flags ? `, flags ${hex(h.flags)}` : ''}` })),
    { value: hex(m.address), meaning: `${m.count} heads (max ${m.maxAllowed})${m.count === 1 ? ': QEMU shows head 0\'s size of the primary surface' : ''}`, problem: m.problem, ...at(m.at) },
  );
}
