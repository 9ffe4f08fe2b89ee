import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { REPO, imageCommand } from './image-command';
import { inheritedEnv } from './process-env';
import { PATIENCE_MS } from './shipper-harness';

export interface ShipperEvent {
  event: string;
  [detail: string]: unknown;
}

export interface ShipperProcess {
  child: ChildProcess;
  exited: Promise<[number | null, string | null]>;
  output(): string;
  /** Its log, one event a line. */
  events(): ShipperEvent[];
}

/** The built shipper, with the command line of the image's `shipper` stage, run from the repository as /app. */
export function startShipper(env: Record<string, string>): ShipperProcess {
  const [program, args] = imageCommand('shipper');
  const child = spawn(program, args, { cwd: REPO, env: { ...inheritedEnv(), ...env }, stdio: 'pipe' });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const events = () =>
    output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as ShipperEvent);
  return { child, exited: once(child, 'exit') as Promise<[number | null, string | null]>, output: () => output, events };
}

/** Its exit status; a shipper still running after PATIENCE_MS is killed and the test fails. */
export async function exitOf(shipper: ShipperProcess): Promise<[number | null, string | null]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      shipper.child.kill('SIGKILL');
      reject(new Error(`still running after ${PATIENCE_MS} ms:\n${shipper.output()}`));
    }, PATIENCE_MS);
  });
  return Promise.race([shipper.exited, late]).finally(() => clearTimeout(timer));
}

/** GETs a path of the shipper's metrics port: the status and the body, or null while it does not answer. */
export async function probe(port: number, path: string): Promise<{ status: number; text: string } | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, text: await response.text() };
  } catch {
    return null;
  }
}
