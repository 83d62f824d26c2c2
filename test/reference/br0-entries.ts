/**
 * Every frame that entered a br0 during a scenario run, with what packetwalk decided for it there.
 *
 * A frame enters br0 at three kinds of capture point: a pod's veth (recorded inbound, in_port = the veth's
 * ofport), tun0 (the kernel transmits: recorded outbound, in_port=2) and vxlan0 (after decapsulation: recorded
 * inbound, in_port=1 with tun_id/tun_src/tun_dst). Each such frame matches one trace node that says
 * "enters br0", in the same order within the packet's trace; the siblings after that node are the bridge
 * passes (Flow, bridge, summary, recirc header, Flow, bridge, summary ...), from which we read the conntrack
 * state of each recirculation and the datapath actions and final flow of each pass.
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import type { CapturedFrame } from '../../src/capture/recorder.js';
import type { TraceNode } from '../../src/trace/types.js';
import type { ScenarioResult } from '../../src/scenarios/run-scenario.js';

/** One pass of a packet through br0's tables (the first one, or one recirculation). */
export interface BridgePass {
  /** The `Flow:` line, without the prefix. */
  flow: string;
  /** The `Final flow:` line, `unchanged` or a flow. */
  finalFlow: string;
  /** The `Datapath actions:` line, e.g. `ct,recirc(0x1)`, `1`, `drop`. */
  datapathActions: string;
}

export interface Br0Entry {
  scenario: string;
  node: string;
  /** Capture point name, e.g. `worker-northeurope1-qt8l7/veth82b50993`. */
  point: string;
  frame: CapturedFrame;
  bytes: Uint8Array;
  inPort: number;
  /** Tunnel metadata of a frame that came in through vxlan0 (dotted quads, VNI). */
  tunnel?: { tunId: number; tunSrc: string; tunDst: string };
  /** ct_state of each recirculation in order, as `--ct-next` wants them (`trk,new`). */
  ctNext: string[];
  passes: BridgePass[];
  /** A readable name for failure messages. */
  label: string;
}

const ENTERS = 'enters br0 as in_port=';

function isEntry(n: TraceNode): boolean {
  return (n.kind === 'port' || n.kind === 'encap') && n.text.includes(ENTERS);
}

/** Entry nodes of a trace, depth first, each with the sibling list it sits in. */
function entryNodes(nodes: TraceNode[], out: { list: TraceNode[]; at: number }[]): void {
  nodes.forEach((n, i) => {
    if (isEntry(n)) out.push({ list: nodes, at: i });
    if (n.children) entryNodes(n.children, out);
  });
}

/** `new|trk` or `est|rpl|trk` (packetwalk's recirc header) -> `trk,new` for ofproto/trace --ct-next. */
export function ctNextFlags(text: string): string {
  const flags = text.split('|').filter(Boolean);
  return ['trk', ...flags.filter((f) => f !== 'trk')].join(',');
}

function summaryLine(summary: TraceNode, prefix: string): string {
  const l = summary.children?.find((c) => c.text.startsWith(prefix));
  if (!l) throw new Error(`trace summary without "${prefix}"`);
  return l.text.slice(prefix.length).trim();
}

/** The bridge passes that follow an entry node in its sibling list. */
function passesAfter(list: TraceNode[], at: number): { passes: BridgePass[]; ctNext: string[] } {
  const passes: BridgePass[] = [];
  const ctNext: string[] = [];
  let flow = '';
  for (let i = at + 1; i < list.length; i++) {
    const n = list[i]!;
    const section = n.data?.section;
    if (n.kind === 'detail' && section === 'flow') flow = n.text.replace(/^Flow: /, '');
    else if (n.kind === 'bridge') continue;
    else if (n.kind === 'detail' && section === 'summary') {
      passes.push({
        flow,
        finalFlow: summaryLine(n, 'Final flow:'),
        datapathActions: summaryLine(n, 'Datapath actions:'),
      });
    } else if (n.kind === 'ct' && section === 'recirc') {
      const m = /ct_state=([\w|]+)/.exec(n.text);
      ctNext.push(ctNextFlags(m?.[1] ?? ''));
    } else break;
  }
  return { passes, ctNext };
}

/** All frames that entered a br0 in this run, in capture order. Needs a run with keepBytes (count 1). */
export function br0Entries(r: ScenarioResult): Br0Entry[] {
  const rec = r.recorder;
  const emu = r.emulation;
  // Capture point id -> (node, in_port) for the points where frames enter br0.
  const entryPoint = new Map<number, { node: string; inPort: number; dir: 'inbound' | 'outbound' }>();
  for (const node of emu.nodes.values()) {
    entryPoint.set(node.tun0.tap, { node: node.name, inPort: 2, dir: 'outbound' });
    entryPoint.set(node.vxlan0.tap, { node: node.name, inPort: 1, dir: 'inbound' });
    for (const p of node.pods.values())
      entryPoint.set(p.veth.tap, { node: node.name, inPort: p.veth.ofport, dir: 'inbound' });
  }
  const byPacket = new Map<number, CapturedFrame[]>();
  for (const f of rec.frames) {
    const ep = entryPoint.get(f.point);
    if (!ep || ep.dir !== f.direction) continue;
    let l = byPacket.get(f.walkIndex);
    if (!l) byPacket.set(f.walkIndex, (l = []));
    l.push(f);
  }
  const out: Br0Entry[] = [];
  for (const [walkIndex, frames] of byPacket) {
    const wp = r.packets[walkIndex];
    if (!wp) throw new Error(`${r.scenario.name}: frame of packet ${walkIndex} has no trace (recording off?)`);
    const nodes: { list: TraceNode[]; at: number }[] = [];
    entryNodes(wp.trace.root, nodes);
    if (nodes.length !== frames.length) {
      throw new Error(
        `${r.scenario.name} packet ${walkIndex} (${wp.label}): ${frames.length} frames entered a br0 but the trace shows ${nodes.length} entries`,
      );
    }
    frames.forEach((f, i) => {
      const ep = entryPoint.get(f.point)!;
      const { list, at } = nodes[i]!;
      const entryNode = list[at]!;
      const inPort = Number(/in_port=(\d+)/.exec(entryNode.text)?.[1]);
      if (inPort !== ep.inPort)
        throw new Error(
          `${r.scenario.name} packet ${walkIndex}: frame ${f.number} at port ${ep.inPort} matched trace entry "${entryNode.text}"`,
        );
      if (!f.bytes) throw new Error('run without keepBytes');
      const { passes, ctNext } = passesAfter(list, at);
      const point = rec.points[f.point]!.name;
      const e: Br0Entry = {
        scenario: r.scenario.name,
        node: ep.node,
        point,
        frame: f,
        bytes: f.bytes,
        inPort,
        ctNext,
        passes,
        label: `${r.scenario.name} frame ${f.number} (${wp.label}) entering br0 of ${ep.node} at ${point}`,
      };
      if (inPort === 1) {
        const d = entryNode.data ?? {};
        const node = emu.nodes.get(ep.node)!;
        e.tunnel = { tunId: Number(d.vni), tunSrc: String(d.tunSrc), tunDst: ipv4ToString(node.hostSubnet.hostIP) };
      }
      out.push(e);
    });
  }
  return out.sort((a, b) => a.frame.number - b.frame.number);
}
