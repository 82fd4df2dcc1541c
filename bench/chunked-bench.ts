import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSectionFromChunks } from '../shared/formats/chunked/section-access';
import { openImage, openReadOnly } from '../electron/services/open-image';
import { packImage } from '../electron/services/pack-image';
import { unpackImage } from '../electron/services/unpack-image';
import { BIG_IMAGES, fmtMs, median, printTable, REPO, timeCommand, verdict, warm } from './lib';
import { scratchDir } from './ram-bench';

const MIGWB = path.join(REPO, 'bin', 'migwb.js');
const RUNS = 3;

/**
 * Issue #16 §5: `migwb pack` and `migwb unpack` of the 1 GiB image against `cat` of the same
 * file into the same folder (target: within 1.5x of cat), and reading a device section in the
 * middle of the packed image from its chunks alone, without a directory (target: < 20 ms).
 */
export async function chunkedBenchmark(): Promise<void> {
  const image = BIG_IMAGES.random1G;
  warm(image);
  const scratch = scratchDir('migwb-chunked-bench-');
  try {
    const packed = path.join(scratch, 'packed.migc');
    const out = path.join(scratch, 'out');
    const removeOut = () => fs.rmSync(out, { force: true });
    const cat = (file: string) => timeCommand('sh', ['-c', 'cat "$1" > "$2"', 'sh', file, out], RUNS, removeOut);

    const catImage = cat(image);
    const packCli = timeCommand(process.execPath, [MIGWB, 'pack', image, '-o', out], RUNS, removeOut);
    const packInProcess = await timeAsync(() => packImage(image, out), RUNS, removeOut);
    await packImage(image, packed);
    warm(packed);
    const catPacked = cat(packed);
    const unpackCli = timeCommand(process.execPath, [MIGWB, 'unpack', packed, '-o', out], RUNS, removeOut);
    const unpackInProcess = await timeAsync(() => unpackImage(packed, out), RUNS, removeOut);
    removeOut();

    const ratio = (ms: number, ref: number) => `${(ms / ref).toFixed(2)}x`;
    printTable(
      `Packing ${path.basename(image)} (${(fs.statSync(image).size / 2 ** 20).toFixed(0)} MiB) into a chunked container and unpacking it, vs cat of the same file, output in ${path.dirname(scratch)}, warm cache, medians of ${RUNS}`,
      ['operation', 'cat', 'migwb (whole process)', 'ratio', 'in process', 'ratio', 'target 1.5x'],
      [
        ['pack', fmtMs(catImage), fmtMs(packCli), ratio(packCli, catImage), fmtMs(packInProcess), ratio(packInProcess, catImage), verdict(packCli <= 1.5 * catImage)],
        ['unpack', fmtMs(catPacked), fmtMs(unpackCli), ratio(unpackCli, catPacked), fmtMs(unpackInProcess), ratio(unpackInProcess, catPacked), verdict(unpackCli <= 1.5 * catPacked)],
      ],
    );

    // The middle device section of the stream, by its name, as a user would ask for it.
    const original = openImage(image);
    const fulls = original.model.elements.filter((e) => e.type === 'FULL');
    original.close();
    const middle = fulls[Math.floor(fulls.length / 2)];
    const spec = `${middle.idstr}:${middle.instanceId}`;
    const section = timeSync(() => {
      const file = openReadOnly(packed);
      try {
        const got = readSectionFromChunks(file, spec);
        if (!got?.crcOk || !got.fields) throw new Error(`${spec} did not read from the chunks of ${packed}: ${got?.problem ?? 'not found'}`);
      } finally {
        file.close();
      }
    }, 30);
    const scan = timeSync(() => openImage(packed, { directory: 'ignore' }).close(), RUNS);
    printTable(
      `Reading device section ${spec} (${fulls.indexOf(middle) + 1} of ${fulls.length}, stream offset ${middle.offset}) from the packed image without a directory, warm cache, medians`,
      ['open the container and scan the whole stream', 'open, walk the chunk headers, read and decode the section', 'speed-up', '< 20 ms'],
      [[fmtMs(scan), fmtMs(section), `${(scan / section).toFixed(0)}x`, verdict(section < 20)]],
    );
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Median ms of `runs` runs after two warm-up runs for the JIT. */
function timeSync(fn: () => void, runs: number): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    if (i >= 2) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}

async function timeAsync(fn: () => Promise<unknown>, runs: number, beforeEach: () => void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    beforeEach();
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(times);
}
