/**
 * API keys and webhook secrets of the mode, and a test webhook. A new key or secret is shown once, right after it
 * is made; the server never shows a key again (only its id and state). Rotation keeps the old one working for a
 * grace period so that the merchant's servers can switch without failed calls (docs/authentication.md).
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, describeError } from '../api';
import type { ApiKeyInfo, Developers, Mode, RotatedKey, RotatedWebhookSecret, WebhookTestResult } from '../api-types';
import { ConfirmDialog, ShownOnce } from '../confirm';
import { formatDateTime, formatDuration } from '../format';
import { fieldText } from '../forms';
import { useApiGet } from '../hooks';
import { PageTitle } from '../layout';
import { MODE_LABELS, useSession } from '../session';
import { Table } from '../table';

const STATE_LABELS: Record<ApiKeyInfo['state'], string> = {
  current: 'Current',
  expiring: 'Expiring',
  expired: 'Expired',
  revoked: 'Revoked',
};

type Note = { ok: boolean; text: string } | null;

export function DevelopersPage({ mode }: { mode: Mode }) {
  const { session } = useSession();
  const admin = session.user.role === 'admin';
  const developers = useApiGet<Developers>(`/${mode}/developers`);
  const [newKey, setNewKey] = useState<RotatedKey | null>(null);
  const [newSecret, setNewSecret] = useState<RotatedWebhookSecret | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [note, setNote] = useState<Note>(null);
  const [testResult, setTestResult] = useState<Note>(null);

  const run = async (what: string, action: () => Promise<void>) => {
    setBusy(what);
    setNote(null);
    try {
      await action();
    } catch (err) {
      setNote({ ok: false, text: describeError(err) });
    } finally {
      setBusy(null);
    }
  };

  /** A rotation: the new key or secret is shown once, and the list shows it by id. */
  const rotate =
    <T,>(what: string, path: string, show: (made: T) => void) =>
    (graceHours: number | undefined) =>
      void run(what, async () => {
        show(await api<T>('POST', path, graceHours === undefined ? {} : { graceHours }));
        developers.reload();
      });
  const rotateKey = rotate<RotatedKey>('rotate', `/${mode}/keys`, setNewKey);
  const rotateSecret = rotate<RotatedWebhookSecret>('secret', '/webhook-secret/rotate', setNewSecret);

  const revoke = (keyId: string) =>
    run('revoke', async () => {
      await api('POST', `/${mode}/keys/${encodeURIComponent(keyId)}/revoke`);
      setRevoking(null);
      setNote({ ok: true, text: `Key ${keyId} is revoked.` });
      developers.reload();
    });

  const sendTest = (event: SubmitEvent) => {
    event.preventDefault();
    const url = fieldText(new FormData(event.currentTarget as HTMLFormElement), 'url');
    setTestResult(null);
    void run('test', async () => {
      const result = await api<WebhookTestResult>('POST', `/${mode}/webhook-test`, { url });
      const ok = result.httpStatus !== undefined && result.httpStatus >= 200 && result.httpStatus < 300;
      const answer =
        result.httpStatus !== undefined ? `HTTP ${result.httpStatus}` : `no answer (${result.error ?? 'error'})`;
      setTestResult({ ok, text: `Your endpoint answered ${answer} in ${formatDuration(result.durationMs)}.` });
    });
  };

  const d = developers.data;
  return (
    <>
      <PageTitle title="Developers">Developers</PageTitle>
      {developers.error && (
        <p role="alert" class="error">
          {developers.error}
        </p>
      )}
      {note && (
        <p role={note.ok ? 'status' : 'alert'} class={note.ok ? 'ok' : 'error'}>
          {note.text}
        </p>
      )}
      {!admin && (
        <p>
          <small>Your role is viewer: keys, secrets and test webhooks are for admins.</small>
        </p>
      )}

      <section aria-labelledby="keys-title">
        <h2 id="keys-title">{MODE_LABELS[mode]} API keys</h2>
        {developers.loading && <p aria-busy="true">Loading keys…</p>}
        {d && (
          <Table
            scroll
            caption="API keys of this mode (a key itself is shown only once, when it is made)"
            columns={['Key id', 'State', 'Created', 'Expires', 'Revoked', admin && 'Action']}
          >
            {d.keys.map((key) => (
              <tr key={key.keyId}>
                <td>
                  <code>{key.keyId}</code>
                </td>
                <td>
                  <span class={`badge ${key.state}`}>{STATE_LABELS[key.state]}</span>
                </td>
                <td>{formatDateTime(key.createdAt)}</td>
                <td>{formatDateTime(key.expiresAt)}</td>
                <td>{formatDateTime(key.revokedAt)}</td>
                {admin && (
                  <td>
                    {(key.state === 'current' || key.state === 'expiring') && (
                      <button type="button" class="outline small" onClick={() => setRevoking(key.keyId)}>
                        Revoke <span class="visually-hidden">{key.keyId}</span>
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </Table>
        )}
        {newKey && (
          <ShownOnce
            label={`New ${MODE_LABELS[mode].toLowerCase()} API key (${newKey.keyId})`}
            value={newKey.key}
            note={onceNote('key', newKey.oldKeysExpireAt, 'The previous keys keep working')}
          />
        )}
        {admin && (
          <RotateForm
            label="Grace period for the old keys (hours)"
            busy={busy === 'rotate'}
            disabled={busy !== null}
            onRotate={rotateKey}
          >
            Rotate API key
          </RotateForm>
        )}
      </section>

      <section aria-labelledby="secrets-title">
        <h2 id="secrets-title">Webhook signing secret</h2>
        <p>Webhooks of both modes are signed with this secret (docs: webhooks).</p>
        {d && (
          <Table caption="Webhook secrets that verify now" columns={['Secret id', 'Created', 'Expires']}>
            {d.webhookSecrets.map((s) => (
              <tr key={s.id}>
                <td>
                  <code>{s.id}</code>
                </td>
                <td>{formatDateTime(s.createdAt)}</td>
                <td>{formatDateTime(s.expiresAt)}</td>
              </tr>
            ))}
          </Table>
        )}
        {newSecret && (
          <ShownOnce
            label="New webhook secret"
            value={newSecret.webhookSecret}
            note={onceNote(
              'secret',
              newSecret.oldSecretsExpireAt,
              'Signatures with the previous secret are still sent',
            )}
          />
        )}
        {admin && (
          <RotateForm
            label="Grace period for the old secret (hours)"
            busy={busy === 'secret'}
            disabled={busy !== null}
            onRotate={rotateSecret}
          >
            Rotate webhook secret
          </RotateForm>
        )}
      </section>

      {admin && (
        <section aria-labelledby="test-title">
          <h2 id="test-title">Send a test webhook</h2>
          <form onSubmit={sendTest}>
            <label>
              Your endpoint's URL
              <input type="url" name="url" required placeholder="https://shop.example/settleflow/webhooks" />
            </label>
            <button type="submit" aria-busy={busy === 'test'} disabled={busy !== null}>
              Send a signed TEST event
            </button>
          </form>
          {testResult && (
            <p role="status" class={testResult.ok ? 'ok' : 'error'}>
              {testResult.text}
            </p>
          )}
        </section>
      )}

      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this API key?"
        confirmLabel="Revoke"
        danger
        busy={busy === 'revoke'}
        onConfirm={() => revoking && void revoke(revoking)}
        onCancel={() => setRevoking(null)}
      >
        <p>
          Key <code>{revoking}</code> stops working at once: every call made with it is refused from now on.
        </p>
      </ConfirmDialog>
    </>
  );
}

/** What the box of a new key or secret says: it is shown once, and until when the previous ones still work. */
function onceNote(thing: 'key' | 'secret', previousUntil: string | null | undefined, previous: string): string {
  const grace = previousUntil ? ` ${previous} until ${formatDateTime(previousUntil)}.` : '';
  return `This ${thing} is shown once: store it now.${grace}`;
}

/** Rotate a key or the secret, with the grace period (hours) in which the old one still works. */
function RotateForm(props: {
  label: string;
  busy: boolean;
  disabled: boolean;
  onRotate: (graceHours: number | undefined) => void;
  children: ComponentChildren;
}) {
  const submit = (event: SubmitEvent) => {
    event.preventDefault();
    const value = Number(new FormData(event.currentTarget as HTMLFormElement).get('graceHours'));
    props.onRotate(Number.isFinite(value) && value >= 0 ? value : undefined);
  };
  return (
    <form onSubmit={submit}>
      <label>
        {props.label}
        <input type="number" name="graceHours" min={0} max={720} defaultValue="24" />
      </label>
      <button type="submit" aria-busy={props.busy} disabled={props.disabled}>
        {props.children}
      </button>
    </form>
  );
}
