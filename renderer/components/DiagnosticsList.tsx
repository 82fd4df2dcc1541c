import { memo } from 'react';
import type { Diagnostic } from '../../shared/diagnostics';
import { hexOffset } from '../api';

const ICON = { error: '✖', warning: '▲', info: 'ℹ' } as const;

/** Every problem with its offset; clicking one (or Enter) jumps to it. */
export const DiagnosticsList = memo(function DiagnosticsList({ diagnostics, onJump }: { diagnostics: Diagnostic[]; onJump(d: Diagnostic): void }) {
  if (diagnostics.length === 0) return <p className="empty-note" style={{ padding: 8 }}>No problems found in this image.</p>;
  return (
    <div className="diagnostics" role="list" data-testid="diagnostics">
      {diagnostics.map((d, i) => (
        <div
          key={i}
          className="diag"
          role="listitem"
          tabIndex={0}
          data-code={d.code}
          onClick={() => onJump(d)}
          onKeyDown={(e) => e.key === 'Enter' && onJump(d)}
          title={d.hint ?? ''}
        >
          <span className={`sev-${d.severity}`}>{ICON[d.severity]}</span>
          <span className="offset">{hexOffset(d.offset)}</span>
          <span>
            {d.section ? `${d.section}: ` : ''}
            {d.message}
          </span>
          <span className="more">
            expected {d.expected}; found {d.found}
            {d.hint ? ` — ${d.hint}` : ''}
          </span>
        </div>
      ))}
    </div>
  );
});
