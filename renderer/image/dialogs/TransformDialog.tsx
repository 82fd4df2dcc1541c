import { lazy, Suspense, useContext } from 'react';
import type { TransformPlanView, TransformTargets } from '../../../shared/api/contract';
import { hexOffset } from '../../api';
import { Dialog } from '../../components/Dialog';
import { useStore } from '../../state/store';
import { ThemeContext } from '../../shell/theme';
import type { MachineChoice, TransformFlow, TransformProgress } from '../transform-flow';
import { useImageView, useViewState } from '../view-context';

// Monaco is large: loaded when a diff is first shown.
const DiffViewer = lazy(() => import('../../components/DiffViewer').then((m) => ({ default: m.DiffViewer })));

const PHASES: Record<TransformProgress['phase'], string> = { planning: 'Planning', applying: 'Applying', checking: 'Checking the edited image', done: 'Done' };

/**
 * Transform for another QEMU: choose the target (release, machine type, a template image,
 * options), review the plan (each change with its rule and the QEMU source it cites, what
 * the target sees differently, what blocks it, the vmdesc diff), Apply as one undoable
 * edit, then Save as.
 */
export function TransformDialog() {
  const view = useImageView();
  const flow = view.transform;
  const open = useStore(flow.store, (s) => s.open);
  return open ? <TransformDialogBody flow={flow} /> : null;
}

function TransformDialogBody({ flow }: { flow: TransformFlow }) {
  const busy = useViewState((s) => s.busy);
  const lastEdit = useViewState((s) => s.journal.edits[s.journal.edits.length - 1]?.summary);
  const state = useStore(flow.store, (s) => s);
  const { plan, applying, targets, error, planning } = state;
  // Applied, and not undone since (the journal's last entry is still the transform).
  const applied = state.applied !== null && lastEdit === state.applied ? state.applied : null;
  const canApply = !!plan && !plan.blockers.length && plan.changes.length > 0 && !busy && !applying && !planning && !applied;
  return (
    <Dialog
      title="Transform for another QEMU"
      onClose={flow.close}
      className="wide transform-dialog"
      testId="transform-dialog"
      footer={
        <>
          {applying && <ApplyProgress progress={applying} />}
          {applied && (
            <span className="dialog-note" role="status" data-testid="transform-applied">
              Applied as one edit: {applied}. Undo takes it back; Save as writes the transformed image.
            </span>
          )}
          <button onClick={flow.close}>Close</button>
          {applied ? (
            // Focus moves here from Apply, which this replaces.
            <button className="primary" onClick={() => void flow.save()} disabled={busy} autoFocus>
              Save as…
            </button>
          ) : (
            <button className="primary" onClick={() => void flow.apply()} disabled={!canApply} title="Apply the plan as one edit of the journal (the file itself is never written)">
              Apply
            </button>
          )}
        </>
      }
    >
      <TargetForm flow={flow} targets={targets} disabled={!!applying} />
      {error && (
        <p className="dialog-error" role="alert" data-testid="transform-error">
          {error}
        </p>
      )}
      <div className="transform-review">
        <section className="transform-plan" aria-label="The plan" aria-busy={planning} data-testid="transform-plan">
          {planning && <p className="hint">Planning…</p>}
          {plan && <PlanReview plan={plan} />}
        </section>
        <section className="transform-diff" aria-label="The vmdesc before and after">
          <h3>vmdesc: before → after</h3>
          {plan?.vmdesc ? <VmdescDiff before={plan.vmdesc.before} after={plan.vmdesc.after} /> : <p className="hint">{plan ? 'The image has no vmdesc, or the plan changes nothing in it.' : ''}</p>}
        </section>
      </div>
    </Dialog>
  );
}

function TargetForm({ flow, targets, disabled }: { flow: TransformFlow; targets: TransformTargets | null; disabled: boolean }) {
  const request = useStore(flow.store, (s) => s.request);
  const release = targets?.releases.find((r) => r.id === request.to);
  const machineLabel = (choice: MachineChoice) => {
    const name = release?.[choice];
    return `${choice === 'compat' ? 'Compat' : 'Newest'}: ${name ?? 'none for this machine'}`;
  };
  return (
    <fieldset className="dialog-form" disabled={disabled || !targets}>
      <label>
        Target QEMU
        <select value={request.to} onChange={(e) => flow.setRelease(e.target.value)}>
          {targets?.releases.map((r) => (
            <option key={r.id} value={r.id}>
              {r.id}
            </option>
          ))}
        </select>
      </label>
      <label>
        Machine type
        <select value={request.machine ?? 'compat'} onChange={(e) => flow.setMachine(e.target.value as MachineChoice)}>
          <option value="compat">{machineLabel('compat')}</option>
          <option value="newest">{machineLabel('newest')}</option>
        </select>
      </label>
      <span className="template-choice">
        <span id="transform-template-label">Template</span>
        <output aria-labelledby="transform-template-label" data-testid="transform-template" title={request.templatePath ?? undefined}>
          {request.templatePath ? request.templatePath.split(/[/\\]/).pop() : 'none (built-in rules only)'}
        </output>
        <button onClick={() => void flow.chooseTemplate()} title="A native image of the target QEMU with the same configuration: fields only the target has take its values">
          Choose template…
        </button>
        {request.templatePath && (
          <button onClick={flow.clearTemplate} aria-label="No template">
            Clear
          </button>
        )}
      </span>
      {targets?.options.map((o) => (
        <label key={o.name} title={o.description}>
          <input type="checkbox" checked={request.options.includes(o.name)} onChange={(e) => flow.setOption(o.name, e.target.checked)} /> {o.name}
        </label>
      ))}
    </fieldset>
  );
}

/** The plan as a list to review: the verdict as it is, then changes, differences, blockers and fixups. */
function PlanReview({ plan }: { plan: TransformPlanView }) {
  const t = plan.target;
  return (
    <>
      <p className={plan.before.loads ? 'verdict loads' : 'verdict refuses'} data-testid="transform-before">
        As it is, QEMU {t.version} -M {t.machine} {plan.before.loads ? 'loads it.' : 'refuses it: '}
        {!plan.before.loads && plan.before.qemuError && <code>{plan.before.qemuError[0]}</code>}
      </p>
      {plan.blockers.length > 0 && (
        <>
          <h3>Blocked ({plan.blockers.length})</h3>
          <ul className="plan-list blockers" role="alert">
            {plan.blockers.map((b, i) => (
              <li key={i} data-testid="plan-blocker">
                <span className="rule">{b.rule}</span> {b.subject}: {b.reason}. Closest target that loads it: <strong>{b.closest}</strong>
                {b.qemuError && <code className="qemu-line">{b.qemuError[0]}</code>}
              </li>
            ))}
          </ul>
        </>
      )}
      <h3>Changes ({plan.changes.length})</h3>
      {plan.changes.length === 0 && !plan.blockers.length && <p className="hint">Nothing to change: the target loads the image as it is.</p>}
      <ol className="plan-list" aria-label="Changes">
        {plan.changes.map((c, i) => (
          <li key={i} data-testid="plan-change" data-rule={c.rule}>
            <span className="rule">{c.rule}</span> <span className="subject">{c.subject}</span>: {c.action}
            {c.offset !== undefined && <span className="offset"> at {hexOffset(c.offset)}</span>}
            {c.details && c.details.length > 0 && (
              <ul className="plan-details">
                {c.details.map((d, j) => (
                  <li key={j}>{d}</li>
                ))}
              </ul>
            )}
            {c.cites.map((cite, j) => (
              <div key={j} className="cite">
                QEMU: {cite}
              </div>
            ))}
          </li>
        ))}
      </ol>
      {plan.differences.length > 0 && (
        <>
          <h3>What the target will see differently ({plan.differences.length})</h3>
          <ul className="plan-list" aria-label="What the target will see differently">
            {plan.differences.map((d, i) => (
              <li key={i} data-testid="plan-difference">
                <span className="rule">{d.rule}</span> {d.subject}: {d.what}
              </li>
            ))}
          </ul>
        </>
      )}
      {plan.fixups.length > 0 && (
        <>
          <h3>Framing fixed alongside</h3>
          <ul className="plan-list">
            {plan.fixups.map((f, i) => (
              <li key={i}>{f}</li>
            ))}
          </ul>
        </>
      )}
    </>
  );
}

function VmdescDiff({ before, after }: { before: string; after: string }) {
  const dark = useContext(ThemeContext) === 'dark';
  return (
    <Suspense fallback={<p className="hint">Loading the editor…</p>}>
      <DiffViewer before={before} after={after} language="json" dark={dark} label="The vmdesc before (left) and after (right) the transform" />
    </Suspense>
  );
}

function ApplyProgress({ progress }: { progress: TransformProgress }) {
  return (
    <span className="progress-label" role="status" data-testid="transform-progress">
      {PHASES[progress.phase]}…
      <progress max={progress.total} value={progress.done} aria-label="Transform progress" />
    </span>
  );
}
