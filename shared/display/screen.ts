import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import { guestAddressesOf, machineLayout, type MachineLayout } from '../memory/layout';
import { pciConfigSpaces } from '../memory/pci-config';
import type { BlockMemory } from './block-memory';
import { renderBochsDisplay } from './bochs-display';
import { DeviceBlocks, deviceFields, displayDevices, type DisplayDevice, type DisplayKind } from './devices';
import { MissingField, type Fields } from './fields';
import type { Framebuffer } from './framebuffer';
import type { PixmanFormat } from './pixman';
import { renderQxl } from './qxl-render';
import { afterLoad, readVgaState } from './vga-state';
import { renderVga, type VgaDrawing, type VgaMode } from './vga-render';

export interface ScreenOptions {
  /** Which QEMU's drawing to follow where 7.2 and 9.0+ differ (default 10.0). */
  drawing?: VgaDrawing;
  /** The display device to draw, by idstr, short name or "idstr:instance" (default: the first, QEMU's console 0). */
  device?: string;
}

/** Where the picture's bytes are: a RAM block range, and the guest-physical address the guest sees it at (when a BAR maps it). */
export interface ScreenSource {
  what: string;
  block: string;
  offset: number;
  length: number;
  gpa?: number;
}

export interface ScreenMode {
  kind: 'text' | 'graphics' | 'blank' | 'qxl-native';
  width: number;
  height: number;
  depth: number;
  description: string;
  details: Record<string, unknown>;
}

export interface DisplayDeviceSummary {
  idstr: string;
  instance: number;
  kind: DisplayKind;
  name: string;
}

export interface Screen {
  /** Whose VGA drawing was followed (ScreenOptions.drawing). */
  drawnAs: VgaDrawing;
  /** The device drawn (undefined when the image has no display device). */
  device?: DisplayDeviceSummary;
  devices: DisplayDeviceSummary[];
  mode?: ScreenMode;
  sources: ScreenSource[];
  /** The picture, or undefined with `reason` saying in one line why there is none. */
  framebuffer?: Framebuffer;
  reason?: string;
  notes: string[];
}

/** What a device renderer returns; screen() adds the device and the guest addresses. */
export interface DeviceRender {
  mode?: ScreenMode;
  sources: ScreenSource[];
  framebuffer?: Framebuffer;
  reason?: string;
  notes: string[];
}

/** Everything a device renderer may need, built once per call. */
export interface RenderContext {
  source: ByteSource;
  model: QemuStreamModel;
  device: DisplayDevice;
  fields: Fields;
  drawing: VgaDrawing;
  layout(): MachineLayout | undefined;
  pciConfig(): ReadonlyMap<string, Uint8Array>;
  block(name: string): BlockMemory | undefined;
}

/**
 * The guest's screen as QEMU would draw it right after loading the image (the first display
 * update of the destination), from the display device's registers and video RAM blocks.
 */
export function screen(source: ByteSource, model: QemuStreamModel, options: ScreenOptions = {}): Screen {
  const devices = displayDevices(model);
  const summaries = devices.map(summary);
  const device = pickDevice(devices, options.device);
  const drawnAs = options.drawing ?? '10.0';
  const empty: Screen = { drawnAs, devices: summaries, sources: [], notes: [] };
  if (!device) {
    if (options.device) return { ...empty, reason: `no display device ${options.device} in this image (display devices: ${summaries.map((d) => d.idstr).join(', ') || 'none'})` };
    return { ...empty, reason: 'the image has no display device (no vga, qxl, bochs-display or other display section), so there is no screen to draw' };
  }
  const fields = deviceFields(source, model, device);
  if (typeof fields === 'string') return { ...empty, device: summary(device), reason: fields };
  let pci: Map<string, Uint8Array> | undefined;
  let layout: MachineLayout | undefined | null = null;
  const blocks = new DeviceBlocks(source, model, device);
  const ctx: RenderContext = {
    source,
    model,
    device,
    fields,
    drawing: drawnAs,
    pciConfig: () => (pci ??= pciConfigSpaces(source, model)),
    layout: () => (layout === null ? (layout = machineLayout(model, { pciConfig: ctx.pciConfig() })) : layout),
    block: (name) => blocks.get(name),
  };
  let out: DeviceRender;
  try {
    out = renderDevice(ctx);
  } catch (e) {
    if (!(e instanceof MissingField)) throw e;
    out = { sources: [], notes: [], reason: `${device.idstr}: ${e.message}; this QEMU version's device state is not understood` };
  }
  const notes = [...out.notes];
  notes.push(...blocks.problemSummary());
  return { drawnAs, device: summary(device), devices: summaries, mode: out.mode, sources: out.sources.map((s) => withGpa(ctx, s)), framebuffer: out.framebuffer, reason: out.reason, notes };
}

function renderDevice(ctx: RenderContext): DeviceRender {
  switch (ctx.device.kind) {
    case 'vga':
      return renderVgaDevice(ctx, ctx.fields.findStruct('vga') ?? ctx.fields, 'vga.vram', undefined, () => true);
    case 'qxl':
      return renderQxl(ctx);
    case 'bochs-display':
      return renderBochsDisplay(ctx);
    case 'virtio-vga': {
      const out = renderVgaDevice(ctx, ctx.fields.findStruct('vga') ?? ctx.fields, 'vga.vram', undefined, () => true);
      out.notes.push('virtio-vga: this is its VGA part; once the guest\'s virtio-gpu driver sets a scanout, QEMU shows that instead, which migwb does not draw');
      return out;
    }
    default:
      return { sources: [], notes: [], reason: `${ctx.device.name} (${ctx.device.idstr}): drawing this device is not supported; its registers are shown by "migwb dump"` };
  }
}

/**
 * A device with QEMU's VGA core (std VGA, the VGA side of QXL and virtio-vga). `vbeSize` is
 * what VBE modes may address (the VRAM, or QXL's vgamem); `acceptsFormat` what the console's
 * listeners take as a shared surface.
 */
export function renderVgaDevice(ctx: RenderContext, vgaFields: Fields, blockName: string, vbeSize: number | undefined, acceptsFormat: (f: PixmanFormat) => boolean): DeviceRender {
  const vram = ctx.block(blockName);
  if (!vram) return { sources: [], notes: [], reason: `${ctx.device.idstr} has no ${blockName} RAM block in this image, so its video memory is missing` };
  const saved = readVgaState(vgaFields);
  const regs = afterLoad(saved);
  const r = renderVga({ regs, vram, vramSize: vram.size, vbeSize: vbeSize ?? vram.size, drawing: ctx.drawing, acceptsFormat });
  const mode = r.mode && toScreenMode(r.mode);
  const sources = r.mode ? vgaSources(vram, r.mode) : [];
  if ('reason' in r) return { mode, sources, reason: r.reason, notes: [] };
  return { mode, sources, framebuffer: r.framebuffer, notes: r.notes };
}

function toScreenMode(m: VgaMode): ScreenMode {
  return { kind: m.kind, width: m.width, height: m.height, depth: m.depth, description: m.description, details: { start: m.start, line_offset: m.lineOffset, line_compare: m.lineCompare, ...m.details } };
}

function vgaSources(vram: BlockMemory, m: VgaMode): ScreenSource[] {
  if (m.kind === 'text') {
    const rows = Number(m.details.rows);
    const out: ScreenSource[] = [{ what: 'characters and attributes (planes 0 and 1, 4 bytes per cell)', block: vram.id, offset: m.start, length: rows * m.lineOffset }];
    const fonts = [...new Set(m.details.font_offsets as number[])];
    for (const f of fonts) out.push({ what: 'font (plane 2, 32 rows of 4 bytes per glyph)', block: vram.id, offset: f, length: 256 * 32 * 4 });
    return out;
  }
  if (m.kind === 'graphics') return [{ what: 'framebuffer', block: vram.id, offset: m.start, length: m.height * m.lineOffset }];
  return [];
}

function withGpa(ctx: RenderContext, s: ScreenSource): ScreenSource {
  const layout = ctx.layout();
  const block = ctx.model.ramBlocks.findIndex((b) => b.id === s.block);
  if (!layout || block < 0) return s;
  const [gpa] = guestAddressesOf(layout, block, s.offset);
  return gpa === undefined ? s : { ...s, gpa };
}

function summary(d: DisplayDevice): DisplayDeviceSummary {
  return { idstr: d.idstr, instance: d.instance, kind: d.kind, name: d.name };
}

function pickDevice(devices: DisplayDevice[], spec: string | undefined): DisplayDevice | undefined {
  if (!spec) return devices[0];
  const exact = devices.filter((d) => d.idstr === spec);
  if (exact.length) return exact[0];
  const m = /^(.*):(\d+)$/.exec(spec);
  if (m) {
    const hit = devices.find((d) => (d.idstr === m[1] || d.idstr.endsWith(`/${m[1]}`) || d.kind === m[1]) && d.instance === Number(m[2]));
    if (hit) return hit;
  }
  return devices.find((d) => d.idstr.endsWith(`/${spec}`) || d.kind === spec);
}
