import { describe, expect, it } from 'vitest';
import { EditSession } from '../../electron/edit/edit-session';
import { runRepairs } from '../../electron/edit/repair-service';
import { be32 } from '../../shared/io/bytes';
import { bytesPiece } from '../../shared/edit/pieces';
import { repairAction } from '../../shared/repair/action';
import { corpusPath } from '../helpers/corpus';

/**
 * A repair is kept only if the image is better for it: what the planner proposes is checked
 * on the result, so a wrong plan is stopped by what it does, not by a loop guard.
 */
describe('runRepairs checks every repair on its result', () => {
  it('takes back a repair that adds errors, names it, and keeps the image as it was', () => {
    const session = EditSession.open(corpusPath('qemu', 'x86_64-pc-minimal-paused-16M.mig'));
    try {
      const cpu = session.model().elements.find((e) => e.idstr === 'cpu')!;
      let proposals = 0;
      // A planner that proposes a version the vmdesc does not give (the s390-skeys bug of issue 12).
      const wrong = () => {
        proposals++;
        return repairAction('restore-version', 'restored the version of cpu:0: 12 → 0', [], [{ offset: cpu.payloadOffset! - 4, deleteLength: 4, insert: [bytesPiece(be32(0))] }]);
      };
      const outcome = runRepairs(session, undefined, wrong);
      expect(proposals).toBe(1);
      expect(outcome.actions).toEqual([]);
      expect(outcome.rejected?.action.edit.summary).toBe('restored the version of cpu:0: 12 → 0');
      expect(outcome.stopped).toBe('the repair "restored the version of cpu:0: 12 → 0" was not applied: it would leave 1 error where there are 0');
      expect(session.entries).toHaveLength(0);
      expect(session.redoable).toHaveLength(0);
      expect(outcome.after.filter((d) => d.severity === 'error')).toEqual([]);
    } finally {
      session.close();
    }
  });
});
