import type { ImageView } from '../image/image-view';
import { useStore } from '../state/store';
import type { Shell } from './shell';

const PHASE_LABELS = { decompress: 'Decompressing', scan: 'Scanning', hashing: 'Hashing', writing: 'Writing' } as const;

/** Progress of long work, the last message, the image on screen and the host. */
export function StatusBar({ shell, current }: { shell: Shell; current: ImageView | undefined }) {
  const progress = useStore(shell.store, (s) => s.progress);
  const status = useStore(shell.store, (s) => s.status);
  const host = useStore(shell.store, (s) => s.host);
  return (
    <footer className="statusbar" data-testid="status">
      {progress && (
        <span className="progress" title={`${PHASE_LABELS[progress.phase]} ${progress.path}`}>
          <div style={{ width: `${(100 * progress.done) / Math.max(1, progress.total)}%` }} />
        </span>
      )}
      <span className={status.error ? 'error' : ''}>{status.text}</span>
      {current && <ImageSummary view={current} />}
      {host && <span style={{ marginLeft: 'auto' }}>{host.host === 'bridge' ? 'served by migwb serve' : 'desktop'} · v{host.version}</span>}
    </footer>
  );
}

function ImageSummary({ view }: { view: ImageView }) {
  const image = useStore(view.store, (s) => s.image);
  return (
    <span>
      {image.kind} · {image.machineType ?? 'no machine type'} · page {image.pageSize}
    </span>
  );
}
