import { readBytes } from '../../shared/io/byte-source';
import { shapeProblem, type Vmdesc } from '../../shared/formats/qemu-stream/vmdesc';
import { openImageAsync, openReadOnly } from './open-image';
import { UserError } from './user-error';

/** A vmdesc JSON file is small; anything this large is not one. */
const MAX_VMDESC_FILE = 64 * 1024 * 1024;

/**
 * The vmdesc to borrow for a stream that has none: from a sibling image (any container
 * migwb opens) or from a JSON file such as `migwb dump SIBLING --analyze-compat --desc`
 * writes. Told apart by content: a JSON file starts with "{".
 */
export async function loadVmdescFrom(path: string): Promise<Vmdesc> {
  const file = openReadOnly(path);
  let json: unknown;
  try {
    if (!startsLikeJsonObject(readBytes(file, 0, 64))) json = undefined;
    else if (file.size > MAX_VMDESC_FILE) throw new UserError(`${path} is ${file.size} bytes, too large for a vmdesc JSON file`);
    else json = parseJson(path, new TextDecoder().decode(readBytes(file, 0, file.size)));
  } finally {
    file.close();
  }
  if (json !== undefined) {
    const problem = shapeProblem(json);
    if (problem) throw new UserError(`${path} is not a vmdesc: ${problem}`);
    return json as Vmdesc;
  }
  const sibling = await openImageAsync(path);
  try {
    if (!sibling.model.vmdesc) throw new UserError(`${path} has no vmdesc to borrow; pick a sibling image saved without suppress-vmdesc`);
    return sibling.model.vmdesc;
  } finally {
    sibling.close();
  }
}

/** "{" after optional whitespace or a UTF-8 byte order mark; no image format starts like that. */
function startsLikeJsonObject(head: Uint8Array): boolean {
  const text = new TextDecoder().decode(head).replace(/^\uFEFF/, '').trimStart();
  return text.startsWith('{');
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    // Where, not what: the parser's message quotes the file's text, and the file may be anything.
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new UserError(`${path} starts like JSON but is not valid JSON${at ? ` (at byte ${at})` : ''}`);
  }
}
