import type { ImageView, StatusMessage } from '../image/image-view';
import { useStore } from '../state/store';
import { describeSize, type Shell } from './shell';

const PHASE_LABELS = { decompress: 'Decompressing', scan: 'Opening', hashing: 'Hashing', writing: 'Writing' } as const;

/** Progress of long work, the message of the tab on screen (each image keeps its own), the image's sizes, the host. */
export function StatusBar({ shell, current }: { shell: Shell; current: ImageView | undefined }) {
  const progress = useStore(shell.store, (s) => s.progress);
  const status = useStore(shell.store, (s) => s.status);
  const host = useStore(shell.store, (s) => s.host);
  return (
    <footer className="statusbar" data-testid="status">
      {progress && (
        <span className="progress-label" title={`${PHASE_LABELS[progress.phase]} ${progress.path}`}>
          {PHASE_LABELS[progress.phase]} {progress.path.split(/[/\\]/).pop()}
          <span className="progress">
            <div style={{ width: `${(100 * progress.done) / Math.max(1, progress.total)}%` }} />
          </span>
        </span>
      )}
      {current ? <ViewStatus view={current} /> : <Message status={status} />}
      {current && <ImageSummary view={current} />}
      {host && <span className="host">{host.host === 'bridge' ? 'served by migwb serve' : 'desktop'} · v{host.version}</span>}
    </footer>
  );
}

function ViewStatus({ view }: { view: ImageView }) {
  return <Message status={useStore(view.store, (s) => s.status)} />;
}

/** One line, cut with an ellipsis when long; the whole text is its tooltip. */
function Message({ status }: { status: StatusMessage | null }) {
  return (
    <span className={`message${status?.error ? ' error' : ''}`} title={status?.text} data-testid="status-message">
      {status?.text ?? ''}
    </span>
  );
}

function ImageSummary({ view }: { view: ImageView }) {
  const image = useStore(view.store, (s) => s.image);
  return (
    <span className="summary" data-testid="image-summary" title={image.path}>
      {image.kind} · {image.machineType ?? 'no machine type'} · page {image.pageSize} · {describeSize(image)}
    </span>
  );
}
