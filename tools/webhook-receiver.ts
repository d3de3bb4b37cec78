import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  receivedAt: number;
  /** The HTTP status this endpoint answered (only a 2xx counts as delivered). */
  answered?: number;
}

/**
 * A real merchant endpoint on loopback, for the tests, the chaos run and the history capture. `respond` decides
 * each answer's HTTP status (default 200), so a caller can make it fail first and succeed later; every request is
 * kept with its raw body for signature checks.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private server?: http.Server;
  respond: (request: ReceivedWebhook, index: number) => number = () => 200;

  /** Listens on `port` (0: any free port) and returns the URL to give as CallbackUrl. */
  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedWebhook = {
          headers: req.headers,
          rawBody: Buffer.concat(chunks).toString('utf8'),
          receivedAt: Date.now(),
        };
        this.received.push(request);
        request.answered = this.respond(request, this.received.length - 1);
        res.statusCode = request.answered;
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks`;
  }

  forTid(tid: string): ReceivedWebhook[] {
    return this.received.filter((r) => (JSON.parse(r.rawBody) as { Result: { Tid: string } }).Result.Tid === tid);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
