import { PassThrough, Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import * as zlib from 'node:zlib';
// fzstd is small and the qcow2 engine loads it anyway; bzip2 and XZ (a WASM module) load
// only when a stream needs them.
import { Decompress as ZstdDecompress } from 'fzstd';
import type { LibvirtCompression } from '../../../shared/formats/container-model';
import { LzopDecoder } from '../../../shared/formats/libvirt/lzop';

export type StreamCompression = Exclude<LibvirtCompression, 'raw' | 'sparse'>;

/**
 * The decompressors libvirt runs on restore (`gzip -dc`, `bzip2 -dc`, `xz -dc`,
 * `lzop -dc`, `zstd -dc`), as streaming Node decoders from maintained libraries:
 * Node's zlib (gzip), unbzip2-stream (bzip2), xz-decompress (XZ Embedded in WASM),
 * fzstd (zstd), and our lzop framing over an LZO1X decoder. Memory stays at one
 * compressor block whatever the stream size.
 */
export function decompressingStream(compression: StreamCompression, input: Readable): Readable {
  switch (compression) {
    case 'gzip':
      return input.pipe(zlib.createGunzip());
    case 'bzip2': {
      // unbzip2-stream is a classic ("through") stream: give it a modern Readable face.
      const out = new PassThrough();
      const bz = (require('unbzip2-stream') as typeof import('unbzip2-stream'))();
      bz.on('error', (e: Error) => out.destroy(e));
      return input.pipe(bz).pipe(out);
    }
    case 'xz': {
      const { XzReadableStream } = require('xz-decompress') as typeof import('xz-decompress');
      const web = new XzReadableStream(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
      return Readable.fromWeb(web as unknown as WebReadableStream<Uint8Array>);
    }
    case 'zstd':
      return input.pipe(zstdTransform());
    case 'lzop':
      return input.pipe(lzopTransform());
  }
}

function zstdTransform(): Transform {
  let decoder: ZstdDecompress;
  let sawFinal = false;
  return new Transform({
    construct(callback) {
      decoder = new ZstdDecompress((data, final) => {
        if (data.length) this.push(Buffer.from(data.buffer, data.byteOffset, data.length));
        if (final) sawFinal = true;
      });
      callback();
    },
    transform(chunk: Buffer, _encoding, callback) {
      try {
        decoder.push(chunk);
        callback();
      } catch (e) {
        callback(e as Error);
      }
    },
    flush(callback) {
      try {
        decoder.push(new Uint8Array(0), true);
        callback(sawFinal ? null : new Error('the zstd data ends inside a frame (truncated)'));
      } catch (e) {
        callback(e as Error);
      }
    },
  });
}

function lzopTransform(): Transform {
  const decoder = new LzopDecoder();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        for (const block of decoder.push(chunk)) this.push(Buffer.from(block.buffer, block.byteOffset, block.length));
        callback();
      } catch (e) {
        callback(e as Error);
      }
    },
    flush(callback) {
      try {
        decoder.finish();
        callback();
      } catch (e) {
        callback(e as Error);
      }
    },
  });
}
