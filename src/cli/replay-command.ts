/** `packetwalk replay FILE --at POINT`: inject a capture's frames into the emulated data path. */

import { accessSync, constants } from 'node:fs';
import { ensureOutputDir } from '../output/output-files.js';
import { removeStaleTempDirs } from '../output/temp-folders.js';
import { basename, dirname, extname, resolve } from 'node:path';
import { ReplayPointError } from '../replay/point.js';
import { runReplay } from '../replay/replay.js';
import { formatReplaySummary, unaccounted } from '../replay/summary.js';
import { intOption, parse, UsageError } from './args.js';
import type { ClusterSource } from './cluster-source.js';

const REPLAY_HELP = `Usage: packetwalk replay FILE --at POINT [--cluster FILE] [--out DIR] [--seed N] [--trace-limit N] [--json]

Reads every record of a capture (pcap or pcapng; Ethernet, Linux cooked v1/v2 or raw IP) and injects each
frame at POINT, keeping the capture's relative timing on the virtual clock. Writes DIR/walk.pcapng (every hop),
one .pcap per capture point, trace.txt, trace.json, path.svg and walk.html, and prints a summary that accounts for every
record: injected (delivered / dropped with the reason), not injected (received by POINT in the capture),
unparseable (by fault), and what the emulated hosts sent back.

POINT:
  NS/POD            frames the pod's eth0 transmits (a tcpdump -i eth0 inside the pod); the capture speaks for
                    the pod, and what comes back to it is counted as answered
  NODE/eth0         frames arriving at the node's NIC from the underlay (e.g. VXLAN captured on a node)
  gateway[/eth1]    frames arriving at the underlay gateway from the external side (gateway/eth0: from the nodes)
  external[/NAME]   frames the external host transmits

Options:
  --at POINT       where to inject (required)
  --cluster FILE   a cluster file; default: the built-in ARO cluster
  --out DIR        output folder (default pcaps/out/replay-<capture name>)
  --seed N         seed for ports, ISNs, IP IDs and endpoint choice (default 1)
  --trace-limit N  trace the first N injected frames hop by hop (default 1000); later ones walk untraced
                   (outcomes counted, every hop still in the pcaps), so memory stays bounded on long captures
  --json           print the summary as JSON

A broken capture (bad magic, a truncated record or block, a block length that lies, a record longer than its
snaplen or 256 KiB, an empty file) stops the replay at that byte: the records before it are replayed and
written, then a one-line error names the file and the byte offset, and the exit code is 2.

Examples:
  packetwalk replay syn.pcap --at project1/sqlapi-1-8jgx8
  packetwalk replay vxlan.pcapng --at aro2-p8bjm-worker-northeurope3-wl4vw/eth0 --out /tmp/replay
`;

export function cmdReplay(args: string[], clusterSource: (file: string | undefined) => ClusterSource): number {
  const a = parse(args, {
    at: { type: 'string' },
    cluster: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    'trace-limit': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (a.flag('help')) {
    process.stdout.write(REPLAY_HELP);
    return 0;
  }
  if (a.positionals.length !== 1)
    throw new UsageError(`replay takes one capture file, got ${a.positionals.length} (try 'packetwalk replay --help')`);
  const file = a.positionals[0]!;
  const at = a.str('at');
  if (!at)
    throw new UsageError(
      `replay needs --at POINT (NS/POD, NODE/eth0, gateway or external; see 'packetwalk replay --help')`,
    );
  try {
    accessSync(file, constants.R_OK);
  } catch (e) {
    throw new UsageError(
      `${file}: cannot read the capture: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const seed = intOption('seed', a.str('seed'), 0, 0xffffffff) ?? 1;
  const traceLimit = intOption('trace-limit', a.str('trace-limit'), 0, 10_000_000);
  const src = clusterSource(a.str('cluster'));
  const outDir = resolve(
    a.str('out') ?? `pcaps/out/replay-${basename(file, extname(file)).replace(/[^A-Za-z0-9._-]+/g, '_')}`,
  );
  ensureOutputDir(dirname(outDir));
  for (const dir of removeStaleTempDirs(dirname(outDir), new Set([basename(outDir)])))
    process.stderr.write(`packetwalk: removed ${dir}, left by an interrupted run\n`);
  let r: ReturnType<typeof runReplay>;
  try {
    r = runReplay({ file, at, baseDocuments: src.docs, clusterFile: src.file, seed, outDir, traceLimit });
  } catch (e) {
    if (e instanceof ReplayPointError) throw new UsageError(e.message);
    throw e;
  }
  if (unaccounted(r.summary) !== 0)
    throw new Error(`replay accounting: ${unaccounted(r.summary)} records unaccounted for`);
  if (a.flag('json'))
    process.stdout.write(JSON.stringify({ ...r.summary, dir: r.dir, files: r.files }, null, 2) + '\n');
  else
    process.stdout.write(
      formatReplaySummary(r.summary) + `files in ${outDir} (walk.pcapng + ${r.files.length - 1} more)\n`,
    );
  if (r.error) throw new UsageError(r.error.message);
  return 0;
}
