import { useMemo } from 'react';
import { HexView } from '../../components/HexView';
import { useImageView, useViewState } from '../view-context';
import { HexToolbar } from './HexToolbar';
import { MemoryPanel } from './MemoryPanel';

/** The middle pane: the image's bytes, or guest memory. */
export function HexPanel() {
  return useViewState((s) => s.pane) === 'memory' ? <MemoryPanel /> : <ImageBytesPanel />;
}

/** The bytes of the space shown, with the selected node highlighted, the cursor and the last search match. */
function ImageBytesPanel() {
  const view = useImageView();
  const space = useViewState((s) => s.space);
  const bytes = useViewState((s) => s.bytes[s.space]);
  const selected = useViewState((s) => s.selected);
  const hit = useViewState((s) => s.hit);
  const cursor = useViewState((s) => s.cursor);
  const reveal = useViewState((s) => s.reveal);
  const minimap = useViewState((s) => s.minimap);
  // The selected node's bytes, when it is in the space shown.
  const selection = useMemo(() => (selected && (selected.space ?? 'stream') === space ? { offset: selected.offset, length: selected.length } : null), [selected, space]);
  return (
    <div className="panel">
      <HexToolbar />
      <div className="panel-body" style={{ overflow: 'hidden' }}>
        <HexView bytes={bytes} selection={selection} hit={hit} cursor={cursor} reveal={reveal} minimap={space === 'stream' ? minimap : null} onCursor={view.moveCursor} />
      </div>
    </div>
  );
}
