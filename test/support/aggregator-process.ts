import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { PATH_WITH_THIS_NODE, REPO, imageCommand } from './image-command';
import { inheritedEnv } from './process-env';

export interface AggregatorProcess {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  output(): { stdout: string; stderr: string };
  /** stdout's lines, each parsed as the JSON object the aggregator's logger writes. */
  logEntries(): Record<string, unknown>[];
  /** The URL of the address the aggregator says it listens on, once it says so. */
  listening(timeoutMs?: number): Promise<string>;
}

/** Runs the built aggregator with the image's command line, from the repository as /app, with only the given environment. */
export function runAggregator(env: Record<string, string>): AggregatorProcess {
  const [program, args] = imageCommand('aggregator');
  const child = spawn(program, args, { cwd: REPO, env: { ...inheritedEnv(), PATH: PATH_WITH_THIS_NODE, ...env }, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const logEntries = () =>
    stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const listening = async (timeoutMs = 15_000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const entry = logEntries().find((e) => e.message === 'listening');
      if (entry) return `http://${entry.address as string}`;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the aggregator did not say it listens:\n${stdout}${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, exited, output: () => ({ stdout, stderr }), logEntries, listening };
}

/** Resolves with the exit status, or rejects once `ms` have passed without an exit. */
export function exitWithin(run: AggregatorProcess, ms: number): Promise<[number | null, NodeJS.Signals | null]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms later:\n${run.output().stdout}${run.output().stderr}`)), ms);
  });
  return Promise.race([run.exited, late]).finally(() => clearTimeout(timer));
}
