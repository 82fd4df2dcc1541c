import { createContext, useContext } from 'react';
import { useStore } from '../state/store';
import type { GuestMemoryState } from './guest-memory';
import type { ImageView, ImageViewState } from './image-view';

/** The image view whose panels are being rendered (ImageWorkspace provides it). */
export const ImageViewContext = createContext<ImageView | null>(null);

/** The image view a panel belongs to: its actions, its tree, its store. */
export function useImageView(): ImageView {
  const view = useContext(ImageViewContext);
  if (!view) throw new Error('An image panel was rendered outside an ImageWorkspace.');
  return view;
}

/** A slice of the image view's state (see useStore for what `select` may return). */
export function useViewState<T>(select: (state: ImageViewState) => T): T {
  return useStore(useImageView().store, select);
}

/** A slice of the image's guest-memory state (the memory view, map and searches). */
export function useMemoryState<T>(select: (state: GuestMemoryState) => T): T {
  return useStore(useImageView().memory.store, select);
}
