import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChunkedPacker } from '../../shared/formats/chunked/packer';
import { walkContainer } from '../../shared/formats/chunked/walk';
import type { ChunkedLayer } from '../../shared/formats/chunked/layer';
import { MemorySource } from '../../shared/io/byte-source';
import type { Diagnostic } from '../../shared/diagnostics';

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `migwb-${prefix}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Packs stream bytes in memory, pushed in blocks of the given sizes (cycled). */
export function packBytes(stream: Uint8Array, options: { chunkSize?: number; blocks?: number[]; about?: Uint8Array[] } = {}): Buffer {
  const out: Uint8Array[] = [];
  const packer = new ChunkedPacker({ source: 'qemu-migration-stream' }, (parts) => {
    for (const p of parts) out.push(p.slice());
  }, options.chunkSize);
  const sizes = options.blocks ?? [1 << 20];
  for (let at = 0, i = 0; at < stream.length; i++) {
    const n = sizes[i % sizes.length];
    packer.push(stream.subarray(at, at + n));
    at += n;
  }
  packer.finish(options.about);
  return Buffer.concat(out);
}

/** The container's walk: its chunks and problems. */
export function walk(container: Uint8Array): { layer: ChunkedLayer; diagnostics: Diagnostic[] } {
  return walkContainer(new MemorySource(container));
}

/** The stream a container holds: its stream chunks' data, in order. */
export function streamOf(container: Buffer): Buffer {
  const { layer } = walk(container);
  return Buffer.concat(layer.chunks.filter((c) => c.stream !== undefined).map((c) => container.subarray(c.offset + 8, c.offset + 8 + c.present)));
}
