/**
 * Test helpers: a tiny classic-pcap writer (independent of the project's capture code) and a tshark runner that
 * returns `-T fields` output per frame, with IPv4/UDP/TCP checksum validation on. Tests skip when tshark is absent.
 */

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;
if (!hasTshark) console.warn('tshark not found: tshark cross-checks are skipped (CI installs it)');

/** Classic pcap (magic a1b2c3d4, µs, LINKTYPE_ETHERNET), frame i at i seconds. */
export function pcapOf(frames: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20);
  parts.push(global);
  frames.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(i, 0);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

const CHECKSUMS = ['-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE'];

/**
 * Run tshark over the frames and return, per frame, a record field -> value (multi-occurrence fields are
 * comma-joined, outer first, as tshark prints them).
 */
export function tsharkFields(frames: Uint8Array[], fields: string[], extra: string[] = []): Record<string, string>[] {
  const dir = mkdtempSync(join(tmpdir(), 'pw-codecs-'));
  try {
    const file = join(dir, 'frames.pcap');
    writeFileSync(file, pcapOf(frames));
    const args = ['-r', file, ...CHECKSUMS, ...extra, '-T', 'fields', '-E', 'separator=\t'];
    for (const f of fields) args.push('-e', f);
    const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((line) => {
        const cols = line.split('\t');
        const rec: Record<string, string> = {};
        for (const [i, f] of fields.entries()) rec[f] = cols[i] ?? '';
        return rec;
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
