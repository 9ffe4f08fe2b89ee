import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/** A tool `.ci/run` installs from Debian when it is missing; a test without it fails saying so. */
export function debianTool(name: string, debianPackage = name): string {
  const found = ['/usr/bin', '/usr/sbin', '/usr/local/bin'].map((dir) => join(dir, name)).find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) throw new Error(`${name} is not installed: .ci/run installs it (apt-get install ${debianPackage})`);
  return found;
}
