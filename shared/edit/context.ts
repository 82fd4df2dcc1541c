import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import type { ContainerEdit } from './intents';
import type { JournalSource } from './pieces';

/** A read-only image an edit may copy from (a donor), with its model. */
export interface SourceImage {
  id: string;
  source: ByteSource;
  model: QemuStreamModel;
  /** Where it was opened from and its sha256: every record that takes from a donor names it by both. */
  path?: string;
  sha256?: string;
}

/** How summaries and messages name a donor: its path and sha256 (the journal's id only when neither is known). */
export function donorLabel(d: SourceImage): string {
  if (d.path === undefined) return `donor ${d.id}`;
  return `donor ${d.path} (sha256 ${d.sha256 ?? 'not computed'})`;
}

/** The donor as an intent records it beside its journal id. */
export function donorIdentity(d: SourceImage): { id: string; path: string | null; sha256: string | null } {
  return { id: d.id, path: d.path ?? null, sha256: d.sha256 ?? null };
}

/** What an edit is compiled against: the edited image as it stands, and the donors. */
export interface EditContext {
  view: JournalSource;
  /** The model of `view`. */
  model: QemuStreamModel;
  donor(id: string): SourceImage | undefined;
  /** The image's format resolves an edit of its own chunks (absent: the format has none). */
  chunkEdit?(request: { op: 'recompute-crc' | 'drop-chunk'; chunk: number }): ContainerEdit | { refusal: string };
}
