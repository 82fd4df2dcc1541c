import { useImageView, useViewState } from '../view-context';

/** What the middle pane shows: the stream's bytes, the whole file's (wrapped images), or guest memory as the guest sees it. */
export function PaneSwitch() {
  const view = useImageView();
  const pane = useViewState((s) => s.pane);
  const space = useViewState((s) => s.space);
  const layers = useViewState((s) => s.image.layers);
  const showImage = (to: 'stream' | 'file') => {
    view.showPane('image');
    view.showSpace(to);
  };
  return (
    <span className="segmented" role="group" aria-label="Bytes shown">
      <button aria-pressed={pane === 'image' && space === 'stream'} onClick={() => showImage('stream')} title="The QEMU migration stream, where the sections are">
        Stream
      </button>
      {layers.length > 0 && (
        <button aria-pressed={pane === 'image' && space === 'file'} onClick={() => showImage('file')} title={`The whole ${layers.join(' / ')} file, with its wrapper`}>
          File
        </button>
      )}
      <button aria-pressed={pane === 'memory'} onClick={() => view.showPane('memory')} title="Guest memory as the guest sees it: the last record of each page, compressed pages inflated, XBZRLE replayed">
        Guest memory
      </button>
    </span>
  );
}
