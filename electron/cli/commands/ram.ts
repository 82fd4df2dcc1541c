import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { parseAddress, hexAddress } from '../../memory/addresses';
import { ramReport, type RamReport } from '../../memory/ram-blocks';
import { layoutOf } from '../../memory/guest-view';
import { table } from '../format';
import { printJson, type CliIO } from '../output';
import { openForCommand } from './open-with-progress';
import { humanSize } from '../../../shared/util/size';

export interface MemoryCommandOptions {
  json?: boolean;
  snapshot?: string;
  maxRamBelow4g?: string;
}

/** Options every guest-memory command takes. */
export function memoryOptions(command: Command): Command {
  return command
    .option('--json', 'machine-readable output')
    .option('--snapshot <name|id>', 'qcow2: the internal snapshot to read (default: the newest with a VM state)')
    .option('--max-ram-below-4g <size>', 'x86: the -M max-ram-below-4g the guest ran with (not recorded in the stream)');
}

export function maxRamBelow4g(opts: MemoryCommandOptions): number | undefined {
  return opts.maxRamBelow4g === undefined ? undefined : parseAddress(opts.maxRamBelow4g, '--max-ram-below-4g');
}

export function registerRam(program: Command, io: CliIO, setExit: (code: number) => void): void {
  memoryOptions(
    program
      .command('ram')
      .description('RAM blocks: size, guest-physical placement, and page facts (present, zero, never sent, XBZRLE, compressed)')
      .argument('<image>', 'image file'),
  ).action(async (image: string, opts: MemoryCommandOptions) => {
    const img = await openForCommand(io, image, { snapshot: opts.snapshot });
    try {
      const report = ramReport(img, layoutOf(img, { maxRamBelow4g: maxRamBelow4g(opts) }));
      if (opts.json) printJson(io, { path: image, ...(toSnakeCase(report) as object) });
      else io.out(renderRam(image, report));
    } finally {
      img.close();
    }
    setExit(0);
  });
}

function renderRam(path: string, r: RamReport): string {
  const lines = [`${path}: ${r.machineType ?? 'unknown machine type'}, page size ${r.pageSize}`];
  lines.push(r.layout ? `  layout: ${r.layout.rule}` : '  layout: unknown for this machine type (no guest-physical addresses)', '');
  lines.push(
    table(
      ['BLOCK', 'SIZE', 'GUEST-PHYSICAL', 'PAGES', 'PRESENT', 'DATA', 'ZERO', 'NEVER SENT', 'XBZRLE', 'COMPRESSED'],
      r.blocks.map((b) => [
        b.id,
        humanSize(b.size),
        b.gpaRanges.length ? b.gpaRanges.map((g) => `${hexAddress(g.gpa)}-${hexAddress(g.gpa + g.size - 1)}${g.readOnly ? ' ro' : ''}`).join(', ') : '-',
        b.pages,
        b.pages - b.finalPages['never-sent'],
        b.finalPages.page + b.finalPages.mapped,
        b.finalPages.zero,
        b.finalPages['never-sent'],
        b.finalPages.xbzrle,
        b.finalPages.compress,
      ]),
    ),
  );
  lines.push('', 'PRESENT: pages some record sent. DATA, ZERO, XBZRLE, COMPRESSED: the kind of the last record of each page (its final content).');
  return lines.join('\n') + '\n';
}
