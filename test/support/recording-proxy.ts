import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call that went through the proxy, as sent and as answered (no answer when the proxy dropped it). */
export interface RecordedCall {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  /** The form-encoded body, decoded (`card[number]` → value). */
  params: Record<string, string>;
  rawBody: string;
  status?: number;
  answer?: string;
}

/**
 * What to do with the next call: pass it on (`pass`, to let one call through before a fault meant for the next);
 * answer it with an HTTP error without passing it on (as a failing processor would, before doing anything); or
 * pass it on and then cut the connection before the answer (the processor did it, the caller never hears).
 */
export type Fault =
  | { kind: 'pass' }
  | { kind: 'answer'; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: 'drop' };

/**
 * A plain-HTTP proxy on loopback in front of stripe-mock: keeps every call the connector makes (method, path,
 * Idempotency-Key, parameters, answer), so that the tests read what really went on the wire, and injects the
 * faults stripe-mock cannot play, one call at a time.
 */
export class RecordingProxy {
  readonly calls: RecordedCall[] = [];
  private readonly faults: Fault[] = [];
  private server?: http.Server;

  constructor(private target: URL) {}

  /** Sends the next calls to another upstream: one stripe-mock playing another kind of processor. */
  retarget(target: URL): void {
    this.target = target;
  }

  /** Applies `fault` to the next calls, one each, in order. */
  inject(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  /** Forgets the faults not yet applied (a test that failed half way must not leave them to the next one). */
  clearFaults(): void {
    this.faults.length = 0;
  }

  async start(): Promise<{ host: string; port: number; protocol: 'http' }> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => this.handle(req, Buffer.concat(chunks), res));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return { host: '127.0.0.1', port: (this.server.address() as AddressInfo).port, protocol: 'http' };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
    const rawBody = body.toString('utf8');
    const call: RecordedCall = {
      method: req.method ?? '',
      path: req.url ?? '',
      idempotencyKey: header(req, 'idempotency-key'),
      params: Object.fromEntries(new URLSearchParams(rawBody)),
      rawBody,
    };
    this.calls.push(call);
    const fault = this.faults.shift();
    if (fault?.kind === 'answer') {
      call.status = fault.status;
      call.answer = JSON.stringify(fault.body);
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(call.answer);
      return;
    }
    const upstream = http.request(
      new URL(req.url ?? '/', this.target),
      { method: req.method, headers: { ...req.headers, host: this.target.host } },
      (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => {
          call.status = answer.statusCode;
          call.answer = Buffer.concat(parts).toString('utf8');
          if (fault?.kind === 'drop') {
            // Done upstream, never heard downstream.
            res.socket?.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(call.answer);
        });
      },
    );
    upstream.on('error', () => res.socket?.destroy());
    upstream.end(body);
  }
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
