import { decodePayload, type DecodedSection, type SectionPayload } from '../../shared/formats/qemu-stream/section-decoder';
import type { NodeLimit } from '../../shared/formats/qemu-stream/vmstate-decode';
import { runAsWorkerJob } from '../services/worker-job';

export interface DecodeJob {
  payload: SectionPayload;
  limit: NodeLimit;
}

/** What comes back: the decoded fields (the payload's bytes stay with the caller, who sent them). */
export type DecodedFields = Omit<DecodedSection, 'bytes'>;

/** Worker thread of the section-decoding pool: decodes one section's payload as its description says. */
runAsWorkerJob<DecodeJob, DecodedFields, never>(({ payload, limit }) => {
  const { bytes: _bytes, ...fields } = decodePayload(payload, limit);
  return fields;
});
