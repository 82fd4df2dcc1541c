import { useEffect, useRef, useState } from 'react';
import type { ImageView } from '../image/image-view';
import { useStore } from '../state/store';
import { LIBRARY, type Shell } from './shell';

/**
 * The library's tab, then one per open image (● when it has unsaved edits), each with its
 * close button. However many are open, the active tab is scrolled into sight, and a menu
 * lists them all.
 */
export function ImageTabs({ shell }: { shell: Shell }) {
  const views = useStore(shell.store, (s) => s.views);
  const active = useStore(shell.store, (s) => s.active);
  const compares = useStore(shell.store, (s) => s.compares);
  const strip = useRef<HTMLDivElement>(null);
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    strip.current?.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]')?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }, [active, views]);

  return (
    <div className="tab-bar">
      <div className="tabs" role="tablist" ref={strip} onWheel={(e) => e.deltaY && strip.current?.scrollBy({ left: e.deltaY })}>
        <div role="tab" aria-selected={active === LIBRARY} className={`tab${active === LIBRARY ? ' active' : ''}`} onClick={() => shell.show(LIBRARY)}>
          Library
        </div>
        {views.map((v) => (
          <ImageTab key={v.handle} view={v} active={v.handle === active} onShow={shell.show} onClose={(h) => void shell.closeImage(h)} />
        ))}
        {compares.map((c) => (
          <div key={c.id} role="tab" aria-selected={c.id === active} className={`tab compare-tab${c.id === active ? ' active' : ''}`} onClick={() => shell.show(c.id)} data-compare={c.id} title={`${c.a.store.get().image.path}\n${c.b.store.get().image.path}`}>
            {c.title}
            <button className="close" onClick={(e) => (e.stopPropagation(), shell.closeCompare(c.id))} aria-label={`Close ${c.title}`}>
              ×
            </button>
          </div>
        ))}
      </div>
      {views.length > 0 && (
        <div className="tab-menu">
          <button aria-label="All tabs" aria-haspopup="menu" aria-expanded={menuOpen} title="All open images" onClick={() => setMenuOpen((o) => !o)}>
            ▾ {views.length}
          </button>
          {menuOpen && (
            <ul role="menu" className="menu" onMouseLeave={() => setMenuOpen(false)}>
              <li role="menuitem" className={active === LIBRARY ? 'active' : ''} onClick={() => (shell.show(LIBRARY), setMenuOpen(false))}>
                Library
              </li>
              {views.map((v) => (
                <TabMenuItem key={v.handle} view={v} active={v.handle === active} onShow={(h) => (shell.show(h), setMenuOpen(false))} />
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

/** Whether the image has unsaved edits (the ● of its tab). */
function useDirty(view: ImageView): boolean {
  const edits = useStore(view.store, (s) => s.image.edits);
  const revision = useStore(view.store, (s) => s.image.revision);
  const saved = useStore(view.store, (s) => s.savedRevision);
  return edits > 0 && revision !== saved;
}

function ImageTab({ view, active, onShow, onClose }: { view: ImageView; active: boolean; onShow(handle: string): void; onClose(handle: string): void }) {
  const image = useStore(view.store, (s) => s.image);
  const dirty = useDirty(view);
  return (
    <div
      role="tab"
      aria-selected={active}
      className={`tab${active ? ' active' : ''}`}
      onClick={() => onShow(image.handle)}
      onAuxClick={(e) => e.button === 1 && onClose(image.handle)}
      title={dirty ? `${image.path} (${image.edits} unsaved edits in the journal; the file is unchanged)` : image.path}
      data-handle={image.handle}
    >
      {image.name}
      {dirty && <span className="edited-mark"> ●</span>}
      <button className="close" onClick={(e) => (e.stopPropagation(), onClose(image.handle))} aria-label={`Close ${image.name}`}>
        ×
      </button>
    </div>
  );
}

function TabMenuItem({ view, active, onShow }: { view: ImageView; active: boolean; onShow(handle: string): void }) {
  const image = useStore(view.store, (s) => s.image);
  const dirty = useDirty(view);
  return (
    <li role="menuitem" className={active ? 'active' : ''} onClick={() => onShow(image.handle)} title={image.path}>
      {image.name}
      {dirty ? ' ●' : ''}
    </li>
  );
}
