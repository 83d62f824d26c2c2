/**
 * Scenario folders and their manifest: what packetwalk wrote in a folder, so a later run replaces the folder (or
 * an index.html) only when it holds nothing else.
 */

import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { kindOf, OutputError, statOrUndefined } from './output-files.js';

/**
 * The manifest in every scenario folder packetwalk writes: which files it wrote there, and what index.html shows
 * for the folder. A folder is replaced by a later run only when it holds nothing but these files.
 */
export const FOLDER_MANIFEST = '.packetwalk.json';

export interface FolderManifest<T = unknown> {
  packetwalk: 'scenario-folder';
  files: string[];
  record: T;
}

/** The manifest of a folder packetwalk wrote, or undefined. */
export function readFolderManifest<T>(dir: string): FolderManifest<T> | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, FOLDER_MANIFEST), 'utf8')) as FolderManifest<T>;
    if (m?.packetwalk !== 'scenario-folder' || !Array.isArray(m.files)) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

/** Names packetwalk gave its files before folders had a manifest. */
const LEGACY_OUTPUT = /^(walk\.pcapng|walk\.html|[^/]+\.pcap|trace\.txt|trace\.json|path\.svg)$/;

/**
 * The first entry of `dir` that packetwalk did not write, or undefined when the folder is packetwalk's own (or
 * absent). Without a manifest, a folder counts as packetwalk's when its trace.json names it and every entry has
 * the name of a file packetwalk writes.
 */
export function foreignEntry(dir: string): string | undefined {
  const st = statOrUndefined(dir);
  if (!st) return undefined;
  if (!st.isDirectory()) return dir;
  const entries = readdirSync(dir).sort();
  const m = readFolderManifest(dir);
  if (m) {
    const own = new Set([...m.files, FOLDER_MANIFEST]);
    const other = entries.find((e) => !own.has(e));
    return other === undefined ? undefined : join(dir, other);
  }
  let legacy = false;
  try {
    legacy =
      (JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')) as { scenario?: unknown }).scenario === basename(dir);
  } catch {
    legacy = false;
  }
  const other = entries.find((e) => !legacy || !LEGACY_OUTPUT.test(e));
  return other === undefined ? undefined : join(dir, other);
}

/** Refuses to replace a folder that holds something packetwalk did not write. */
export function checkReplaceable(dir: string): void {
  const other = foreignEntry(dir);
  if (other === undefined) return;
  if (other === dir)
    throw new OutputError(
      `${dir} is ${kindOf(statSync(dir))}, not a scenario folder packetwalk wrote; move it away or choose another --out`,
    );
  throw new OutputError(
    `${other} was not written by packetwalk; packetwalk replaces only its own files: move it away or choose another --out`,
  );
}

/**
 * Put a finished temporary folder in place of `finalDir`: the old folder (packetwalk's own, checked again now) is
 * moved aside, the new one renamed in, the old one removed, so `finalDir` is always one whole run's folder.
 */
export function replaceFolder(tmp: string, finalDir: string): void {
  checkReplaceable(finalDir);
  if (!existsSync(finalDir)) {
    renameSync(tmp, finalDir);
    return;
  }
  const old = `${finalDir}.old-${process.pid}`;
  rmSync(old, { recursive: true, force: true });
  renameSync(finalDir, old);
  renameSync(tmp, finalDir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Refuses to overwrite `file` (index.html at the top of an output folder) unless it is absent or packetwalk wrote
 * it: a regular file whose first 64 KiB contain `mark`.
 */
export function checkReplaceableFile(file: string, mark: string): void {
  const st = statOrUndefined(file);
  if (!st) return;
  const refuse = (): never => {
    throw new OutputError(
      `${file} was not written by packetwalk; packetwalk replaces only its own files: move it away or choose another --out`,
    );
  };
  if (!st.isFile()) refuse();
  let head = '';
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(Math.min(st.size, 65536));
    head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } catch {
    refuse();
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  if (!head.includes(mark)) refuse();
}
