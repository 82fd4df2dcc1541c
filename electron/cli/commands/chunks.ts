import type { Command } from 'commander';
import type { ChunkRow } from '../../../shared/api/chunk-row';
import { countBySeverity } from '../../../shared/diagnostics';
import { describeProperties } from '../../../shared/formats/chunked/chunk-types';
import { toSnakeCase } from '../../../shared/util/wire';
import { chunkList } from '../../../shared/workbench/chunk-list';
import { hexOffset, table } from '../format';
import { printJson, type CliIO } from '../output';
import { openForCommand } from './open-with-progress';

export function registerChunks(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('chunks')
    .description('list every chunk of a chunked container with its offset, type, property bits, length and CRC (verified), like pngcheck -v; for any other image, its sections as the chunks "migwb pack" would make')
    .argument('<image>', 'image file')
    .option('--json', 'machine-readable output')
    .option('--snapshot <name|id>', 'qcow2: the internal snapshot whose VM state to list')
    .action(async (image: string, opts: { json?: boolean; snapshot?: string }) => {
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      let rows: ChunkRow[];
      try {
        rows = chunkList({ file: img.file, container: img.container, edited: img.source, model: img.model, streamEdits: 0, containerEdits: [], diagnostics: img.model.diagnostics });
      } finally {
        img.close();
      }
      const diagnostics = img.containerDiagnostics;
      const damaged = rows.filter((r) => r.damaged).length;
      const inFile = rows.some((r) => r.fileOffset !== undefined);
      if (opts.json) {
        printJson(io, toSnakeCase({ path: image, kind: img.kind, chunks: rows, damaged, diagnostics }));
      } else {
        io.out(`${image}: ${inFile ? `${img.kind}, ${rows.length} chunks` : `${img.kind} without chunks; its ${rows.length} elements as "migwb pack" would make them chunks (offsets in the stream, no CRCs)`}\n`);
        io.out(
          table(
            ['OFFSET', 'TYPE', 'PROPERTIES', 'LENGTH', 'CRC', 'CHUNK'],
            rows.map((r) => [
              hexOffset(r.fileOffset ?? r.stream?.offset ?? 0),
              r.type,
              describeProperties(r.properties),
              r.length,
              crcText(r),
              `${r.key}${r.detail ? ` (${r.detail})` : ''}${r.note ? ` · note: ${JSON.stringify(r.note.split('\n')[0])}` : ''}`,
            ]),
          )
            .split('\n')
            .map((l) => '  ' + l)
            .join('\n') + '\n',
        );
        for (const d of diagnostics) io.out(`${d.severity.padEnd(7)} ${hexOffset(d.offset)}  ${d.message}\n        expected ${d.expected}; found ${d.found}\n`);
        const errors = countBySeverity(diagnostics).error;
        io.out(errors || damaged ? `${errors} errors, ${damaged} damaged chunk${damaged === 1 ? '' : 's'} in ${image}\n` : `No errors detected in ${image} (${rows.length} ${inFile ? 'chunks' : 'elements'}).\n`);
      }
      setExit(damaged > 0 || countBySeverity(diagnostics).error > 0 ? 1 : 0);
    });
}

const CRC_TEXT: Record<ChunkRow['crc'], (r: ChunkRow) => string> = {
  ok: (r) => `${hexOffset(r.storedCrc!, 8)} ok`,
  bad: (r) => `${hexOffset(r.storedCrc!, 8)} WRONG (computed ${hexOffset(r.computedCrc!, 8)})`,
  cut: () => 'cut off',
  new: () => 'new',
  none: () => '-',
};

function crcText(r: ChunkRow): string {
  return CRC_TEXT[r.crc](r);
}
