import { useState } from 'react';
import type { DonorEditRequest, DonorSections } from '../../shared/api/contract';

interface Props {
  donor: DonorSections;
  /** The section the image has selected in its chunk panel: where a graft goes (after it), or none (last). */
  after: string | null;
  /** The image's own device sections: a replace needs one of the same name. */
  own: ReadonlySet<string>;
  onAnswer(op: DonorEditRequest['op'] | null, section: string): void;
}

/** Which section of a donor image to take, and whether to graft it (add) or replace the image's section of that name. */
export function DonorDialog({ donor, after, own, onAnswer }: Props) {
  const [section, setSection] = useState(donor.sections[0].section);
  const [op, setOp] = useState<DonorEditRequest['op']>(own.has(section) ? 'replace-section' : 'graft-section');
  const canReplace = own.has(section);
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && onAnswer(null, section)}>
      <div className="modal donor-dialog" role="dialog" aria-modal="true" aria-labelledby="donor-title" data-testid="donor-dialog">
        <header>
          <h2 id="donor-title">Take a section from {donor.path}</h2>
        </header>
        <div className="confirm-body">
          <label>
            Section{' '}
            <select value={section} onChange={(e) => setSection(e.target.value)} aria-label="Donor section">
              {donor.sections.map((s) => (
                <option key={s.section} value={s.section}>
                  {s.section} ({s.length.toLocaleString()} bytes){s.damaged ? ' — damaged' : ''}
                </option>
              ))}
            </select>
          </label>
          <fieldset>
            <label>
              <input type="radio" name="donor-op" checked={op === 'graft-section'} onChange={() => setOp('graft-section')} /> Graft: add it {after ? `after ${after}` : 'last (before QEMU_VM_EOF)'}
            </label>
            <br />
            <label title={canReplace ? undefined : 'The image has no section of this name'}>
              <input type="radio" name="donor-op" checked={op === 'replace-section'} disabled={!canReplace} onChange={() => setOp('replace-section')} /> Replace the image’s {section}
            </label>
          </fieldset>
          <p className="hint">An edit in the journal: Undo takes it back. Footers and the vmdesc are fixed alongside.</p>
        </div>
        <footer>
          <button onClick={() => onAnswer(null, section)}>Cancel</button>
          <button className="primary" disabled={op === 'replace-section' && !canReplace} onClick={() => onAnswer(op, section)}>
            {op === 'graft-section' ? 'Graft' : 'Replace'}
          </button>
        </footer>
      </div>
    </div>
  );
}
