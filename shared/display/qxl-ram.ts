import type { BlockMemory } from './block-memory';
import { hex } from './decoded';
import { QXL_RAM_MAGIC, type QxlMemory } from './qxl-state';

/**
 * The guest-visible QXL state in guest memory, decoded as the device reads it: the QXLRam
 * header at QXLRom.ram_header_offset of the RAM BAR (interrupt bits, the command, cursor and
 * release rings, the last create_surface and monitors_config the guest wrote), and what the
 * rings and the device's saved pointers name: commands, drawables, cursor commands and
 * shapes, surface commands, the monitors config. Layouts are spice-protocol's qxl_dev.h
 * (packed, little-endian); command texts follow QEMU's own command log (qxl-logger.c,
 * `-device qxl,cmdlog=1`), so both can be compared line by line.
 */

/** Offsets in QXLRam: magic, int_pending, int_mask, log_buf[4096], then the rings. */
export const QXL_RAM = {
  magic: 0,
  intPending: 4,
  intMask: 8,
  cmdRing: 4108,
  cursorRing: 4640,
  releaseRing: 5172,
  updateArea: 5256,
  updateSurface: 5272,
  memSlot: 5276,
  createSurface: 5292,
  flags: 5332,
  monitorsConfig: 5340,
  guestCapabilities: 5348,
  size: 5412,
} as const;

/** SPICE_RING_DECLARE: num_items, prod, notify_on_prod, cons, notify_on_cons, then the items. */
const RING_HEADER = 20;

export const QXL_CMD_TYPES = ['nop', 'draw', 'update', 'cursor', 'message', 'surface'];
export const QXL_DRAW_TYPES = ['nop', 'fill', 'opaque', 'copy', 'copy-bits', 'blend', 'blackness', 'whitemess', 'invers', 'rop3', 'stroke', 'text', 'transparent', 'alpha-blend'];
export const QXL_DRAW_EFFECTS = ['blend', 'opaque', 'revert-on-dup', 'blackness-on-dup', 'whiteness-on-dup', 'nop-on-dup', 'nop', 'opaque-brush'];
export const QXL_CURSOR_CMDS = ['set', 'move', 'hide', 'trail'];
export const SPICE_CURSOR_TYPES = ['alpha', 'mono', 'color4', 'color8', 'color16', 'color24', 'color32'];
const SURFACE_CMDS = ['create', 'destroy'];
const SURFACE_FORMATS: Record<number, string> = { 0: 'invalid', 1: 'alpha/1', 8: 'alpha/8', 16: '555/16', 80: '565/16', 32: 'xRGB/32', 96: 'ARGB/32' };
/** QXL_INTERRUPT_* bits of int_pending / int_mask. */
export const QXL_INTERRUPTS = ['display', 'cursor', 'io-cmd', 'error', 'client', 'client-monitors-config'];

/** Where some bytes of guest memory are: the RAM block, the offset in it, the guest-physical address when a BAR maps it. */
export interface QxlPlace {
  block: string;
  blockOffset: number;
  gpa?: number;
}

export interface QxlRect {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/** A command the guest pushed, decoded from the memory its QXLPHYSICAL names. */
export interface QxlCommand {
  /** QXLCommand.data: slot id, generation, offset. */
  data: bigint;
  /** QXLCommand.type (QXL_CMD_*) and its name. */
  type: number;
  typeName: string;
  /** Where the command structure is, when the address resolves through a slot. */
  at?: QxlPlace;
  /** QXLReleaseInfo.id: the guest's handle, given back through the release ring. */
  releaseId?: bigint;
  /** The line QEMU's command log prints for it, after "qxl-N/ring:" (qxl-logger.c). */
  log: string;
  draw?: { surfaceId: number; type: number; effect: number; bbox: QxlRect; clipType: number; brush?: { type: number; colour: number } };
  cursor?: QxlCursorCommand;
  surface?: { surfaceId: number; type: number; flags: number; format: number; width: number; height: number; stride: number; data: bigint };
  update?: { area: QxlRect; updateId: number; surfaceId: number };
  problem?: string;
}

export interface QxlCursorCommand {
  type: number;
  typeName: string;
  /** set: position, visible, shape; move: position; trail: length, frequency. */
  x?: number;
  y?: number;
  visible?: boolean;
  shape?: bigint;
  shapeHeader?: { unique: bigint; type: number; typeName: string; width: number; height: number; hotSpotX: number; hotSpotY: number; dataSize: number; at?: QxlPlace };
  trail?: { length: number; frequency: number };
  problem?: string;
}

export interface QxlRing {
  name: 'command' | 'cursor' | 'release';
  at: QxlPlace;
  numItems: number;
  prod: number;
  cons: number;
  notifyOnProd: number;
  notifyOnCons: number;
  /** Entries between the consumer and the producer, oldest first. */
  pending: { index: number; at: QxlPlace; command?: QxlCommand; releaseId?: bigint }[];
  problem?: string;
}

export interface QxlMonitorsConfig {
  address: bigint;
  at?: QxlPlace;
  count: number;
  maxAllowed: number;
  heads: { id: number; surfaceId: number; width: number; height: number; x: number; y: number; flags: number }[];
  problem?: string;
}

export interface QxlRamHeader {
  at: QxlPlace;
  magic: number;
  intPending: number;
  intMask: number;
  rings: QxlRing[];
  /** The free-list head QEMU is filling at the release ring's producer (0 when none). */
  releaseBeingFilled: bigint;
  updateArea: QxlRect;
  updateSurface: number;
  memSlot: { start: bigint; end: bigint };
  createSurface: { width: number; height: number; stride: number; format: number; position: number; mouseMode: number; flags: number; type: number; mem: bigint };
  flags: bigint;
  monitorsConfig: bigint;
  problem?: string;
}

/** Reads the QXLRam header; `ramGpa` is the RAM BAR's guest-physical address (for where each value is). */
export function readQxlRam(ram: BlockMemory, headerOffset: number, ramGpa: number | undefined, mem: QxlMemory): QxlRamHeader {
  const place = (o: number): QxlPlace => ({ block: ram.id, blockOffset: headerOffset + o, gpa: ramGpa === undefined ? undefined : ramGpa + headerOffset + o });
  const u32 = (o: number) => ram.u32le(headerOffset + o);
  const i32 = (o: number) => u32(o) | 0;
  const u64 = (o: number) => ram.u64le(headerOffset + o);
  const rect = (o: number): QxlRect => ({ top: i32(o), left: i32(o + 4), bottom: i32(o + 8), right: i32(o + 12) });
  const magic = u32(QXL_RAM.magic);
  const ring = (name: QxlRing['name'], o: number, capacity: number, itemSize: number): QxlRing => {
    const r: QxlRing = { name, at: place(o), numItems: u32(o), prod: u32(o + 4), notifyOnProd: u32(o + 8), cons: u32(o + 12), notifyOnCons: u32(o + 16), pending: [] };
    if (r.numItems !== capacity) r.problem = `num_items is ${r.numItems}, QEMU initialises it to ${capacity}`;
    const waiting = (r.prod - r.cons) >>> 0;
    if (waiting > capacity) {
      r.problem = `producer ${r.prod} is ${waiting} entries ahead of the consumer ${r.cons}, more than the ring holds (${capacity}): the ring is corrupt`;
      return r;
    }
    for (let i = r.cons; i !== r.prod; i = (i + 1) >>> 0) {
      const at = o + RING_HEADER + (i & (capacity - 1)) * itemSize;
      if (name === 'release') r.pending.push({ index: i, at: place(at), releaseId: u64(at) });
      else r.pending.push({ index: i, at: place(at), command: readCommand(mem, u64(at), u32(at + 8)) });
    }
    return r;
  };
  const header: QxlRamHeader = {
    at: place(0),
    magic,
    intPending: u32(QXL_RAM.intPending),
    intMask: u32(QXL_RAM.intMask),
    rings: [ring('command', QXL_RAM.cmdRing, 32, 16), ring('cursor', QXL_RAM.cursorRing, 32, 16), ring('release', QXL_RAM.releaseRing, 8, 8)],
    releaseBeingFilled: 0n,
    updateArea: rect(QXL_RAM.updateArea),
    updateSurface: u32(QXL_RAM.updateSurface),
    memSlot: { start: u64(QXL_RAM.memSlot), end: u64(QXL_RAM.memSlot + 8) },
    createSurface: {
      width: u32(QXL_RAM.createSurface),
      height: u32(QXL_RAM.createSurface + 4),
      stride: i32(QXL_RAM.createSurface + 8),
      format: u32(QXL_RAM.createSurface + 12),
      position: u32(QXL_RAM.createSurface + 16),
      mouseMode: u32(QXL_RAM.createSurface + 20),
      flags: u32(QXL_RAM.createSurface + 24),
      type: u32(QXL_RAM.createSurface + 28),
      mem: u64(QXL_RAM.createSurface + 32),
    },
    flags: u64(QXL_RAM.flags),
    monitorsConfig: u64(QXL_RAM.monitorsConfig),
  };
  const release = header.rings[2];
  header.releaseBeingFilled = u64(QXL_RAM.releaseRing + RING_HEADER + (release.prod & 7) * 8);
  if (magic !== QXL_RAM_MAGIC) header.problem = `magic is ${hex(magic, 8)}, expected ${hex(QXL_RAM_MAGIC, 8)} ("QXRA"): the RAM header is not where the ROM says, or the RAM BAR was not saved`;
  return header;
}

function nameOf(names: readonly string[], v: number): string {
  return names[v] ?? '???';
}

/** The bytes `size` long at a QXLPHYSICAL, or why the device could not read them. */
function fetch(mem: QxlMemory, phys: bigint, size: number): { read: (o: number, n: 1 | 2 | 4 | 8) => number | bigint; at: QxlPlace } | { problem: string } {
  const r = mem.resolve(phys, size);
  if (!('block' in r)) return r;
  const slot = mem.slots[r.slot];
  const gpa = Number(slot.memStart + (phys & 0xffffffffffffn));
  const read = (o: number, n: 1 | 2 | 4 | 8): number | bigint => (n === 1 ? r.block.u8(r.offset + o) : n === 2 ? r.block.u16le(r.offset + o) : n === 4 ? r.block.u32le(r.offset + o) : r.block.u64le(r.offset + o));
  return { read, at: { block: r.block.id, blockOffset: r.offset, gpa } };
}

/** QXLDrawable, QXLCursorCmd, QXLSurfaceCmd, QXLUpdateCmd sizes (the parts read here). */
const COMMAND_SIZES: Record<number, number> = { 1: 143, 2: 32, 3: 22, 4: 8, 5: 41 };

/** A command as QEMU's interface_get_command would hand it to the SPICE server. */
export function readCommand(mem: QxlMemory, data: bigint, type: number): QxlCommand {
  const typeName = nameOf(QXL_CMD_TYPES, type);
  const cmd: QxlCommand = { data, type, typeName, log: `cmd @ ${hex(data)} ${typeName}` };
  const got = fetch(mem, data, COMMAND_SIZES[type] ?? 8);
  if ('problem' in got) {
    cmd.problem = got.problem;
    return cmd;
  }
  cmd.at = got.at;
  const u8 = (o: number) => got.read(o, 1) as number;
  const u16 = (o: number) => got.read(o, 2) as number;
  const i16 = (o: number) => (u16(o) << 16) >> 16;
  const u32 = (o: number) => got.read(o, 4) as number;
  const i32 = (o: number) => u32(o) | 0;
  const u64 = (o: number) => got.read(o, 8) as bigint;
  const rect = (o: number): QxlRect => ({ top: i32(o), left: i32(o + 4), bottom: i32(o + 8), right: i32(o + 12) });
  cmd.releaseId = u64(0);
  switch (type) {
    case 1: {
      // QXLDrawable: release_info, surface_id, effect, type, self_bitmap, self_bitmap_area, bbox, clip, mm_time, surfaces_dest[3], surfaces_rects[3], u
      const draw = { surfaceId: u32(8), effect: u8(12), type: u8(13), bbox: rect(31), clipType: u32(47), brush: undefined as { type: number; colour: number } | undefined };
      if (draw.type === 1) draw.brush = { type: u32(123), colour: u32(127) };
      cmd.draw = draw;
      cmd.log += `: surface_id ${draw.surfaceId} type ${nameOf(QXL_DRAW_TYPES, draw.type)} effect ${nameOf(QXL_DRAW_EFFECTS, draw.effect)}`;
      break;
    }
    case 2:
      cmd.update = { area: rect(8), updateId: u32(24), surfaceId: u32(28) };
      break;
    case 3:
      cmd.cursor = readCursorCommand(mem, u8, i16, u16, u64);
      cmd.log += cursorLog(cmd.cursor);
      break;
    case 5: {
      const s = { surfaceId: u32(8), type: u8(12), flags: u32(13), format: u32(17), width: u32(21), height: u32(25), stride: i32(29), data: u64(33) };
      cmd.surface = s;
      // QEMU adds its own surface counters to this line, which the image cannot know; the rest is the same.
      cmd.log += `: ${nameOf(SURFACE_CMDS, s.type)} id ${s.surfaceId}`;
      if (s.type === 0) cmd.log += ` size ${s.width}x${s.height} stride ${s.stride} format ${SURFACE_FORMATS[s.format] ?? '???'}`;
      break;
    }
  }
  return cmd;
}

function readCursorCommand(mem: QxlMemory, u8: (o: number) => number, i16: (o: number) => number, u16: (o: number) => number, u64: (o: number) => bigint): QxlCursorCommand {
  // QXLCursorCmd: release_info, type, union u at 9, device_data
  const type = u8(8);
  const c: QxlCursorCommand = { type, typeName: nameOf(QXL_CURSOR_CMDS, type) };
  if (type === 0) {
    c.x = i16(9);
    c.y = i16(11);
    c.visible = u8(13) !== 0;
    c.shape = u64(14);
    const shape = fetch(mem, c.shape, 42);
    if ('problem' in shape) c.problem = `the cursor shape: ${shape.problem}`;
    else {
      const t = shape.read(8, 2) as number;
      c.shapeHeader = {
        unique: shape.read(0, 8) as bigint,
        type: t,
        typeName: nameOf(SPICE_CURSOR_TYPES, t),
        width: shape.read(10, 2) as number,
        height: shape.read(12, 2) as number,
        hotSpotX: shape.read(14, 2) as number,
        hotSpotY: shape.read(16, 2) as number,
        dataSize: shape.read(18, 4) as number,
        at: shape.at,
      };
    }
  } else if (type === 1) {
    c.x = i16(9);
    c.y = i16(11);
  } else if (type === 3) c.trail = { length: u16(9), frequency: u16(11) };
  return c;
}

/** What qxl_log_cmd_cursor prints after "cursor". */
export function cursorLog(c: QxlCursorCommand): string {
  let s = `: ${c.typeName}`;
  if (c.type === 0) {
    s += ` +${c.x}+${c.y} visible ${c.visible ? 'yes' : 'no'}, shape @ ${hex(c.shape!)}`;
    const h = c.shapeHeader;
    if (h) s += ` type ${h.typeName} size ${h.width}x${h.height} hot-spot +${h.hotSpotX}+${h.hotSpotY} unique ${hex(h.unique)} data-size ${h.dataSize}`;
  } else if (c.type === 1) s += ` +${c.x}+${c.y}`;
  return s;
}

/** QXLMonitorsConfig: count, max_allowed, then QXLHead { id, surface_id, width, height, x, y, flags }. */
export function readMonitorsConfig(mem: QxlMemory, address: bigint): QxlMonitorsConfig {
  const head = fetch(mem, address, 4);
  if ('problem' in head) return { address, count: 0, maxAllowed: 0, heads: [], problem: head.problem };
  const count = head.read(0, 2) as number;
  const cfg: QxlMonitorsConfig = { address, at: head.at, count, maxAllowed: head.read(2, 2) as number, heads: [] };
  // QEMU reads at most 64 heads (qxl_spice_monitors_config_async checks max_outputs); more is a guest bug.
  const shown = Math.min(count, 64);
  const all = fetch(mem, address, 4 + shown * 28);
  if ('problem' in all) {
    cfg.problem = `${count} heads: ${all.problem}`;
    return cfg;
  }
  for (let i = 0; i < shown; i++) {
    const o = 4 + i * 28;
    const v = (k: number) => all.read(o + k * 4, 4) as number;
    cfg.heads.push({ id: v(0), surfaceId: v(1), width: v(2), height: v(3), x: v(4), y: v(5), flags: v(6) });
  }
  if (count > 64) cfg.problem = `count ${count} is more than the 64 heads QXL supports`;
  return cfg;
}

/** The cursor QEMU replays after a load: guest_cursor is the last QXL_CURSOR_SET command the device consumed. */
export function readGuestCursor(mem: QxlMemory, guestCursor: bigint): QxlCommand | undefined {
  return guestCursor === 0n ? undefined : readCommand(mem, guestCursor, 3);
}

/** int_pending / int_mask bits by name. */
export function interruptNames(bits: number): string {
  const names = QXL_INTERRUPTS.filter((_, i) => bits & (1 << i));
  return names.length ? names.join(', ') : 'none';
}
