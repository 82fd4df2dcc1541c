import { sniffXen } from '../../../shared/formats/xen/parse';
import { FileSource } from '../../io/file-source';

/** Whether a file is a Xen save stream of any layer, by content (a legacy stream too). */
export function isXenFile(path: string): boolean {
  let src: FileSource | undefined;
  try {
    src = new FileSource(path);
    return sniffXen(src) !== undefined;
  } catch {
    return false;
  } finally {
    src?.close();
  }
}
