import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { hexAddress } from '../../memory/addresses';
import { UserError } from '../../services/user-error';
import { screenOfImage, writeScreenPng, type ScreenReport } from '../../display/screen-service';
import { checkOutputs } from '../../io/output-paths';
import { printable } from '../format';
import { printJson, type CliIO } from '../output';
import { openForCommand } from './open-with-progress';

interface ScreenCommandOptions {
  output?: string;
  json?: boolean;
  device?: string;
  asQemu?: string;
  snapshot?: string;
}

export function registerScreen(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('screen')
    .description("the guest's screen as QEMU would draw it on loading the image (VGA text and graphics, Bochs VBE, bochs-display, QXL)")
    .argument('<image>', 'image file')
    .option('-o, --output <file.png>', 'write the picture as a PNG file')
    .option('--json', 'describe the mode (device, size, depth, where the pixels are) as JSON')
    .option('--device <name>', 'the display device to draw when there are several (idstr, short name, or name:instance)')
    .option('--as-qemu <version>', 'where QEMU 7.2 and 9.0+ draw VGA modes differently (pel panning, 256 KiB wrap): 7.2 or 10.0', '10.0')
    .option('--snapshot <name|id>', 'qcow2: the internal snapshot to read (default: the newest with a VM state)')
    .action(async (image: string, opts: ScreenCommandOptions) => {
      if (opts.asQemu !== '7.2' && opts.asQemu !== '10.0') throw new UserError(`--as-qemu takes 7.2 or 10.0, not ${opts.asQemu}`);
      if (opts.output) checkOutputs([{ path: image, role: 'the image' }], [{ path: opts.output, role: '-o' }]);
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      let report: ScreenReport;
      try {
        report = screenOfImage(img, { device: opts.device, drawing: opts.asQemu });
      } finally {
        img.close();
      }
      if (report.framebuffer && opts.output) writeScreenPng(opts.output, report.framebuffer);
      if (opts.json) printJson(io, { path: image, ...(toSnakeCase(report.description) as object), ...(opts.output && report.framebuffer ? { png: opts.output } : {}) });
      else io.out(describe(image, report, opts.output));
      setExit(report.framebuffer ? 0 : 1);
    });
}

function describe(image: string, report: ScreenReport, output: string | undefined): string {
  const d = report.description;
  const lines: string[] = [];
  if (!d.device) {
    lines.push(`${image}: no screen: ${d.reason}`);
    return lines.map(printable).join("\n") + "\n";
  }
  lines.push(`${image}: ${d.device.idstr} (${d.device.name})`);
  if (d.mode) lines.push(`  mode     ${d.mode.description}${d.mode.width ? `, ${d.mode.width}x${d.mode.height} pixels` : ''}`);
  for (const s of d.sources) lines.push(`  source   ${s.what}: ${s.block}+${hexAddress(s.offset)}, ${s.length} bytes${s.gpa !== undefined ? ` (guest-physical ${hexAddress(s.gpa)})` : ''}`);
  for (const n of d.notes) lines.push(`  note     ${n}`);
  if (d.reason) lines.push(`  no picture: ${d.reason}`);
  else if (output) lines.push(`  wrote    ${output}`);
  else lines.push('  (give -o FILE.png to write the picture)');
  return lines.map(printable).join("\n") + "\n";
}
