import { memo } from 'react';
import type { ByteSpace, Diagnostic } from '../../shared/api/contract';
import { hexOffset } from '../api';

const ICON = { error: '✖', warning: '▲', info: 'ℹ' } as const;

/** A diagnostic with the byte space its offset is in: the wrapper's are at file offsets. */
export type PlacedDiagnostic = Diagnostic & { space: ByteSpace };

/** Something the user can do about a diagnostic: a button in its row. */
export interface DiagnosticAction {
  label: string;
  /** What it does, in full (the button's tooltip). */
  title?: string;
  /** Shown but off (the title says why). */
  disabled?: boolean;
  run(): void;
}

interface Props {
  diagnostics: PlacedDiagnostic[];
  /** Whether the image has a wrapper, so offsets need saying which space they are in. */
  wrapped: boolean;
  onJump(d: PlacedDiagnostic): void;
  /** What the user can do about a diagnostic (buttons in its row). */
  actionsFor?(d: PlacedDiagnostic): DiagnosticAction[];
}

/** Every problem with its offset; clicking one (or Enter) jumps to it. */
export const DiagnosticsList = memo(function DiagnosticsList({ diagnostics, wrapped, onJump, actionsFor }: Props) {
  if (diagnostics.length === 0) return <p className="empty-note" style={{ padding: 8 }}>No problems found in this image.</p>;
  return (
    <div className="diagnostics" role="list" data-testid="diagnostics">
      {diagnostics.map((d, i) => {
        const actions = actionsFor?.(d) ?? [];
        return (
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
            <span className="offset" title={d.space === 'file' ? 'file offset' : 'stream offset'}>
              {hexOffset(d.offset)}
              {wrapped ? (d.space === 'file' ? ' file' : ' stream') : ''}
            </span>
            <span>
              {d.section ? `${d.section}: ` : ''}
              {d.message}
            </span>
            <span className="more">
              expected {d.expected}; found {d.found}
              {d.hint ? ` — ${d.hint}` : ''}
            </span>
            {actions.length > 0 && (
              <span className="diag-action">
                {actions.map((action) => (
                  <button
                    key={action.label}
                    title={action.title}
                    disabled={action.disabled}
                    onClick={(e) => {
                      e.stopPropagation();
                      action.run();
                    }}
                    onKeyDown={(e) => e.stopPropagation()}
                  >
                    {action.label}
                  </button>
                ))}
              </span>
            )}
          </div>
        );
      })}
    </div>
  );
});
