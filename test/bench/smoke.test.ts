/**
 * Smoke test of `npm run bench`: a --quick run must finish, measure every stable benchmark name and write the
 * JSON the lead's tooling reads, and the growth-sweep chart with --plot. Nothing is asserted about speed (CI
 * machines vary); each case's own setup already fails the run when the codec it measures produces bytes its
 * decoder rejects, or when an injected walk packet is not delivered exactly once. --quick skips the heavy
 * growth-sweep sizes (big clusters), so only the small ones are expected here.
 */

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The names issues 2 and 6 fix; plots and CI history key on them. */
const STABLE_NAMES = [
  'encap-64',
  'encap-1400',
  'dissect-64',
  'dissect-1400',
  'dissect-1400-verify',
  'build-64',
  'build-1400',
  'pcapng-write-1400',
  'pcap-write-1400',
  'pcapng-write-64',
  'walk-pod-to-pod-cross-node',
  'walk-pod-to-service-cross-node',
  'walk-egress-node-ip',
  'walk-capture-pod-to-pod-cross-node',
  'scale-nodes-6',
  'scale-pods-10',
  'scale-conntrack-1k',
  'scale-flows-100',
];

interface Row {
  name: string;
  packetsPerSecond: number;
  gbps: number | null;
  bytesPerPacket: number;
  scapyRatio: number | null;
}

function benchFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.startsWith('packetwalk-bench-'));
  } catch {
    return [];
  }
}

describe('bench --quick', () => {
  it('measures every stable benchmark and writes the JSON report', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-smoke-'));
    const json = join(dir, 'bench.json');
    const leftoversBefore = benchFiles('/dev/shm').length + benchFiles(tmpdir()).length;
    try {
      const plot = join(dir, 'plot');
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'bench/main.ts', '--quick', '--json', json, '--plot', plot],
        {
          cwd: ROOT,
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
      expect(r.error, 'bench did not finish').toBeUndefined();
      expect(r.status, `bench exited ${r.status}\n${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^# machine: .+, \d+ cores, node v\d+/m);
      expect(r.stdout).toMatch(/^# scapy (not installed|\d)/m);

      const rows = JSON.parse(readFileSync(json, 'utf8')) as Row[];
      const byName = new Map(rows.map((row) => [row.name, row]));
      for (const name of STABLE_NAMES) {
        const row = byName.get(name);
        expect(row, `${name} missing from the JSON`).toBeDefined();
        expect(row!.packetsPerSecond, name).toBeGreaterThan(0);
        expect(Number.isFinite(row!.bytesPerPacket) && row!.bytesPerPacket >= 0, `${name} bytesPerPacket`).toBe(true);
        expect(row!.gbps === null || row!.gbps > 0, `${name} gbps`).toBe(true);
        expect(row!.scapyRatio === null || row!.scapyRatio > 0, `${name} scapyRatio`).toBe(true);
        expect(r.stdout, `${name} missing from the table`).toMatch(new RegExp(`^${name} +\\|`, 'm'));
      }
      expect(r.stdout).toMatch(/^# skipped in --quick .*scale-nodes-1000/m);
      const svg = readFileSync(join(plot, 'scale.svg'), 'utf8');
      expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      for (const axis of ['nodes', 'pods', 'conntrack', 'flows']) expect(svg, `${axis} line`).toContain(`>${axis} `);
      expect(existsSync(join(plot, 'scale.svg'))).toBe(true);
      // The capture files are deleted after the run.
      expect(benchFiles('/dev/shm').length + benchFiles(tmpdir()).length).toBe(leftoversBefore);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
