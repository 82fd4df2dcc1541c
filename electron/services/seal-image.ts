import * as fs from 'node:fs';
import * as path from 'node:path';

import { describedStreamLength, encodeDirectory } from '../../shared/formats/section-directory/section-directory';
import { writeAll, writeFileAtomic } from '../io/atomic-file';
import { checkOutputs } from '../io/output-paths';
import { imageIdentity } from './image-identity';
import { loadStreamDetailed, SIDECAR_SUFFIX, type LoadedVia } from './load-stream';
import { attachContainer, describeContainer, type StreamInFile } from './open-container';
import { openReadOnly } from './open-image';
import type { SealJob } from './seal-worker';
import { UserError } from './user-error';
import { compiledWorker, runWorkerJob, type JobControls } from './worker-job';
import { packageVersion } from '../build-paths';

export type SealTarget = { kind: 'copy'; output: string; overwrite?: boolean } | { kind: 'sidecar' };

export interface SealResult {
  /** The file written: the sealed copy, or IMAGE.migdir. */
  written: string;
  kind: SealTarget['kind'];
  /** Bytes of the stream the directory describes. */
  streamLength: number;
  directoryLength: number;
  elements: number;
  pageRuns: number;
  /** How the model was obtained (an earlier directory is reused when it is sound). */
  modelVia: LoadedVia;
}

const COPY_CHUNK = 4 << 20;

/** The tool named in every directory it writes. */
export function sealedBy(): string {
  return `migwb ${packageVersion()}`;
}

/**
 * Writes a section directory for an image: appended to a copy (`copy`), or as IMAGE.migdir
 * beside the untouched original (`sidecar`). The original is only ever read. `onProgress`
 * reports bytes scanned and copied; throwing from it cancels (nothing is left behind).
 */
export function sealImage(image: string, target: SealTarget, onProgress?: (done: number, total: number) => void): SealResult {
  const file = openReadOnly(image);
  let attached: StreamInFile | undefined;
  try {
    const container = describeContainer(image, file);
    attached = attachContainer(image, file, container);
    const { stream } = attached;
    const { model, via } = loadStreamDetailed(stream, { imagePath: image, onProgress });
    const streamLength = describedStreamLength(model);
    const common = { streamLength, elements: model.elements.filter((e) => e.type !== 'DIRECTORY').length, pageRuns: model.pages.runCount, modelVia: via };
    if (target.kind === 'sidecar') {
      if (streamLength !== stream.size) throw new UserError(`${image} already ends with a section directory; a sidecar is for images that must stay unchanged`);
      const bytes = encodeDirectory(model, { placedAt: 0, sealedBy: sealedBy(), image: imageIdentity(image) });
      const out = image + SIDECAR_SUFFIX;
      checkOutputs([{ path: image, role: 'the image' }], [{ path: out, role: 'the sidecar' }]);
      writeFileAtomic(out, (fd) => writeAll(fd, bytes));
      return { written: out, kind: 'sidecar', directoryLength: bytes.length, ...common };
    }
    if (container.layers.length > 0) {
      throw new UserError(`${image} is a ${container.kind}; a directory can only be appended to a bare QEMU stream. Use --sidecar to write ${path.basename(image)}${SIDECAR_SUFFIX} beside it`);
    }
    if (!model.sawEof) {
      throw new UserError(`${image} has no QEMU_VM_EOF (it is cut short or damaged); appending a directory would make other tools read it as stream data. Use --sidecar instead`);
    }
    checkOutput(image, target.output, target.overwrite);
    const bytes = encodeDirectory(model, { placedAt: streamLength, sealedBy: sealedBy() });
    writeFileAtomic(target.output, (fd) => {
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      for (let pos = 0; pos < streamLength; ) {
        const n = stream.readInto(buf, 0, Math.min(COPY_CHUNK, streamLength - pos), pos);
        if (n <= 0) throw new Error(`${image} changed while it was being copied (it ended at ${pos} bytes)`);
        writeAll(fd, buf.subarray(0, n));
        pos += n;
        onProgress?.(pos, streamLength);
      }
      writeAll(fd, bytes);
    });
    return { written: target.output, kind: 'copy', directoryLength: bytes.length, ...common };
  } finally {
    attached?.close();
    file.close();
  }
}

/**
 * sealImage in a worker thread, for the GUI and the CLI: progress in bytes, and an
 * AbortSignal that stops it with nothing written (resolves to "cancelled").
 */
export function sealImageInWorker(image: string, target: SealTarget, controls: JobControls<{ done: number; total: number }> = {}): Promise<SealResult | 'cancelled'> {
  return runWorkerJob<SealJob, SealResult | 'cancelled', { done: number; total: number }>(compiledWorker('services/seal-worker.js'), { image, target }, controls);
}

function checkOutput(image: string, output: string, overwrite: boolean | undefined): void {
  checkOutputs([{ path: image, role: 'the image' }], [{ path: output, role: '-o' }]);
  if (fs.existsSync(output)) {
    if (fs.statSync(output).isDirectory()) throw new UserError(`${output} is a directory; give the path of the file to write`);
    if (!overwrite) throw new UserError(`${output} already exists; use --force to replace it`);
  }
  const dir = path.dirname(path.resolve(output));
  if (!fs.existsSync(dir)) throw new UserError(`${dir} does not exist; create it first or choose another output path`);
}

