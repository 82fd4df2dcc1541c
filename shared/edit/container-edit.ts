import { hex } from '../diagnostics';
import type { EditContext } from './context';
import { EditError } from './errors';
import type { ContainerEdit, EditRequest } from './intents';
import type { CompiledEdit } from './journal';

/**
 * Edits of the container around the stream: the user's notes and tags, and a chunked
 * container's own chunks. They change no stream byte; the journal records them like any
 * edit (undo, redo, evidence) and the format writes them when the image is saved.
 */

const MAX_NOTE = 1 << 20;

export function compileSetNote(request: Extract<EditRequest, { op: 'set-note' }>): CompiledEdit {
  if (typeof request.about !== 'string' || typeof request.text !== 'string') throw new EditError('a note needs "about" (a chunk key, or "" for the whole image) and "text"');
  if (request.text.length > MAX_NOTE) throw new EditError(`a note holds at most ${MAX_NOTE} characters, not ${request.text.length}`);
  const subject = request.about === '' ? 'the image' : request.about;
  return {
    intent: { op: 'set-note', about: request.about, text: request.text },
    summary: request.text === '' ? `removed the note on ${subject}` : `note on ${subject}: ${JSON.stringify(firstLine(request.text))}`,
    changes: [],
    fixups: [],
    container: [{ kind: 'note', about: request.about, text: request.text }],
  };
}

export function compileSetTags(request: Extract<EditRequest, { op: 'set-tags' }>): CompiledEdit {
  if (!Array.isArray(request.tags) || !request.tags.every((t) => typeof t === 'string' && t.trim() !== '')) throw new EditError('tags must be a list of non-empty words');
  const tags = [...new Set(request.tags.map((t) => t.trim()))];
  return {
    intent: { op: 'set-tags', tags },
    summary: tags.length ? `tags: ${tags.join(', ')}` : 'removed the tags',
    changes: [],
    fixups: [],
    container: [{ kind: 'tags', tags }],
  };
}

/** recompute-crc and drop-chunk, resolved by the image's format (only a chunked container has chunks). */
export function compileChunkEdit(request: Extract<EditRequest, { op: 'recompute-crc' | 'drop-chunk' }>, ctx: EditContext): CompiledEdit {
  if (!ctx.chunkEdit) throw new EditError(`this image has no chunks to ${request.op === 'drop-chunk' ? 'drop' : 'recompute the CRC of'}; only a chunked container (migwb pack) has them`);
  const resolved = ctx.chunkEdit({ op: request.op, chunk: request.chunk });
  if ('refusal' in resolved) throw new EditError(resolved.refusal);
  if (resolved.kind !== 'recompute-crc' && resolved.kind !== 'drop-chunk') throw new Error(`internal: ${request.op} resolved to ${resolved.kind}`);
  const summary =
    request.op === 'recompute-crc'
      ? `recomputed the CRC of the ${resolved.type} chunk at ${hex(request.chunk)}: its damage is no longer detectable`
      : `dropped the ${resolved.type} chunk at ${hex(request.chunk)}`;
  return { intent: { op: request.op, chunk: request.chunk, type: resolved.type }, summary, changes: [], fixups: [], container: [resolved] };
}

function firstLine(text: string): string {
  const line = text.split('\n')[0];
  return line.length > 60 ? line.slice(0, 59) + '…' : line;
}

/** Notes by subject after the container edits (an empty text removes a note). */
export function notesAfter(base: readonly { about: string; text: string }[], edits: readonly ContainerEdit[]): Map<string, string> {
  const notes = new Map(base.map((n) => [n.about, n.text]));
  for (const e of edits) {
    if (e.kind !== 'note') continue;
    if (e.text === '') notes.delete(e.about);
    else notes.set(e.about, e.text);
  }
  return notes;
}
