import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { hexAddress, parseAddress } from '../../memory/addresses';
import { layoutOf } from '../../memory/guest-view';
import { readGuestMemory, type GuestAddress, type PageOrigin } from '../../memory/read-memory';
import { UserError } from '../../services/user-error';
import { printJson, type CliIO } from '../output';
import { maxRamBelow4g, memoryOptions, type MemoryCommandOptions } from './ram';
import { openForCommand } from './open-with-progress';

interface ReadOptions extends MemoryCommandOptions {
  gpa?: string;
  block?: string;
  offset?: string;
  length: string;
}

export function registerRead(program: Command, io: CliIO, setExit: (code: number) => void): void {
  memoryOptions(
    program
      .command('read')
      .description('guest memory at a guest-physical address (or block offset), with where each page came from in the file')
      .argument('<image>', 'image file')
      .option('--gpa <address>', 'guest-physical address (0x…, decimal, or with K/M/G)')
      .option('--block <name>', 'a RAM block (e.g. pc.ram, 0000:00:02.0/vga.vram), with --offset')
      .option('--offset <offset>', 'offset in --block', '0')
      .requiredOption('--length <bytes>', 'how many bytes'),
  ).action(async (image: string, opts: ReadOptions) => {
    if ((opts.gpa === undefined) === (opts.block === undefined)) throw new UserError('give either --gpa ADDRESS or --block NAME [--offset N]');
    const where: GuestAddress = opts.gpa !== undefined ? { gpa: parseAddress(opts.gpa, '--gpa') } : { block: opts.block!, offset: parseAddress(opts.offset ?? '0', '--offset') };
    const length = parseAddress(opts.length, '--length');
    const img = await openForCommand(io, image, { snapshot: opts.snapshot });
    try {
      const { bytes, origins } = readGuestMemory(img, where, length, 'gpa' in where ? layoutOf(img, { maxRamBelow4g: maxRamBelow4g(opts) }) : undefined);
      if (opts.json) {
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
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    rows.push(`${hexAddress(base + i)}  ${hex.padEnd(47)}  ${text}`);
  }
  return rows.join('\n') + '\n';
}
