import type { ByteSpace } from '../../shared/api/contract';

/** A place the user went to: back and forward return to it. */
export interface Place {
  offset: number;
  space: ByteSpace;
  nodeId: string | null;
}

const KEEP = 200;

/** Back/forward through the places visited, like a browser's history (the last 200). */
export class NavigationHistory {
  private places: Place[] = [];
  private at = -1;

  /** A new place after the current one; what was ahead of it is dropped. Repeating the current place does nothing. */
  remember(place: Place): void {
    const last = this.places[this.at];
    if (last && last.offset === place.offset && last.space === place.space && last.nodeId === place.nodeId) return;
    this.places = [...this.places.slice(0, this.at + 1), place].slice(-KEEP);
    this.at = this.places.length - 1;
  }

  /** The place `delta` steps back (-1) or forward (1), now current; undefined at either end. */
  step(delta: number): Place | undefined {
    const place = this.places[this.at + delta];
    if (place) this.at += delta;
    return place;
  }
}
