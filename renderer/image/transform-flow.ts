import type { TransformApplied, TransformPlanView, TransformRequestView, TransformTargets, WorkbenchApi, WorkbenchEvent } from '../../shared/api/contract';
import { errorMessage } from '../api';
import type { PathRequest } from '../components/FilePicker';
import { Store } from '../state/store';

export type TransformProgress = Omit<Extract<WorkbenchEvent, { type: 'transform-progress' }>, 'type' | 'handle'>;

/** Which machine type of the target release the transform writes. */
export type MachineChoice = 'compat' | 'newest';

export interface TransformFlowState {
  /** The Transform dialog is on screen. */
  open: boolean;
  /** The releases with their machine types, and the options (loaded when the dialog first opens). */
  targets: TransformTargets | null;
  request: TransformRequestView;
  /** The plan of `request` for the image as it is now; null while planning or after an error. */
  plan: TransformPlanView | null;
  planning: boolean;
  error: string | null;
  /** An Apply is running, and how far it is. */
  applying: TransformProgress | null;
  /** The summary of the journal entry the last Apply made (the dialog then offers Save as). */
  applied: string | null;
}

/** What the Transform dialog needs from the image view it belongs to. */
export interface TransformFlowHost {
  choosePath(request: PathRequest): Promise<string | null>;
  /** The image's folder, where the template dialog starts. */
  folder(): string;
  /** Applies through the image's edit flow (the view follows the new revision); null when it could not run. */
  apply(request: TransformRequestView): Promise<TransformApplied | null>;
  /** Save as, with the image's save options; true once saved. */
  save(): Promise<boolean>;
}

/**
 * The Transform dialog of one open image: the target (QEMU release, machine type, an
 * optional template image, options), the plan for review (each change with its rule and
 * the QEMU source it cites, what the target sees differently, blockers, the vmdesc before
 * and after), Apply as one edit of the journal, then Save as. Every change of the request
 * plans again; only the newest plan is shown.
 */
export class TransformFlow {
  readonly store = new Store<TransformFlowState>({
    open: false,
    targets: null,
    request: { to: '', machine: 'compat', templatePath: null, options: [] },
    plan: null,
    planning: false,
    error: null,
    applying: null,
    applied: null,
  });
  private planSeq = 0;

  constructor(
    private readonly api: WorkbenchApi,
    private readonly handle: string,
    private readonly host: TransformFlowHost,
  ) {}

  private get state(): TransformFlowState {
    return this.store.get();
  }

  /** Opens the dialog and plans the current request (the targets are fetched once). */
  show = async (): Promise<void> => {
    this.store.set({ open: true, applied: null, error: null });
    try {
      if (!this.state.targets) {
        const targets = await this.api.transformTargets(this.handle);
        this.store.set((s) => ({ targets, request: { ...s.request, to: defaultRelease(targets) } }));
      }
    } catch (e) {
      return this.store.set({ error: errorMessage(e) });
    }
    await this.replan();
  };

  close = (): void => {
    this.planSeq++;
    this.store.set({ open: false, planning: false });
  };

  setRelease = (to: string): void => this.change({ to });
  setMachine = (machine: MachineChoice): void => this.change({ machine });
  setOption = (name: string, on: boolean): void => this.change({ options: on ? [...new Set([...this.state.request.options, name])] : this.state.request.options.filter((o) => o !== name) });
  clearTemplate = (): void => this.change({ templatePath: null });

  /** A native image of the target QEMU with the same configuration, chosen with the app's picker (and so granted). */
  chooseTemplate = async (): Promise<void> => {
    const path = await this.host.choosePath({ mode: 'file', title: 'Choose a template: an image saved by the target QEMU from a VM with the same configuration', startIn: this.host.folder() });
    if (path) this.change({ templatePath: path });
  };

  /** Applies the reviewed plan as one edit; the dialog then offers Save as. */
  apply = async (): Promise<void> => {
    const { request, applying } = this.state;
    if (applying) return;
    this.store.set({ applying: { phase: 'planning', done: 0, total: 3 }, error: null });
    try {
      const result = await this.host.apply(request);
      if (!result) return;
      if (result.applied) this.store.set({ applied: result.edits[result.edits.length - 1]?.summary ?? 'transformed', plan: result.plan });
      else this.store.set({ plan: result.plan, error: notApplied(result.plan) });
    } finally {
      this.store.set({ applying: null });
    }
  };

  save = (): Promise<boolean> => this.host.save();

  /** A transform-progress event of this image. */
  progress(p: TransformProgress): void {
    if (this.state.applying) this.store.set({ applying: p });
  }

  private change(patch: Partial<TransformRequestView>): void {
    this.store.set((s) => ({ request: { ...s.request, ...patch }, applied: null }));
    void this.replan();
  }

  private async replan(): Promise<void> {
    const seq = ++this.planSeq;
    const { request } = this.state;
    if (!request.to) return;
    this.store.set({ planning: true, plan: null, error: null });
    try {
      const plan = await this.api.transformPlan(this.handle, request);
      if (seq === this.planSeq) this.store.set({ plan });
    } catch (e) {
      if (seq === this.planSeq) this.store.set({ error: errorMessage(e) });
    } finally {
      if (seq === this.planSeq) this.store.set({ planning: false });
    }
  }
}

/** The release the image was not made by (its machine type names its own), else the first. */
function defaultRelease(targets: TransformTargets): string {
  const own = targets.machine ? targets.releases.find((r) => targets.machine!.endsWith(`-${r.version}`)) : undefined;
  return (targets.releases.find((r) => r !== own) ?? targets.releases[0])?.id ?? '';
}

/** Why Apply changed nothing, in one line. */
export function notApplied(plan: TransformPlanView): string {
  const b = plan.blockers[0];
  if (b) return `Nothing applied: ${b.reason}. Closest target that loads it: ${b.closest}.`;
  return `Nothing applied: the image needs no change for ${plan.target.release} -M ${plan.target.machine}.`;
}
