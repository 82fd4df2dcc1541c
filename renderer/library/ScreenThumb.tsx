import { useEffect } from 'react';
import { useStore } from '../state/store';
import type { LibraryScreens } from './library-screens';

/**
 * An image's screen as the indexer drew it, scaled to its box by CSS; an image without a
 * picture shows a placeholder whose tooltip says why (as `migwb screen` would).
 */
export function ScreenThumb({ screens, id }: { screens: LibraryScreens; id: number }) {
  const screen = useStore(screens.store, (s) => s.screens.get(id));
  // Asked for while on screen; asked again when a re-index dropped it.
  useEffect(() => {
    if (screen) return;
    screens.want(id);
    return () => screens.unwant(id);
  }, [screens, id, screen]);
  if (!screen) return <span className="thumb thumb-loading" aria-label="Reading the screen" />;
  if (!screen.png) {
    return (
      <span className="thumb thumb-none" title={`No screen: ${screen.reason ?? 'no picture'}`} data-testid="thumbnail-none" role="img" aria-label={`No screen: ${screen.reason ?? 'no picture'}`} />
    );
  }
  const what = `${screen.mode ?? 'screen'}, ${screen.width}×${screen.height}`;
  return <img className="thumb" src={`data:image/png;base64,${screen.png}`} alt={`Screen: ${what}`} title={what} data-testid="thumbnail" draggable={false} />;
}
