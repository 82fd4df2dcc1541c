import { hex } from '../diagnostics';
import { toHex } from '../io/bytes';
import { parseHex } from './user-input';
import type { EditContext } from './context';
import { EditError } from './errors';
import { compileSetField } from './field-edit';
import { guestRamTarget } from './guest-address';
import type { EditRequest } from './intents';
import type { CompiledEdit } from './journal';
import { bytesPiece } from './pieces';
import { compileRamWrite } from './ram-edit';
import { compileChunkEdit, compileSetNote, compileSetTags } from './container-edit';
import { compileDeleteSection, compileGraftSection, compileInsertSection, compileMoveSection, compileReplaceSection } from './section-edit';

type Compiler<K extends EditRequest['op']> = (request: Extract<EditRequest, { op: K }>, ctx: EditContext) => CompiledEdit;

/** How each kind of request is compiled: one row per op. */
const COMPILERS: { [K in EditRequest['op']]: Compiler<K> } = {
  'replace-bytes': compileByteEdit,
  'insert-bytes': compileByteEdit,
  'delete-bytes': compileByteEdit,
  'set-field': (r, ctx) => compileSetField(ctx, r.field, r.value, r.resize),
  'ram-write': (r, ctx) => {
    const data = parseHex(r.hex, 'the RAM bytes');
    return compileRamWrite(ctx, guestRamTarget(ctx, r.gpa, data.length), data);
  },
  'ram-block-write': (r, ctx) => {
    const block = ctx.model.ramBlocks.findIndex((b) => b.id === r.block);
    if (block < 0) throw new EditError(`no RAM block ${JSON.stringify(r.block)} in this image (blocks: ${ctx.model.ramBlocks.map((b) => b.id).join(', ')})`);
    return compileRamWrite(ctx, { block, offset: r.offset }, parseHex(r.hex, 'the RAM bytes'));
  },
  'delete-section': (r, ctx) => compileDeleteSection(ctx, r.section),
  'move-section': (r, ctx) => compileMoveSection(ctx, r.section, r.position),
  'insert-section': (r, ctx) => compileInsertSection(ctx, parseHex(r.hex, 'the section bytes'), r.position),
  'graft-section': (r, ctx) => compileGraftSection(ctx, r.source, r.section, r.position),
  'replace-section': (r, ctx) => compileReplaceSection(ctx, r.source, r.section),
  'set-note': (r) => compileSetNote(r),
  'set-tags': (r) => compileSetTags(r),
  'recompute-crc': compileChunkEdit,
  'drop-chunk': compileChunkEdit,
};

/** Compiles a user request against the edited image as it stands into byte changes and fixups. */
export function compileEdit(request: EditRequest, ctx: EditContext): CompiledEdit {
  const compile = COMPILERS[request.op] as Compiler<EditRequest['op']> | undefined;
  if (!compile) throw new EditError(`unknown edit ${JSON.stringify((request as { op: unknown }).op)}`);
  return compile(request, ctx);
}

/** Raw byte edits at offsets of the edited image: no framing is touched, validation says what broke. */
function compileByteEdit(request: Extract<EditRequest, { op: 'replace-bytes' | 'insert-bytes' | 'delete-bytes' }>, ctx: EditContext): CompiledEdit {
  const size = ctx.view.size;
  const { offset } = request;
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) throw new EditError(`offset ${offset} is outside the image (0 to ${size})`);
  if (request.op === 'delete-bytes') {
    if (request.length <= 0 || offset + request.length > size) throw new EditError(`cannot delete ${request.length} bytes at ${hex(offset)}: the image has ${size} bytes`);
    return {
      intent: { op: 'delete-bytes', offset, length: request.length },
      summary: `deleted ${request.length} bytes at ${hex(offset)}`,
      changes: [{ offset, deleteLength: request.length, insert: [] }],
      fixups: [],
    };
  }
  const bytes = parseHex(request.hex, 'the bytes');
  if (request.op === 'replace-bytes' && offset + bytes.length > size) throw new EditError(`${bytes.length} bytes at ${hex(offset)} run past the end of the image (${size} bytes); insert them instead`);
  const replace = request.op === 'replace-bytes';
  return {
    intent: { op: request.op, offset, hex: toHex(bytes) },
    summary: `${replace ? 'replaced' : 'inserted'} ${bytes.length} bytes at ${hex(offset)}`,
    changes: [{ offset, deleteLength: replace ? bytes.length : 0, insert: [bytesPiece(bytes)] }],
    fixups: [],
  };
}
