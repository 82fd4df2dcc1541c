import type { EditRequest } from '../edit/intents';
import { CHANNELS, MAX_GUEST_READ, MAX_READ, type Channel, type DiffRequest, type MemorySearchQuery, type SearchQuery } from './contract';

/**
 * Argument checks for every channel. The renderer is untrusted input to the backend: main
 * and the bridge server validate each call before it reaches a handler.
 */
export class ApiArgumentError extends Error {
  constructor(channel: string, problem: string) {
    super(`invalid arguments for ${channel}: ${problem}`);
    this.name = 'ApiArgumentError';
  }
}

type Check = (value: unknown) => string | undefined;

const MAX_PATH = 4096;
const MAX_PATTERN = 1024;

const string: Check = (v) => (typeof v === 'string' && v.length > 0 && v.length <= MAX_PATH && !v.includes('\0') ? undefined : 'expected a non-empty path or id string');
const nullableString: Check = (v) => (v === null ? undefined : string(v));
const offset: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : 'expected a non-negative integer');
const readLength: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_READ ? undefined : `expected a length of at most ${MAX_READ}`);
const byteSpace: Check = (v) => (v === 'stream' || v === 'file' ? undefined : 'expected "stream" or "file"');
const bucketCount: Check = (v) => (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65536 ? undefined : 'expected 1 to 65536 buckets');
const searchQuery: Check = (v) => {
  const q = v as Partial<SearchQuery>;
  if (typeof q !== 'object' || q === null) return 'expected a search query object';
  if (q.kind !== 'hex' && q.kind !== 'text') return 'kind must be "hex" or "text"';
  if (typeof q.pattern !== 'string' || q.pattern.length === 0 || q.pattern.length > MAX_PATTERN) return `pattern must be 1 to ${MAX_PATTERN} characters`;
  if (q.kind === 'hex' && !/^(\s*[0-9a-fA-F]{2})+\s*$/.test(q.pattern)) return 'a hex pattern is pairs of hex digits';
  if (offset(q.from)) return 'from must be a non-negative integer';
  if (q.backwards !== undefined && typeof q.backwards !== 'boolean') return 'backwards must be a boolean';
  if (q.space !== undefined && byteSpace(q.space)) return 'space must be "stream" or "file"';
  return undefined;
};

/** Bytes of one edit sent as hex (8 MiB). */
const MAX_EDIT_HEX = 16 << 20;
const MAX_TEXT = 4096;

const text: Check = (v) => (typeof v === 'string' && v.length > 0 && v.length <= MAX_TEXT ? undefined : `expected a string of 1 to ${MAX_TEXT} characters`);
const hexText: Check = (v) => (typeof v === 'string' && v.length > 0 && v.length <= MAX_EDIT_HEX ? undefined : `expected hex bytes (at most ${MAX_EDIT_HEX / 2} bytes)`);
const count: Check = (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? undefined : 'expected a positive integer');
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined ? undefined : check(v);
const boolean: Check = (v) => (typeof v === 'boolean' ? undefined : 'expected true or false');
const position: Check = (v) => {
  const p = v as Record<string, unknown>;
  if (typeof p !== 'object' || p === null || Object.keys(p).length !== 1) return 'a position is {before: SECTION}, {after: SECTION} or {end: true}';
  if ('end' in p) return p.end === true ? undefined : 'end must be true';
  if (!('before' in p) && !('after' in p)) return 'a position is {before: SECTION}, {after: SECTION} or {end: true}';
  return text(p.before ?? p.after);
};

/** A chunk key as `migwb chunks` names it, or "" for the whole image. */
const noteSubject: Check = (v) => (typeof v === 'string' && v.length <= MAX_TEXT ? undefined : `expected a chunk key of at most ${MAX_TEXT} characters`);
/** What compileSetNote accepts; empty removes the note. */
const MAX_NOTE = 1 << 20;
const noteText: Check = (v) => (typeof v === 'string' && v.length <= MAX_NOTE ? undefined : `expected a note of at most ${MAX_NOTE} characters`);

/** The fields of each edit the GUI may send (edits copying from a donor or a file go through editFromDonor and editInsertSection, whose paths are checked). */
const EDIT_SHAPES: Partial<Record<EditRequest['op'], Record<string, Check>>> = {
  'replace-bytes': { offset, hex: hexText },
  'insert-bytes': { offset, hex: hexText },
  'delete-bytes': { offset, length: count },
  'set-field': { field: text, value: text, resize: optional(boolean) },
  'ram-write': { gpa: offset, hex: hexText },
  'ram-block-write': { block: text, offset, hex: hexText },
  'delete-section': { section: text },
  'move-section': { section: text, position },
  'insert-section': { hex: hexText, position },
  'set-note': { about: noteSubject, text: noteText },
  'recompute-crc': { chunk: offset },
  'drop-chunk': { chunk: offset },
};

const donorEdit: Check = (v) => {
  const r = v as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) return 'expected {op, section, position}';
  if (r.op === 'replace-section') return Object.keys(r).some((k) => k !== 'op' && k !== 'section') ? 'replace-section takes {op, section}' : text(r.section);
  if (r.op !== 'graft-section') return 'op must be graft-section or replace-section';
  if (Object.keys(r).some((k) => !['op', 'section', 'position'].includes(k))) return 'graft-section takes {op, section, position}';
  return text(r.section) ?? (r.position === null ? undefined : position(r.position));
};

const editRequest: Check = (v) => {
  const r = v as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) return 'expected an edit request object';
  const shape = EDIT_SHAPES[r.op as EditRequest['op']];
  if (!shape) return `op must be one of ${Object.keys(EDIT_SHAPES).join(', ')}`;
  for (const key of Object.keys(r)) if (key !== 'op' && !(key in shape)) return `${r.op} has no field ${key}`;
  for (const [key, check] of Object.entries(shape)) {
    const problem = check(r[key]);
    if (problem) return `${key}: ${problem}`;
  }
  return undefined;
};

const saveRequest: Check = (v) => {
  const r = v as Record<string, unknown>;
  if (typeof r !== 'object' || r === null || Object.keys(r).some((k) => k !== 'force' && k !== 'streamOnly')) return 'expected {force, streamOnly}';
  return boolean(r.force) ?? boolean(r.streamOnly);
};

const qemuTarget: Check = (v) => {
  const t = v as Record<string, unknown>;
  if (typeof t !== 'object' || t === null || Object.keys(t).some((k) => k !== 'to' && k !== 'qemu' && k !== 'machine')) return 'expected {to, qemu, machine}';
  for (const k of ['to', 'qemu', 'machine']) {
    const problem = nullableString(t[k]);
    if (problem) return `${k}: ${problem}`;
  }
  return t.to !== null && t.qemu !== null ? 'give either to or qemu, not both' : undefined;
};

const TRANSFORM_OPTIONS = ['xbzrle-to-page', 'inline-to-mapped-ram'];
const transformRequest: Check = (v) => {
  const r = v as Record<string, unknown>;
  if (typeof r !== 'object' || r === null || Object.keys(r).some((k) => !['to', 'machine', 'templatePath', 'options'].includes(k))) return 'expected {to, machine, templatePath, options}';
  const problem = text(r.to) ?? (r.machine === null ? undefined : text(r.machine)) ?? nullableString(r.templatePath);
  if (problem) return problem;
  if (!Array.isArray(r.options) || !r.options.every((o) => TRANSFORM_OPTIONS.includes(o as string))) return `options must be a list of ${TRANSFORM_OPTIONS.join(', ')}`;
  return undefined;
};

const guestLength: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_GUEST_READ ? undefined : `expected a length of 1 to ${MAX_GUEST_READ}`);
const memoryQuery: Check = (v) => {
  const q = v as Partial<MemorySearchQuery>;
  if (typeof q !== 'object' || q === null || Object.keys(q).some((k) => !['kind', 'pattern', 'maxHits'].includes(k))) return 'expected {kind, pattern, maxHits?}';
  if (q.kind !== 'string' && q.kind !== 'hex' && q.kind !== 'regex') return 'kind must be "string", "hex" or "regex"';
  if (typeof q.pattern !== 'string' || q.pattern.length === 0 || q.pattern.length > MAX_PATTERN) return `pattern must be 1 to ${MAX_PATTERN} characters`;
  if (q.maxHits !== undefined && !(Number.isInteger(q.maxHits) && q.maxHits >= 1 && q.maxHits <= 100_000)) return 'maxHits must be 1 to 100000';
  return undefined;
};

const MAX_DIFF_SECTIONS = 1000;
const diffRequest: Check = (v) => {
  const r = v as Partial<DiffRequest>;
  const keys = ['fields', 'ram', 'sections', 'pageBytes', 'maxRuns'];
  if (typeof r !== 'object' || r === null || Object.keys(r).length !== keys.length || Object.keys(r).some((k) => !keys.includes(k))) return `expected {${keys.join(', ')}}`;
  const problem = boolean(r.fields) ?? boolean(r.ram) ?? boolean(r.pageBytes);
  if (problem) return problem;
  if (!Array.isArray(r.sections) || r.sections.length > MAX_DIFF_SECTIONS || r.sections.some((x) => text(x) !== undefined)) return `sections must be at most ${MAX_DIFF_SECTIONS} section names`;
  if (!(Number.isInteger(r.maxRuns) && (r.maxRuns as number) >= 0 && (r.maxRuns as number) <= 1_000_000)) return 'maxRuns must be 0 to 1000000';
  return undefined;
};

const MAX_PATHS = 100;
/** Paths to index; none means the whole library again. */
const pathList: Check = (v) => (Array.isArray(v) && v.length <= MAX_PATHS && v.every((p) => string(p) === undefined) ? undefined : `expected at most ${MAX_PATHS} paths`);
const MAX_IDS = 100_000;
const id: Check = (v) => (Number.isSafeInteger(v) && (v as number) > 0 ? undefined : 'expected an id');
const idList: Check = (v) => (Array.isArray(v) && v.length >= 1 && v.length <= MAX_IDS && v.every((x) => id(x) === undefined) ? undefined : `expected 1 to ${MAX_IDS} ids`);
const MAX_TAG = 100;
const tagList: Check = (v) =>
  Array.isArray(v) && v.length >= 1 && v.length <= 100 && v.every((t) => typeof t === 'string' && t.trim().length > 0 && t.length <= MAX_TAG && !/[,\s]/.test(t.trim()))
    ? undefined
    : `expected 1 to 100 tags of 1 to ${MAX_TAG} characters without commas or spaces`;
const exportFormat: Check = (v) => (v === 'csv' || v === 'json' ? undefined : 'expected "csv" or "json"');

const displayRequest: Check = (v) => {
  const r = v as Record<string, unknown>;
  const keys = ['device', 'drawing'];
  if (typeof r !== 'object' || r === null || Object.keys(r).length !== keys.length || Object.keys(r).some((k) => !keys.includes(k))) return `expected {${keys.join(', ')}}`;
  if (r.device !== null && text(r.device)) return `device: ${text(r.device)}`;
  if (r.drawing !== '7.2' && r.drawing !== '10.0') return 'drawing must be "7.2" or "10.0"';
  return undefined;
};

/** Thumbnails asked for at once: the rows on screen (a grid of small screens), with room to spare. */
const MAX_SCREEN_IDS = 1000;
const screenIds: Check = (v) => (Array.isArray(v) && v.length >= 1 && v.length <= MAX_SCREEN_IDS && v.every((x) => id(x) === undefined) ? undefined : `expected 1 to ${MAX_SCREEN_IDS} ids`);

const SIGNATURES: Record<Channel, Check[]> = {
  hostInfo: [],
  openImage: [string],
  openEvidence: [string],
  closeImage: [string],
  treeChildren: [string, nullableString],
  nodePathAt: [string, offset, byteSpace],
  readBytes: [string, offset, readLength, byteSpace],
  minimap: [string, bucketCount],
  search: [string, searchQuery],
  searchCancel: [string],
  sectionJson: [string, string],
  libraryList: [],
  libraryIndex: [pathList],
  libraryReindex: [idList],
  libraryTag: [idList, tagList, boolean],
  libraryAddNote: [id, text],
  libraryDeleteNote: [id],
  libraryExport: [idList, exportFormat, string],
  libraryCancel: [],
  libraryScreens: [screenIds],
  listDirectory: [nullableString],
  pickImage: [],
  pickFolder: [],
  pickSavePath: [text],
  fieldAddress: [string, string],
  editApply: [string, editRequest],
  editUndo: [string],
  editRedo: [string],
  editRepair: [string, nullableString],
  editRepairDiagnostic: [string, text, offset],
  restoreAutosave: [string],
  discardAutosave: [string],
  editSave: [string, string, saveRequest],
  editSaveJournal: [string, string],
  borrowVmdesc: [string, string],
  chunkList: [string],
  donorSections: [string, string],
  editFromDonor: [string, string, donorEdit],
  editInsertSection: [string, string, position],
  qemuLaunch: [string, qemuTarget],
  qemuPreflight: [string, qemuTarget],
  qemuTargets: [string],
  transformTargets: [string],
  transformPlan: [string, transformRequest],
  transformApply: [string, transformRequest],
  memoryMap: [string],
  readGuestMemory: [string, nullableString, offset, guestLength],
  displayScreen: [string, displayRequest],
  memorySearch: [string, memoryQuery],
  memorySearchCancel: [string],
  diffImages: [string, string, diffRequest],
  diffCancel: [string],
};

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && (CHANNELS as readonly string[]).includes(name);
}

/** Throws ApiArgumentError unless `args` fit the channel's signature exactly. */
export function validateArguments(channel: Channel, args: unknown[]): void {
  const checks = SIGNATURES[channel];
  if (!Array.isArray(args) || args.length !== checks.length) {
    throw new ApiArgumentError(channel, `expected ${checks.length} arguments, got ${Array.isArray(args) ? args.length : 'none'}`);
  }
  checks.forEach((check, i) => {
    const problem = check(args[i]);
    if (problem) throw new ApiArgumentError(channel, `argument ${i + 1}: ${problem}`);
  });
}
