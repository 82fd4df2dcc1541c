import * as fs from 'node:fs';
import * as path from 'node:path';
import { displayView } from '../electron/display/display-view';
import { encodePng } from '../electron/display/png';
import { screenOfImage } from '../electron/display/screen-service';
import { openImage } from '../electron/services/open-image';
import { buildBootDisk, haveAssembler, tempDir } from '../test/helpers/boot-program';
import { haveQemu, loadInQemu } from '../test/helpers/qemu';
import { bootGuest, nextStep, saveGuest, waitStep } from '../test/helpers/screens';
import { VGA_PROGRAM, VGA_STEPS } from '../test/display/guests';
import { BENCH_DIR, fmtMs, median, printTable, verdict } from './lib';

const TARGET_MS = 50;
const RUNS = 30;
const VBE_STEP = VGA_STEPS.findIndex((s) => s.name === 'VBE 1024x768x32');
const MACHINE = ['-M', 'pc', '-m', '32M', '-vga', 'std', '-serial', 'null', '-drive', 'file=vga.img,format=raw,if=ide'];

/**
 * Issue #17: drawing a 1024×768×32 screen takes under 50 ms. The image is real: the screen
 * tests' std-VGA guest (test/display/guests.ts) booted in QEMU 7.2, walked to its Bochs VBE
 * 1024x768x32 step and saved (once, kept in the bench folder). Measured in-process on the
 * open image: the render alone (what the target is about), the PNG the CLI writes, and the
 * Display tab's whole answer (render, PNG, decoded registers); QEMU's own screendump of the
 * same image loaded with -incoming is the reference.
 */
export async function displayBenchmark(): Promise<void> {
  if (VBE_STEP < 0) throw new Error('the VGA guest has no VBE 1024x768x32 step');
  if (!haveQemu('7.2') || !haveAssembler()) {
    console.log('\ndisplay: skipped (needs QEMU 7.2 and binutils to make the 1024x768x32 guest)');
    return;
  }
  const { image, disk } = await vbeImage();
  const img = openImage(image);
  let render: number[];
  let png: number[];
  let tab: number[];
  let size = '';
  try {
    const first = screenOfImage(img);
    if (!first.framebuffer) throw new Error(`the bench image has no picture: ${first.description.reason}`);
    size = `${first.framebuffer.width}x${first.framebuffer.height}, ${first.description.mode?.description}`;
    if (first.framebuffer.width !== 1024 || first.framebuffer.height !== 768 || first.description.mode?.depth !== 32) throw new Error(`the bench image shows ${size}, not 1024x768x32`);
    render = timed(() => screenOfImage(img));
    png = timed(() => encodePng(first.framebuffer!));
    tab = timed(() => displayView(img, { device: null, drawing: '10.0' }));
  } finally {
    img.close();
  }
  const qemu = await qemuScreendumps(image, disk);
  printTable(
    `Drawing a 1024x768x32 screen (${size}) from a saved std-VGA guest, in process, ${RUNS} runs each; QEMU 7.2's screendump of the loaded image as the reference`,
    ['render median', 'render worst', 'target < 50 ms', 'PNG median', 'Display tab median', 'Display tab worst', 'QEMU screendump median', 'screendump ÷ render'],
    [
      [
        fmtMs(median(render)),
        fmtMs(Math.max(...render)),
        verdict(median(render) < TARGET_MS),
        fmtMs(median(png)),
        fmtMs(median(tab)),
        fmtMs(Math.max(...tab)),
        qemu.length ? fmtMs(median(qemu)) : 'n/a',
        qemu.length ? `${(median(qemu) / median(render)).toFixed(1)}x` : 'n/a',
      ],
    ],
  );
}

function timed(work: () => unknown): number[] {
  work(); // warm: the first call compiles the drawing code
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    work();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

/** The saved 1024x768x32 guest, made once (about half a minute of QEMU) and kept beside the other bench images. */
async function vbeImage(): Promise<{ image: string; disk: string }> {
  const dir = path.join(BENCH_DIR, 'display');
  const image = path.join(dir, 'vga-vbe-1024x768x32.mig');
  const disk = path.join(dir, 'vga.img');
  if (fs.existsSync(image) && fs.existsSync(disk)) return { image, disk };
  console.log(`making the display benchmark's guest in ${dir} (QEMU 7.2)`);
  fs.mkdirSync(dir, { recursive: true });
  const work = tempDir('migwb-bench-display-');
  try {
    const built = buildBootDisk(work, 'vga', VGA_PROGRAM);
    const guest = await bootGuest('7.2', MACHINE, built);
    try {
      for (let step = 0; step < VBE_STEP; step++) {
        await waitStep(guest.qmp, step);
        await nextStep(guest.qmp);
      }
      await waitStep(guest.qmp, VBE_STEP);
      const partial = path.join(work, 'vbe.mig');
      await saveGuest(guest.qmp, partial);
      fs.copyFileSync(built, disk);
      fs.renameSync(partial, image);
    } finally {
      await guest.quit();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return { image, disk };
}

/** QEMU's screendump of the image loaded with -incoming (render and PPM write), timed through QMP. */
async function qemuScreendumps(image: string, disk: string): Promise<number[]> {
  const loaded = await loadInQemu({ version: '7.2', image, args: [...MACHINE, '-display', 'none', '-nic', 'none'], files: [disk] });
  const times: number[] = [];
  const scratch = tempDir('migwb-bench-screendump-');
  try {
    if (!loaded.loaded || !loaded.qmp) {
      console.log(`display: QEMU 7.2 did not load the bench image (${loaded.status}); no reference`);
      return [];
    }
    const out = path.join(scratch, 'screen.ppm');
    await loaded.qmp.execute('screendump', { filename: out });
    for (let i = 0; i < 10; i++) {
      const t0 = process.hrtime.bigint();
      await loaded.qmp.execute('screendump', { filename: out });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    await loaded.quit();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return times;
}
