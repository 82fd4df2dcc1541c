import type { DisplayRequest, DisplayView, LibraryScreen } from '../../shared/api/contract';
import type { QemuStreamModel } from '../../shared/formats/qemu-stream/model';
import type { ByteSource } from '../../shared/io/byte-source';
import { decodedDisplay } from '../../shared/display/display-decoded';
import { decodedSpiceChannel } from '../../shared/display/spice-channels';
import { guestMemoryReader } from '../../shared/memory/guest-reader';
import { displayDevices } from '../../shared/display/devices';
import { scaleToFit } from '../../shared/display/thumbnail';
import { encodePng } from './png';
import { screenOfImage } from './screen-service';

/** An image's stream and its model: an opened file, or an open image's edited view. */
export interface ImageStream {
  source: ByteSource;
  model: QemuStreamModel;
  /** A libvirt save's domain XML: the only place the vmchannel ports are named. */
  domainXml?: string;
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');

/**
 * The Display tab's content: `migwb screen`'s description and picture (the same PNG bytes
 * `-o` writes) and the device's state as `migwb dump --decoded` explains it.
 */
export function displayView(image: ImageStream, request: DisplayRequest): DisplayView {
  const { description: d, framebuffer } = screenOfImage(image, { device: request.device ?? undefined, drawing: request.drawing });
  const drawn = d.device && displayDevices(image.model).find((x) => x.idstr === d.device!.idstr && x.instance === d.device!.instance);
  const decoded = drawn ? decodedDisplay(image.source, image.model, drawn.element) : undefined;
  return {
    device: d.device ?? null,
    devices: d.devices,
    drawnAs: d.drawnAs,
    mode: d.mode ?? null,
    sources: d.sources,
    notes: d.notes,
    reason: d.reason ?? null,
    width: d.width ?? null,
    height: d.height ?? null,
    png: framebuffer ? base64(encodePng(framebuffer)) : null,
    decoded: typeof decoded === 'object' ? decoded : null,
    decodedProblem: typeof decoded === 'string' ? decoded : null,
    channels: spiceChannelViews(image),
  };
}

/** The library's thumbnail box: a row shows it small, the grid at this size. */
export const THUMBNAIL_WIDTH = 240;
export const THUMBNAIL_HEIGHT = 180;

/** What the library stores of an image's screen: a thumbnail PNG, or why there is none. */
export type ScreenThumbnail = Omit<LibraryScreen, 'id' | 'png'> & { png: Uint8Array | null };

/**
 * An image's screen scaled down to the thumbnail box (the library's thumbnail worker). A
 * render that throws (an engine bug on a damaged image) becomes the reason.
 */
export function screenThumbnail(image: ImageStream): ScreenThumbnail {
  try {
    const { description: d, framebuffer } = screenOfImage(image);
    const mode = d.mode?.description ?? null;
    if (!framebuffer) return { png: null, width: null, height: null, mode, reason: d.reason ?? 'no picture' };
    return { png: encodePng(scaleToFit(framebuffer, THUMBNAIL_WIDTH, THUMBNAIL_HEIGHT)), width: framebuffer.width, height: framebuffer.height, mode, reason: null };
  } catch (e) {
    return { png: null, width: null, height: null, mode: null, reason: `the screen could not be drawn: ${(e as Error).message}` };
  }
}

/** Every virtio-serial controller's ports and usb-redir device, decoded as `migwb dump --decoded` does. */
function spiceChannelViews({ source, model, domainXml }: ImageStream) {
  const options = { guest: guestMemoryReader(source, model), domainXml };
  return model.elements.flatMap((e) => decodedSpiceChannel(source, model, e, options) ?? []);
}
