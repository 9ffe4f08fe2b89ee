import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { ChildRun } from './child-run';
import { HOST } from './http-client';
import { RawFilter, RawQueries } from './raw-query';

const PAGE_PATH = '/newest';
const STOP_TIMEOUT_MS = 10_000;

/**
 * The least any service can spend to answer a page over HTTP: node's own server in a process of its own, running
 * the raw SQL of the page (RawQueries) and sending its lines as JSON with the keys Daylog's JSON lines have, the
 * cursor aside, on a keep-alive connection. No framework, no validation, no cursors: what is left of an HTTP page
 * over this once the raw SQL is paid is what answering in JSON over HTTP costs, in any stack.
 */
export class BarePageServer {
  private constructor(
    private readonly run: ChildRun,
    readonly port: number,
  ) {}

  /** Serves pages of the partitions in `dataDir` (a raw ingest's, as RawQueries reads). */
  static async start(dataDir: string): Promise<BarePageServer> {
    const child = fork(__filename, [dataDir], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const run = new ChildRun(child, 'bare page server');
    const [port] = (await once(child, 'message')) as [number];
    return new BarePageServer(run, port);
  }

  /** The path that asks for the newest `limit` lines matching `filter`. */
  static path(filter: RawFilter, limit: number): string {
    return `${PAGE_PATH}?limit=${limit}&filter=${encodeURIComponent(JSON.stringify(filter))}`;
  }

  async stop(): Promise<void> {
    await this.run.terminate(STOP_TIMEOUT_MS);
  }
}

function serve(dataDir: string): void {
  const raw = new RawQueries(dataDir);
  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://${HOST}`);
    const filter = JSON.parse(url.searchParams.get('filter') ?? '{}') as RawFilter;
    const lines = raw.newest(filter, Number(url.searchParams.get('limit')));
    const body = JSON.stringify({
      lines: lines.map((line) => ({
        ts: new Date(line.ts).toISOString(),
        level: line.level,
        namespace: line.namespace,
        pod: line.pod,
        container: line.container,
        source: line.source,
        message: line.message,
        fields: line.fields,
        format: line.format,
      })),
      nextCursor: null,
    });
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    response.end(body);
  });
  server.listen(0, HOST, () => process.send!((server.address() as AddressInfo).port));
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    raw.close();
  });
}

if (require.main === module) {
  const [dataDir] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: bare-page-server.js DATA_DIR');
  serve(dataDir);
}
