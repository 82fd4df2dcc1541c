import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { hexAddress, parseAddress } from '../../memory/addresses';
import { layoutOf } from '../../memory/guest-view';
import { readGuestMemory, type GuestAddress, type PageOrigin } from '../../memory/read-memory';
import { UsageError } from '../../services/user-error';
import { MemorySource } from '../../../shared/io/byte-source';
import { saveAtomically } from '../../edit/atomic-save';
import { printableText } from '../format';
import { printJson, type CliIO } from '../output';
import { maxRamBelow4g, memoryOptions, type MemoryCommandOptions } from './ram';
import { openForCommand } from './open-with-progress';
import { recordForEvidence, withEvidenceOption, type EvidenceOptions } from './evidence-option';


interface ReadOptions extends MemoryCommandOptions {
  gpa?: string;
  block?: string;
  offset?: string;
  length?: string;
  raw?: boolean;
  output?: string;
}

export function registerRead(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withEvidenceOption(memoryOptions(
    program
      .command('read')
      .description('guest memory at a guest-physical address (or block offset), with where each page came from in the file')
      .argument('<image>', 'image file')
      .option('--gpa <address>', 'guest-physical address (0x…, decimal, or with K/M/G)')
      .option('--block <name>', 'a RAM block (e.g. pc.ram, 0000:00:02.0/vga.vram), with --offset')
      .option('--offset <offset>', 'offset in --block', '0')
      .option('--length <bytes>', 'how many bytes (default: one guest page)')
      .option('--raw', 'write the bytes themselves to standard output (for piping into other tools), nothing else')
      .option('-o, --output <file>', 'write the bytes themselves to FILE; the page origins are printed'),
  )).action(async (image: string, opts: ReadOptions & EvidenceOptions) => {
    if ((opts.gpa === undefined) === (opts.block === undefined)) throw new UsageError('give either --gpa ADDRESS or --block NAME [--offset N]');
    if (opts.raw && (opts.output !== undefined || opts.json)) throw new UsageError('--raw writes only the bytes; it goes with neither -o nor --json');
    const where: GuestAddress = opts.gpa !== undefined ? { gpa: parseAddress(opts.gpa, '--gpa') } : { block: opts.block!, offset: parseAddress(opts.offset ?? '0', '--offset') };
    await recordForEvidence(io, [image], opts);
    const img = await openForCommand(io, image, { snapshot: opts.snapshot });
    try {
      const length = opts.length !== undefined ? parseAddress(opts.length, '--length') : img.model.pageSize;
      const { bytes, origins } = readGuestMemory(img, where, length, 'gpa' in where ? layoutOf(img, { maxRamBelow4g: maxRamBelow4g(opts) }) : undefined);
      if (opts.raw) {
        io.outBytes(bytes);
      } else if (opts.output !== undefined) {
        await saveAtomically(opts.output, new MemorySource(bytes), { protect: [{ path: image, role: 'the image' }], validate: () => [] });
        if (opts.json) printJson(io, { path: image, offsetSpace: img.offsetSpace, length, output: opts.output, origins: toSnakeCase(origins) });
        else {
          for (const o of origins) io.out(describeOrigin(o, img.offsetSpace) + '\n');
          io.out(`wrote ${length} bytes to ${opts.output}\n`);
        }
      } else if (opts.json) {
        printJson(io, { path: image, offsetSpace: img.offsetSpace, length, hex: Buffer.from(bytes).toString('hex'), origins: toSnakeCase(origins) });
      } else {
        for (const o of origins) io.out(describeOrigin(o, img.offsetSpace) + '\n');
        io.out(hexdump(bytes, 'gpa' in where ? where.gpa : where.offset));
      }
    } finally {
      img.close();
    }
    setExit(0);
  });
}

function describeOrigin(o: PageOrigin, space: string): string {
  const at = o.gpa !== undefined ? `gpa ${hexAddress(o.gpa)} = ` : '';
  const stored = o.fileOffset !== undefined ? `file offset ${hexAddress(o.fileOffset)}` : o.streamOffset !== undefined ? `${space} stream offset ${hexAddress(o.streamOffset)}` : 'not stored';
  return `# ${at}${o.block}+${hexAddress(o.blockOffset)} (${o.length} bytes): ${o.kind}, ${stored}${o.sends > 1 ? `, sent ${o.sends} times` : ''}${o.problem ? `, PROBLEM: ${o.problem}` : ''}`;
}

/** Classic 16-byte rows: address, hex, printable ASCII. */
export function hexdump(bytes: Uint8Array, base: number): string {
  const rows: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, '0')).join(' ');
    const text = printableText(row);
    rows.push(`${hexAddress(base + i)}  ${hex.padEnd(47)}  ${text}`);
  }
  return rows.join('\n') + '\n';
}
