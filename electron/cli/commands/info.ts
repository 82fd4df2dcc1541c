import type { Command } from 'commander';
import { describeSection } from '../../../shared/formats/qemu-stream/model';
import { summarizeStream, type StreamSummary } from '../../../shared/formats/qemu-stream/summary';
import { toSnakeCase } from '../../../shared/util/wire';
import { formatSize, hexOffset, severityCounts, table } from '../format';
import { printJson, type CliIO } from '../output';
import { OFFSET_SPACE_LABELS } from '../../../shared/api/offset-map';
import type { TextStyle } from '../../../shared/formats/format';
import { viewsOf } from '../../../shared/formats/registry';
import type { OpenedImage } from '../../services/open-image';
import { openForCommand } from './open-with-progress';
import { recordForEvidence, withEvidenceOption, type EvidenceOptions } from './evidence-option';

import { humanSize } from '../../../shared/util/size';

const CLI_STYLE: TextStyle = { offset: (n) => hexOffset(n), size: formatSize, table };

export function registerInfo(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withEvidenceOption(
    program
      .command('info')
    .description('format, versions, machine type, page size, RAM blocks and the element table of an image')
    .argument('<image>', 'image file')
    .option('--json', 'machine-readable output')
      .option('--snapshot <name|id>', 'qcow2: the internal snapshot whose VM state to show (default: the newest with one)'),
  ).action(async (image: string, opts: { json?: boolean; snapshot?: string } & EvidenceOptions) => {
      await recordForEvidence(io, [image], opts);
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      try {
        // In a stream stored whole in the file, listed offsets are file offsets.
        const summary = summarizeStream(img.model, (o) => img.offsets.listed(o));
        const container = { kind: img.kind, offsetSpace: img.offsetSpace, streamBase: img.streamBase, layers: img.layers };
        if (opts.json) printJson(io, { path: image, container: toSnakeCase(container), ...(toSnakeCase(summary) as object) });
        else io.out(renderInfo(image, summary, renderContainer(img)));
      } finally {
        img.close();
      }
      setExit(0);
    });
}

/** The wrappers' lines, each as its format writes them, then the space of the stream's offsets. */
function renderContainer(img: OpenedImage): string[] {
  if (img.layers.length === 0) return [];
  const lines: string[] = [];
  for (const layer of img.layers) lines.push(...viewsOf(layer).infoLines(layer, CLI_STYLE));
  lines.push('', `QEMU stream (offsets are ${OFFSET_SPACE_LABELS[img.offsetSpace]})`);
  return lines;
}

function renderInfo(path: string, s: StreamSummary, wrapper: string[]): string {
  const lines: string[] = [];
  lines.push(`${path}`, ...wrapper);
  const kv: [string, string][] = [
    ['format', `QEMU migration stream, file version ${s.fileVersion}`],
    ['size', formatSize(s.size)],
    ['machine type', s.machineType ?? '(no configuration section)'],
    ['page size', `${s.pageSize} (from ${s.pageSizeSource})`],
    ['section footers', s.sectionFooters ? 'yes' : 'no'],
    ['capabilities', s.capabilities.length ? s.capabilities.join(', ') : '-'],
    ['vmdesc', s.vmdesc ? `${s.vmdesc.jsonLength} bytes at ${hexOffset(s.vmdesc.jsonOffset)}, ${s.vmdesc.devices} devices${s.vmdesc.complete ? '' : ' (cut short)'}` : 'none'],
  ];
  if (s.trailingBytes) kv.push(['trailing data', `${s.trailingBytes} bytes after the stream`]);
  const w = Math.max(...kv.map(([k]) => k.length));
  for (const [k, v] of kv) lines.push(`  ${k.padEnd(w)}  ${v}`);
  lines.push('', 'RAM blocks');
  lines.push(
    indent(
      table(
        ['BLOCK', 'SIZE', 'PAGES', 'PRESENT', 'RECORDS'],
        s.ramBlocks.map((b) => [b.id, humanSize(b.usedLength), b.pages, b.pagesPresent, Object.entries(b.records).map(([k, n]) => `${n} ${k}`).join(', ') || '-']),
      ),
    ),
  );
  lines.push('', 'Elements');
  lines.push(
    indent(
      table(
        ['OFFSET', 'TYPE', 'SECTION', 'VER', 'LENGTH', 'NOTE'],
        s.elements.map((e) => [
          hexOffset(e.offset),
          e.type,
          e.type === 'CONFIGURATION' ? e.machine ?? '' : e.type === 'COMMAND' ? e.cmdName ?? '' : e.idstr !== undefined ? describeSection(e) : '',
          e.versionId ?? '',
          e.length,
          [e.pages ? pageNote(e.pages) : '', e.damaged ? 'DAMAGED' : '', e.delimitedBy && e.delimitedBy !== 'vmdesc' ? `delimited by ${e.delimitedBy}` : ''].filter(Boolean).join('; '),
        ]),
      ),
    ),
  );
  const d = s.diagnostics;
  lines.push('', d.error + d.warning + d.info === 0 ? 'No problems found.' : `${severityCounts(d)}; run "migwb validate" for details.`);
  return lines.join('\n') + '\n';
}

function pageNote(p: NonNullable<StreamSummary['elements'][number]['pages']>): string {
  const parts = Object.entries(p).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`);
  return parts.length ? parts.join(', ') : '';
}

function indent(text: string): string {
  return text.split('\n').map((l) => '  ' + l).join('\n');
}
