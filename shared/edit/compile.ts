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
import { compileDeleteSection, compileGraftSection, compileInsertSection, compileMoveSection, compileReplaceSection } from './section-edit';

/** Compiles a user request against the edited image as it stands into byte changes and fixups. */
export function compileEdit(request: EditRequest, ctx: EditContext): CompiledEdit {
  switch (request.op) {
    case 'replace-bytes':
    case 'insert-bytes':
    case 'delete-bytes':
      return compileByteEdit(request, ctx);
    case 'set-field':
      return compileSetField(ctx, request.field, request.value, request.resize);
    case 'ram-write': {
      const data = parseHex(request.hex, 'the RAM bytes');
      return compileRamWrite(ctx, guestRamTarget(ctx, request.gpa, data.length), data);
    }
    case 'ram-block-write': {
      const block = ctx.model.ramBlocks.findIndex((b) => b.id === request.block);
      if (block < 0) throw new EditError(`no RAM block ${JSON.stringify(request.block)} in this image (blocks: ${ctx.model.ramBlocks.map((b) => b.id).join(', ')})`);
      return compileRamWrite(ctx, { block, offset: request.offset }, parseHex(request.hex, 'the RAM bytes'));
    }
    case 'delete-section':
      return compileDeleteSection(ctx, request.section);
    case 'move-section':
      return compileMoveSection(ctx, request.section, request.position);
    case 'insert-section':
      return compileInsertSection(ctx, parseHex(request.hex, 'the section bytes'), request.position);
    case 'graft-section':
      return compileGraftSection(ctx, request.source, request.section, request.position);
    case 'replace-section':
      return compileReplaceSection(ctx, request.source, request.section);
  }
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
