/**
 * `packetwalk replay` as a user runs it (the built CLI in a child process): the summary, the files, and one-line
 * errors with exit code 2 for a broken capture (after what came before it was written) or a bad point.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const FIX = join(ROOT, 'test', 'fixtures', 'captures');
const tmp = mkdtempSync(join(tmpdir(), 'packetwalk-replay-cli-'));

function pw(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: tmp,
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(CLI)) spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('packetwalk replay', { timeout: 120_000 }, () => {
  it('replays a Scapy capture and prints a summary accounting for every record (--json)', () => {
    const r = pw(
      'replay',
      join(FIX, 'pod-syn-to-service-cooked-v2.pcap'),
      '--at',
      'project1/sqlapi-1-8jgx8',
      '--out',
      'syn',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as {
      read: number;
      injected: number;
      notInjected: { count: number };
      dropped: Record<string, number>;
      delivered: Record<string, number>;
      dir: string;
      files: string[];
    };
    expect([s.read, s.injected, s.notInjected.count]).toEqual([5, 3, 2]);
    expect(
      Object.values(s.delivered).reduce((a, b) => a + b, 0) + Object.values(s.dropped).reduce((a, b) => a + b, 0),
    ).toBe(3);
    for (const f of ['walk.pcapng', 'trace.txt', 'trace.json', 'path.svg', 'walk.html', 'sqlapi-1-8jgx8_eth0.pcap'])
      expect(s.files).toContain(f);
    for (const f of s.files) expect(existsSync(join(s.dir, f)), f).toBe(true);
    expect(readFileSync(join(s.dir, 'trace.txt'), 'utf8')).toMatch(
      /^# replay of .*pod-syn-to-service-cooked-v2\.pcap at project1\/sqlapi-1-8jgx8/,
    );
  });

  it("replays on a user's cluster: sqlapi's raw-IP capture at web-1 has a source that is not web-1's (br0 table 20)", () => {
    const r = pw(
      'replay',
      join(FIX, 'pod-ttl1-raw.pcap'),
      '--at',
      'frontend/web-1',
      '--cluster',
      join(ROOT, 'test', 'cluster', 'fixtures', 'user-cluster.yaml'),
      '--out',
      'user',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { injected: number; dropped: Record<string, number> };
    expect(s.injected).toBe(1);
    expect(Object.keys(s.dropped)).toEqual([
      expect.stringMatching(/^node-b: br0: table 20 priority 0 drop \(source IP/),
    ]);
  });

  it('the same capture and seed write the same bytes', () => {
    for (const out of ['a', 'b'])
      expect(
        pw('replay', join(FIX, 'node-vxlan.pcapng'), '--at', 'aro2-p8bjm-worker-northeurope3-wl4vw/eth0', '--out', out)
          .code,
      ).toBe(0);
    for (const f of ['walk.pcapng', 'trace.txt', 'trace.json', 'path.svg'])
      expect(readFileSync(join(tmp, 'a', f)).equals(readFileSync(join(tmp, 'b', f))), f).toBe(true);
  });

  it('a truncated capture: the records before it are replayed and written, then one line naming the byte, exit 2', () => {
    const r = pw('replay', join(FIX, 'broken-truncated.pcap'), '--at', 'project1/sqlapi-1-8jgx8', '--out', 'cut');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^packetwalk: \S*broken-truncated\.pcap: byte 288: pcap truncated: record data: have 16 of 54 bytes \(the 4 records before it were replayed\)\n$/,
    );
    expect(r.stdout).toMatch(/read 4 records/);
    expect(existsSync(join(tmp, 'cut', 'walk.pcapng'))).toBe(true);
  });

  it.each([
    [
      ['replay', join(FIX, 'pod-ttl1.pcap'), '--at', 'project1/nope'],
      /is not a pod, node NIC, gateway or external host of this cluster; use NS\/POD/,
    ],
    [['replay', join(FIX, 'pod-ttl1.pcap')], /replay needs --at POINT/],
    [['replay', 'missing.pcap', '--at', 'gateway'], /missing\.pcap: cannot read the capture: ENOENT/],
    [
      ['replay', join(FIX, 'broken-lying-block.pcapng'), '--at', 'gateway', '--out', 'lie'],
      /broken-lying-block\.pcapng: byte 204: pcapng bad-block: block total length 80 disagrees with its trailing copy 6 at byte 280/,
    ],
  ])('%j: one line, exit 2', (args, message) => {
    const r = pw(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('--help lists the POINT forms', () => {
    const r = pw('replay', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/NODE\/eth0/);
  });
});
