import type { ImageView } from '../image/image-view';
import { useStore } from '../state/store';
import { LIBRARY, type Shell } from './shell';

/** The library's tab, then one per open image (● when it has edits), each with its close button. */
export function ImageTabs({ shell }: { shell: Shell }) {
  const views = useStore(shell.store, (s) => s.views);
  const active = useStore(shell.store, (s) => s.active);
  return (
    <div className="tabs" role="tablist">
      <div role="tab" aria-selected={active === LIBRARY} className={`tab${active === LIBRARY ? ' active' : ''}`} onClick={() => shell.show(LIBRARY)}>
        Library
      </div>
      {views.map((v) => (
        <ImageTab key={v.handle} view={v} active={v.handle === active} onShow={shell.show} onClose={shell.closeImage} />
      ))}
    </div>
  );
}

function ImageTab({ view, active, onShow, onClose }: { view: ImageView; active: boolean; onShow(handle: string): void; onClose(handle: string): void }) {
  const image = useStore(view.store, (s) => s.image);
  return (
    <div role="tab" aria-selected={active} className={`tab${active ? ' active' : ''}`} onClick={() => onShow(image.handle)} title={image.edits ? `${image.path} (${image.edits} edits in the journal; the file is unchanged)` : image.path}>
      {image.name}
      {image.edits > 0 && <span className="edited-mark"> ●</span>}
      <button className="close" onClick={(e) => (e.stopPropagation(), onClose(image.handle))} aria-label={`Close ${image.name}`}>
        ×
      </button>
    </div>
  );
}
