import type { DisplayRequest, DisplayView, WorkbenchApi } from '../../shared/api/contract';
import { errorMessage } from '../api';
import { Store } from '../state/store';

export interface DisplayState {
  /** Which screen is drawn: the options of `migwb screen`. */
  request: DisplayRequest;
  /** The screen at `revision` of the image with `request`; null until loaded. */
  view: DisplayView | null;
  /** What `view` was drawn for (a new revision or request draws again). */
  drawn: { revision: number; request: DisplayRequest } | null;
  loading: boolean;
  error: string | null;
}

/**
 * The Display tab of one open image: the guest's screen as `migwb screen` draws it, with
 * the mode and the decoded device state, drawn by the backend for the image as it stands
 * (an edit of a VGA register shows on the next look).
 */
export class DisplayScreen {
  readonly store = new Store<DisplayState>({ request: { device: null, drawing: '10.0' }, view: null, drawn: null, loading: false, error: null });
  private seq = 0;

  constructor(
    private readonly api: WorkbenchApi,
    private readonly handle: string,
  ) {}

  /** Draws the screen for this revision unless it is drawn already. */
  load = async (revision: number): Promise<void> => {
    const { request, drawn } = this.store.get();
    if (drawn && drawn.revision === revision && drawn.request === request) return;
    const seq = ++this.seq;
    this.store.set({ loading: true, drawn: { revision, request } });
    try {
      const view = await this.api.displayScreen(this.handle, request);
      if (seq === this.seq) this.store.set({ view, error: null, loading: false });
    } catch (e) {
      if (seq === this.seq) this.store.set({ view: null, error: errorMessage(e), loading: false });
    }
  };

  /** Changes which screen is drawn (device, QEMU drawing, QXL view); the tab draws it again. */
  choose = (patch: Partial<DisplayRequest>): void => this.store.set((s) => ({ request: { ...s.request, ...patch } }));
}
