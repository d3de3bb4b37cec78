import escapeHtml from 'escape-html';
import type { EproResult } from '../../epro/result';

/**
 * The hosted 3-D Secure pages, server-rendered with no third-party asset: what the cardholder sees in the sandbox
 * challenge, and the page that carries them back to the merchant. Only the masked PAN ever appears.
 */
export interface ChallengeView {
  reference: string;
  merchantName: string;
  amount: string;
  maskedPan: string;
  token: string;
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}
main{background:#fff;border-radius:12px;box-shadow:0 2px 12px #0002;padding:32px;max-width:420px;width:100%}
h1{font-size:1.3rem;margin:0 0 4px}p.note{color:#666;font-size:.9rem;margin-top:0}
dl{display:grid;grid-template-columns:auto 1fr;gap:8px 16px;margin:24px 0}dt{color:#666}dd{margin:0;font-weight:600}
button{display:block;width:100%;padding:12px;margin-top:12px;border-radius:8px;border:0;font-size:1rem;cursor:pointer}
button.ok{background:#1a7f37;color:#fff}button.ko{background:#eee;color:#b42318}`;

function page(title: string, body: string, scriptNonce?: string, script?: string, head = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">${head}
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main>${script && scriptNonce ? `<script nonce="${scriptNonce}">${script}</script>` : ''}</body></html>`;
}

export function challengePage(view: ChallengeView): string {
  return page(
    '3-D Secure authentication',
    `<h1>Confirm your payment</h1><p class="note">SettleFlow sandbox 3-D Secure challenge</p>
<dl><dt>Merchant</dt><dd>${escapeHtml(view.merchantName)}</dd><dt>Amount</dt><dd>${escapeHtml(view.amount)}</dd>
<dt>Card</dt><dd>${escapeHtml(view.maskedPan)}</dd></dl>
<form method="post" action="/v1/3ds/${escapeHtml(view.reference)}">
<input type="hidden" name="token" value="${escapeHtml(view.token)}">
<button class="ok" type="submit" name="result" value="approved">Complete authentication</button>
<button class="ko" type="submit" name="result" value="failed">Fail authentication</button>
</form>`,
  );
}

/** The fields posted back to the merchant's ReturnUrl (docs/3d-secure.md): never card data. */
export function returnFields(result: EproResult): Record<string, string> {
  return {
    Tid: result.Tid,
    Reference: result.Reference,
    Status: result.Status,
    Amount: String(result.Amount),
    Date: result.Date,
    Message: result.Message,
    UserId: result.UserId,
    OperationType: result.OperationType,
    '3DSecure': 'yes',
  };
}

/**
 * Sends the browser back to the merchant with an auto-submitting form POST; the visible button covers browsers
 * with scripts off. Without a ReturnUrl the page just tells the outcome (the merchant learns it by webhook).
 */
export function returnPage(heading: string, result: EproResult, returnUrl: string | undefined, nonce: string): string {
  const outcome = `<h1>${escapeHtml(heading)}</h1><p class="note">${escapeHtml(result.Message)}</p>`;
  if (!returnUrl) return page(heading, `${outcome}<p>You can close this window.</p>`);
  const inputs = Object.entries(returnFields(result))
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  return page(
    heading,
    `${outcome}<form id="return" method="post" action="${escapeHtml(returnUrl)}">
${inputs}
<button class="ok" type="submit">Return to the merchant</button></form>`,
    nonce,
    "document.getElementById('return').submit();",
  );
}

export function messagePage(heading: string, message: string): string {
  return page(heading, `<h1>${escapeHtml(heading)}</h1><p>${escapeHtml(message)}</p>`);
}

/** While the challenge is being prepared (the payment is not waiting for it yet): the page reloads by itself. */
export function preparingPage(): string {
  const heading = 'Preparing authentication';
  return page(
    heading,
    `<h1>${heading}</h1><p>One moment, this page reloads by itself.</p>`,
    undefined,
    undefined,
    '<meta http-equiv="refresh" content="2">',
  );
}
