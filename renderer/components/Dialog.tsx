import { useEffect, useId, useRef, type ReactNode } from 'react';

interface Props {
  title: string;
  /** Escape, or the Close button. */
  onClose(): void;
  /** A class for the dialog's size and layout. */
  className?: string;
  testId?: string;
  children: ReactNode;
  footer: ReactNode;
}

const FOCUSABLE = 'button:not([disabled]), select:not([disabled]), input:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * A modal dialog: named by its title, the keyboard kept inside it (Tab cycles through its
 * controls, Escape closes it) and given back to where it was when it closes.
 */
export function Dialog({ title, onClose, className = '', testId, children, footer }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const titleId = useId();
  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    box.current?.querySelector<HTMLElement>(FOCUSABLE)?.focus();
    return () => before?.focus();
  }, []);
  // Escape closes the dialog when the keyboard is in it, or nowhere (a button that went away
  // took the focus with it); not when it is in a dialog opened over this one (the file picker).
  const close = useRef(onClose);
  close.current = onClose;
  useEffect(() => {
    const onEscape = (e: KeyboardEvent) => {
      const at = document.activeElement;
      if (e.key !== 'Escape' || e.defaultPrevented || !(at === null || at === document.body || box.current?.contains(at))) return;
      e.preventDefault();
      close.current();
    };
    window.addEventListener('keydown', onEscape);
    return () => window.removeEventListener('keydown', onEscape);
  }, []);
  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'Tab') {
      const all = [...(box.current?.querySelectorAll<HTMLElement>(FOCUSABLE) ?? [])].filter((el) => el.offsetParent !== null);
      if (!all.length) return;
      const [first, last] = [all[0], all[all.length - 1]];
      const wrapTo = e.shiftKey ? (document.activeElement === first ? last : null) : document.activeElement === last ? first : null;
      if (!wrapTo) return;
      e.preventDefault();
      wrapTo.focus();
    }
  };
  return (
    <div className="modal-backdrop" onKeyDown={onKeyDown}>
      <div className={`modal ${className}`} role="dialog" aria-modal="true" aria-labelledby={titleId} data-testid={testId} ref={box}>
        <h2 className="modal-title" id={titleId}>
          {title}
        </h2>
        <div className="dialog-body">{children}</div>
        <footer>{footer}</footer>
      </div>
    </div>
  );
}
