import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: what the image copies to /app. */
export const REPO = join(__dirname, '../../..');

/** The CMD of the Dockerfile stage named `target`, with `node` resolved to this Node: what the image runs. */
export function imageCommand(target: string): [string, string[]] {
  const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
  const stage = dockerfile.split(/^FROM /m).find((s) => s.split('\n')[0].trim().endsWith(` AS ${target}`));
  const cmd = stage && /^CMD (\[.*\])$/m.exec(stage);
  if (!cmd) throw new Error(`the Dockerfile has no CMD in a stage named ${target}`);
  const [program, ...args] = JSON.parse(cmd[1]) as string[];
  return [program === 'node' ? process.execPath : program, args];
}

/** PATH with this Node's directory first: a stage whose CMD is a script runs this Node too. */
export const PATH_WITH_THIS_NODE = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
