import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A merchant's ReturnUrl page on loopback: keeps every form the browser posts back, answers with a page. */
export class ReturnReceiver {
  readonly posts: Record<string, string>[] = [];
  private server?: http.Server;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method === 'POST')
          this.posts.push(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
        res.setHeader('content-type', 'text/html');
        res.end('<!doctype html><title>Shop</title><h1 id="thanks">Back at the shop</h1>');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/payment/return`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
