/**
 * The CLI as a hostile or unlucky user drives it (a child process, as cli.test.ts does): output folders that
 * cannot be written, full disks, interrupted runs, earlier runs' folders with the user's own files in them,
 * 253-character node names, bad arguments. Each ends in one line on stderr and exit 2 (130/143 when interrupted),
 * never a stack trace, and leaves only whole files.
 */

import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinClusterDocuments, BUILTIN_NODES } from '../../src/cluster/builtin.js';
import { MAX_FILE_NAME_BYTES } from '../../src/output/output-files.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const tmp = mkdtempSync(join(tmpdir(), 'packetwalk-hostile-cli-'));
const isRoot = process.getuid?.() === 0;

function pw(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: tmp,
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2 with one line on stderr matching `message`, no stack trace. */
function expectUserError(r: { code: number; stderr: string }, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr.trim()).toMatch(message);
  expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** Every path below `dir`, relative. */
function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    out.push(e.name);
    if (e.isDirectory()) out.push(...walk(join(dir, e.name)).map((f) => `${e.name}/${f}`));
  }
  return out.sort();
}

beforeAll(() => {
  chmodSync(tmp, 0o755); // other users (the setpriv case) may look inside
  if (!existsSync(CLI)) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('arguments', { timeout: 120_000 }, () => {
  it.each([
    [['run', '--count', '-1'], /^packetwalk: --count must be an integer from 1 to 10000000, got "-1"$/m],
    [['trace', '--from', '--to', 'X'], /^packetwalk: --from needs a value \(found the option --to instead\)$/m],
    [['run', 'pod-to-pod-same-node', '--out', ''], /^packetwalk: --out needs a value \(got an empty string\)$/m],
    [['cluster', '--cluster', ''], /^packetwalk: --cluster needs a value \(got an empty string\)$/m],
    [
      ['trace', '--from', 'project1/sqlapi-1-8jgx8', '--to', '224.0.0.1'],
      /^packetwalk: --to 224\.0\.0\.1: multicast destinations are not modelled/m,
    ],
    [
      ['trace', '--from', 'project1/sqlapi-1-8jgx8', '--to', '255.255.255.255'],
      /^packetwalk: --to 255\.255\.255\.255: /m,
    ],
  ])('%j', (args, message) => {
    expectUserError(pw(...args), message);
  });
});

describe('cluster files', { timeout: 120_000 }, () => {
  it('refuses a FIFO without blocking on it', () => {
    if (spawnSync('mkfifo', [join(tmp, 'fifo.yaml')]).status !== 0) return;
    expectUserError(pw('cluster', '--cluster', 'fifo.yaml'), /^packetwalk: fifo\.yaml: not a regular file \(a FIFO\)/);
  });

  it('refuses /dev/zero at once, and an empty or comment-only file', () => {
    const t = Date.now();
    expectUserError(
      pw('cluster', '--cluster', '/dev/zero'),
      /^packetwalk: \/dev\/zero: not a regular file \(a character device\)/,
    );
    expect(Date.now() - t).toBeLessThan(10_000);
    for (const [name, text] of [
      ['empty.yaml', ''],
      ['comments.yaml', '# a\n# b\n'],
      ['dashes.yaml', '---\n---\n'],
    ]) {
      writeFileSync(join(tmp, name!), text!);
      expectUserError(
        pw('cluster', '--cluster', name!),
        new RegExp(`^packetwalk: ${name!.replace('.', '\\.')}: the file holds no objects`),
      );
    }
  });
});

describe('output folders', { timeout: 120_000 }, () => {
  it('refuses /proc, /sys and folders below them at once instead of spinning on mkdir', () => {
    for (const out of ['/proc', '/sys/kernel', '/proc/packetwalk-x/y']) {
      const t = Date.now();
      expectUserError(pw('run', 'pod-to-pod-same-node', '--out', out), /kernel pseudo file system/);
      expect(Date.now() - t).toBeLessThan(20_000);
    }
  });

  it('refuses an --out that is a file, or lies below one', () => {
    writeFileSync(join(tmp, 'a-file'), 'mine');
    expectUserError(
      pw('run', 'pod-to-pod-same-node', '--out', 'a-file'),
      /cannot use output directory .*a-file: .*a-file is a file, not a directory/,
    );
    expectUserError(pw('run', 'pod-to-pod-same-node', '--out', 'a-file/sub'), /a-file is a file, not a directory/);
    expect(readFileSync(join(tmp, 'a-file'), 'utf8')).toBe('mine');
  });

  it.runIf(isRoot)("refuses a folder it may not write in (immutable, or another user's), writing nothing", () => {
    const locked = join(tmp, 'locked');
    mkdirSync(locked);
    // chattr +i stops even root; where the file system has no such flag, run as nobody in a root-owned 0755 folder.
    const chattr = spawnSync('chattr', ['+i', locked]);
    try {
      if (chattr.status === 0) {
        expectUserError(
          pw('run', 'pod-to-pod-same-node', '--out', 'locked/sub'),
          /cannot create output directory .*locked\/sub: .*locked\/sub: operation not permitted \(EPERM\)/,
        );
        expectUserError(
          pw('run', 'pod-to-pod-same-node', '--out', 'locked'),
          /cannot write .*locked\/pod-to-pod-same-node\.tmp-\d+: operation not permitted \(EPERM\)/,
        );
      }
      // A root-owned 0755 folder, written in as nobody (setpriv from util-linux).
      if (spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0) {
        mkdirSync(join(tmp, 'root-owned'));
        const r = spawnSync(
          'setpriv',
          [
            '--reuid=65534',
            '--regid=65534',
            '--clear-groups',
            process.execPath,
            CLI,
            'run',
            'pod-to-pod-same-node',
            '--out',
            join(tmp, 'root-owned', 'sub'),
          ],
          { encoding: 'utf8', cwd: '/' },
        );
        expectUserError(
          { code: r.status ?? -1, stderr: r.stderr },
          /^packetwalk: cannot create output directory .*root-owned\/sub: .*root-owned\/sub: permission denied \(EACCES\)$/,
        );
        expect(existsSync(join(tmp, 'root-owned', 'sub'))).toBe(false);
      }
    } finally {
      spawnSync('chattr', ['-i', locked]);
    }
    expect(readdirSync(locked)).toEqual([]);
  });

  it.runIf(isRoot)('stops cleanly when the disk fills up, leaving no half-written file', () => {
    const mnt = join(tmp, 'full');
    mkdirSync(mnt);
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status !== 0) return; // no mount permission here
    try {
      const r = pw('run', 'pod-to-service-cross-node', '--count', '200', '--out', join(mnt, 'out'));
      expectUserError(
        r,
        /^packetwalk: cannot write .*\/out\/pod-to-service-cross-node\.tmp-\d+\/.*: no space left on the device \(ENOSPC\)$/,
      );
      expect(walk(mnt)).toEqual(['out']);
      // trace: the walk is printed, then the --pcap failure is reported.
      try {
        writeFileSync(join(mnt, 'filler'), Buffer.alloc(64 * 1024)); // fills the rest of the 64 KiB
      } catch {
        // ENOSPC part-way: full, as wanted
      }
      const t = pw(
        'trace',
        '--from',
        'project1/sqlapi-1-8jgx8',
        '--to',
        'svc/project1/server',
        '--pcap',
        join(mnt, 'x.pcapng'),
      );
      expect(t.stdout).toMatch(/^# trace project1\/sqlapi-1-8jgx8 -> svc\/project1\/server/);
      expectUserError(
        t,
        /^packetwalk: the trace is above, but the --pcap file was not written: cannot write .*x\.pcapng: no space left on the device \(ENOSPC\)$/,
      );
      expect(walk(mnt)).toEqual(['filler', 'out']);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('gives capture files of a 253-character node name short, distinct names inside the scenario folder', () => {
    const long = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.');
    expect(long).toHaveLength(253);
    const docs = JSON.stringify(builtinClusterDocuments()).replaceAll(BUILTIN_NODES.WORKER_1, long);
    writeFileSync(join(tmp, 'long.json'), docs);
    const r = pw('run', 'pod-to-pod-same-node', '--cluster', 'long.json', '--out', 'long', '--json');
    expect(r.code, r.stderr).toBe(0);
    const [s] = JSON.parse(r.stdout) as { dir: string; files: string[] }[];
    expect(readdirSync(join(tmp, 'long'))).toEqual(['index.html', 'pod-to-pod-same-node']);
    const pcaps = s!.files.filter((f) => f.endsWith('.pcap'));
    expect(pcaps.length).toBeGreaterThan(2);
    for (const f of pcaps) {
      expect(Buffer.byteLength(f)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
      expect(statSync(join(s!.dir, f)).size).toBeGreaterThan(24);
    }
    expect(pcaps.filter((f) => /^a{63}\.b{63}\.c+-[0-9a-f]{12}\.pcap$/.test(f)).length).toBeGreaterThanOrEqual(2);
    expect(new Set(pcaps).size).toBe(pcaps.length);
  });

  it("never deletes a file it did not write, and lists earlier runs' folders in index.html", () => {
    expect(pw('run', 'pod-to-pod-same-node', '--out', 'keep').code).toBe(0);
    const dir = join(tmp, 'keep', 'pod-to-pod-same-node');
    const before = walk(dir);
    writeFileSync(join(dir, 'my-notes.txt'), 'mine');
    expectUserError(
      pw('run', 'pod-to-pod-same-node', '--out', 'keep'),
      /^packetwalk: .*keep\/pod-to-pod-same-node\/my-notes\.txt was not written by packetwalk; .*move it away or choose another --out$/,
    );
    expect(readFileSync(join(dir, 'my-notes.txt'), 'utf8')).toBe('mine');
    expect(walk(dir)).toEqual([...before, 'my-notes.txt'].sort());
    // --all refuses before running anything, not after.
    expectUserError(pw('run', '--all', '--out', 'keep'), /my-notes\.txt was not written by packetwalk/);
    expect(readdirSync(join(tmp, 'keep')).sort()).toEqual(['index.html', 'pod-to-pod-same-node']);
    rmSync(join(dir, 'my-notes.txt'));
    // A second scenario beside the first: index.html lists both, the first as from an earlier run.
    expect(pw('run', 'hairpin', '--out', 'keep', '--seed', '3').code).toBe(0);
    const index = readFileSync(join(tmp, 'keep', 'index.html'), 'utf8');
    expect(index).toContain('hairpin/path.svg');
    expect(index).toContain('pod-to-pod-same-node/path.svg');
    expect(index).toMatch(/from an earlier run: &lt;builtin&gt;, seed 1/);
    // The earlier folder is replaced by a new run of it (only packetwalk's files were in it).
    expect(pw('run', 'pod-to-pod-same-node', '--out', 'keep').code).toBe(0);
    expect(walk(dir)).toEqual(before);
  });

  it('does not replace a folder of the same name that packetwalk did not write', () => {
    mkdirSync(join(tmp, 'site'));
    writeFileSync(join(tmp, 'site', 'index.html'), '<html>my own page</html>');
    expectUserError(pw('run', 'hairpin', '--out', 'site'), /site\/index\.html was not written by packetwalk/);
    expect(readdirSync(join(tmp, 'site'))).toEqual(['index.html']);

    mkdirSync(join(tmp, 'theirs', 'hairpin'), { recursive: true });
    writeFileSync(join(tmp, 'theirs', 'hairpin', 'walk.pcapng'), 'not a capture');
    expectUserError(
      pw('run', 'hairpin', '--out', 'theirs'),
      /theirs\/hairpin\/walk\.pcapng was not written by packetwalk/,
    );
    expect(readFileSync(join(tmp, 'theirs', 'hairpin', 'walk.pcapng'), 'utf8')).toBe('not a capture');
  });

  it('removes temporary folders of runs whose process is gone, and nothing else', () => {
    const out = join(tmp, 'stale');
    const dead = 999_999; // above pid_max: no such process
    for (const [name, marker] of [
      [`hairpin.tmp-${dead}`, `${dead}\n`],
      [`my-stuff.tmp-${dead}`, `${dead}\n`],
      [`egress-router.tmp-${dead}`, undefined],
      [`egress-ip-local.tmp-${process.pid}`, `${process.pid}\n`],
    ] as const) {
      mkdirSync(join(out, name), { recursive: true });
      writeFileSync(join(out, name, `walk.pcapng.${dead}.tmp`), 'partial');
      if (marker) writeFileSync(join(out, name, '.packetwalk-tmp'), marker);
    }
    const r = pw('run', 'pod-to-pod-same-node', '--out', 'stale');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`^packetwalk: removed .*stale/hairpin\\.tmp-${dead}, left by an interrupted run$`, 'm'),
    );
    // Unknown name, no marker, or a live process (this test's): left alone.
    expect(readdirSync(out).sort()).toEqual([
      `egress-ip-local.tmp-${process.pid}`,
      `egress-router.tmp-${dead}`,
      'index.html',
      `my-stuff.tmp-${dead}`,
      'pod-to-pod-same-node',
    ]);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s during a bulk run leaves only whole files',
    async (signal, code) => {
      const out = join(tmp, `sig-${signal}`);
      const child = spawn(process.execPath, [CLI, 'run', '--all', '--count', '20000', '--out', out], {
        cwd: tmp,
        env: { ...process.env, NO_COLOR: '1' },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      // Wait until the first scenario is being written.
      const t0 = Date.now();
      while (!(existsSync(out) && readdirSync(out).some((e) => e.includes('.tmp-'))) && Date.now() - t0 < 30_000)
        await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300));
      expect(readdirSync(out).some((e) => /\.tmp-\d+$/.test(e))).toBe(true);
      child.kill(signal);
      const t1 = Date.now();
      expect(await exited).toBe(code);
      expect(Date.now() - t1).toBeLessThan(10_000);
      expect(stderr).toMatch(new RegExp(`packetwalk: interrupted by ${signal}; unfinished files were removed`));
      const left = walk(out);
      expect(left.filter((f) => /\.tmp(-\d+)?$|\.tmp-\d+\//.test(f))).toEqual([]);
    },
    60_000,
  );
});

describe('trace --pcap', { timeout: 120_000 }, () => {
  it.each([
    ['.', /cannot write --pcap file .*: it is a directory/],
    [
      'no-such-folder/x.pcapng',
      /cannot write --pcap file .*no-such-folder\/x\.pcapng: the folder .*no-such-folder does not exist/,
    ],
    ['/proc/x', /cannot write --pcap file \/proc\/x: \/proc is on procfs, a kernel pseudo file system/],
    ['/dev/full', /cannot write --pcap file \/dev\/full: it is a character device/],
  ])('refuses %s before walking', (file, message) => {
    expectUserError(
      pw('trace', '--from', 'project1/sqlapi-1-8jgx8', '--to', 'svc/project1/server', '--pcap', file),
      message,
    );
  });
});
