import { EditError } from '../edit/errors';
import type { JsonValue } from '../edit/intents';
import { parseQemuStream } from '../formats/qemu-stream/stream-parser';
import type { ByteSource } from '../io/byte-source';
import { buildRamReencoding, type RamRecipe } from './ram-reencode';

/**
 * Rebuilds a derived source of a journal entry from its recipe and the image as it stood
 * before the entry (the journal replays earlier entries first, so that view is the same
 * one the transform was compiled against).
 */
export function rebuildDerivedSource(recipe: JsonValue, view: ByteSource): ByteSource {
  const r = recipe as unknown as RamRecipe;
  if (typeof recipe !== 'object' || recipe === null || r.kind !== 'ram-reencode' || typeof r.policy !== 'object' || r.policy === null) {
    throw new EditError(`the journal has a derived source this migwb cannot rebuild (${JSON.stringify(recipe).slice(0, 80)})`);
  }
  return buildRamReencoding(view, parseQemuStream(view), r).source;
}
