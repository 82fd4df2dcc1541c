import { useEffect, useRef } from 'react';

/** A question with buttons; the answer is the chosen button's value. */
export interface ConfirmRequest {
  title: string;
  message: string;
  detail?: string;
  /** In order; the primary one has the keyboard first. */
  buttons: { label: string; value: string; primary?: boolean; danger?: boolean }[];
}

interface Props {
  request: ConfirmRequest;
  /** The chosen button's value, or null when dismissed (Escape). */
  onAnswer(value: string | null): void;
}

/** An in-app question (both hosts: the browser has no native dialogs, and these need more than OK/Cancel). */
export function ConfirmDialog({ request, onAnswer }: Props) {
  const primary = useRef<HTMLButtonElement>(null);
  useEffect(() => primary.current?.focus(), []);
  return (
    <div className="modal-backdrop" onKeyDown={(e) => e.key === 'Escape' && onAnswer(null)}>
      <div className="modal confirm" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title" aria-describedby="confirm-message" data-testid="confirm-dialog">
        <header>
          <h2 id="confirm-title">{request.title}</h2>
        </header>
        <div className="confirm-body">
          <p id="confirm-message">{request.message}</p>
          {request.detail && <p className="hint">{request.detail}</p>}
        </div>
        <footer>
          {request.buttons.map((b) => (
            <button key={b.value} ref={b.primary ? primary : undefined} className={b.primary ? 'primary' : b.danger ? 'danger' : ''} onClick={() => onAnswer(b.value)}>
              {b.label}
            </button>
          ))}
        </footer>
      </div>
    </div>
  );
}
