// A loopback TCP proxy in front of an RPC, for outage tests: it can refuse
// connections (listener closed: ECONNREFUSED), kill the open ones, answer
// every request with HTTP 503, or switch to another upstream.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'up' | 'down' | 'http503';

export class TcpProxy {
  private server: Server;
  private readonly sockets = new Set<Socket>();
  private mode: ProxyMode = 'up';
  /** Connections accepted since start (to see that clients did reconnect). */
  connections = 0;
  /** Delay of client -> upstream data, for connections opened from now on. */
  delayMs = 0;

  private constructor(
    public upstreamPort: number,
    public port: number,
  ) {
    this.server = this.makeServer();
  }

  static async start(upstreamPort: number): Promise<TcpProxy> {
    const p = new TcpProxy(upstreamPort, 0);
    await p.listen();
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private makeServer(): Server {
    return createServer((client) => {
      this.connections++;
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.mode === 'http503') {
        client.once('data', () => {
          client.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nunavailable');
        });
        return;
      }
      const up = createConnection({ host: '127.0.0.1', port: this.upstreamPort });
      this.sockets.add(up);
      up.on('close', () => {
        this.sockets.delete(up);
        client.destroy();
      });
      client.on('close', () => up.destroy());
      up.on('error', () => client.destroy());
      if (this.delayMs > 0) {
        // Requests reach the upstream delayMs late (in order); dropped if the client is gone by then.
        client.on('data', (chunk: Buffer) => {
          const ms = this.delayMs;
          setTimeout(() => {
            if (!up.destroyed && !client.destroyed) up.write(chunk);
          }, ms);
        });
      } else client.pipe(up);
      up.pipe(client);
    });
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        const a = this.server.address();
        if (a && typeof a === 'object') this.port = a.port;
        this.server.removeListener('error', reject);
        resolve();
      });
    });
  }

  private killAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Refuse new connections and kill the open ones. */
  async down(): Promise<void> {
    if (this.mode === 'down') return;
    this.mode = 'down';
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.killAll();
    await closed;
  }

  /** Accept and forward again (same port). */
  async up(): Promise<void> {
    if (this.mode === 'down') {
      this.server = this.makeServer();
      await this.listen();
    }
    this.mode = 'up';
  }

  /** Answer every request with HTTP 503 (kills open connections so clients reconnect into it). */
  http503(): void {
    if (this.mode === 'down') throw new Error('proxy is down: up() first');
    this.mode = 'http503';
    this.killAll();
  }

  /** Forward to another upstream from now on (open connections are killed). */
  switchUpstream(port: number): void {
    this.upstreamPort = port;
    this.killAll();
  }

  async stop(): Promise<void> {
    this.killAll();
    if (this.mode !== 'down') await new Promise<void>((r) => this.server.close(() => r()));
    this.mode = 'down';
  }
}
