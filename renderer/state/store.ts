import { useSyncExternalStore } from 'react';

/**
 * A small external store: one immutable state object, replaced by `set`, with listeners.
 * The state of a view lives here, apart from its components (the way vscode-hexeditor keeps
 * its webview state in media/editor/state.ts); components read the slices they show with
 * `useStore`, so a change re-renders only the components whose slice changed.
 */
export class Store<S extends object> {
  private state: S;
  private readonly listeners = new Set<() => void>();

  constructor(initial: S) {
    this.state = initial;
  }

  get = (): S => this.state;

  /** Merges `patch` into the state; listeners hear of it only if a value changed. */
  set = (patch: Partial<S> | ((state: S) => Partial<S>)): void => {
    const next = typeof patch === 'function' ? patch(this.state) : patch;
    if (!(Object.keys(next) as (keyof S)[]).some((k) => !Object.is(next[k], this.state[k]))) return;
    this.state = { ...this.state, ...next };
    this.listeners.forEach((listener) => listener());
  };

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

/**
 * The slice of a store's state that `select` picks, re-rendering when it changes. `select`
 * must return a value held in the state (or a primitive), not a new object on every call:
 * derive objects from the slices with useMemo.
 */
export function useStore<S extends object, T>(store: Store<S>, select: (state: S) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.get()));
}
