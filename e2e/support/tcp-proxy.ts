/**
 * A loopback TCP proxy the crash tests put in front of a dependency (FerretDB) to take it away and
 * bring it back without touching the shared server: `close()` destroys every open connection and stops
 * listening (clients then get ECONNREFUSED, as from a killed server); `open()` listens on the same port
 * again. Bytes are piped untouched.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenHost = '127.0.0.1',
  ) {}

  /** Where clients connect (a free port chosen at the first open, kept across close/open). */
  get address(): string {
    return `${this.listenHost}:${this.port}`;
  }

  async open(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        s.on('error', () => undefined); // a reset while closing is expected
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.port, this.listenHost, () => ok());
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.port;
    this.server = server;
  }

  /** Takes the dependency away: every connection reset, new ones refused. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((ok) => server.close(() => ok()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}
