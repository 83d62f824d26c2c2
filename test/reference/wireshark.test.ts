/**
 * Wireshark agrees with every byte (issue 7). Every scenario in the catalogue is run into a temp dir; for every
 * pcap and pcapng written, ONE tshark call (several files at a time) (IPv4/UDP/TCP checksum validation on, `-T json` so repeated fields
 * keep their order) reads ~37 fields of every frame, and packetwalk's own dissector reads the same fields from the
 * frames it recorded (CapturedFrame.bytes). They must agree frame by frame, field by field, every occurrence
 * (outer and inner headers of VXLAN frames), and tshark must find no malformed frame and no expert warning or
 * error. In walk.pcapng the same TCP segment is seen at several capture points, which Wireshark's TCP analysis
 * calls retransmissions, duplicate ACKs and so on: those notes are ignored there (never in one-interface pcaps).
 *
 * An ICMP error quotes an IPv4 header that Wireshark dissects as further ip/tcp/udp occurrences; packetwalk
 * reports the quote as payload, so for such frames only the occurrences packetwalk has are compared.
 */

import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pcapFileNameFor, type CapturedFrame } from '../../src/capture/recorder.js';
import type { ScenarioResult } from '../../src/scenarios/run-scenario.js';
import { CHECKSUM_PREFS, hasTshark, TSHARK_MISSING } from '../helpers/tshark.js';
import { COMPARED_FIELDS, packetwalkFields, type FieldName } from './frame-fields.js';
import { runAllScenarios } from './scenario-runs.js';

if (!hasTshark) console.log(`test/reference/wireshark: ${TSHARK_MISSING}`);

const MULTI_INTERFACE_NOISE = [
  /retransmission/i,
  /ACKed segment that wasn't captured/i,
  /Previous segment/i,
  /out-of-order/i,
  /Dup(licate)? ACK/i,
  /spurious/i,
  /keep-?alive/i,
];
/** Expert severities (epan/proto.h): PI_WARN = 0x00600000, PI_ERROR = 0x00800000. */
const PI_WARN = 0x00600000;

const root = hasTshark ? mkdtempSync(join(tmpdir(), 'packetwalk-wireshark-')) : '';
process.on('exit', () => {
  if (root) rmSync(root, { recursive: true, force: true });
});

interface FileUnderTest {
  scenario: string;
  file: string;
  path: string;
  frames: CapturedFrame[];
  multiInterface: boolean;
}

const ASKED = [
  'frame.number',
  'frame.interface_name',
  ...COMPARED_FIELDS,
  '_ws.malformed',
  '_ws.expert.message',
  '_ws.expert.severity',
];

/** One tshark call on one file: every asked field of every frame, all occurrences in order (`-T json`). */
function tsharkRows(path: string): Promise<Record<string, string[]>[]> {
  const args = ['-r', path, '-n', ...CHECKSUM_PREFS, '-T', 'json', ...ASKED.flatMap((f) => ['-e', f])];
  return new Promise((resolve, reject) => {
    const p = spawn('tshark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`tshark ${path} exited with ${code}: ${err}`));
      const parsed = JSON.parse(Buffer.concat(out).toString() || '[]') as {
        _source: { layers: Record<string, string[]> };
      }[];
      resolve(parsed.map((x) => x._source.layers));
    });
  });
}

/** Run tshark on every file, a few at a time (start-up dominates: ~0.3 s per call). */
async function tsharkAll(paths: string[]): Promise<Map<string, Record<string, string[]>[]>> {
  const results = new Map<string, Record<string, string[]>[]>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const p = paths[next++]!;
      results.set(p, await tsharkRows(p));
    }
  };
  await Promise.all(Array.from({ length: Math.max(2, Math.min(8, availableParallelism())) }, worker));
  return results;
}

function filesOf(r: ScenarioResult): FileUnderTest[] {
  const dir = r.dir!;
  const out: FileUnderTest[] = [];
  for (const file of r.files) {
    if (file === 'walk.pcapng') {
      out.push({
        scenario: r.scenario.name,
        file,
        path: join(dir, file),
        frames: r.recorder.frames,
        multiInterface: true,
      });
    } else if (file.endsWith('.pcap')) {
      const point = r.recorder.points.findIndex((p) => pcapFileNameFor(p.name) === file);
      if (point < 0) throw new Error(`${r.scenario.name}: no capture point writes ${file}`);
      out.push({
        scenario: r.scenario.name,
        file,
        path: join(dir, file),
        frames: r.recorder.frames.filter((f) => f.point === point),
        multiInterface: false,
      });
    }
  }
  return out;
}

describe.skipIf(!hasTshark)('Wireshark reads every captured frame exactly as packetwalk does', () => {
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });
  const runs = hasTshark ? runAllScenarios(root) : [];
  const files = runs.flatMap(filesOf);
  let tshark = new Map<string, Record<string, string[]>[]>();
  beforeAll(async () => {
    tshark = await tsharkAll(files.map((f) => f.path));
    // ~170 tshark start-ups: about a minute on an idle 2-core machine, several on a loaded one.
  }, 600_000);

  it('covers every scenario and every capture file', () => {
    expect(runs.length).toBeGreaterThan(0);
    for (const r of runs)
      expect(files.filter((f) => f.scenario === r.scenario.name).length, r.scenario.name).toBeGreaterThan(1);
  });

  it.each(files.map((f) => [`${f.scenario}/${f.file}`, f] as const))(
    '%s: same fields, no malformed frame or warning',
    (_name, f) => {
      const rows = tshark.get(f.path)!;
      expect(rows.length, 'frames tshark read').toBe(f.frames.length);
      const diffs: string[] = [];
      const problems: string[] = [];
      rows.forEach((row, i) => {
        const frame = f.frames[i]!;
        const n = i + 1;
        if (
          f.multiInterface &&
          row['frame.interface_name']?.[0] !==
            runs.find((r) => r.scenario.name === f.scenario)!.recorder.points[frame.point]!.name
        ) {
          diffs.push(`frame ${n}: interface ${row['frame.interface_name']?.[0]}`);
        }
        const ours = packetwalkFields(frame.bytes!);
        for (const k of COMPARED_FIELDS) {
          let theirs = row[k] ?? [];
          const mine = ours.fields[k as FieldName];
          if (ours.icmpError) theirs = theirs.slice(0, mine.length);
          if (theirs.join(',') !== mine.join(','))
            diffs.push(`frame ${n}: ${k} tshark=${theirs.join(',') || '-'} packetwalk=${mine.join(',') || '-'}`);
        }
        if (row['_ws.malformed']) problems.push(`frame ${n}: malformed`);
        const msgs = row['_ws.expert.message'] ?? [];
        const sevs = row['_ws.expert.severity'] ?? [];
        msgs.forEach((m, j) => {
          if (Number(sevs[j] ?? 0) < PI_WARN) return;
          if (f.multiInterface && MULTI_INTERFACE_NOISE.some((re) => re.test(m))) return;
          problems.push(`frame ${n}: ${m}`);
        });
      });
      expect(diffs.slice(0, 20)).toEqual([]);
      expect(problems.slice(0, 20)).toEqual([]);
    },
  );
});
