import { lazy, Suspense, useContext } from 'react';
import type { PreflightView, QemuLaunchView } from '../../../shared/api/contract';
import { hexOffset } from '../../api';
import { Dialog } from '../../components/Dialog';
import { useStore } from '../../state/store';
import { ThemeContext } from '../../shell/theme';
import type { LaunchMachine, QemuLaunchFlow, QemuLaunchState } from '../qemu-launch-flow';
import { useImageView } from '../view-context';

const CodeViewer = lazy(() => import('../../components/CodeViewer').then((m) => ({ default: m.CodeViewer })));

/**
 * Load in QEMU: the command line that loads the image file, rebuilt from the image alone
 * for a target QEMU and machine type (with its stand-ins and what to do after starting
 * it), or its libvirt domain XML; the target's predicted verdict with QEMU's first error
 * line; and a copy button.
 */
export function LoadInQemuDialog() {
  const flow = useImageView().launch;
  const open = useStore(flow.store, (s) => s.open);
  return open ? <LoadInQemuBody flow={flow} /> : null;
}

function LoadInQemuBody({ flow }: { flow: QemuLaunchFlow }) {
  const state = useStore(flow.store, (s) => s);
  const { launch, tab, copied } = state;
  return (
    <Dialog
      title="Load in QEMU"
      onClose={flow.close}
      className="wide launch-dialog"
      testId="load-in-qemu"
      footer={
        <>
          {copied && (
            <span className={`dialog-note${copied.error ? ' error' : ''}`} role="status" data-testid="copy-status">
              {copied.text}
            </span>
          )}
          <button onClick={flow.close}>Close</button>
          <button className="primary" onClick={() => void flow.copy()} disabled={!launch}>
            {tab === 'command' ? 'Copy command' : 'Copy XML'}
          </button>
        </>
      }
    >
      <TargetChoice flow={flow} state={state} />
      <Verdict state={state} />
      {state.launchError && (
        <p className="dialog-error" role="alert">
          {state.launchError}
        </p>
      )}
      {launch && <LaunchSummary launch={launch} />}
      <div className="panel-title bottom-tabs" role="tablist" aria-label="Show">
        <button role="tab" aria-selected={tab === 'command'} className={tab === 'command' ? 'active' : ''} onClick={() => flow.showTab('command')}>
          Command line
        </button>
        <button role="tab" aria-selected={tab === 'libvirt'} className={tab === 'libvirt' ? 'active' : ''} onClick={() => flow.showTab('libvirt')}>
          libvirt XML
        </button>
      </div>
      <div role="tabpanel" className="launch-body">
        {launch && (tab === 'command' ? <CommandLine launch={launch} /> : <LibvirtXml launch={launch} />)}
        {!launch && !state.launchError && <p className="hint">Rebuilding the command line from the image…</p>}
      </div>
    </Dialog>
  );
}

function TargetChoice({ flow, state }: { flow: QemuLaunchFlow; state: QemuLaunchState }) {
  const release = state.machines?.releases.find((r) => r.id === state.to);
  const machineOption = (choice: Exclude<LaunchMachine, 'image'>) => release?.[choice] && <option value={choice}>{`${choice === 'compat' ? 'Compat' : 'Newest'} of ${release.id}: ${release[choice]}`}</option>;
  return (
    <fieldset className="dialog-form" disabled={!state.targets}>
      <label>
        Target QEMU
        <select value={state.to ?? ''} onChange={(e) => flow.setTarget(e.target.value || null)}>
          {state.targets?.map((t) => (
            <option key={t.id} value={t.id}>
              {t.binary ? `${t.id} (${t.binary.path}, ${t.binary.version})` : `${t.id} (not installed for this architecture)`}
            </option>
          ))}
          <option value="">No particular QEMU (arguments only, no verdict)</option>
        </select>
      </label>
      <label>
        Machine type
        <select value={state.machine} onChange={(e) => flow.setMachine(e.target.value as LaunchMachine)} disabled={!state.to}>
          <option value="image">The image’s: {state.machines?.machine ?? 'inferred'}</option>
          {machineOption('compat')}
          {machineOption('newest')}
        </select>
      </label>
    </fieldset>
  );
}

/** The target's predicted verdict: loads, or refuses with QEMU's first error line and what fixes each failure. */
function Verdict({ state }: { state: QemuLaunchState }) {
  const { verdict, verdictError, checking, to } = state;
  if (!to) return <p className="hint">Choose a target QEMU to predict whether it loads the image.</p>;
  if (checking && !verdict && !verdictError) return <p className="hint" role="status">Asking what QEMU will say (its -dump-vmstate schema is read once per binary)…</p>;
  if (verdictError)
    return (
      <p className="dialog-error" role="alert" data-testid="preflight-verdict" data-loads="unknown">
        No verdict: {verdictError}
      </p>
    );
  if (!verdict) return null;
  return (
    <div className={`verdict ${verdict.loads ? 'loads' : 'refuses'}`} role="status" data-testid="preflight-verdict" data-loads={String(verdict.loads)}>
      <strong>
        QEMU {verdict.qemu.version} -machine {verdict.machine} {verdict.loads ? 'loads it.' : 'refuses it.'}
      </strong>
      {verdict.firstError && (
        <div>
          First error: <code data-testid="preflight-first-error">{verdict.firstError}</code>
        </div>
      )}
      {!verdict.loads && <Failures verdict={verdict} />}
      {verdict.notices.map((n, i) => (
        <div key={i} className="hint">
          QEMU will print (and load anyway): {n}
        </div>
      ))}
      {verdict.unsavedEdits > 0 && <div className="hint">Predicted for the file on disk: its {verdict.unsavedEdits} unsaved edits are not in it. Save as first to load them.</div>}
    </div>
  );
}

function Failures({ verdict }: { verdict: PreflightView }) {
  return (
    <ol className="plan-list" aria-label="What QEMU stumbles over, in its order">
      {verdict.failures.map((f, i) => (
        <li key={i}>
          <span className="rule">{f.check}</span> {[f.section, f.field && `field ${f.field}`, f.offset !== undefined && `stream ${hexOffset(f.offset)}`].filter(Boolean).join(', ') || f.stage}: {f.reason}
          <div className="cite">fix: {f.fix}</div>
        </li>
      ))}
    </ol>
  );
}

function LaunchSummary({ launch }: { launch: QemuLaunchView }) {
  const s = launch.summary;
  return (
    <p className="hint" data-testid="launch-summary">
      {launch.machineType}, {s.arch}, {s.cpus} vCPU{s.cpus === 1 ? '' : 's'}
      {s.cpuModel ? ` (${s.cpuModel})` : ''}, {(s.memoryBytes / (1 << 20)).toLocaleString()} MiB RAM, {s.devices} device{s.devices === 1 ? '' : 's'}
      {launch.unsavedEdits > 0 && ` · QEMU loads the file on disk: ${launch.unsavedEdits} unsaved edits are not in it`}
    </p>
  );
}

function CommandLine({ launch }: { launch: QemuLaunchView }) {
  return (
    <>
      <pre className="launch-command" data-testid="qemu-command" aria-label="The command line" tabIndex={0}>
        {launch.shell}
      </pre>
      {launch.followUp.length > 0 && (
        <>
          <h3>Then, and the stand-ins</h3>
          <pre className="launch-follow-up" data-testid="qemu-follow-up" aria-label="What to do after starting QEMU, and the stand-ins" tabIndex={0}>
            {launch.followUp.join('\n')}
          </pre>
        </>
      )}
    </>
  );
}

function LibvirtXml({ launch }: { launch: QemuLaunchView }) {
  const dark = useContext(ThemeContext) === 'dark';
  return (
    <>
      <p className="hint">
        {launch.libvirtXmlSource === 'embedded' ? 'The save’s own domain XML' : 'A domain XML rebuilt from the stream'}
        {launch.libvirtCheck && `, checked against the stream: ${launch.libvirtCheck.agree} facts agree, ${launch.libvirtCheck.findings.length} disagree`}
        {launch.libvirtCheck?.findings.map((f, i) => (
          <span key={i} className={f.level === 'error' ? 'error' : ''}>
            {' '}
            · {f.message}
          </span>
        ))}
      </p>
      <div className="launch-xml">
        <Suspense fallback={<p className="hint">Loading the editor…</p>}>
          <CodeViewer text={launch.libvirtXml} language="xml" dark={dark} />
        </Suspense>
      </div>
    </>
  );
}
