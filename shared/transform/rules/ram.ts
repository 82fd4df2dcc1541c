import { EditError } from '../../edit/errors';
import { RAM_IDSTR, RamFlag } from '../../formats/qemu-stream/constants';
import { PageKind } from '../../formats/qemu-stream/page-index';
import { locateRecord } from '../../formats/qemu-stream/page-records';
import { readBytes } from '../../io/byte-source';
import { readBe64 } from '../../io/bytes';
import type { ImageView, TransformRule } from '../rule';
import { finding } from './helpers';

/** RAM encodings a target cannot read, and the normalising re-encodings. */

export const compressRule: TransformRule = {
  name: 'compress-to-page',
  description: 'QEMU 9.1 removed the compress capability and COMPRESS_PAGE records; each one becomes a PAGE record holding the zlib-inflated page, framed as before.',
  changedIn: { since: '9.1', keyedBy: 'release' },
  cites: [{ source: 'migration/ram.c ram_load_precopy (RAM_SAVE_FLAG_COMPRESS_PAGE 0x100, removed in 9.1; "Unknown combination of migration flags")' }, { source: 'qapi/migration.json MigrationCapability "compress" (deprecated 8.2, removed 9.1)' }],
  kind: 'required',
  detect(image, target) {
    if (target.release.capabilities.includes('compress')) return [];
    const first = firstRecordOf(image, PageKind.COMPRESS);
    if (!first) return [];
    const count = countRecords(image, 'compress');
    return [
      finding(this, {
        subject: 'ram',
        offset: first.offset,
        reason: `${count} pages are COMPRESS_PAGE records, which QEMU ${target.release.version} cannot read (and its destination cannot enable "compress")`,
        qemuError: [`Unknown combination of migration flags: 0x${first.flags.toString(16)}`, `error while loading state section id ${ramSectionId(image)}(ram)`, 'load of migration failed: Invalid argument'],
        detail: { count },
      }),
    ];
  },
  apply(draft, f) {
    draft.ram.inflateCompressed = true;
    draft.note({ rule: this.name, subject: 'ram', offset: f.offset, action: `${(f.detail as { count: number }).count} COMPRESS_PAGE records → PAGE records (zlib inflated)` });
  },
};

export const xbzrleRule: TransformRule = {
  name: 'xbzrle-to-page',
  description: 'XBZRLE records (deltas against the previously sent copy of a page) become PAGE records holding the page as of that record. Both releases read XBZRLE; this only normalises a stream.',
  cites: [{ source: 'migration/ram.c load_xbzrle, migration/xbzrle.c xbzrle_decode_buffer' }],
  kind: 'normalise',
  detect(image, target) {
    if (!target.options?.includes(this.name)) return [];
    const first = firstRecordOf(image, PageKind.XBZRLE);
    if (!first) return [];
    return [finding(this, { subject: 'ram', offset: first.offset, reason: 'asked for (--xbzrle-to-page)', detail: { count: countRecords(image, 'xbzrle') } })];
  },
  apply(draft, f) {
    draft.ram.xbzrleToPage = true;
    draft.note({ rule: this.name, subject: 'ram', offset: f.offset, action: `${(f.detail as { count: number }).count} XBZRLE records → PAGE records holding the page as of each record` });
  },
};

export const mappedRamToInlineRule: TransformRule = {
  name: 'mapped-ram-to-inline',
  description:
    'mapped-ram (QEMU 9.0, file: migration) keeps pages at fixed file offsets behind a MappedRamHeader per block; older releases know neither the capability nor the layout. The pages become inline PAGE records (ZERO records where the bitmap has none) and the capability leaves CONFIGURATION.',
  changedIn: { since: '9.0', keyedBy: 'release' },
  cites: [
    { source: 'migration/ram.c mapped_ram_setup_ramblock, parse_ramblock_mapped_ram; docs/devel/migration/mapped-ram.rst' },
    { source: 'migration/savevm.c get_capability ("Received unknown capability %s")' },
  ],
  kind: 'required',
  detect(image, target) {
    const mapped = image.model.ramBlocks.filter((b) => b.mappedRam);
    if (!mapped.length || target.release.capabilities.includes('mapped-ram')) return [];
    const caps = image.model.configuration?.subsections?.find((s) => s.capabilities?.includes('mapped-ram'));
    return [
      finding(this, {
        subject: 'ram',
        offset: caps?.offset ?? mapped[0].mappedRam!.headerOffset,
        reason: `${mapped.length} RAM blocks are laid out as mapped-ram, which QEMU ${target.release.version} does not know`,
        qemuError: caps ? ['Received unknown capability mapped-ram', 'load of migration failed: Invalid argument'] : undefined,
        detail: { blocks: mapped.length, pages: mapped.reduce((n, b) => n + b.mappedRam!.pagesPresent, 0) },
      }),
    ];
  },
  apply(draft, f) {
    const { blocks, pages } = f.detail as { blocks: number; pages: number };
    draft.ram.mappedToInline = true;
    draft.removeCapability('mapped-ram');
    draft.note({ rule: this.name, subject: 'CONFIGURATION', action: 'capability mapped-ram removed from configuration/capabilities' });
    draft.note({ rule: this.name, subject: 'ram', offset: f.offset, action: `${blocks} mapped-ram blocks → inline records (${pages} PAGE records, ZERO records for the pages the bitmaps do not hold)` });
    if (draft.image.model.capabilities.includes('multifd')) draft.difference({ rule: this.name, subject: 'ram', what: 'the stream no longer needs multifd on the destination' });
  },
};

export const inlineToMappedRamRule: TransformRule = {
  name: 'inline-to-mapped-ram',
  description: 'For a QEMU 9.0+ `file:` load with the mapped-ram capability: inline page records become mapped-ram blocks (header, bitmap, pages at 1 MiB-aligned offsets) and CONFIGURATION lists the capability.',
  changedIn: { since: '9.0', keyedBy: 'release' },
  cites: [{ source: 'migration/ram.c mapped_ram_setup_ramblock (MappedRamHeader, MAPPED_RAM_FILE_OFFSET_ALIGNMENT 1 MiB)' }, { source: 'migration/options.c migrate_mapped_ram; savevm.c should_validate_capability' }],
  kind: 'normalise',
  detect(image, target) {
    if (!target.options?.includes(this.name)) return [];
    if (!target.release.capabilities.includes('mapped-ram')) throw new EditError(`QEMU ${target.release.version} has no mapped-ram; leave out --mapped-ram`);
    if (image.model.ramBlocks.some((b) => b.mappedRam) || !image.model.ramBlocks.length) return [];
    if (image.model.capabilities.includes('x-ignore-shared')) throw new EditError('mapped-ram cannot be combined with x-ignore-shared; leave out --mapped-ram');
    const start = image.model.elements.find((e) => e.type === 'START' && e.idstr === RAM_IDSTR);
    return [finding(this, { subject: 'ram', offset: start?.offset ?? 0, reason: 'asked for (--mapped-ram)', detail: { blocks: image.model.ramBlocks.length } })];
  },
  apply(draft, f) {
    draft.ram.inlineToMapped = true;
    draft.addCapability('mapped-ram');
    draft.note({ rule: this.name, subject: 'CONFIGURATION', action: 'capability mapped-ram added to configuration/capabilities' });
    draft.note({ rule: this.name, subject: 'ram', offset: f.offset, action: `${(f.detail as { blocks: number }).blocks} RAM blocks laid out as mapped-ram (pages at fixed, 1 MiB-aligned offsets)` });
    draft.difference({ rule: this.name, subject: 'ram', what: 'load with -incoming defer, migrate-set-capabilities mapped-ram=on, migrate-incoming file:PATH (a pipe cannot carry mapped-ram)' });
  },
};

/** The first record of a kind, with its offset and flags as the loader sees them. */
function firstRecordOf(image: ImageView, kind: PageKind): { offset: number; flags: number } | undefined {
  const pages = image.model.pages;
  for (let r = 0; r < pages.runCount; r++) {
    const run = pages.run(r);
    if (run.kind !== kind) continue;
    const record = locateRecord(image.source, image.model, r, run.firstPage);
    if (!record) return { offset: run.dataOffset, flags: kind === PageKind.COMPRESS ? RamFlag.COMPRESS_PAGE : RamFlag.XBZRLE };
    const header = readBe64(readBytes(image.source, record.offset, 8), 0);
    return { offset: record.offset, flags: header % image.model.pageSize };
  }
  return undefined;
}

function countRecords(image: ImageView, kind: 'compress' | 'xbzrle'): number {
  return image.model.elements.reduce((n, e) => n + (e.pages?.[kind] ?? 0), 0);
}

function ramSectionId(image: ImageView): number {
  return image.model.elements.find((e) => e.type === 'START' && e.idstr === RAM_IDSTR)?.sectionId ?? 2;
}
