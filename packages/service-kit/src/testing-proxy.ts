/**
 * A loopback TCP proxy tests put in front of a dependency (FerretDB, Kafka, the registry) to take it
 * away and bring it back without touching the shared server every other test uses: `close()` destroys every open connection and stops
 * listening (clients then get ECONNREFUSED, as from a killed server); `open()` listens on the same port
 * again. Bytes are piped untouched. `holdReplies()` keeps the connections open and lets requests through
 * but holds back every byte coming from the server (a request is then served and never answered, as
 * when a client dies between sending and hearing back); `releaseReplies()` delivers what was held.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Each open connection: the server's side and the client's. */
  private readonly pairs = new Set<{ upstream: Socket; client: Socket }>();
  private holding = false;
  private port = 0;

  /** `target` is read at each new connection: a test may set its port once the server has one. */
  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenHost = '127.0.0.1',
  ) {}

  /** A proxy to `host:port`, listening on a free loopback port. */
  static async start(host: string, port: number): Promise<TcpProxy> {
    const proxy = new TcpProxy({ host, port });
    await proxy.open();
    return proxy;
  }

  /** The port clients connect to (a free one chosen at the first open, kept across close/open). */
  get listenPort(): number {
    return this.port;
  }

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
      const pair = { upstream, client };
      this.pairs.add(pair);
      client.once('close', () => this.pairs.delete(pair));
      client.pipe(upstream);
      if (!this.holding) upstream.pipe(client);
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

  /** From now on, requests pass and replies wait (on open connections and new ones). */
  holdReplies(): void {
    this.holding = true;
    for (const { upstream, client } of this.pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Delivers the held replies and pipes replies again. */
  releaseReplies(): void {
    this.holding = false;
    for (const { upstream, client } of this.pairs) upstream.pipe(client);
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
