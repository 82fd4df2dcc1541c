import { storedPlain, type LibvirtCompression } from '../formats/libvirt/layer';
import type { ImageLayer } from '../formats/registry';
import { shellCommand, shellQuote } from './shell';

/**
 * How QEMU reads the stream of an image as incoming migration, with nothing but the file
 * and standard tools: `exec:cat` for a bare stream, `tail -c +N` past a libvirt header (and
 * the same decompressor libvirt runs on restore), `file:` for mapped-ram (whose pages sit
 * at fixed file offsets). A qcow2 snapshot's vmstate is scattered over clusters, and a
 * chunked container's stream is split into chunks, so migwb itself streams those.
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

const DECOMPRESSORS: Partial<Record<LibvirtCompression, string>> = {
  gzip: 'gzip -dc',
  bzip2: 'bzip2 -dc',
  xz: 'xz -dc',
  lzop: 'lzop -dc --ignore-warn',
  zstd: 'zstd -dc',
};

export class IncomingError extends Error {}

export function incomingUri(image: IncomingImage): string {
  const outer = image.layers[0];
  const base = image.streamBase ?? 0;
  if (image.mappedRam) {
    if (image.streamBase === undefined) throw new IncomingError('a mapped-ram stream must be stored uncompressed in the file: QEMU reads its pages at fixed offsets');
    if (image.path.includes(',')) throw new IncomingError(`QEMU's file: URI cannot name a path with a comma: ${image.path}`);
    return base ? `file:${image.path},offset=${base}` : `file:${image.path}`;
  }
  if (!outer) return `exec:cat ${shellQuote(image.path)}`;
  if (outer.kind === 'qcow2') {
    const snapshot = outer.snapshots[outer.selected];
    return `exec:${shellCommand([...image.migwb, 'stream', '--snapshot', snapshot.id, image.path])}`;
  }
  // A chunked container's stream is its chunks' payloads in order: migwb unpack writes it.
  if (outer.kind === 'chunked-container') return `exec:${shellCommand([...image.migwb, 'unpack', image.path, '-o', '-'])}`;
  const tail = `tail -c +${outer.stream.offset + 1} ${shellQuote(image.path)}`;
  if (storedPlain(outer)) return `exec:${tail}`;
  const decompress = outer.storedAs === 'unknown' ? undefined : DECOMPRESSORS[outer.storedAs];
  if (!decompress) throw new IncomingError(`no decompressor is known for a ${outer.storedAs} libvirt stream`);
  return `exec:${tail} | ${decompress}`;
}
