import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import * as zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { XzReadableStream } from 'xz-decompress';
import type { LibvirtCompression } from '../../../shared/formats/libvirt/layer';
import { LzopDecoder } from '../../../shared/formats/libvirt/lzop';
import { ZstdFraming } from '../../../shared/formats/libvirt/zstd-framing';
import { bzip2Blocks } from './bzip2-blocks';

export type StreamCompression = Exclude<LibvirtCompression, 'raw' | 'sparse'>;

/**
 * The decompressors libvirt runs on restore (`gzip -dc`, `bzip2 -dc`, `xz -dc`,
 * `lzop -dc`, `zstd -dc`), as streaming decoders from maintained libraries: Node's zlib
 * (gzip), unbzip2-stream's block decoder (bzip2), xz-decompress (XZ Embedded in WASM),
 * fzstd (zstd), and our lzop framing over an LZO1X decoder.
 *
 * Every decoder is pulled: the next piece of output is produced only when the consumer
 * asks for it, and one step never produces more than one compressor block (zstd: one block
 * of at most 128 KiB; bzip2: one block; lzop: one block of at most 64 MiB; gzip and xz:
 * their own bounded buffers). So a decompression bomb costs time, which the consumer
 * bounds, and never memory.
 */
export function decompressedChunks(compression: StreamCompression, input: Readable): AsyncIterable<Uint8Array> {
  switch (compression) {
    case 'gzip':
      return input.pipe(zlib.createGunzip());
    case 'bzip2':
      return bzip2Blocks(input);
    case 'xz': {
      const web = new XzReadableStream(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
      return Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>);
    }
    case 'zstd':
      return zstdBlocks(input);
    case 'lzop':
      return lzopBlocks(input);
  }
}

/** zstd, fed to fzstd one frame header or block at a time (ZstdFraming), so each step decodes at most one block. */
async function* zstdBlocks(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const framing = new ZstdFraming();
  let out: Uint8Array[] = [];
  let frames = 0;
  const decoder = new ZstdDecompress((data) => {
    if (data.length) out.push(data);
  });
  for await (const chunk of input) {
    framing.append(chunk);
    for (let piece = framing.next(); piece; piece = framing.next()) {
      decoder.push(piece);
      if (framing.atFrameBoundary) frames++;
      if (out.length) {
        const ready = out;
        out = [];
        yield* ready;
      }
    }
  }
  if (!framing.atFrameBoundary || frames === 0) throw new Error('the zstd data ends inside a frame (truncated)');
}

async function* lzopBlocks(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const decoder = new LzopDecoder();
  for await (const chunk of input) {
    decoder.append(chunk);
    for (let block = decoder.next(); block; block = decoder.next()) yield block;
  }
  decoder.finish();
}
