import type { Command } from 'commander';
import { toSnakeCase } from '../../../shared/util/wire';
import { hexAddress, parseAddress, parseRange } from '../../memory/addresses';
import type { SearchPattern } from '../../memory/search';
import { UsageError, UserError } from '../../services/user-error';
import { printableText, table } from '../format';
import { printJson, type CliIO } from '../output';
import { progressBar } from '../progress';
import { databasePath } from './library-options';
import { maxRamBelow4g, memoryOptions, type MemoryCommandOptions } from './ram';
import { recordForEvidence, withEvidenceOption, type EvidenceOptions } from './evidence-option';

interface SearchCommandOptions extends MemoryCommandOptions {
  string?: string;
  hex?: string;
  regex?: string;
  gpaRange?: string;
  maxHits: string;
  db?: string;
}

export function registerSearch(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withEvidenceOption(memoryOptions(
    program
      .command('search')
      .description('search guest memory of one or more images (or of every indexed image of a library); reports guest-physical address, block offset, and where the bytes are in the file')
      .argument('[images...]', 'image files (or none with --db)')
      .option('--db <file>', 'also search every indexed image of this library database')
      .option('--string <text>', 'a literal text (UTF-8)')
      .option('--hex <bytes>', 'literal bytes in hex, e.g. "4d 49 47"')
      .option('--regex <pattern>', 'a JavaScript regular expression over bytes (each byte one character)')
      .option('--gpa-range <A-B>', 'only this guest-physical range (inclusive, or A+LENGTH)')
      .option('--max-hits <n>', 'stop after this many hits per image', '1000'),
  ), true).action(async (given: string[], opts: SearchCommandOptions & EvidenceOptions) => {
    const patterns = [opts.string, opts.hex, opts.regex].filter((p) => p !== undefined).length;
    if (patterns !== 1) throw new UsageError('give exactly one of --string, --hex or --regex');
    const images = [...given, ...(opts.db !== undefined ? await indexedImages(databasePath(opts)) : [])];
    if (images.length === 0) throw opts.db !== undefined ? new UserError(`the library ${opts.db} has no indexed images; index some with: migwb index PATH --db ${opts.db}`) : new UsageError('give image files to search, or --db LIBRARY');
    await recordForEvidence(io, images, opts);
    const pattern: SearchPattern = opts.string !== undefined ? { string: opts.string } : opts.hex !== undefined ? { hex: opts.hex } : { regex: opts.regex! };
    const bar = progressBar(io, 'searching');
    const { searchImages } = await import('../../memory/search');
    const results = await searchImages(images, pattern, {
      snapshot: opts.snapshot,
      gpaRange: opts.gpaRange ? parseRange(opts.gpaRange, '--gpa-range') : undefined,
      maxHits: parseAddress(opts.maxHits, '--max-hits'),
      maxRamBelow4g: maxRamBelow4g(opts),
      onProgress: (d, t) => bar.update(d, t),
    });
    bar.done();
    if (opts.json) {
      printJson(io, { pattern, results: toSnakeCase(results) });
    } else {
      for (const r of results) {
        if (r.error) {
          io.out(`${r.image}: not searched: ${r.error}\n`);
          continue;
        }
        io.out(`${r.image}: ${r.hits.length}${r.truncated ? '+' : ''} hit${r.hits.length === 1 ? '' : 's'}\n`);
        if (r.hits.length) {
          io.out(
            table(
              ['GPA', 'BLOCK+OFFSET', 'RECORD', 'STORED AT', 'MATCH', 'TEXT AROUND IT'],
              r.hits.map((h) => [
                h.gpa !== undefined ? hexAddress(h.gpa) + (h.aliases ? ` (+${h.aliases.length} alias)` : '') : '-',
                `${h.block}+${hexAddress(h.blockOffset)}`,
                h.kind,
                h.fileOffset !== undefined ? `file ${hexAddress(h.fileOffset)}` : h.streamOffset !== undefined ? `${h.offsetSpace} ${hexAddress(h.streamOffset)}` : '-',
                h.match.length > 32 ? h.match.slice(0, 32) + '…' : h.match,
                printableText(Buffer.from(h.preview.hex, 'hex')),
              ]),
            ).replace(/^/gm, '  ') + '\n',
          );
        }
      }
    }
    // grep's convention: 0 found, 1 not found, 2 not found and something could not be searched.
    setExit(results.some((r) => r.hits.length) ? 0 : results.some((r) => r.error) ? 2 : 1);
  });
}

/** The library's indexed images (not the unsupported, unreadable or missing ones). */
async function indexedImages(db: string): Promise<string[]> {
  const { Library } = await import('../../index/library');
  const library = Library.open(db, { mustExist: true });
  try {
    return library.list().filter((i) => i.status === 'indexed').map((i) => i.path);
  } finally {
    library.close();
  }
}
