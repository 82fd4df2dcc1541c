import type { Command } from 'commander';
import { describeSection } from '../../../shared/formats/qemu-stream/model';
import { summarizeStream, type StreamSummary } from '../../../shared/formats/qemu-stream/summary';
import { toSnakeCase } from '../../../shared/util/wire';
import { formatSize, hexOffset, severityCounts, table } from '../format';
import { printJson, type CliIO } from '../output';
import type { ContainerLayer } from '../../../shared/formats/container-model';
import { OFFSET_SPACE_LABELS } from '../../../shared/formats/container-model';
import type { OpenedImage } from '../../services/open-image';
import { openForCommand } from './open-with-progress';
import { humanSize } from '../../../shared/util/size';

export function registerInfo(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('info')
    .description('format, versions, machine type, page size, RAM blocks and the element table of an image')
    .argument('<image>', 'image file')
    .option('--json', 'machine-readable output')
    .option('--snapshot <name|id>', 'qcow2: the internal snapshot whose VM state to show (default: the newest with one)')
    .action(async (image: string, opts: { json?: boolean; snapshot?: string }) => {
      const img = await openForCommand(io, image, { snapshot: opts.snapshot });
      try {
        const summary = inFileOffsets(img, summarizeStream(img.model));
        const container = { kind: img.kind, offsetSpace: img.offsetSpace, streamBase: img.streamBase, layers: img.layers };
        if (opts.json) printJson(io, { path: image, container: toSnakeCase(container), ...(toSnakeCase(summary) as object) });
        else io.out(renderInfo(image, summary, renderContainer(img)));
      } finally {
        img.close();
      }
      setExit(0);
    });
}

/** Offsets the summary carries, in the file when the stream is stored there unchanged. */
const OFFSET_KEYS = new Set(['offset', 'payloadOffset', 'footerOffset', 'jsonOffset', 'recordOffset', 'headerOffset', 'bitmapOffset', 'pagesOffset']);

function inFileOffsets(img: OpenedImage, summary: StreamSummary): StreamSummary {
  const base = img.streamBase;
  if (!base) return summary;
  const shift = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(shift);
    if (v === null || typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return v;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, OFFSET_KEYS.has(k) && typeof x === 'number' ? x + base : shift(x)]));
  };
  return shift(summary) as StreamSummary;
}

function renderContainer(img: OpenedImage): string[] {
  if (img.layers.length === 0) return [];
  const lines: string[] = [];
  for (const layer of img.layers) lines.push(...renderLayer(layer));
  lines.push('', `QEMU stream (offsets are ${OFFSET_SPACE_LABELS[img.offsetSpace]})`);
  return lines;
}

function renderLayer(layer: ContainerLayer): string[] {
  const out: string[] = [];
  if (layer.kind === 'libvirt-save') {
    out.push(`  libvirt save image (${layer.complete ? 'LibvirtQemudSave' : 'LibvirtQemudPart: UNFINISHED'}), header version ${layer.version}, ${layer.byteOrder}-endian`);
    out.push(`    header        ${hexOffset(0)}  ${layer.header.length} bytes: ${layer.header.fields.filter((f) => f.name !== 'magic').map((f) => `${f.name}=${f.value}`).join(' ')}`);
    if (layer.xml) out.push(`    domain XML    ${hexOffset(layer.xml.offset)}  ${layer.xml.length} bytes${domainName(layer.xml.text)}`);
    if (layer.cookie) out.push(`    save cookie   ${hexOffset(layer.cookie.offset)}  ${layer.cookie.length} bytes`);
    if (layer.padding) out.push(`    padding       ${hexOffset(layer.padding.offset)}  ${layer.padding.length} bytes${layer.padding.nonZeroBytes ? ` (${layer.padding.nonZeroBytes} non-zero)` : ''}`);
    const how = layer.storedAs === layer.compression ? layer.compression : `${layer.storedAs} (the header says ${layer.compression})`;
    out.push(`    QEMU stream   ${hexOffset(layer.stream.offset)}  ${layer.stream.length} bytes, ${how}; guest was ${layer.wasRunning ? 'running (resumes after restore)' : 'paused'}`);
  } else {
    out.push(`  qcow2 version ${layer.version}, cluster size ${layer.clusterSize}, disk size ${formatSize(layer.virtualSize)}`);
    out.push(
      indent(
        table(
          ['', 'ID', 'NAME', 'VM STATE', 'DATE (UTC)', 'VM CLOCK'],
          layer.snapshots.map((s) => [s.index === layer.selected ? '*' : '', s.id, s.name, s.vmStateSize, new Date(s.dateSec * 1000).toISOString().replace('.000Z', 'Z'), `${(s.vmClockNsec / 1e9).toFixed(3)} s`]),
        ),
      ),
    );
    const c = layer.vmStateClusters;
    out.push(`    vmstate of * at virtual offset ${hexOffset(layer.snapshots[layer.selected].vmStateOffset)}: ${c.data} data, ${c.zero} zero, ${c.unallocated} unallocated, ${c.compressed} compressed clusters`);
  }
  return out;
}

function domainName(xml: string): string {
  const m = /<name>([^<]*)<\/name>/.exec(xml);
  return m ? ` (domain "${m[1]}")` : '';
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
