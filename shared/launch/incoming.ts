import { readerOfLayer, type ImageLayer } from '../formats/registry';
import { shellQuote } from './shell';

/**
 * How QEMU reads the stream of an image as incoming migration, with nothing but the file
 * and standard tools: `exec:cat` for a bare stream, `tail -c +N` past a libvirt header (and
 * the same decompressor libvirt runs on restore), `file:` for mapped-ram (whose pages sit
 * at fixed file offsets). Each format says how its stream is read (FormatReader.incomingCommand).
 */
export interface IncomingImage {
  /** Absolute path of the image file. */
  path: string;
  layers: readonly ImageLayer[];
  /** File offset of stream byte 0 when the stream is stored as is. */
  streamBase?: number;
  /** The stream uses mapped-ram: QEMU must read it with file:, not through a pipe. */
  mappedRam: boolean;
  /** How to run migwb from a shell (for qcow2 snapshots): e.g. ["/usr/bin/node", "/opt/migwb/bin/migwb.js"]. */
  migwb: readonly string[];
}

export class IncomingError extends Error {}

export function incomingUri(image: IncomingImage): string {
  const outer = image.layers[0];
  const base = image.streamBase ?? 0;
  if (image.mappedRam) {
    if (image.streamBase === undefined) throw new IncomingError('a mapped-ram stream must be stored uncompressed in the file: QEMU reads its pages at fixed offsets');
    if (image.path.includes(',')) throw new IncomingError(`QEMU's file: URI cannot name a path with a comma: ${image.path}`);
    return base ? `file:${image.path},offset=${base}` : `file:${image.path}`;
  }
  const reader = outer && readerOfLayer(outer);
  if (!reader?.incomingCommand) return `exec:cat ${shellQuote(image.path)}`;
  const incoming = reader.incomingCommand(outer, image);
  if ('refusal' in incoming) throw new IncomingError(incoming.refusal);
  return `exec:${incoming.command}`;
}
