import { CHANNELS, MAX_READ, type Channel, type SearchQuery } from './contract';

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

const MAX_PATHS = 100;
const pathList: Check = (v) =>
  Array.isArray(v) && v.length >= 1 && v.length <= MAX_PATHS && v.every((p) => string(p) === undefined) ? undefined : `expected 1 to ${MAX_PATHS} paths`;

const SIGNATURES: Record<Channel, Check[]> = {
  hostInfo: [],
  openImage: [string],
  closeImage: [string],
  treeChildren: [string, nullableString],
  nodePathAt: [string, offset, byteSpace],
  readBytes: [string, offset, readLength, byteSpace],
  minimap: [string, bucketCount],
  search: [string, searchQuery],
  sectionJson: [string, string],
  libraryList: [],
  libraryIndex: [pathList],
  libraryCancel: [],
  listDirectory: [nullableString],
  pickImage: [],
  pickFolder: [],
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
