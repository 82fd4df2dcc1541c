import { Command } from 'commander';
import * as fs from 'node:fs';
import { countBySeverity, type Diagnostic } from '../../../shared/diagnostics';
import { fieldPaths } from '../../../shared/edit/field-path';
import { fieldEncoding, formatFieldValue } from '../../../shared/edit/field-value';
import { EMULATOR_IDS, LIBXL_IDENT, XEN_PAGE_SIZE } from '../../../shared/formats/xen/constants';
import { verifierVerdict, type XenDiagnostic } from '../../../shared/formats/xen/diagnostics';
import { fieldTargets } from '../../../shared/formats/xen/field-address';
import { PAGE_STATE_LABELS, pageTypeName, XenGuestMemory } from '../../../shared/formats/xen/guest-memory';
import { XEN_KIND_LABELS, type XenStreamModel } from '../../../shared/formats/xen/model';
import { openNestedQemu, qemuBlobs } from '../../../shared/formats/xen/nested-qemu';
import { pageBytes } from '../../../shared/formats/xen/parse';
import { describeRecord, recordName } from '../../../shared/formats/xen/records';
import { decodeSection } from '../../../shared/formats/qemu-stream/section-decoder';
import type { FieldNode } from '../../../shared/formats/qemu-stream/vmstate-decode';
import type { ByteSource } from '../../../shared/io/byte-source';
import { toSnakeCase } from '../../../shared/util/wire';
import { SaveRefusedError } from '../../edit/atomic-save';
import { journalText, readJournalFile, writeTextAtomically } from '../../edit/journal-store';
import { parseRequest, type RequestKind } from '../../edit/request-syntax';
import { hexAddress, parseAddress } from '../../memory/addresses';
import { UserError } from '../../services/user-error';
import { givenPaths, printDiagnostics, printEdit, repeat, wireEdit } from '../../cli/commands/edit-common';
import { checkOutputs } from '../../io/output-paths';
import { hexdump } from '../../cli/commands/read';
import { formatSize, hexOffset, printable, printableLines, table } from '../../cli/format';
import { printJson, type CliIO } from '../../cli/output';
import { runXenTransform } from './xen-transform';
import { extractXen } from './xen-memory';
import { XenSession } from './xen-session';

/**
 * The migwb commands for Xen streams (xl files, libxl and libxc streams, legacy saves), with
 * the option shapes of the QEMU commands they stand beside: info, validate, dump, ram, read,
 * extract-ram, edit, apply, repair and transform (`migwb search` reaches the engine through
 * searchImages, so one search covers Xen and QEMU images, and a library). main.ts hands a command line over
 * here when its image is a Xen stream (recognised by content).
 */
export const XEN_COMMANDS = new Set(['info', 'validate', 'dump', 'ram', 'read', 'extract-ram', 'edit', 'apply', 'repair', 'transform']);

export async function runXenCli(argv: string[], io: CliIO): Promise<number> {
  let exit = 0;
  const setExit = (code: number) => void (exit = code);
  const program = new Command('migwb').exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) }).showHelpAfterError('(run "migwb --help" for usage)');
  registerInfo(program, io, setExit);
  registerValidate(program, io, setExit);
  registerDump(program, io, setExit);
  registerMemory(program, io, setExit);
  registerEdit(program, io, setExit);
  registerApply(program, io, setExit);
  registerRepair(program, io, setExit);
  program
    .command('transform')
    .argument('<image>')
    .option('--to <target>')
    .option('-o, --output <file>')
    .option('--dry-run')
    .option('--json')
    .option('--format <layer>')
    .option('--drop-tmem')
    .option('--force')
    .action(async (image: string, opts) => setExit(await runXenTransform(image, opts, io)));
  await program.parseAsync(argv, { from: 'user' });
  return exit;
}

type SetExit = (code: number) => void;

function withSession<T>(image: string, fn: (s: XenSession) => T): T {
  const s = XenSession.open(image);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

// ------------------------------------------------------------------ info

export function xenSummary(model: XenStreamModel, source: ByteSource): Record<string, unknown> {
  const memory = new XenGuestMemory(source, model);
  const ranges = memory.ranges();
  return {
    format: 'xen',
    kind: model.kind,
    label: XEN_KIND_LABELS[model.kind],
    size: model.size,
    xl: model.xl && { mandatoryFlags: model.xl.mandatoryFlags, optionalFlags: model.xl.optionalFlags, streamV2: model.xl.streamV2, config: model.xl.config && { offset: model.xl.config.offset, length: model.xl.config.length, json: model.xl.config.json } },
    libxl: model.libxl && { offset: model.libxl.offset, version: model.libxl.version, options: model.libxl.options, littleEndian: model.libxl.littleEndian, legacy: model.libxl.legacy },
    images: model.images.map((i) => ({ offset: i.offset, version: i.version, domainType: i.domainType, pageShift: i.pageShift, xenMajor: i.xenMajor, xenMinor: i.xenMinor, littleEndian: i.littleEndian })),
    domain: model.domain,
    pages: { entries: model.pages.entries, withData: model.pages.pagesWithData, bytes: pageBytes(model), pfnLimit: model.pages.pfnLimit, finalRanges: ranges.length },
    checkpoints: model.checkpoints,
    emulators: model.emulators.map((e) => ({ record: e.record, offset: e.offset, length: e.length, emulatorId: e.emulatorId, emulator: EMULATOR_IDS[e.emulatorId] ?? null, index: e.index, checkpoint: e.checkpoint, qemu: e.qemu })),
    legacy: model.legacy && {
      width: model.legacy.width,
      widthEvidence: model.legacy.widthEvidence,
      guest: model.legacy.guest,
      guestEvidence: model.legacy.guestEvidence,
      p2mSize: model.legacy.p2mSize,
      checkpoints: model.legacy.checkpoints.length,
      compression: model.legacy.compression,
      chunks: model.legacy.checkpoints.flatMap((cp) => cp.chunks).map((c) => ({ index: c.index, offset: c.offset, length: c.length, marker: c.marker, kind: c.kind, entries: c.entries, pages: c.pages, value: c.value, tmem: c.tmem })),
    },
    records: model.records.map((r) => ({ index: r.index, offset: r.offset, length: r.length, layer: r.layer, type: r.type, name: recordName(r), bodyLength: r.bodyLength, checkpoint: r.checkpoint, detail: describeRecord(source, model, r), ...(r.truncated ? { truncated: true } : {}), ...(r.resynced ? { resynced: true } : {}) })),
    trailing: model.trailing,
  };
}

function registerInfo(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command('info')
    .argument('<image>')
    .option('--json')
    .option('--snapshot <x>')
    .action((image: string, opts: { json?: boolean }) => {
      withSession(image, (s) => {
        const model = s.model();
        const summary = xenSummary(model, s.view);
        if (opts.json) printJson(io, toSnakeCase({ path: image, ...summary }));
        else io.out(printableLines(renderInfo(image, model, s.view)));
      });
      setExit(0);
    });
}

function renderInfo(image: string, m: XenStreamModel, source: ByteSource): string {
  const lines = [`${image}: ${XEN_KIND_LABELS[m.kind]}, ${formatSize(m.size)}`];
  if (m.xl) lines.push(`  xl header      mandatory flags 0x${m.xl.mandatoryFlags.toString(16)} (${m.xl.streamV2 ? 'STREAMv2' : 'legacy body'}${m.xl.mandatoryFlags & 1 ? ', JSON config' : ''})${m.xl.config ? `, domain config ${m.xl.config.length} bytes${configName(m.xl.config.text)}` : ''}`);
  if (m.libxl) lines.push(`  libxl stream   "${LIBXL_IDENT}" v${m.libxl.version}, ${m.libxl.littleEndian ? 'little' : 'big'}-endian${m.libxl.legacy ? ', converted from a legacy stream' : ''}`);
  for (const i of m.images) lines.push(`  libxc image    v${i.version} at ${hexOffset(i.offset)}, ${i.domainType === 1 ? 'x86 PV' : i.domainType === 2 ? 'x86 HVM' : `type ${i.domainType}`}, ${i.xenMajor ? `Xen ${i.xenMajor}.${i.xenMinor}` : `converted by convert-legacy-stream v${i.xenMinor}`}`);
  if (m.legacy) {
    const l = m.legacy;
    lines.push(`  legacy stream  ${l.width * 8}-bit toolstack: ${l.widthEvidence}`);
    lines.push(`                 ${l.guest.toUpperCase()} guest: ${l.guestEvidence}`);
    lines.push(`                 p2m_size ${l.p2mSize}, ${l.checkpoints.length} checkpoint${l.checkpoints.length === 1 ? '' : 's'}${l.compression ? ', Remus compression' : ''}`);
  }
  const d = m.domain;
  lines.push(`  guest          ${d.type.toUpperCase()}${d.guestWidth ? `, ${d.guestWidth * 8}-bit, ${d.ptLevels} page-table levels` : ''}${d.longMode !== undefined ? `, vCPU 0 ${d.longMode ? 'in' : 'not in'} long mode` : ''}${d.vcpus.length ? `, vCPUs ${d.vcpus.join(', ')}` : ''}${d.xenVersion ? ` · saved by ${d.xenVersion.startsWith('converted') || d.xenVersion.startsWith('before') ? d.xenVersion : `Xen ${d.xenVersion}`}` : ''}`);
  lines.push(`  memory         ${m.pages.pagesWithData} pages with data (${formatSize(pageBytes(m))}) in ${m.pages.entries} pfn entries, pfns below 0x${m.pages.pfnLimit.toString(16)}`);
  if (m.checkpoints) lines.push(`  checkpoints    ${m.checkpoints} (Remus/COLO)`);
  for (const b of qemuBlobs(m)) {
    const q = openNestedQemu(source, b.offset, b.length);
    lines.push(`  QEMU state     ${formatSize(b.length)} at ${hexOffset(b.offset)}: ${q.model.elements.filter((e) => e.type === 'FULL').length} device sections${q.model.vmdesc ? ', vmdesc' : ', no vmdesc'}`);
  }
  if (m.trailing) lines.push(`  trailing data  ${formatSize(m.trailing.length)} at ${hexOffset(m.trailing.offset)}`);
  const c = countBySeverity(m.diagnostics);
  lines.push(`  problems       ${c.error} errors, ${c.warning} warnings, ${c.info} notes ("migwb validate" lists them)`);
  if (m.records.length) {
    lines.push('', table(['offset', 'length', 'layer', 'record', 'checkpoint', 'detail'], m.records.map((r) => [hexOffset(r.offset), r.length, r.layer, recordName(r), r.checkpoint, describeRecord(source, m, r)])));
  }
  if (m.legacy) {
    const chunks = m.legacy.checkpoints.flatMap((cp) => cp.chunks);
    lines.push('', table(['offset', 'length', 'chunk', 'kind', 'detail'], chunks.map((c) => [hexOffset(c.offset), c.length, c.marker, c.kind, c.kind === 'pages' ? `${c.entries} pfns, ${c.pages} pages` : c.value !== undefined ? `0x${c.value.toString(16)}` : ''])));
  }
  return lines.join('\n') + '\n';
}

function configName(text: string): string {
  const m = /"name"\s*:\s*"([^"]*)"/.exec(text) ?? /^name\s*=\s*"([^"]*)"/m.exec(text);
  return m ? ` (domain "${m[1]}")` : '';
}

// ------------------------------------------------------------------ validate

function registerValidate(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command('validate')
    .argument('<image>')
    .option('--json')
    .option('--snapshot <x>')
    .action((image: string, opts: { json?: boolean }) => {
      const diags = withSession(image, (s) => s.diagnostics);
      const counts = countBySeverity(diags);
      const verdict = verifierVerdict(diags);
      if (opts.json) {
        printJson(io, { path: image, format: 'xen', valid: counts.error === 0, counts, verify_stream_v2: verdict ? { exit: verdict.exit, says: verdict.says } : { exit: 0, says: null }, diagnostics: toSnakeCase(diags) });
      } else if (diags.length === 0) {
        io.out(`${image}: no problems found\n`);
      } else {
        io.out(`${image}: ${counts.error} errors, ${counts.warning} warnings, ${counts.info} notes\n`);
        for (const d of diags as XenDiagnostic[]) {
          io.out(`${d.severity.padEnd(7)} ${hexOffset(d.offset)}  ${d.section ? printable(d.section) + ': ' : ''}${printable(d.message)}\n`);
          io.out(`        expected ${printable(d.expected)}; found ${printable(d.found)}\n`);
          if (d.hint) io.out(`        ${printable(d.hint)}\n`);
          if (d.verifier) io.out(`        verify-stream-v2 stops here: ${printable(d.verifier.says)}\n`);
        }
      }
      if (!opts.json && verdict && !counts.error) io.out(`note: verify-stream-v2 (Python 3) rejects this file for a reason of its own (above); Xen's restore does not\n`);
      setExit(counts.error > 0 ? 1 : 0);
    });
}

// ------------------------------------------------------------------ dump

function registerDump(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command('dump')
    .argument('<image>')
    .option('--json')
    .option('--record <name>', 'only this record (NAME, NAME:K or #INDEX) or legacy chunk')
    .option('--section <name>', 'a QEMU device section of the emulator state (idstr or idstr:instance)')
    .action((image: string, opts: { json?: boolean; record?: string; section?: string }) => {
      withSession(image, (s) => {
        const model = s.model();
        const out: { target: string; fields: FieldNode[] }[] = [];
        if (!opts.section) {
          for (const t of fieldTargets(model, s.view)) if (!opts.record || t.names.includes(opts.record)) out.push({ target: t.names[0], fields: t.fields() });
          if (opts.record && !out.length) throw new UserError(`no record or chunk ${JSON.stringify(opts.record)}; "migwb info" lists them`);
        }
        const qemu: { blob: number; section: string; fields: FieldNode[] }[] = [];
        if (!opts.record) {
          qemuBlobs(model).forEach((b, k) => {
            const q = openNestedQemu(s.view, b.offset, b.length);
            for (const e of q.model.elements) {
              if (e.type !== 'FULL') continue;
              const name = `${e.idstr}:${e.instanceId}`;
              if (opts.section && opts.section !== e.idstr && opts.section !== name) continue;
              const fields = decodeSection(q.source, q.model, e).nodes.map((n) => shiftNode(n, b.offset));
              qemu.push({ blob: k, section: name, fields });
            }
          });
          if (opts.section && !qemu.length) throw new UserError(`no QEMU device section ${JSON.stringify(opts.section)} in the emulator state`);
        }
        if (opts.json) printJson(io, toSnakeCase({ path: image, records: out, emulator: qemu }));
        else {
          for (const r of out) {
            io.out(`${printable(r.target)}\n`);
            printNodes(io, r.fields, r.target, '  ');
          }
          for (const q of qemu) {
            io.out(`EMULATOR_CONTEXT${q.blob ? `:${q.blob}` : ''} › ${printable(q.section)}\n`);
            printNodes(io, q.fields, `EMULATOR_CONTEXT${q.blob ? `:${q.blob}` : ''}.${q.section.replace(/:0$/, '')}`, '  ');
          }
        }
      });
      setExit(0);
    });
}

function shiftNode(n: FieldNode, by: number): FieldNode {
  return { ...n, offset: n.offset + by, children: n.children?.map((c) => shiftNode(c, by)) };
}

function printNodes(io: CliIO, nodes: FieldNode[], prefix: string, indent: string): void {
  for (const { path, node } of fieldPaths(nodes)) {
    if (node.children && node.type !== 'struct' && node.type !== 'array') continue;
    const depth = (path.match(/\./g) ?? []).length;
    io.out(printable(`${indent}${'  '.repeat(depth)}${hexOffset(node.offset)} ${path.slice(path.lastIndexOf('.') + 1)} (${node.type}, ${node.size} bytes)${node.children ? '' : ` = ${formatFieldValue(node.value)}`}${node.problem ? `  PROBLEM: ${node.problem}` : ''}`) + '\n');
  }
  void prefix;
}

// ------------------------------------------------------------------ guest memory

function registerMemory(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command('ram')
    .argument('<image>')
    .option('--json')
    .option('--snapshot <x>')
    .option('--max-ram-below-4g <x>')
    .action((image: string, opts: { json?: boolean }) => {
      withSession(image, (s) => {
        const m = s.model();
        const memory = new XenGuestMemory(s.view, m);
        const ranges = memory.ranges();
        const p2m = memory.p2mFrames();
        if (opts.json) {
          printJson(io, toSnakeCase({ path: image, guest: m.domain.type, addressing: m.domain.type === 'pv' ? 'pseudo-physical' : 'guest-physical', pages: m.pages.pagesWithData, ranges: ranges.map((r) => ({ ...r, address: r.firstPfn * XEN_PAGE_SIZE, typeName: pageTypeName(r.type) })), p2m: p2m ?? null }));
          return;
        }
        io.out(`${image}: ${m.domain.type.toUpperCase()} guest, ${m.pages.pagesWithData} pages with data (${formatSize(pageBytes(m))}); ${m.domain.type === 'pv' ? 'pfns are pseudo-physical frames' : 'pfn × 4096 is the guest-physical address'}\n`);
        if (p2m) io.out(`p2m: ${p2m.frames.length} frame${p2m.frames.length === 1 ? '' : 's'} (pfns ${p2m.frames.map((f) => `0x${f.toString(16)}`).join(', ')}), ${p2m.perFrame} entries each\n`);
        io.out(
          table(
            ['pfns', 'pages', m.domain.type === 'pv' ? 'mfn (saving host)' : 'guest-physical', 'state', 'type', 'file offset', 'record'],
            ranges.map((r) => [
              `0x${r.firstPfn.toString(16)}-0x${(r.firstPfn + r.count - 1).toString(16)}`,
              r.count,
              m.domain.type === 'pv' ? mfnText(memory, r.firstPfn) : `${hexAddress(r.firstPfn * XEN_PAGE_SIZE)}-${hexAddress((r.firstPfn + r.count) * XEN_PAGE_SIZE - 1)}`,
              PAGE_STATE_LABELS[r.state],
              pageTypeName(r.type),
              r.offset !== undefined ? hexOffset(r.offset) : '—',
              m.legacy ? `chunk ${r.record}` : `#${r.record}`,
            ]),
          ) + '\n',
        );
      });
      setExit(0);
    });

  program
    .command('read')
    .argument('<image>')
    .option('--pfn <pfn>', 'a page frame number (pseudo-physical for PV guests)')
    .option('--gpa <address>', 'guest-physical address (HVM), or pseudo-physical address (PV)')
    .option('--offset <offset>', 'offset in the --pfn page', '0')
    .option('--length <bytes>', 'how many bytes (default: one page with --pfn)')
    .option('--json')
    .option('--block <x>')
    .option('--snapshot <x>')
    .option('--max-ram-below-4g <x>')
    .action((image: string, opts: { pfn?: string; gpa?: string; offset: string; length?: string; json?: boolean; block?: string }) => {
      if (opts.block) throw new UserError('a Xen stream has no RAM blocks: address its memory with --pfn PFN or --gpa ADDRESS');
      if ((opts.pfn === undefined) === (opts.gpa === undefined)) throw new UserError('give either --pfn PFN [--offset N] or --gpa ADDRESS, with --length');
      const address = opts.pfn !== undefined ? parseAddress(opts.pfn, '--pfn') * XEN_PAGE_SIZE + parseAddress(opts.offset, '--offset') : parseAddress(opts.gpa!, '--gpa');
      const length = opts.length !== undefined ? parseAddress(opts.length, '--length') : opts.pfn !== undefined ? XEN_PAGE_SIZE - parseAddress(opts.offset, '--offset') : undefined;
      if (!length) throw new UserError('give --length');
      withSession(image, (s) => {
        const m = s.model();
        const memory = new XenGuestMemory(s.view, m);
        const { bytes, pages } = memory.readRange(address, length);
        const origins = pages.map((p) => ({ pfn: p.pfn, address: p.pfn * XEN_PAGE_SIZE, state: p.state, type: pageTypeName(p.type), source: p.source, fileOffset: p.offset ?? null, record: p.record ?? null, mfn: m.domain.type === 'pv' ? memory.mfnOf(p.pfn) ?? null : null }));
        if (opts.json) printJson(io, toSnakeCase({ path: image, address, length, hex: Buffer.from(bytes).toString('hex'), origins }));
        else {
          for (const o of origins) io.out(`# pfn 0x${o.pfn.toString(16)} (${m.domain.type === 'pv' ? 'pseudo-physical' : 'gpa'} ${hexAddress(o.address)}${o.mfn !== null ? `, mfn 0x${o.mfn.toString(16)} on the saving host` : ''}): ${PAGE_STATE_LABELS[o.state]}, ${o.type}${o.fileOffset !== null ? `, file offset ${hexOffset(o.fileOffset)}` : o.source === 'delta' ? ', rebuilt from a Remus delta' : ''}${o.record !== null ? `, ${m.legacy ? 'chunk' : 'record'} ${o.record}` : ''}\n`);
          io.out(hexdump(bytes, address));
        }
      });
      setExit(0);
    });

  program
    .command('extract-ram')
    .argument('<image>')
    .requiredOption('--out <dir>')
    .option('--layout <layout>', '', 'physical')
    .option('--format <format>', '', 'raw')
    .option('--force')
    .option('--json')
    .option('--snapshot <x>')
    .option('--max-ram-below-4g <x>')
    .action((image: string, opts: { out: string; layout: string; format: string; force?: boolean; json?: boolean }) => {
      if (opts.format !== 'raw' && opts.format !== 'elf') throw new UserError(`--format ${opts.format}: give raw or elf`);
      withSession(image, (s) => {
        const m = s.model();
        if (opts.format === 'elf' && m.domain.type === 'pv') throw new UserError('an ELF core needs guest-physical addresses; a PV guest has pseudo-physical frames only (use --format raw)');
        const r = extractXen(s.view, m, opts.out, { format: opts.format as 'raw' | 'elf', force: opts.force, image });
        if (opts.json) printJson(io, toSnakeCase({ path: image, ...r }));
        else io.out(`${r.files.map((f) => `wrote ${f.path}: ${formatSize(f.size)} (${formatSize(f.dataBytes)} of page data)`).join('\n')}\nwrote ${r.map}\n`);
      });
      setExit(0);
    });
}

function mfnText(memory: XenGuestMemory, pfn: number): string {
  const mfn = memory.mfnOf(pfn);
  return mfn === undefined ? '—' : `0x${mfn.toString(16)}…`;
}

// ------------------------------------------------------------------ edit / apply / repair

const REQUEST_OPTIONS: [RequestKind | 'pfn', string][] = [
  ['set', '--set <field=value>'],
  ['ram', '--ram <address=hex>'],
  ['pfn', '--pfn <pfn=hex>'],
  ['replace-bytes', '--replace-bytes <offset=hex>'],
  ['insert-bytes', '--insert-bytes <offset=hex>'],
  ['delete-bytes', '--delete-bytes <offset:length>'],
];

function registerEdit(program: Command, io: CliIO, setExit: SetExit): void {
  const steps: { kind: RequestKind | 'pfn'; text: string }[] = [];
  const cmd = program.command('edit').argument('<image>').requiredOption('--journal <file>');
  for (const [kind, flags] of REQUEST_OPTIONS) cmd.option(flags, '', (v: string) => void steps.push({ kind, text: v }));
  cmd
    .option('--undo [count]')
    .option('--redo [count]')
    .option('--fields <target>')
    .option('--report <file>')
    .option('--json')
    .action(async (image: string, opts: { journal: string; undo?: string | true; redo?: string | true; fields?: string; report?: string; json?: boolean }) => {
      checkOutputs(givenPaths([[image, 'the image']]), givenPaths([[opts.journal, '--journal'], [opts.report, '--report']]));
      const s = XenSession.open(image);
      try {
        const existing = fs.existsSync(opts.journal) ? readJournalFile(opts.journal) : undefined;
        if (existing) await s.loadJournal(existing);
        const undone = repeat(opts.undo, () => s.undo(), '--undo');
        const redone = repeat(opts.redo, () => s.redo(), '--redo');
        const applied = steps.map((step) => s.apply(step.kind === 'pfn' ? pfnRequest(step.text) : parseRequest(step.kind, step.text)));
        const changed = applied.length + undone.length + redone.length > 0 || !existing;
        if (changed) await writeTextAtomically(opts.journal, journalText(await s.document()), s.inputs());
        if (opts.report) await writeTextAtomically(opts.report, await s.report(), [...s.inputs(), { path: opts.journal, role: '--journal' }]);
        const diags = s.diagnostics;
        const fields = opts.fields ? listFields(s, opts.fields) : undefined;
        if (opts.json) {
          printJson(io, toSnakeCase({ image, journal: opts.journal, applied: applied.map(wireEdit), undone: undone.map(wireEdit), redone: redone.map(wireEdit), edits: s.entries.length, size: s.view.size, counts: countBySeverity(diags), diagnostics: diags, ...(fields ? { fields } : {}) }));
        } else {
          for (const e of undone) printEdit(io, 'undone:', e);
          for (const e of redone) printEdit(io, 'redone:', e);
          for (const e of applied) printEdit(io, '+', e);
          io.out(`journal ${opts.journal}: ${s.entries.length} edit${s.entries.length === 1 ? '' : 's'}${s.redoable.length ? `, ${s.redoable.length} undone` : ''}${changed ? '' : ' (unchanged)'}\n`);
          for (const f of fields ?? []) io.out(printable(`${hexOffset(f.offset)}  ${f.address}  ${f.type}${f.editable ? '' : ' (not settable)'}  ${f.size} bytes${f.value ? '  ' + f.value : ''}`) + '\n');
          printDiagnostics(io, `edited file (${s.view.size} bytes)`, diags);
          if (!countBySeverity(diags).error && s.entries.length) io.out(`save it with: migwb apply ${image} ${opts.journal} -o OUT\n`);
        }
      } finally {
        s.close();
      }
      setExit(0);
    });
}

/** --pfn PFN[+OFFSET]=HEX: guest memory by page frame. */
function pfnRequest(text: string) {
  const m = /^([^=+]+)(?:\+([^=]+))?=(.*)$/.exec(text);
  if (!m) throw new UserError(`--pfn takes PFN[+OFFSET]=HEX, e.g. 0x10+0x20=deadbeef; not ${JSON.stringify(text)}`);
  return { op: 'ram-write' as const, gpa: parseAddress(m[1], '--pfn') * XEN_PAGE_SIZE + (m[2] ? parseAddress(m[2], '--pfn offset') : 0), hex: m[3] };
}

function listFields(s: XenSession, spec: string): { address: string; type: string; offset: number; size: number; value: string; editable: boolean }[] {
  const target = fieldTargets(s.model(), s.view).find((t) => t.names.includes(spec));
  if (!target) throw new UserError(`no record, header or chunk ${JSON.stringify(spec)} ("migwb info" lists the records)`);
  return fieldPaths(target.fields()).map(({ path, node }) => ({ address: `${target.names[0]}.${path}`, type: node.type, offset: node.offset, size: node.size, value: node.children ? '' : formatFieldValue(node.value), editable: !node.children && fieldEncoding(node).kind !== 'not-editable' }));
}


function registerApply(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command('apply')
    .argument('<image>')
    .argument('<journal>')
    .requiredOption('-o, --output <file>')
    .option('--force')
    .option('--report <file>')
    .option('--json')
    .option('--stream-only')
    .option('--donor <x>')
    .action(async (image: string, journal: string, opts: { output: string; force?: boolean; report?: string; json?: boolean }) => {
      checkOutputs(givenPaths([[image, 'the image'], [journal, 'the journal']]), givenPaths([[opts.output, '-o'], [opts.report, '--report']]));
      const s = XenSession.open(image);
      try {
        await s.loadJournal(readJournalFile(journal));
        setExit(await saveAndReport(io, s, opts.output, { force: opts.force, report: opts.report, json: opts.json, journal, extra: { journal, edits: s.entries.length } }));
      } finally {
        s.close();
      }
    });
}

function registerRepair(program: Command, io: CliIO, setExit: SetExit): void {
  program
    .command('repair')
    .argument('<image>')
    .option('-o, --output <file>')
    .option('--dry-run')
    .option('--force')
    .option('--journal <file>')
    .option('--report <file>')
    .option('--json')
    .option('--donor <x>')
    .option('--stream-only')
    .action(async (image: string, opts: { output?: string; dryRun?: boolean; force?: boolean; journal?: string; report?: string; json?: boolean; donor?: string }) => {
      if (opts.donor) throw new UserError('Xen repairs need no donor: every repair keeps what the stream has');
      if (!opts.output && !opts.dryRun) throw new UserError('give the output file with -o OUT (the image is never written), or --dry-run to see the plan');
      checkOutputs(givenPaths([[image, 'the image']]), givenPaths([[opts.dryRun ? undefined : opts.output, '-o'], [opts.journal, '--journal'], [opts.report, '--report']]));
      const s = XenSession.open(image);
      try {
        const before = s.diagnostics;
        const { repairs, stopped } = s.repairAll();
        const after = s.diagnostics;
        if (!opts.json) {
          io.out(`${image}: ${countBySeverity(before).error} errors\n`);
          if (!repairs.length) io.out('nothing to repair\n');
          repairs.forEach((r, i) => io.out(printableLines(`${String(i + 1).padStart(3)}. [${r.code}] ${r.edit.summary}\n${r.edit.fixups.map((f) => `       ${f}\n`).join('')}`)));
          if (stopped) io.out(`stopped: ${stopped}\n`);
          printDiagnostics(io, opts.dryRun ? 'predicted result' : 'repaired file', after);
          const verdict = verifierVerdict(after);
          io.out(verdict ? `verify-stream-v2 would still say: ${verdict.says}\n` : 'verify-stream-v2 is expected to accept the result\n');
        }
        if (opts.journal) await writeTextAtomically(opts.journal, journalText(await s.document()), [...s.inputs(), ...givenPaths([[opts.dryRun ? undefined : opts.output, '-o']])]);
        if (opts.dryRun || !repairs.length) {
          if (opts.json) printJson(io, toSnakeCase({ image, dryRun: !!opts.dryRun, repairs: repairs.map((r) => ({ code: r.code, summary: r.edit.summary })), stopped: stopped ?? null, after: { counts: countBySeverity(after), diagnostics: after } }));
          setExit(countBySeverity(after).error ? 1 : 0);
          return;
        }
        setExit(await saveAndReport(io, s, opts.output!, { force: opts.force, report: opts.report, json: opts.json, journal: opts.journal, extra: { repairs: repairs.map((r) => ({ code: r.code, summary: r.edit.summary })), stopped: stopped ?? null } }));
      } finally {
        s.close();
      }
    });
}

async function saveAndReport(io: CliIO, s: XenSession, output: string, o: { force?: boolean; report?: string; json?: boolean; journal?: string; extra: Record<string, unknown> }): Promise<number> {
  try {
    const saved = await s.save(output, { force: o.force });
    if (o.report) await writeTextAtomically(o.report, await s.report(saved), [...s.inputs(), { path: saved.path, role: '-o' }, ...givenPaths([[o.journal, 'the journal']])]);
    if (o.json) printJson(io, toSnakeCase({ image: s.path, ...o.extra, output: { path: saved.path, size: saved.size, sha256: saved.sha256 }, diagnostics: saved.diagnostics }));
    else io.out(`wrote ${saved.path}: ${saved.size} bytes, sha256 ${saved.sha256}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof SaveRefusedError)) throw e;
    io.err(`migwb: ${e.message}\n`);
    return 1;
  }
}

export type { Diagnostic };
