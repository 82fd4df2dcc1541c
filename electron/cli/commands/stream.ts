import * as fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { ByteSource } from '../../../shared/io/byte-source';
import type { CliIO } from '../output';
import { UserError } from '../../services/user-error';
import { openForCommand } from './open-with-progress';

const CHUNK = 1 << 20;

/**
 * The QEMU stream of any image, byte for byte, to stdout or a file: what QEMU reads with
 * `-incoming "exec:migwb stream IMAGE"` (a qcow2 snapshot's vmstate is scattered over
 * clusters, a libvirt stream may be compressed) and what analyze-migration.py reads.
 */
export function registerStream(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('stream')
    .description("write an image's QEMU migration stream (a libvirt save's, decompressed; a qcow2 snapshot's vmstate) to stdout or a file")
    .argument('<image>', 'image file')
    .option('-o, --output <file>', 'write to this file instead of stdout (never the image itself)')
    .option('--snapshot <name|id>', 'qcow2: the internal snapshot (default: the newest with a VM state)')
    .action(async (image: string, opts: { output?: string; snapshot?: string }) => {
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      try {
        if (opts.output) {
          if (fs.existsSync(opts.output) && fs.realpathSync(opts.output) === fs.realpathSync(image)) throw new UserError('the output must not be the image itself');
          const out = fs.createWriteStream(opts.output);
          await copySource(img.source, out);
          await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
        } else {
          await copySource(img.source, process.stdout);
        }
      } finally {
        img.close();
      }
      setExit(0);
    });
}

/** Copies a ByteSource to a writable stream in 1 MiB pieces, waiting for the reader (a pipe to QEMU). */
export async function copySource(source: ByteSource, out: Writable): Promise<void> {
  for (let at = 0; at < source.size; at += CHUNK) {
    const chunk = new Uint8Array(Math.min(CHUNK, source.size - at));
    let done = 0;
    while (done < chunk.length) {
      const n = source.readInto(chunk, done, chunk.length - done, at + done);
      if (n <= 0) throw new Error(`the stream ended at ${at + done} of ${source.size} bytes`);
      done += n;
    }
    if (!out.write(chunk)) await new Promise<void>((resolve, reject) => {
      out.once('drain', resolve);
      out.once('error', reject);
    });
  }
}
