/**
 * tshark as a test oracle: an independent dissector checks the captures we write. One tshark call per file
 * (start-up costs about 0.2 s), many fields per call. Tests that use it must skip when it is missing:
 *
 *   import { hasTshark, tsharkFields } from '../helpers/tshark.js';
 *   it.skipIf(!hasTshark)('wireshark agrees', () => { const rows = tsharkFields(file, ['ip.src', 'ip.dst']); ... });
 *
 * Recipes and field names: /work/shared/research/tshark-recipes.md.
 */

import { spawnSync } from 'node:child_process';

/** Per-call limit: a hung tshark fails the test instead of the whole run. */
const TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 512 * 1024 * 1024;

/** Preferences that make tshark verify IPv4, UDP and TCP checksums (off by default; ICMP is always checked). */
export const CHECKSUM_PREFS: readonly string[] = [
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
];

function available(cmd: string): boolean {
  try {
    const r = spawnSync(cmd, ['-v'], { encoding: 'utf8', timeout: 20_000 });
    return r.status === 0;
  } catch {
    return false;
  }
}

/** True when `tshark` runs on this machine (checked once, at import). */
export const hasTshark: boolean = available('tshark');
/** True when `capinfos` runs on this machine. */
export const hasCapinfos: boolean = available('capinfos');

/** Message to print beside a skipped test. */
export const TSHARK_MISSING = 'tshark not installed: skipping Wireshark cross-checks (apt-get install tshark)';

/** stderr without the harmless `Running as user "root"...` line tshark prints on every call. */
function cleanStderr(s: string): string {
  return s
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('Running as user'))
    .join('\n');
}

/** Run a Wireshark tool; throws with its stderr on failure (missing file, bad field, cut-short capture). */
export function runTool(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: MAX_OUTPUT });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}: ${cleanStderr(r.stderr)}`);
  return r.stdout;
}

export interface TsharkOptions {
  /** Display filter (-Y), e.g. `frame.interface_name == "vxlan0"`. */
  filter?: string;
  /** Verify IPv4/UDP/TCP checksums (see CHECKSUM_PREFS). */
  checksums?: boolean;
  /** Decode-as rules (-d), e.g. `udp.port==8472,vxlan`. */
  decodeAs?: string[];
}

function commonArgs(file: string, opts: TsharkOptions): string[] {
  const args = ['-r', file, '-n']; // -n: no name resolution, so output is deterministic and offline
  if (opts.checksums) args.push(...CHECKSUM_PREFS);
  for (const d of opts.decodeAs ?? []) args.push('-d', d);
  if (opts.filter !== undefined) args.push('-Y', opts.filter);
  return args;
}

/**
 * One row per frame (after the filter), one cell per field, in the order asked. A field that occurs several
 * times in a frame (outer and inner ip.src of a VXLAN frame) is one cell with the values comma-separated, outer
 * first; an absent field is ''.
 */
export function tsharkFields(file: string, fields: readonly string[], opts: TsharkOptions = {}): string[][] {
  if (fields.length === 0) throw new Error('tsharkFields: no fields asked');
  const args = [...commonArgs(file, opts), '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a'];
  for (const f of fields) args.push('-e', f);
  const out = runTool('tshark', args);
  const lines = out.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.split('\t'));
}

/**
 * One object per frame mapping each asked field to all its occurrences (outer first), from `-T json`.
 * Fields absent from a frame are missing from its object.
 */
export function tsharkJson(
  file: string,
  fields: readonly string[],
  opts: TsharkOptions = {},
): Record<string, string[]>[] {
  const args = [...commonArgs(file, opts), '-T', 'json'];
  for (const f of fields) args.push('-e', f);
  const parsed = JSON.parse(runTool('tshark', args) || '[]') as { _source: { layers: Record<string, string[]> } }[];
  return parsed.map((p) => p._source.layers);
}

/**
 * Everything Wireshark dislikes in a capture, with checksum verification on: malformed frames, expert infos of
 * severity warning or error, and bad IPv4/UDP/TCP/ICMP checksums. One string per offending frame,
 * `frame N: message; message`. An empty array means the capture is clean.
 *
 * `ignore` drops expert messages matching any of the patterns (e.g. /No response seen/ for a one-way ping);
 * frames left with nothing to report are not listed.
 */
export function tsharkProblems(file: string, opts: { decodeAs?: string[]; ignore?: RegExp[] } = {}): string[] {
  const filter =
    '_ws.malformed || _ws.expert.severity >= warning || ip.checksum.status == 0 || udp.checksum.status == 0 || ' +
    'tcp.checksum.status == 0 || icmp.checksum.status == 0';
  // JSON keeps each message whole (messages contain commas) and aligned with its severity.
  const frames = tsharkJson(
    file,
    [
      'frame.number',
      '_ws.expert.message',
      '_ws.expert.severity',
      '_ws.malformed',
      'ip.checksum.status',
      'udp.checksum.status',
      'tcp.checksum.status',
      'icmp.checksum.status',
    ],
    { filter, checksums: true, decodeAs: opts.decodeAs ?? [] },
  );
  const ignore = opts.ignore ?? [];
  const problems: string[] = [];
  for (const f of frames) {
    const notes: string[] = [];
    const msgs = f['_ws.expert.message'] ?? [];
    const sevs = f['_ws.expert.severity'] ?? [];
    // Severity is a bit field: warning = 0x00600000, error = 0x00800000 (epan/proto.h PI_WARN, PI_ERROR).
    msgs.forEach((m, i) => {
      if (Number(sevs[i] ?? 0) >= 0x00600000 && !ignore.some((re) => re.test(m))) notes.push(m);
    });
    for (const proto of ['ip', 'udp', 'tcp', 'icmp']) {
      if ((f[`${proto}.checksum.status`] ?? []).includes('0')) notes.push(`bad ${proto} checksum`);
    }
    if (f['_ws.malformed'] && !ignore.some((re) => re.test('malformed'))) notes.push('malformed');
    if (notes.length > 0) problems.push(`frame ${f['frame.number']?.[0] ?? '?'}: ${[...new Set(notes)].join('; ')}`);
  }
  return problems;
}

/** `capinfos <args> <file>` output (e.g. args ['-I'] for the interface list of a pcapng). */
export function capinfos(file: string, args: readonly string[] = []): string {
  return runTool('capinfos', [...args, file]);
}
