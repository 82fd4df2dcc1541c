import type { PreflightView, QemuLaunchView, QemuTargetInfo, QemuTargetRequest, TransformTargets, WorkbenchApi } from '../../shared/api/contract';
import { errorMessage } from '../api';
import { Store } from '../state/store';

/** The arguments, or the libvirt domain XML. */
export type LaunchTab = 'command' | 'libvirt';

/** The machine type to run: the image's own, or the target release's compat or newest type. */
export type LaunchMachine = 'image' | 'compat' | 'newest';

export interface QemuLaunchState {
  open: boolean;
  /** The releases the rules know, each with this machine's emulator for the image's architecture, if any. */
  targets: QemuTargetInfo[] | null;
  /** The releases' machine types for this image (the transform's compat and newest). */
  machines: TransformTargets | null;
  /** The release targeted ("qemu-7.2"); null: no particular QEMU (arguments only, no verdict). */
  to: string | null;
  machine: LaunchMachine;
  launch: QemuLaunchView | null;
  launchError: string | null;
  /** QEMU's predicted verdict; null while asking or without a target. */
  verdict: PreflightView | null;
  verdictError: string | null;
  checking: boolean;
  tab: LaunchTab;
  /** What the copy button last did, for the status line of the panel. */
  copied: { text: string; error?: boolean } | null;
}

/** Writes text to the clipboard (navigator.clipboard in the app; a test may watch it). */
export type ClipboardWrite = (text: string) => Promise<void>;

/**
 * The "Load in QEMU…" panel of one open image: the command line that loads the image file
 * (rebuilt from the image alone, for a target QEMU and machine type), its stand-ins and
 * follow-ups, the libvirt domain XML, and the target QEMU's predicted verdict with its first
 * error line. Every change of the target asks again; only the newest answers are shown.
 */
export class QemuLaunchFlow {
  readonly store = new Store<QemuLaunchState>({
    open: false,
    targets: null,
    machines: null,
    to: null,
    machine: 'image',
    launch: null,
    launchError: null,
    verdict: null,
    verdictError: null,
    checking: false,
    tab: 'command',
    copied: null,
  });
  private seq = 0;

  constructor(
    private readonly api: WorkbenchApi,
    private readonly handle: string,
    private readonly writeClipboard: ClipboardWrite = (text) => navigator.clipboard.writeText(text),
  ) {}

  private get state(): QemuLaunchState {
    return this.store.get();
  }

  show = async (): Promise<void> => {
    this.store.set({ open: true, copied: null });
    if (!this.state.targets) {
      try {
        const [targets, machines] = await Promise.all([this.api.qemuTargets(this.handle), this.api.transformTargets(this.handle)]);
        this.store.set({ targets, machines, to: defaultTarget(targets, machines) });
      } catch (e) {
        return this.store.set({ launchError: errorMessage(e) });
      }
    }
    await this.refresh();
  };

  close = (): void => {
    this.seq++;
    this.store.set({ open: false, checking: false });
  };

  setTarget = (to: string | null): void => {
    this.store.set({ to, ...(!to && { machine: 'image' as const }) });
    void this.refresh();
  };

  setMachine = (machine: LaunchMachine): void => {
    this.store.set({ machine });
    void this.refresh();
  };

  showTab = (tab: LaunchTab): void => this.store.set({ tab, copied: null });

  /** Copies what the tab shows: the command for a shell, or the domain XML. */
  copy = async (): Promise<void> => {
    const { launch, tab } = this.state;
    if (!launch) return;
    const what = tab === 'command' ? 'the command line' : 'the libvirt domain XML';
    try {
      await this.writeClipboard(tab === 'command' ? launch.shell : launch.libvirtXml);
      this.store.set({ copied: { text: `Copied ${what} to the clipboard.` } });
    } catch (e) {
      this.store.set({ copied: { text: `Could not copy ${what}: ${errorMessage(e)}; select the text and copy it instead.`, error: true } });
    }
  };

  /** The request for the backend: the target and the machine type chosen. */
  request(): QemuTargetRequest {
    return { to: this.state.to, qemu: null, machine: machineType(this.state) };
  }

  private async refresh(): Promise<void> {
    const seq = ++this.seq;
    const request = this.request();
    const current = () => seq === this.seq;
    this.store.set({ launch: null, launchError: null, verdict: null, verdictError: null, checking: !!request.to, copied: null });
    const launch = this.api.qemuLaunch(this.handle, request).then(
      (launch) => current() && this.store.set({ launch }),
      (e) => current() && this.store.set({ launchError: errorMessage(e) }),
    );
    const verdict = request.to
      ? this.api.qemuPreflight(this.handle, request).then(
          (verdict) => current() && this.store.set({ verdict }),
          (e) => current() && this.store.set({ verdictError: errorMessage(e) }),
        )
      : Promise.resolve();
    await Promise.all([launch, verdict]);
    if (current()) this.store.set({ checking: false });
  }
}

/** The machine type asked for: null for the image's own. */
function machineType(s: Pick<QemuLaunchState, 'to' | 'machine' | 'machines'>): string | null {
  if (s.machine === 'image' || !s.to) return null;
  return s.machines?.releases.find((r) => r.id === s.to)?.[s.machine] ?? null;
}

/** The installed release that made the image (its machine type names it), else the first installed one, else none. */
function defaultTarget(targets: QemuTargetInfo[], machines: TransformTargets): string | null {
  const installed = targets.filter((t) => t.binary);
  const own = machines.machine ? machines.releases.find((r) => machines.machine!.endsWith(`-${r.version}`)) : undefined;
  return (installed.find((t) => t.id === own?.id) ?? installed[0])?.id ?? null;
}
