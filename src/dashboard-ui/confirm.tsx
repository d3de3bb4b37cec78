import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/**
 * A confirmation in the browser's own modal <dialog>: focus moves into it and stays there, Escape cancels, and
 * focus goes back to the button that opened it.
 */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (props.open && !element.open) element.showModal();
    if (!props.open && element.open) element.close();
  }, [props.open]);
  const titleId = `dialog-${props.title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <dialog
      ref={dialog}
      aria-labelledby={titleId}
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
    >
      <article>
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
        <footer>
          <button type="button" class="secondary" onClick={props.onCancel} disabled={props.busy}>
            Cancel
          </button>
          <button
            type="button"
            class={props.danger ? 'danger' : undefined}
            onClick={props.onConfirm}
            aria-busy={props.busy}
            disabled={props.busy}
          >
            {props.confirmLabel}
          </button>
        </footer>
      </article>
    </dialog>
  );
}

/** A secret shown once, with a copy button (docs/dashboard.md, "Developers"). */
export function ShownOnce({ label, value, note }: { label: string; value: string; note: string }) {
  const input = useRef<HTMLInputElement>(null);
  const copied = useRef<HTMLSpanElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // Without the clipboard API (a page not on https or localhost), select it for the user to copy.
      input.current?.select();
      return;
    }
    if (copied.current) copied.current.textContent = 'Copied.';
  };
  return (
    <article class="shown-once">
      <label>
        {label}
        <input
          ref={input}
          class="secret"
          type="text"
          readOnly
          value={value}
          onFocus={(e) => e.currentTarget.select()}
        />
      </label>
      <div class="actions">
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <span ref={copied} role="status" class="ok" />
      </div>
      <p>
        <strong>{note}</strong>
      </p>
    </article>
  );
}
