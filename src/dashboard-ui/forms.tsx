import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { describeError } from './api';

/** A text field of a submitted form ('' when absent; a file input is never read as text). */
export function fieldText(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === 'string' ? value : '';
}

/**
 * A form that sends one request: busy while it is sent, and the error it ended with. `check` refuses the form
 * before anything is sent (its message, or null to send); `describe` words a failure (default: the API's message).
 */
export function useFormSubmit(
  send: (form: FormData) => Promise<void>,
  options: { check?: (form: FormData) => string | null; describe?: (err: unknown) => string } = {},
): { busy: boolean; error: string | null; onSubmit: (event: SubmitEvent) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const refused = options.check?.(form) ?? null;
    if (refused !== null) {
      setError(refused);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await send(form);
    } catch (err) {
      setError((options.describe ?? describeError)(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, onSubmit: (event) => void submit(event) };
}

/** The end of such a form: its error, announced at once (role=alert), and its button, busy while the form is sent. */
export function SubmitRow({
  busy,
  error,
  children,
}: {
  busy: boolean;
  error: string | null;
  children: ComponentChildren;
}) {
  return (
    <>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button type="submit" aria-busy={busy} disabled={busy}>
        {children}
      </button>
    </>
  );
}
