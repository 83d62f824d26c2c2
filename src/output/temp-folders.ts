/**
 * Temporary folders of a run: a scenario folder is written as `<name>.tmp-<pid>` (marked as packetwalk's) and
 * renamed into place when whole; folders of interrupted runs whose process is gone are recognised and removed.
 */

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './output-files.js';

/** The file inside a temporary scenario folder that marks it as packetwalk's, holding the writer's pid. */
export const TEMP_MARKER = '.packetwalk-tmp';

/** `<final>.tmp-<pid>` with its marker: the folder a scenario is written in before it is renamed into place. */
export function makeTempDir(finalDir: string): string {
  const tmp = `${finalDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true }); // this process's own leftover, if any
  mkdirSync(tmp); // not recursive: its parent exists (ensureOutputDir), and recursive mkdir loops under /proc
  writeFileAtomic(join(tmp, TEMP_MARKER), `${process.pid}\n`);
  return tmp;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/**
 * Remove the temporary folders interrupted runs left in `outDir`: `<name>.tmp-<pid>` for a known scenario name,
 * marked by TEMP_MARKER with that pid, whose process is gone. Anything else is left alone. Returns the removed paths.
 */
export function removeStaleTempDirs(outDir: string, names: ReadonlySet<string>): string[] {
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(outDir);
  } catch {
    return removed;
  }
  for (const e of entries) {
    const m = /^(.+)\.tmp-(\d+)$/.exec(e);
    if (!m || !names.has(m[1]!)) continue;
    const pid = Number(m[2]);
    const dir = join(outDir, e);
    const marker = join(dir, TEMP_MARKER);
    if (!existsSync(marker) || pid === process.pid || pidAlive(pid)) continue;
    let owner = '';
    try {
      owner = readFileSync(marker, 'utf8').trim();
    } catch {
      continue;
    }
    if (owner !== String(pid)) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/** Drop the marker before the folder is renamed into place: a finished folder holds only its files and manifest. */
export function unmarkTempDir(tmp: string): void {
  rmSync(join(tmp, TEMP_MARKER), { force: true });
}
