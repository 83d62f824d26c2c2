/**
 * `packetwalk trace`: an ad-hoc walk between two endpoints, printed hop by hop (br0 like ofproto/trace), with
 * optional captures (--pcap) and a step-through page (--html).
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import { attachCapture } from '../capture/attach.js';
import { CaptureRecorder } from '../capture/recorder.js';
import { nonUnicastReason } from '../cluster/fields.js';
import type { Cluster } from '../cluster/types.js';
import { createFastPath } from '../fastpath/fast-path.js';
import { Emulation } from '../node/emulation.js';
import { asOutputError, checkOutputFile, OutputError, writeFileAtomic } from '../output/output-files.js';
import { walkResultPageInput } from '../page/from-walk-result.js';
import { renderWalkPage } from '../page/walk-html.js';
import { applyStateDir } from '../state/emulate.js';
import { loadStateDir } from '../state/state-dir.js';
import { packetsToJson, renderWalkTrace } from '../trace/render.js';
import { resolveTarget, runFlow, sourceLabel, type Protocol, type Source } from '../walk/flow.js';
import type { WalkResult } from '../walk/walk-result.js';
import { intOption, parse, UsageError } from './args.js';
import type { ClusterSource } from './cluster-source.js';
import { reportApplied } from './state-notes.js';

/** `--from`: `namespace/name` (a pod), a node name, or `external` / an external host's name. */
function parseSource(cluster: Cluster, from: string): Source {
  if (from.includes('/')) {
    const [namespace, name] = from.split('/');
    if (!cluster.pods.some((p) => p.namespace === namespace && p.name === name))
      throw new UsageError(`unknown pod ${JSON.stringify(from)} (pods are namespace/name)`);
    return { kind: 'pod', namespace: namespace!, name: name! };
  }
  if (cluster.hostSubnets.some((h) => h.name === from)) return { kind: 'node', name: from };
  const ext = from === 'external' ? cluster.externalHosts[0] : cluster.externalHosts.find((e) => e.name === from);
  if (ext) return { kind: 'external', name: ext.name };
  throw new UsageError(
    `unknown source ${JSON.stringify(from)}: give a pod (namespace/name), a node name or 'external'`,
  );
}

/**
 * Destinations a trace refuses, and why. Loopback (127/8), 0.0.0.0 and a host's own addresses are walked: Linux
 * delivers them through lo. Multicast is not modelled (no group membership; the stack would map the address to an
 * 01:00:5e MAC without ARP, as arp_mc_map does, but nothing joins a group to answer).
 */
function refusedDestination(ip: number): string | undefined {
  const first = ip >>> 24;
  if (ip === 0 || first === 127) return undefined;
  if (first >= 224 && first <= 239)
    return 'multicast destinations are not modelled (packetwalk walks unicast conversations: expected a pod, a service, a node or a unicast IP)';
  const why = nonUnicastReason(ip);
  return why === undefined
    ? undefined
    : `not a destination a packet can be sent to (${why}; expected a pod, a service, a node or a unicast IP)`;
}

/** `packetwalk trace --from A --to B`. */
export function cmdTrace(args: string[], src: (file: string | undefined) => ClusterSource): number {
  const a = parse(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    proto: { type: 'string' },
    dport: { type: 'string' },
    sport: { type: 'string' },
    cluster: { type: 'string' },
    pcap: { type: 'string' },
    html: { type: 'string' },
    json: { type: 'boolean' },
    seed: { type: 'string' },
    state: { type: 'string' },
    size: { type: 'string' },
  });
  if (a.flag('help')) {
    process.stdout.write(`Usage: packetwalk trace --from POD|NODE|external --to POD|SERVICE|IP[:PORT] [--proto tcp|udp|icmp]
                       [--dport N] [--sport N] [--size N] [--cluster FILE | --state DIR] [--pcap FILE] [--html FILE] [--json]

An ad-hoc walk between two endpoints: every packet of the conversation (ARP included), hop by hop, with br0
printed like 'ovs-appctl ofproto/trace' and the iptables, conntrack and NAT steps. Pods are namespace/name,
services svc/namespace/name. --pcap writes the captures (pcapng); --html writes a self-contained page to step
through the walk hop by hop in a browser (layers, bytes, what changed, which rule acted). With --state DIR,
the walk runs on a real cluster's state directory: its objects, and each node's actual flows, groups, iptables
rules, conntrack entries and routes (see 'packetwalk doctor'). --size N sets the ICMP echo payload (default 64;
large pings find MTU problems).

Examples:
  packetwalk trace --from project1/sqlapi-1-8jgx8 --to svc/project1/server
  packetwalk trace --from external --to 192.168.0.11:8080
  packetwalk trace --from kuard1/kuard-amd64-1-qqdqm --to project1/sqlapi-1-8jgx8 --proto icmp --pcap ping.pcapng
  packetwalk trace --from project1/sqlapi-1-8jgx8 --to svc/project1/server --pcap walk.pcapng --html walk.html
`);
    return 0;
  }
  const from = a.str('from'),
    to = a.str('to');
  if (!from || !to) throw new UsageError('trace needs --from and --to');
  // Refused before the walk when it can be seen now (a directory, a device, a missing folder, /proc).
  const pcap = a.str('pcap') === undefined ? undefined : checkOutputFile(a.str('pcap')!, '--pcap file');
  const html = a.str('html') === undefined ? undefined : checkOutputFile(a.str('html')!, '--html file');
  const proto = (a.str('proto') ?? 'tcp') as Protocol;
  if (!['tcp', 'udp', 'icmp'].includes(proto))
    throw new UsageError(`--proto must be tcp, udp or icmp, got ${JSON.stringify(proto)}`);
  if (a.str('state') && a.str('cluster')) throw new UsageError('give --cluster FILE or --state DIR, not both');
  const state = a.str('state') ? loadStateDir(a.str('state')!) : undefined;
  const cluster = state ? state.cluster : src(a.str('cluster')).cluster;
  const fromSrc = parseSource(cluster, from);
  let target = to,
    port: number | undefined;
  const m = /^(.*):(\d+)$/.exec(to); // TARGET[:PORT]
  if (m) {
    target = m[1]!;
    port = intOption('port in --to', m[2], 1, 65535);
  }
  let resolved: ReturnType<typeof resolveTarget>;
  try {
    resolved = resolveTarget(cluster, target);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const refused = refusedDestination(resolved.ip);
  if (refused) throw new UsageError(`--to ${to}: ${refused}`);
  port = intOption('dport', a.str('dport'), 1, 65535) ?? port ?? resolved.defaultPort ?? 80;
  const seed = intOption('seed', a.str('seed'), 0, 0xffffffff) ?? 1;
  const emu = new Emulation(cluster, { seed, fastPath: createFastPath });
  if (state) reportApplied(applyStateDir(emu, state));
  const recorder = new CaptureRecorder(emu.runtime.clock, { index: true, keepBytes: html !== undefined });
  attachCapture(emu, recorder);
  emu.runtime.tracing = true;
  const spec = {
    from: fromSrc,
    to: { ip: resolved.ip, port },
    proto,
    toLabel: resolved.label,
    ...(a.str('size') ? { payloadSize: intOption('size', a.str('size'), 0, 65507)! } : {}),
    ...(a.str('sport') ? { sourcePort: intOption('sport', a.str('sport'), 1, 65535)! } : {}),
  };
  const result = runFlow(emu, spec);
  recorder.close();
  const title = `trace ${sourceLabel(fromSrc)} -> ${resolved.label} (${ipv4ToString(resolved.ip)}) ${proto}${proto === 'icmp' ? '' : `/${port}`}: ${result.ok ? 'ok' : 'FAILED'} (${result.detail})`;
  const page = (): string => {
    const heading = `trace ${sourceLabel(fromSrc)} → ${resolved.label} ${proto}${proto === 'icmp' ? '' : `/${port}`}`;
    const summary = `ad-hoc walk to ${ipv4ToString(resolved.ip)}${proto === 'icmp' ? '' : `:${port}`}, seed ${seed}`;
    // An ad-hoc walk is a WalkResult with one flow and no scenario of its own.
    const run: WalkResult = {
      scenario: { name: heading, figure: 'packetwalk trace', summary },
      cluster,
      emulation: emu,
      flows: [result],
      packets: emu.runtime.packets,
      recorder,
      passed: result.ok,
      files: [],
    };
    return renderWalkPage(
      walkResultPageInput(run, summary, [{ text: `${result.ok ? 'ok' : 'FAILED'}: ${result.detail}`, ok: result.ok }]),
    );
  };
  if (a.flag('json'))
    process.stdout.write(
      JSON.stringify(
        {
          from: sourceLabel(fromSrc),
          to: resolved.label,
          ip: ipv4ToString(resolved.ip),
          port,
          proto,
          ok: result.ok,
          detail: result.detail,
          packets: packetsToJson(emu.runtime.packets),
        },
        null,
        1,
      ) + '\n',
    );
  else process.stdout.write(renderWalkTrace(title, emu.runtime.packets));
  // A failure only writing shows (disk full, quota): the trace is printed already; report the file, exit 2.
  const outputs: [string, string, () => Uint8Array | string][] = [];
  if (pcap) outputs.push(['--pcap', pcap, () => recorder.memoryPcapng()]);
  if (html) outputs.push(['--html', html, page]);
  for (const [option, file, data] of outputs) {
    try {
      writeFileAtomic(file, data());
    } catch (e) {
      const user = asOutputError(e, file);
      if (!(user instanceof OutputError)) throw e;
      process.stderr.write(`packetwalk: the trace is above, but the ${option} file was not written: ${user.message}\n`);
      return 2;
    }
  }
  return result.ok ? 0 : 1;
}
