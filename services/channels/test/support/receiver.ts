/** A local webhook endpoint (127.0.0.1, ephemeral or given port) that checks signatures like a partner would. */
import type { Server } from 'node:http';
import express from 'express';
import { SIGNATURE_HEADER, verifySignature } from '../../src/domain/signature';

export interface Received {
  deliveryId: string;
  event: string;
  body: { id: string; type: string; channel: string; occurredAt: string; data: Record<string, unknown> };
  signatureValid: boolean;
}

export class Receiver {
  readonly received: Received[] = [];
  /** The secret the receiver checks against (set after registering the endpoint). */
  secret = '';
  private server?: Server;
  port = 0;

  async listen(port = 0): Promise<this> {
    const app = express();
    app.post('/hook', express.text({ type: '*/*' }), (req, res) => {
      const raw = String(req.body);
      const signatureValid = verifySignature(this.secret, req.header(SIGNATURE_HEADER), raw);
      if (!signatureValid) {
        res.status(401).json({ error: 'bad signature' });
        return;
      }
      this.received.push({
        deliveryId: String(req.header('x-omnimall-delivery')),
        event: String(req.header('x-omnimall-event')),
        body: JSON.parse(raw),
        signatureValid,
      });
      res.status(204).end();
    });
    await new Promise<void>((resolve, reject) => {
      this.server = app.listen(port, '127.0.0.1', () => resolve());
      this.server.once('error', reject);
    });
    this.port = (this.server!.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
    this.server = undefined;
  }
}

/**
 * A bare endpoint on 127.0.0.1 that records every request (path and Host header) and answers as told:
 * a status (with headers, e.g. a redirect's Location), or nothing at all (`hang`, to make a client time out).
 */
export class Responder {
  readonly hits: Array<{ path: string; host: string }> = [];
  private server?: import('node:http').Server;
  port = 0;

  constructor(private answer: { status: number; headers?: Record<string, string> } | 'hang') {}

  async listen(): Promise<this> {
    const { createServer } = await import('node:http');
    this.server = createServer((req, res) => {
      this.hits.push({ path: req.url ?? '', host: req.headers.host ?? '' });
      req.resume();
      if (this.answer === 'hang') return;
      res.writeHead(this.answer.status, this.answer.headers).end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  url(host = '127.0.0.1'): string {
    return `http://${host}:${this.port}/hook`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }
}
