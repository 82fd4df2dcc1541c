import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import type { ExtractFormat, ExtractLayout } from '../../memory/extract';
import { UsageError } from '../../services/user-error';
import { table } from '../format';
import { printJson, type CliIO } from '../output';
import { progressBar } from '../progress';
import { maxRamBelow4g, memoryOptions, type MemoryCommandOptions } from './ram';
import { openForCommand } from './open-with-progress';
import { humanSize } from '../../../shared/util/size';

interface ExtractCommandOptions extends MemoryCommandOptions {
  out: string;
  layout: string;
  format: string;
  force?: boolean;
}

export function registerExtractRam(program: Command, io: CliIO, setExit: (code: number) => void): void {
  memoryOptions(
    program
      .command('extract-ram')
      .description('write guest memory: one sparse file per RAM block, or the guest-physical memory as a raw image or an ELF core; plus ram-map.json with the page facts')
      .argument('<image>', 'image file')
      .requiredOption('--out <dir>', 'folder for the extracted files (created if missing)')
      .option('--layout <layout>', 'blocks (one file per RAM block) or physical (the guest-physical address space)', 'blocks')
      .option('--format <format>', 'with --layout physical: raw (offset = guest-physical address) or elf (an ELF core for Volatility 3, crash)', 'raw')
      .option('--force', 'replace existing output files'),
  ).action(async (image: string, opts: ExtractCommandOptions) => {
    if (!['blocks', 'physical'].includes(opts.layout)) throw new UsageError(`--layout must be blocks or physical, not ${opts.layout}`);
    if (!['raw', 'elf'].includes(opts.format)) throw new UsageError(`--format must be raw or elf, not ${opts.format}`);
    const img = await openForCommand(io, image, { snapshot: opts.snapshot });
    const bar = progressBar(io, 'extracting');
    try {
      const { extractRam } = await import('../../memory/extract');
      const result = extractRam(img, {
        outDir: opts.out,
        layout: opts.layout as ExtractLayout,
        format: opts.format as ExtractFormat,
        force: opts.force,
        maxRamBelow4g: maxRamBelow4g(opts),
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.done();
      if (opts.json) {
        printJson(io, { path: image, ...(toSnakeCase({ ...result, blocks: result.blocks.map(({ extents: _, ...b }) => b) }) as object) });
      } else {
        io.out(`${image}: wrote ${result.files.length} file${result.files.length === 1 ? '' : 's'} to ${opts.out}${result.machine ? ` (${result.machine.rule})` : ''}\n`);
        io.out(table(['FILE', 'SIZE', 'WRITTEN'], result.files.map((f) => [f.path, humanSize(f.size), humanSize(f.written)])) + '\n');
        if (result.elfNotes) io.out(result.elfNotes.length ? `ELF notes: ${result.elfNotes.join(', ')} (the vCPU registers, as QEMU's dump-guest-memory writes them)\n` : 'ELF notes: none (the CPU registers are written for x86 guests only)\n');
        io.out(`\npage map: ${result.mapFile}\n`);
        io.out(table(['BLOCK', 'DATA', 'ZERO', 'NEVER SENT', 'XBZRLE', 'COMPRESSED', 'PROBLEMS'], result.blocks.map((b) => [b.id, b.pages.page + b.pages.mapped, b.pages.zero, b.pages['never-sent'], b.pages.xbzrle, b.pages.compress, b.problems.length])) + '\n');
        for (const b of result.blocks) for (const p of b.problems.slice(0, 5)) io.err(`migwb: ${b.id}: ${p}\n`);
      }
    } finally {
      bar.done();
      img.close();
    }
    setExit(0);
  });
}
