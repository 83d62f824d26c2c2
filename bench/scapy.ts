/**
 * Runs bench/scapy_ref.py once per bench run, so "vs scapy" compares numbers taken on the same machine in the
 * same minute. Scapy is optional: without Debian's python3-scapy the bench still runs and says so.
 */

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter: python3-scapy installs there, while a `python3` earlier on PATH may lack it. */
export const SCAPY_PYTHON = '/usr/bin/python3';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'scapy_ref.py');

export interface ScapyRun {
  scapyVersion: string;
  pythonVersion: string;
  secondsPerOp: number;
  /** Operations per second by measurement key. */
  pps: Record<string, number>;
}

/** True when `/usr/bin/python3 -c 'import scapy'` works. */
export function scapyAvailable(): boolean {
  const r = spawnSync(SCAPY_PYTHON, ['-c', 'import scapy'], { stdio: 'ignore', timeout: 20_000 });
  return r.status === 0;
}

/**
 * Measure `keys` with scapy for `seconds` each, writing capture files under `dir`. Throws when the script
 * fails; call scapyAvailable() first.
 */
export function runScapy(keys: readonly string[], seconds: number, dir: string): ScapyRun {
  const r = spawnSync(SCAPY_PYTHON, [SCRIPT, '--seconds', String(seconds), '--only', keys.join(','), '--dir', dir], {
    encoding: 'utf8',
    // scapy's import takes about a second; each measurement a little over `seconds`.
    timeout: (10 + keys.length * (seconds + 2)) * 1000,
    maxBuffer: 1 << 20,
  });
  if (r.error) throw r.error;
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: { scapy?: string; python?: string; seconds?: number; pps?: Record<string, number>; error?: string };
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    throw new Error(`scapy_ref.py exited ${r.status} without JSON: ${r.stderr.trim().slice(-500)}`);
  }
  if (parsed.error || !parsed.pps) throw new Error(`scapy_ref.py: ${parsed.error ?? 'no measurements'}`);
  return {
    scapyVersion: parsed.scapy ?? '?',
    pythonVersion: parsed.python ?? '?',
    secondsPerOp: parsed.seconds ?? seconds,
    pps: parsed.pps,
  };
}
