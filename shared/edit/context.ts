import type { ByteSource } from '../io/byte-source';
import type { QemuStreamModel } from '../formats/qemu-stream/model';
import type { ContainerEdit } from './intents';
import type { JournalSource } from './pieces';

/** A read-only image an edit may copy from (a donor), with its model. */
export interface SourceImage {
  id: string;
  source: ByteSource;
  model: QemuStreamModel;
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
