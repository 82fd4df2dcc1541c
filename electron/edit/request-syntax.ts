import * as fs from 'node:fs';
import { toHex } from '../../shared/io/bytes';
import { parseOffset } from '../../shared/edit/user-input';
import { EditError } from '../../shared/edit/errors';
import type { EditRequest, SectionPosition } from '../../shared/edit/intents';
import { UserError } from '../services/user-error';

/**
 * The text forms of edit requests, as `migwb edit` takes them:
 *   --set 'SECTION[:INSTANCE].FIELD=VALUE'       --ram GPA=HEX        --ram-block BLOCK:OFFSET=HEX
 *   --replace-bytes OFFSET=HEX   --insert-bytes OFFSET=HEX   --delete-bytes OFFSET:LENGTH
 *   --delete-section S   --move-section 'S before|after T' | 'S last'
 *   --insert-section 'FILE before|after T' | 'FILE last'
 *   --graft S | 'S before|after T'   --replace-section S   (both copy from --donor)
 *   --note 'CHUNK=TEXT'   --tags 'A,B'   --recompute-crc OFFSET   --drop-chunk OFFSET
 */
type RequestOptions = { resize?: boolean; donor?: string };

/** How each text form becomes a request: one row per option. */
const PARSERS = {
  set: (text, options) => {
    const [field, value] = splitOnce(text, '=', '--set', "'SECTION.FIELD=VALUE', e.g. 'cpu.env.regs[0]=0x1234'");
    return { op: 'set-field', field, value, resize: options.resize };
  },
  ram: (text) => {
    const [gpa, hex] = splitOnce(text, '=', '--ram', 'GPA=HEX, e.g. 0x100000=deadbeef');
    return { op: 'ram-write', gpa: parseOffset(gpa, 'the guest-physical address'), hex };
  },
  'ram-block': (text) => {
    const [where, hex] = splitOnce(text, '=', '--ram-block', 'BLOCK:OFFSET=HEX, e.g. pc.ram:0x100000=deadbeef');
    const colon = where.lastIndexOf(':');
    if (colon <= 0) throw new EditError(`--ram-block takes BLOCK:OFFSET=HEX, e.g. pc.ram:0x100000=deadbeef; ${JSON.stringify(text)} has no BLOCK:OFFSET`);
    return { op: 'ram-block-write', block: where.slice(0, colon), offset: parseOffset(where.slice(colon + 1), 'the block offset'), hex };
  },
  'replace-bytes': (text) => byteRequest('replace-bytes', text),
  'insert-bytes': (text) => byteRequest('insert-bytes', text),
  'delete-bytes': (text) => {
    const [offset, length] = splitOnce(text, ':', '--delete-bytes', 'OFFSET:LENGTH, e.g. 0x4d6ef:8');
    return { op: 'delete-bytes', offset: parseOffset(offset, 'the offset'), length: parseOffset(length, 'the length') };
  },
  'delete-section': (text) => ({ op: 'delete-section', section: text }),
  'move-section': (text) => {
    const { subject, position } = withPosition(text, '--move-section');
    if (!position) throw new EditError(`--move-section takes 'SECTION before OTHER', 'SECTION after OTHER' or 'SECTION last', not ${JSON.stringify(text)}`);
    return { op: 'move-section', section: subject, position };
  },
  'insert-section': (text) => {
    const { subject, position } = withPosition(text, '--insert-section');
    if (!position) throw new EditError(`--insert-section takes 'FILE before OTHER', 'FILE after OTHER' or 'FILE last', not ${JSON.stringify(text)}`);
    return { op: 'insert-section', hex: toHex(readSectionFile(subject)), position };
  },
  graft: (text, options) => {
    const { subject, position } = withPosition(text, '--graft');
    return { op: 'graft-section', source: needDonor(options.donor, '--graft'), section: subject, ...(position ? { position } : {}) };
  },
  'replace-section': (text, options) => ({ op: 'replace-section', source: needDonor(options.donor, '--replace-section'), section: text }),
  note: (text) => {
    // 'KEY=TEXT' about a chunk (its key, as "migwb chunks" lists it), or '=TEXT' about the whole image.
    const i = text.indexOf('=');
    if (i < 0) throw new EditError(`--note takes 'CHUNK=TEXT' (CHUNK as "migwb chunks" names it, e.g. 'FULL cpu:0=checked by hand'; empty CHUNK: the whole image; empty TEXT removes the note), not ${JSON.stringify(text)}`);
    return { op: 'set-note', about: text.slice(0, i).trim(), text: text.slice(i + 1) };
  },
  tags: (text) => ({ op: 'set-tags', tags: text.split(',').map((t) => t.trim()).filter(Boolean) }),
  'recompute-crc': (text) => ({ op: 'recompute-crc', chunk: parseOffset(text, 'the chunk offset') }),
  'drop-chunk': (text) => ({ op: 'drop-chunk', chunk: parseOffset(text, 'the chunk offset') }),
} satisfies Record<string, (text: string, options: RequestOptions) => EditRequest>;

export type RequestKind = keyof typeof PARSERS;

export function parseRequest(kind: RequestKind, text: string, options: RequestOptions = {}): EditRequest {
  try {
    return PARSERS[kind](text, options);
  } catch (e) {
    if (e instanceof EditError) throw new UserError(e.message);
    throw e;
  }
}

function byteRequest(op: 'replace-bytes' | 'insert-bytes', text: string): EditRequest {
  const [offset, hex] = splitOnce(text, '=', `--${op}`, 'OFFSET=HEX, e.g. 0x4d6ef=00ff');
  return { op, offset: parseOffset(offset, 'the offset'), hex };
}

function splitOnce(text: string, sep: string, option: string, form: string): [string, string] {
  const i = text.indexOf(sep);
  if (i <= 0 || i === text.length - 1) throw new EditError(`${option} takes ${form}; got ${JSON.stringify(text)}`);
  return [text.slice(0, i).trim(), text.slice(i + 1).trim()];
}

/** "S before T", "S after T", "S last", or just "S". */
function withPosition(text: string, option: string): { subject: string; position?: SectionPosition } {
  const m = /^(.+?)\s+(before|after)\s+(.+)$/.exec(text.trim());
  if (m) return { subject: m[1], position: m[2] === 'before' ? { before: m[3] } : { after: m[3] } };
  const last = /^(.+?)\s+last$/.exec(text.trim());
  if (last) return { subject: last[1], position: { end: true } };
  if (!text.trim()) throw new EditError(`${option} needs a section`);
  return { subject: text.trim() };
}

function needDonor(donor: string | undefined, option: string): string {
  if (!donor) throw new EditError(`${option} copies from a donor image: give it with --donor PATH`);
  return donor;
}

function readSectionFile(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new EditError(`cannot read the section file ${file}: ${(e as Error).message}`);
  }
}
