import type { Command } from 'commander';
import type { DiffOffset, ImageDiff, RamDifferenceRun } from '../../../shared/api/image-diff';
import { toSnakeCase } from '../../../shared/util/wire';
import { hexAddress } from '../../memory/addresses';
import { diffOpenedImages } from '../../services/diff-images';
import { UserError } from '../../services/user-error';
import { formatSize, hexOffset, printable, table } from '../format';
import { printJson, type CliIO } from '../output';
import { progressBar } from '../progress';
import { openForDiff } from '../../services/diff-open';

/** Exit statuses of `migwb diff`, as `cmp` and `diff` use them. */
export const DIFF_EQUAL = 0;
export const DIFF_DIFFERENT = 1;

/** Lines of RAM runs and fields printed as text; --json lists all. */
const MAX_TEXT_RUNS = 200;

interface DiffCommandOptions {
  json?: boolean;
  fields?: boolean;
  ram?: boolean;
  section?: string[];
  bytes?: boolean;
  snapshotA?: string;
  snapshotB?: string;
  maxRuns?: string;
}

export function registerDiff(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('diff')
    .description(
      'compare two images by meaning: header, sections by idstr and instance, device fields by path, vmdesc, guest RAM page by page; exit status 0: equal in content, 1: different, 2: could not run',
    )
    .argument('<a>', 'first image (any container)')
    .argument('<b>', 'second image (any container)')
    .option('--json', 'machine-readable output')
    .option('--fields', 'compare the structure (header, sections, fields, vmdesc); with --ram, both (the default)')
    .option('--ram', 'compare guest RAM; with --fields, both (the default)')
    .option('--section <name[:instance]>', 'compare only this device section (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--bytes', 'show the differing bytes of the first page of each RAM run')
    .option('--max-runs <n>', 'keep at most N differing RAM runs (the rest are counted)', '100000')
    .option('--snapshot-a <name|id>', 'qcow2: the snapshot of A to compare')
    .option('--snapshot-b <name|id>', 'qcow2: the snapshot of B to compare')
    .action(async (pathA: string, pathB: string, opts: DiffCommandOptions) => {
      const maxRuns = Number(opts.maxRuns);
      if (!Number.isInteger(maxRuns) || maxRuns < 0) throw new UserError(`--max-runs takes a whole number, not ${JSON.stringify(opts.maxRuns)}`);
      const both = !opts.fields && !opts.ram;
      const compareRam = both || !!opts.ram;
      const opening = progressBar(io, 'opening both');
      let sides: Awaited<ReturnType<typeof openForDiff>>;
      try {
        sides = await openForDiff([{ path: pathA, snapshot: opts.snapshotA }, { path: pathB, snapshot: opts.snapshotB }], { hashPages: compareRam, onProgress: (d, t) => opening.update(d, t) });
      } finally {
        opening.done();
      }
      const [a, b] = sides;
      try {
        const bar = progressBar(io, 'comparing RAM');
        let diff: ImageDiff;
        try {
          diff = diffOpenedImages(
            a.image,
            b.image,
            { fields: both || !!opts.fields, ram: compareRam, sections: opts.section, pageBytes: opts.bytes, maxRuns, onProgress: (d, t) => bar.update(d, t) },
            { a: a.hashes, b: b.hashes },
          );
        } finally {
          bar.done();
        }
        if (opts.json) printJson(io, toSnakeCase(diff));
        else io.out(renderDiff(diff, { structure: both || !!opts.fields }));
        setExit(diff.equalInContent ? DIFF_EQUAL : DIFF_DIFFERENT);
      } finally {
        a.image.close();
        b.image.close();
      }
    });
}

function at(o: DiffOffset | undefined): string {
  if (!o) return '-';
  return o.file !== undefined ? hexOffset(o.file) : `stream ${hexOffset(o.stream)}`;
}

export function renderDiff(d: ImageDiff, shown: { structure: boolean }): string {
  const lines: string[] = [];
  const side = (name: string, s: ImageDiff['a']) =>
    `${name}: ${printable(s.label)} (${s.layers.length ? s.layers.join(' > ') : s.kind}, ${formatSize(s.size).split(' (')[0]} stream, ${s.offsetSpace} offsets)`;
  lines.push(side('A', d.a), side('B', d.b), '');
  if (shown.structure) {
    if (d.header.length) {
      lines.push('header:');
      for (const h of d.header) lines.push(`  ${printable(h.what)}: ${printable(h.a)} -> ${printable(h.b)}   (A ${at(h.offsetA)}, B ${at(h.offsetB)})`);
    } else lines.push('header: equal');
    const counts = [
      `${d.sectionsAdded.length} added`,
      `${d.sectionsRemoved.length} removed`,
      `${d.sectionsChanged.length} changed`,
      `${d.sectionsMoved.length} moved`,
    ];
    lines.push(`sections: ${counts.join(', ')}`);
    for (const s of d.sectionsRemoved) lines.push(`  - ${printable(s.name)} (only in A, ${s.type}, version ${s.version ?? '?'}, at ${at(s.offset)})`);
    for (const s of d.sectionsAdded) lines.push(`  + ${printable(s.name)} (only in B, ${s.type}, version ${s.version ?? '?'}, at ${at(s.offset)})`);
    for (const s of d.sectionsMoved) lines.push(`  > ${printable(s.name)} moved (position ${s.positionA} in A, ${s.positionB} in B)`);
    for (const s of d.sectionsChanged) {
      const version = s.versionChanged ? `, version ${s.versionChanged.a ?? '?'} -> ${s.versionChanged.b ?? '?'}` : '';
      lines.push(`  ~ ${printable(s.name)}: ${s.fields.length} fields differ${version} (A ${at(s.a.offset)}, B ${at(s.b.offset)})${s.note ? `; ${printable(s.note)}` : ''}`);
      if (s.fields.length) {
        lines.push(
          indent(
            table(
              ['FIELD', 'CHANGE', 'A', 'B', 'A OFFSET', 'B OFFSET'],
              s.fields.map((f) => [
                f.path,
                f.change === 'changed' && f.differingBytes !== undefined ? `${f.differingBytes} bytes` : f.change,
                short(f.valueA),
                short(f.valueB),
                at(f.offsetA),
                at(f.offsetB),
              ]),
            ),
            6,
          ),
        );
      }
    }
    if (d.vmdesc.length) {
      lines.push(`vmdesc: ${d.vmdesc.length} descriptions differ`);
      for (const v of d.vmdesc) lines.push(`  ${printable(v.section)} ${printable(v.path)}: ${printable(v.a ?? '(none)')} -> ${printable(v.b ?? '(none)')}`);
    } else lines.push('vmdesc: equal for every matched section');
  }
  if (d.ram) {
    const differing = d.ram.blocks.reduce((n, b) => n + b.pagesDiffering + b.pagesOnlyA + b.pagesOnlyB, 0);
    lines.push('', `RAM: ${differing} pages differ in ${d.ram.runs.length + d.ram.runsOmitted} runs (page size ${d.ram.pageSize})`);
    lines.push(
      indent(
        table(
          ['BLOCK', 'SIZE A', 'SIZE B', 'COMPARED', 'DIFFERING', 'REFRAMED', 'ONLY A', 'ONLY B'],
          d.ram.blocks.map((b) => [b.block, size(b.sizeA), size(b.sizeB), b.pagesCompared, b.pagesDiffering, b.pagesReframed, b.pagesOnlyA, b.pagesOnlyB]),
        ),
        2,
      ),
    );
    if (d.ram.runs.length) {
      lines.push('');
      lines.push(indent(table(['GUEST-PHYSICAL', 'BLOCK', 'BLOCK OFFSET', 'PAGES', 'A RECORD', 'B RECORD', 'A DATA', 'B DATA'], d.ram.runs.slice(0, MAX_TEXT_RUNS).map(runRow)), 2));
      if (d.ram.runs.length > MAX_TEXT_RUNS) lines.push(`  … ${d.ram.runs.length - MAX_TEXT_RUNS} more runs (--json lists them all)`);
      for (const r of d.ram.runs.slice(0, MAX_TEXT_RUNS)) {
        for (const x of r.bytes ?? []) lines.push(`    ${printable(r.block)}+${hexOffset(r.blockOffset + x.offset)}: ${x.a} -> ${x.b}`);
      }
    }
    if (d.ram.runsOmitted) lines.push(`  ${d.ram.runsOmitted} more runs were not kept (--max-runs)`);
    for (const p of d.ram.problems.slice(0, 20)) lines.push(`  problem: ${printable(p)}`);
  }
  if (d.framing.length) {
    lines.push('', 'framing (differs, but not the state a destination loads):');
    for (const f of d.framing) lines.push(`  ${printable(f.what)}: ${printable(f.a)} | ${printable(f.b)}`);
  }
  if (d.releases) {
    lines.push('', `QEMU releases: A ${d.releases.a}, B ${d.releases.b}; what ${d.releases.b} is known to write differently (transform rules):`);
    for (const k of d.knownDifferences) lines.push(`  ${k.rule}  ${printable(k.subject)}: ${printable(k.reason)}`);
    if (!d.knownDifferences.length) lines.push('  none the rules know of for this pair');
  }
  lines.push('', d.equalInContent ? 'equal in content' : 'different in content');
  return lines.join('\n') + '\n';
}

function runRow(r: RamDifferenceRun): (string | number)[] {
  return [r.gpa === undefined ? '-' : hexAddress(r.gpa), r.block, hexOffset(r.blockOffset), r.pages, r.recordA, r.recordB, at(r.offsetA), at(r.offsetB)];
}

function size(n: number | undefined): string {
  return n === undefined ? '-' : formatSize(n).split(' (')[0];
}

function short(v: string | undefined): string {
  if (v === undefined) return '-';
  return v.length > 40 ? `${v.slice(0, 40)}…` : v;
}

function indent(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}
