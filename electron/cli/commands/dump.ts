import type { Command } from 'commander';
import { analyzeCompatDesc, analyzeCompatState } from '../../../shared/formats/qemu-stream/analyze-compat';
import { borrowVmdesc } from '../../../shared/formats/qemu-stream/borrowed-vmdesc';
import { noSuchSection } from '../../../shared/edit/sections';
import type { DecodedDevice, DecodedItem } from '../../../shared/display/decoded';
import { decodedDisplay } from '../../../shared/display/display-decoded';
import { decodedSpiceChannel } from '../../../shared/display/spice-channels';
import { domainXmlOf } from '../../display/spice-channels-service';
import { describeSection, type StreamElement } from '../../../shared/formats/qemu-stream/model';
import { sectionsNamed } from '../../../shared/formats/qemu-stream/section-names';
import { decodeSection } from '../../../shared/formats/qemu-stream/section-decoder';
import type { FieldNode } from '../../../shared/formats/qemu-stream/vmstate-decode';
import { guestMemoryReader } from '../../../shared/memory/guest-reader';
import { toSnakeCase } from '../../../shared/util/wire';
import { UsageError, UserError } from '../../services/user-error';
import { loadVmdescFrom } from '../../services/vmdesc-source';
import { hexOffset, printable } from '../format';
import { printJson, type CliIO } from '../output';
import { openForCommand } from './open-with-progress';
import { recordForEvidence, withEvidenceOption, type EvidenceOptions } from './evidence-option';


interface DumpOptions {
  json?: boolean;
  decoded?: boolean;
  analyzeCompat?: boolean;
  desc?: boolean;
  section?: string;
  vmdescFrom?: string;
}

export function registerDump(program: Command, io: CliIO, setExit: (code: number) => void): void {
  withEvidenceOption(
    program
      .command('dump')
    .description('the decoded device state: every section field by field with its offset')
    .argument('<image>', 'image file')
    .option('--json', 'machine-readable output')
    .option('--section <name>', 'only this section: its idstr (0000:00:03.0/e1000), short name (e1000) or vmsd name, optionally :INSTANCE; or configuration')
    .option('--decoded', 'display devices (vga, qxl, bochs-display): the registers by name, the mode they imply and the QXL state, instead of the raw fields')
    .option('--analyze-compat', "print exactly what QEMU's analyze-migration.py -d state prints")
    .option('--desc', 'with --analyze-compat: what analyze-migration.py -d desc prints (the vmdesc)')
      .option('--vmdesc-from <source>', 'for a stream without a vmdesc: decode with the vmdesc of a sibling image (or a vmdesc JSON file)'),
  ).action(async (image: string, opts: DumpOptions & EvidenceOptions) => {
      if (opts.desc && !opts.analyzeCompat) throw new UsageError('--desc only applies together with --analyze-compat');
      const borrowed = opts.vmdescFrom ? await loadVmdescFrom(opts.vmdescFrom) : undefined;
      await recordForEvidence(io, [image], opts);
      const img = await openForCommand(io, image);
      try {
        if (borrowed && img.model.vmdesc) io.err(`migwb: ${image} has its own vmdesc; --vmdesc-from is ignored\n`);
        const model = borrowed ? borrowVmdesc(img.model, borrowed, opts.vmdescFrom!) : img.model;
        if (model.borrowedVmdesc) {
          const b = model.borrowedVmdesc;
          const misfits = model.diagnostics.filter((d) => d.code === 'borrowed-vmdesc-misfit').map((d) => d.section);
          const raw = misfits.length ? `; shown raw: ${misfits.join(', ')}` : '';
          io.err(`migwb: the vmdesc of ${b.from} describes ${b.described} of ${b.described + b.undescribed} device sections${raw}\n`);
        }
        const errors = model.diagnostics.filter((d) => d.severity === 'error').length;
        if (errors) io.err(`migwb: ${image} has ${errors} errors; the dump shows what could be decoded (see "migwb validate")\n`);
        if (opts.analyzeCompat) {
          io.out(opts.desc ? analyzeCompatDesc(model) : analyzeCompatState(img.source, model));
          return;
        }
        const elements = opts.section !== undefined ? sectionsNamed(model, opts.section) : model.elements.filter((e) => e.type === 'FULL' || e.type === 'CONFIGURATION');
        if (opts.section && elements.length === 0) throw new UserError(`${image}: ${noSuchSection(model, opts.section)}`);
        if (opts.decoded) {
          const channelOptions = { guest: guestMemoryReader(img.source, model), domainXml: domainXmlOf(img) };
          const views = elements.map((e) => ({ e, view: decodedDisplay(img.source, model, e) ?? decodedSpiceChannel(img.source, model, e, channelOptions) }));
          if (opts.json) printJson(io, { path: image, sections: views.map(({ e, view }) => ({ idstr: e.idstr, instance_id: e.instanceId, ...(typeof view === 'object' ? { title: view.title, items: view.items } : { problem: view ?? 'not a display device or vmchannel: no decoded view (the raw fields are shown without --decoded)' }) })) });
          else for (const { e, view } of views) io.out(decodedText(e, view));
          setExit(0);
          return;
        }
        const guest = guestMemoryReader(img.source, model);
        const sections = elements.map((e) => ({ e, d: decodeSection(img.source, model, e, { guest }) }));
        if (opts.json) {
          printJson(io, {
            path: image,
            borrowed_vmdesc: model.borrowedVmdesc,
            sections: sections.map(({ e, d }) =>
              toSnakeCase({
                index: e.index,
                type: e.type,
                idstr: e.type === 'CONFIGURATION' ? 'configuration' : e.idstr,
                instanceId: e.instanceId,
                sectionId: e.sectionId,
                versionId: e.versionId,
                offset: e.offset,
                payloadOffset: d.payloadOffset,
                length: e.length,
                describedBy: d.describedBy,
                problem: d.problem,
                fields: d.nodes,
              }),
            ),
            // The stream's problems and notes (the no-vmdesc note says what decodes the sections).
            diagnostics: toSnakeCase(model.diagnostics),
          });
        } else {
          for (const { e, d } of sections) {
            const title = e.type === 'CONFIGURATION' ? `CONFIGURATION ${e.machine ?? ''}` : `FULL ${describeSection(e)} version ${e.versionId}`;
            io.out(`${hexOffset(e.offset)}  ${printable(title)}, ${e.length} bytes${d.problem ? ` (${printable(d.problem)})` : ''}\n`);
            for (const n of d.nodes) renderNode(io, n, 1);
          }
        }
      } finally {
        img.close();
      }
      setExit(0);
    });
}

function decodedText(e: StreamElement, view: DecodedDevice | string | undefined): string {
  const head = `${hexOffset(e.offset)}  FULL ${describeSection(e)}`;
  if (typeof view !== 'object') return printable(`${head}: ${view ?? 'not a display device or vmchannel: no decoded view (the raw fields are shown without --decoded)'}`) + '\n';
  const lines = [`${head}: ${view.title}`];
  const walk = (items: readonly DecodedItem[], depth: number) => {
    for (const it of items) {
      const at = it.offset !== undefined ? hexOffset(it.offset) : ' '.repeat(hexOffset(0).length);
      // Guest memory (QXL RAM, rings, commands) has no stream offset: where it is in the guest instead.
      const guest = it.gpa !== undefined ? `  @gpa 0x${it.gpa.toString(16)}` : it.block !== undefined ? `  @${it.block}+0x${(it.blockOffset ?? 0).toString(16)}` : '';
      lines.push(`${at}${'  '.repeat(depth)}${it.label}${it.value !== undefined ? ` = ${it.value}` : ''}${it.meaning ? `  (${it.meaning})` : ''}${guest}${it.problem ? `  [${it.problem}]` : ''}`);
      if (it.children) walk(it.children, depth + 1);
    }
  };
  walk(view.items, 1);
  return lines.map(printable).join('\n') + '\n';
}

function renderNode(io: CliIO, n: FieldNode, depth: number): void {
  const pad = '  '.repeat(depth);
  const label = n.index !== undefined ? `${n.name}[${n.index}]` : n.name;
  let value = '';
  switch (n.value?.kind) {
    case 'int':
      value = `${n.value.hex} (${n.value.dec})`;
      break;
    case 'bool':
      value = String(n.value.value);
      break;
    case 'float':
      value = String(n.value.value);
      break;
    case 'text':
      value = JSON.stringify(n.value.value);
      break;
    case 'nullptr':
      value = 'NULL';
      break;
    case 'bytes':
      value = n.children ? '' : n.value.hex.length > 96 ? `${n.value.hex.slice(0, 96)}… (${n.size} bytes)` : n.value.hex;
      break;
  }
  io.out(printable(`${hexOffset(n.offset)}${pad}${label}  ${n.type}${value ? '  ' + value : ''}${n.note ? `  (${n.note})` : ''}${n.problem ? `  [${n.problem}]` : ''}`) + '\n');
  for (const c of n.children ?? []) renderNode(io, c, depth + 1);
}
