/**
 * Where packetwalk writes, made safe against what a user may point it at: file names built from pod, node and
 * interface names stay inside their folder and within NAME_MAX; an output location on a kernel pseudo file system,
 * a file where a folder belongs, a missing parent or a full disk gives an OutputError naming the path (exit 2)
 * and leaves nothing half-written.
 *
 * Used by `run` (the output root and its scenario folders), `trace --pcap` and the capture recorder's file names;
 * temp-folders.ts and scenario-folders.ts build a run's folders on it.
 */

import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  renameSync,
  statfsSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** A problem with a place the user asked packetwalk to write to: one line, exit code 2. */
export class OutputError extends Error {
  override readonly name = 'OutputError';
}

/**
 * Longest file name packetwalk makes, in bytes. Linux file systems allow 255 (NAME_MAX); the rest is room for the
 * `.<pid>.tmp` suffix a file has while it is written.
 */
export const MAX_FILE_NAME_BYTES = 200;

/** Characters kept in a file name made from a capture point, pod or node name; others become `_`. */
const UNSAFE = /[^A-Za-z0-9._-]+/g;

/**
 * A file name for `name` (a capture point such as `worker-1/tun0`) with extension `ext` (`.pcap`): unsafe
 * characters (`/` among them) become `_`, a leading `.` becomes `_` (no hidden files, never `.` or `..`), and a
 * name longer than MAX_FILE_NAME_BYTES keeps its beginning and ends in `-` and 12 hex digits of the SHA-256 of the
 * whole name, so it is deterministic and distinct: a 253-character node name gives a 200-byte file name.
 */
export function safeFileName(name: string, ext: string): string {
  let base = name.replace(UNSAFE, '_').replace(/^\./, '_');
  if (base === '') base = '_';
  if (base.length + ext.length <= MAX_FILE_NAME_BYTES) return base + ext;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${base.slice(0, MAX_FILE_NAME_BYTES - ext.length - hash.length - 1)}-${hash}${ext}`;
}

/** `file` joined to `dir`; a name that is not a plain file name (`..`, `a/b`) is a programming error. */
export function fileInside(dir: string, file: string): string {
  if (file === '' || file === '.' || file === '..' || file.includes('/') || file.includes('\0'))
    throw new Error(`file name ${JSON.stringify(file)} would leave ${dir}`);
  return join(dir, file);
}

/** Kernel pseudo file systems (statfs f_type, linux/magic.h): writing there is never what a user means. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: 'procfs',
  0x62656572: 'sysfs',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroupfs',
  0x63677270: 'cgroup2fs',
  0xcafe4a11: 'bpffs',
  0x1cd1: 'devpts',
  0x6e736673: 'nsfs',
  0xf97cff8c: 'selinuxfs',
  0x42494e4d: 'binfmt_misc',
  0x67596969: 'rpc_pipefs',
  0x19800202: 'mqueue',
  0x958458f6: 'hugetlbfs',
  0x64646178: 'daxfs',
};

function pseudoFs(path: string): string | undefined {
  try {
    return PSEUDO_FS[statfsSync(path).type];
  } catch {
    return undefined;
  }
}

/** What kind of thing a path is, for messages. */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFile()) return 'a file';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The path's stat, or undefined when it cannot be read (absent, no permission). */
export function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  ENAMETOOLONG: 'the name is too long',
  EEXIST: 'it already exists',
  EFBIG: 'the file is too large',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  ELOOP: 'too many symbolic links',
  EXDEV: 'crosses file systems',
};

/**
 * A file-system error from writing output, as an OutputError that names the path and the reason
 * (`cannot write /mnt/full/hairpin.tmp-42/walk.pcapng: no space left on the device (ENOSPC)`); anything else is
 * returned unchanged (an internal error).
 */
export function asOutputError(e: unknown, fallbackPath?: string): unknown {
  if (e instanceof OutputError) return e;
  const err = e as NodeJS.ErrnoException;
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (!code || !(code in ERRNO_TEXT)) return e;
  const path = err.path ?? fallbackPath;
  if (path === undefined) return e;
  return new OutputError(`cannot write ${path}: ${ERRNO_TEXT[code]} (${code})`);
}

/**
 * Create `dir` and its missing parents, one level at a time (Node's recursive mkdir spins forever under /proc),
 * refusing a pseudo file system, a file in the way or a parent that cannot be written. Returns the absolute path.
 */
export function ensureOutputDir(dir: string, what = 'output directory'): string {
  if (dir === '') throw new OutputError(`the ${what} is an empty string`);
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  let st = statOrUndefined(p);
  while (!st) {
    missing.unshift(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
    st = statOrUndefined(p);
  }
  if (st && !st.isDirectory())
    throw new OutputError(`cannot use ${what} ${abs}: ${p} is ${kindOf(st)}, not a directory`);
  const fs = pseudoFs(p);
  if (fs)
    throw new OutputError(
      `cannot use ${what} ${abs}: ${p} is on ${fs}, a kernel pseudo file system (choose a directory on a disk)`,
    );
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statOrUndefined(m)?.isDirectory()) continue;
      throw new OutputError(`cannot create ${what} ${abs}: ${describe(e, m)}`);
    }
  }
  return abs;
}

function describe(e: unknown, path: string): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code && ERRNO_TEXT[code] ? `${path}: ${ERRNO_TEXT[code]} (${code})` : `${path}: ${(e as Error).message}`;
}

/**
 * Check, before any work, that `file` can be created as a new regular file: its folder exists, is a directory
 * on a real file system, and `file` is not a directory, a device or another special file (writing a capture over
 * /dev/full or a FIFO by rename would replace it). Returns the absolute path.
 */
export function checkOutputFile(file: string, what = 'output file'): string {
  if (file === '') throw new OutputError(`the ${what} is an empty string`);
  const abs = resolve(file);
  const dir = dirname(abs);
  const dst = statOrUndefined(dir);
  if (!dst) throw new OutputError(`cannot write ${what} ${abs}: the folder ${dir} does not exist`);
  if (!dst.isDirectory())
    throw new OutputError(`cannot write ${what} ${abs}: ${dir} is ${kindOf(dst)}, not a directory`);
  const fs = pseudoFs(dir);
  if (fs) throw new OutputError(`cannot write ${what} ${abs}: ${dir} is on ${fs}, a kernel pseudo file system`);
  const st = statOrUndefined(abs);
  if (st && !st.isFile())
    throw new OutputError(`cannot write ${what} ${abs}: it is ${kindOf(st)} (expected a new or a regular file)`);
  if (Buffer.byteLength(basename(abs)) > 255)
    throw new OutputError(`cannot write ${what} ${abs}: the file name is longer than 255 bytes`);
  return abs;
}

/**
 * Write `data` to `file` through `<file>.<pid>.tmp` and a rename, so `file` is either its old self or whole; on
 * any error the temporary file is removed and an OutputError names the file.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx');
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, file);
  } catch (e) {
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        /* failing already */
      }
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    const err = e as NodeJS.ErrnoException;
    if (err.path === tmp || err.path === undefined) err.path = file;
    throw asOutputError(err);
  }
}

/**
 * Write a file inside a temporary folder (no rename needed: the folder is renamed whole); a file-system error
 * becomes an OutputError naming the file (writeSync's ENOSPC carries no path of its own).
 */
export function writeOutputFile(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw asOutputError(e, path);
  }
}
