import { once } from 'node:events';
import { AddressInfo, Server, Socket, createConnection, createServer } from 'node:net';

/** PostgreSQL's simple-query message for COMMIT, as pg sends it: 'Q', its length (4 + 7), "COMMIT\0". */
const COMMIT_MESSAGE = Buffer.concat([Buffer.from('Q'), Buffer.from([0, 0, 0, 11]), Buffer.from('COMMIT\0')]);

/** One client's connection through the network, and what it holds back while that connection is silent. */
interface Path {
  silent: boolean;
  held: (() => void)[];
}

/**
 * TCP paths to a PostgreSQL server, one a connection, of which one can go silent as a connection does when
 * a router or NAT on its way forgets it: nothing passes either way, not even its end, until it is
 * `restore`d, when everything held passes on in order. It goes silent at the moment its client sends a
 * COMMIT, so that the server reads that COMMIT only after the client has given up waiting for its answer.
 * The other connections go on as before.
 */
export class SilentNetwork {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly silenced: Path[] = [];
  private atCommit: (() => void) | null = null;

  private constructor(private readonly targetPort: number) {
    this.server = createServer((client) => this.connect(client));
  }

  static async to(targetPort: number): Promise<SilentNetwork> {
    const network = new SilentNetwork(targetPort);
    network.server.listen(0, '127.0.0.1');
    await once(network.server, 'listening');
    return network;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Resolves once some client has sent a COMMIT, which its connection then holds, with everything after it. */
  silenceAtNextCommit(): Promise<void> {
    return new Promise((resolve) => (this.atCommit = resolve));
  }

  /** Everything held passes on, in the order it came, and so does what comes next. */
  restore(): void {
    for (const path of this.silenced.splice(0)) {
      path.silent = false;
      for (const pass of path.held.splice(0)) pass();
    }
  }

  async close(): Promise<void> {
    this.restore();
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close');
  }

  private connect(client: Socket): void {
    const server = createConnection(this.targetPort, '127.0.0.1');
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      // A reset shows as the other side's end: errors are the connection's own business.
      socket.on('error', () => undefined);
    }
    const path: Path = { silent: false, held: [] };
    this.relay(path, client, server, true);
    this.relay(path, server, client, false);
  }

  private relay(path: Path, from: Socket, to: Socket, fromClient: boolean): void {
    const pass = (action: () => void) => (path.silent ? path.held.push(action) : action());
    from.on('data', (chunk: Buffer) => {
      if (fromClient && this.atCommit && chunk.includes(COMMIT_MESSAGE)) {
        path.silent = true;
        this.silenced.push(path);
        this.atCommit();
        this.atCommit = null;
      }
      pass(() => to.write(chunk));
    });
    // A connection ended or reset on one side ends on the other after what was sent before it.
    for (const ending of ['end', 'close']) from.on(ending, () => pass(() => to.end()));
  }
}
