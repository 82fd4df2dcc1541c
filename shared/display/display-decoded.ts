import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel, StreamElement } from '../formats/qemu-stream/model';
import { group, hex, type DecodedDevice, type DecodedItem } from './decoded';
import { DeviceBlocks, deviceFields, displayDevices } from './devices';
import { MissingField, type Fields } from './fields';
import { qxlGuestItems, qxlGuestState } from './qxl-decoded';
import { hasVga, QXL_MODES, readQxlState } from './qxl-state';
import { screen } from './screen';
import { readVgaState, VBE, vbeEnabled, type VgaSavedState } from './vga-state';

/** Register names as the VGA programming references give them (vga_regs.h indices). */
const SR_NAMES = ['reset', 'clocking mode', 'map mask', 'character map select', 'memory mode'];
const GR_NAMES = ['set/reset', 'enable set/reset', 'colour compare', 'data rotate', 'read map select', 'graphics mode', 'miscellaneous', "colour don't care", 'bit mask'];
const CR_NAMES = [
  'horizontal total', 'horizontal display end', 'start horizontal blanking', 'end horizontal blanking', 'start horizontal retrace', 'end horizontal retrace',
  'vertical total', 'overflow', 'preset row scan', 'maximum scan line', 'cursor start', 'cursor end', 'start address high', 'start address low',
  'cursor location high', 'cursor location low', 'vertical retrace start', 'vertical retrace end', 'vertical display end', 'offset', 'underline location',
  'start vertical blanking', 'end vertical blanking', 'mode control', 'line compare',
];
const AR_NAMES: Record<number, string> = { 0x10: 'mode control', 0x11: 'overscan colour', 0x12: 'colour plane enable', 0x13: 'horizontal pel panning', 0x14: 'colour select' };
const VBE_NAMES = ['id', 'xres', 'yres', 'bpp', 'enable', 'bank', 'virt_width', 'virt_height', 'x_offset', 'y_offset'];

/**
 * The display state of the display-device sections among `elements`, by meaning: the mode
 * the registers imply (as `migwb screen` draws it), every VGA register by name with its
 * stream offset, the Bochs VBE registers, and for QXL its mode, primary surface and slots.
 * undefined for a section that is no display device.
 */
export function decodedDisplay(source: ByteSource, model: QemuStreamModel, element: StreamElement): DecodedDevice | string | undefined {
  const device = displayDevices(model).find((d) => d.element === element);
  if (!device) return undefined;
  const fields = deviceFields(source, model, device);
  if (typeof fields === 'string') return fields;
  const shown = screen(source, model, { device: `${device.idstr}:${device.instance}` });
  const items: DecodedItem[] = [
    shown.mode
      ? { label: 'mode', value: shown.mode.description, meaning: shown.framebuffer ? `${shown.framebuffer.width}x${shown.framebuffer.height} pixels on the screen` : undefined, problem: shown.reason }
      : { label: 'mode', value: 'none', problem: shown.reason },
  ];
  try {
    if (device.kind === 'qxl') items.push(...qxlItems(fields, new DeviceBlocks(source, model, device)));
    // A secondary qxl carries VGA state in its section that no VGA ever uses: not shown.
    const vgaUnused = device.kind === 'qxl' && !hasVga(readQxlState(fields).config);
    const vga = vgaUnused ? undefined : (fields.findStruct('vga') ?? (device.kind === 'vga' ? fields : undefined));
    if (vga) items.push(...vgaItems(readVgaState(vga)));
    if (device.kind === 'bochs-display') items.push(vbeItems(fields.arrayInts('vbe_regs'), fields.offsetOf('vbe_regs')));
  } catch (e) {
    if (!(e instanceof MissingField)) throw e;
    items.push({ label: 'registers', problem: e.message });
  }
  return { section: device.idstr, title: device.name, items };
}

function register(prefix: string, index: number, value: number, name: string | undefined, offset: number | undefined): DecodedItem {
  return { label: `${prefix}${index.toString(16).padStart(2, '0').toUpperCase()}${name ? ` ${name}` : ''}`, value: hex(value, 2), offset };
}

function registers(prefix: string, values: Uint8Array, names: (i: number) => string | undefined, count: number, offset: number | undefined): DecodedItem[] {
  return Array.from({ length: count }, (_, i) => register(prefix, i, values[i], names(i), offset === undefined ? undefined : offset + i));
}

function vgaItems(s: VgaSavedState): DecodedItem[] {
  const o = s.offsets;
  const dac = Array.from({ length: 256 }, (_, i) => s.palette.subarray(i * 3, i * 3 + 3));
  return [
    { label: 'miscellaneous output', value: hex(s.msr, 2), meaning: s.msr & 1 ? 'colour (CRTC at 0x3d4)' : 'monochrome (CRTC at 0x3b4)', offset: o.msr },
    group('sequencer', registers('SR', s.sr, (i) => SR_NAMES[i], 5, o.sr)),
    group('graphics controller', registers('GR', s.gr, (i) => GR_NAMES[i], 9, o.gr), { meaning: s.gr[6] & 1 ? 'graphics mode' : 'text mode' }),
    group('CRT controller', registers('CR', s.cr, (i) => CR_NAMES[i], 25, o.cr)),
    group('attribute controller', [
      { label: 'index', value: hex(s.arIndex, 2), meaning: s.arIndex & 0x20 ? 'display on (palette address source set)' : 'display off (palette access)' },
      ...registers('AR', s.ar, (i) => (i < 16 ? `palette ${i}` : AR_NAMES[i]), 21, o.ar),
    ]),
    group(
      'DAC palette (6-bit red, green, blue)',
      dac.map((c, i) => ({ label: `${i}`, value: `${c[0]} ${c[1]} ${c[2]}`, offset: o.palette === undefined ? undefined : o.palette + i * 3 })),
    ),
    vbeItems(s.vbeRegs, o.vbe_regs, vbeEnabled(s) ? `enabled: ${s.vbeRegs[VBE.XRES]}x${s.vbeRegs[VBE.YRES]}x${s.vbeRegs[VBE.BPP]}, start ${hex(s.vbeStartAddr)}, line ${s.vbeLineOffset} bytes` : 'disabled (VGA modes)'),
  ];
}

function vbeItems(regs: number[], offset: number | undefined, meaning?: string): DecodedItem {
  return group('Bochs VBE (dispi) registers', regs.map((v, i) => ({ label: VBE_NAMES[i] ?? `${i}`, value: hex(v, 4), offset: offset === undefined ? undefined : offset + 2 * i })), { meaning });
}

function qxlItems(f: Fields, blocks: DeviceBlocks): DecodedItem[] {
  const s = readQxlState(f);
  const guest = qxlGuestState(s, blocks);
  const p = s.primary;
  return [
    { label: 'QXL mode', value: `${s.mode}`, meaning: QXL_MODES[s.mode] ?? 'unknown', offset: s.offsets.mode },
    group('primary surface (create parameters)', [
      { label: 'width', value: `${p.width}` },
      { label: 'height', value: `${p.height}` },
      { label: 'stride', value: `${p.stride}`, meaning: p.stride < 0 ? 'bottom-up' : undefined },
      { label: 'format', value: `${p.format}` },
      { label: 'mem', value: hex(p.mem), meaning: `slot ${Number(p.mem >> 56n)}, offset ${hex(p.mem & 0xffffffffffffn)}` },
    ], { offset: s.offsets['guest_primary.surface'] }),
    group('memory slots', guest.memory.slots.filter((x) => x.active).map((x) => ({ label: `slot ${x.id}`, value: `${hex(x.memStart)}-${hex(x.memEnd)}`, meaning: x.block ? `guest-physical range: BAR ${x.bar}, ${x.block.id} from ${hex(x.blockOffset!)}` : 'guest-physical range', problem: x.problem })), { offset: s.offsets.guest_slots }),
    ...qxlGuestItems(guest, s.offsets.guest_cursor),
  ];
}
