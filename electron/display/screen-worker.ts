import * as fs from 'node:fs';
import { openImageAsync } from '../services/open-image';
import { runAsAsyncWorkerJob } from '../services/worker-job';
import { screenThumbnail, type ScreenThumbnail } from './display-view';

/** Images whose thumbnails the library lacks, as it indexed them. */
export interface ScreenJob {
  images: { id: number; path: string; size: number; mtimeMs: number }[];
}

export type DrawnScreen = ScreenThumbnail & { id: number };

/**
 * Worker thread of the library's thumbnails: opens each image (its directory or sidecar
 * when it has one, else a scan) and draws its screen into the thumbnail box. A file that
 * changed since it was indexed is not drawn: its library row would not describe it.
 */
runAsAsyncWorkerJob<ScreenJob, DrawnScreen[], never>(async ({ images }, signal) => {
  const out: DrawnScreen[] = [];
  for (const image of images) {
    if (signal.aborted) break;
    out.push({ id: image.id, ...(await drawOne(image)) });
  }
  return out;
});

async function drawOne(image: ScreenJob['images'][number]): Promise<ScreenThumbnail> {
  const none = (reason: string): ScreenThumbnail => ({ png: null, width: null, height: null, mode: null, reason });
  let st: fs.Stats;
  try {
    st = fs.statSync(image.path);
  } catch {
    return none('the file is gone; re-index the library');
  }
  if (st.size !== image.size || Math.trunc(st.mtimeMs) !== image.mtimeMs) return none('the file changed since it was indexed; re-index it to see its screen');
  let opened;
  try {
    opened = await openImageAsync(image.path);
  } catch (e) {
    return none(`the image could not be opened: ${(e as Error).message}`);
  }
  try {
    return screenThumbnail(opened);
  } finally {
    opened.close();
  }
}
