/**
 * A WalkPageInput from a walk that ran in this process: its traced packets (WalkPacket, with the capture marks
 * their TraceRecorder kept), the CaptureRecorder's frames with their bytes, and — to print each br0 flow as
 * `dump-flows` does — the bridges the flows lived in. Each hop's "what acted" is the packet's trace between the
 * previous capture of it and this one.
 */

import type { CapturedFrame } from '../capture/recorder.js';
import type { CapturePointInfo } from '../runtime/capture-sink.js';
import type { WalkPacket } from '../runtime/runtime.js';
import { formatFlowDump } from '../ovs/flow-text.js';
import type { FlowRule } from '../ovs/bridge.js';
import type { TraceNode } from '../trace/types.js';
import type { WalkPageAction, WalkPageInput, WalkPagePacket } from './types.js';

/** The br0 flows of each host, for printing a trace's table lines as `dump-flows` does. */
export interface FlowSource {
  /** The flows of `host`'s bridge (empty when the host has none). */
  flowsOf(host: string): readonly FlowRule[];
}

/** What a walk produced, as the page needs it. */
export interface WalkRecording {
  packets: readonly WalkPacket[];
  /** Every captured frame in walk.pcapng order; each must carry its bytes (CaptureRecorder `keepBytes`). */
  frames: readonly CapturedFrame[];
  points: readonly CapturePointInfo[];
  flows?: FlowSource;
}

export interface WalkPageHead {
  title: string;
  subtitle?: string;
  notes?: { text: string; ok: boolean }[];
  pictureSvg?: string;
}

/** Index each host's flows by their ofproto/trace line, giving their dump-flows line (`--no-stats` form). */
function flowIndex(src: FlowSource | undefined): (host: string, traceText: string) => string | undefined {
  const byHost = new Map<string, Map<string, string>>();
  return (host, traceText) => {
    if (!src) return undefined;
    let m = byHost.get(host);
    if (!m) {
      m = new Map();
      for (const r of src.flowsOf(host)) m.set(r.traceText.trim(), formatFlowDump(r.spec).trim());
      byHost.set(host, m);
    }
    return m.get(traceText.trim());
  };
}

/** One trace node as an action, or undefined for lines that only explain (Flow:, thaw, summary, actions). */
function action(
  n: TraceNode,
  host: string | undefined,
  dumpFlow: (host: string, text: string) => string | undefined,
): WalkPageAction | undefined {
  const h = host !== undefined ? { host } : {};
  switch (n.kind) {
    case 'table': {
      const table = n.data?.table;
      const dump = host !== undefined ? dumpFlow(host, n.text) : undefined;
      return { kind: 'flow', ...h, text: dump ?? n.text.trim(), where: `br0 table ${table ?? '?'}` };
    }
    case 'netfilter': {
      // `nat: -A KUBE-SERVICES ...` -> table nat, rule as iptables-save prints it.
      const i = n.text.indexOf(': ');
      const table = typeof n.data?.table === 'string' ? n.data.table : n.text.slice(0, Math.max(0, i));
      const text = n.text.startsWith(`${table}: `) ? n.text.slice(table.length + 2) : n.text;
      return { kind: 'iptables', ...h, text, where: `iptables -t ${table}` };
    }
    case 'route':
      return { kind: 'route', ...h, text: n.text, where: 'routing table' };
    case 'ct':
      return { kind: 'conntrack', ...h, text: n.text, where: 'conntrack' };
    case 'nat':
      return { kind: 'nat', ...h, text: n.text, where: 'NAT' };
    case 'arp':
      return { kind: 'arp', ...h, text: n.text, where: 'neighbour table' };
    case 'encap':
      return { kind: 'encap', ...h, text: n.text, where: 'vxlan0' };
    case 'port':
      return { kind: 'port', ...h, text: n.text };
    case 'drop':
      return { kind: 'drop', ...h, text: n.text };
    case 'deliver':
      return { kind: 'deliver', ...h, text: n.text };
    case 'warn':
    case 'error':
      return { kind: 'note', ...h, text: n.text.trim() };
    default:
      return undefined;
  }
}

/** Build the page input from a walk recorded in this process. */
export function walkPageInput(rec: WalkRecording, head: WalkPageHead): WalkPageInput {
  const dumpFlow = flowIndex(rec.flows);
  const framesOf = new Map<number, CapturedFrame[]>();
  for (const f of rec.frames) {
    let list = framesOf.get(f.walkIndex);
    if (!list) framesOf.set(f.walkIndex, (list = []));
    list.push(f);
  }
  const packets: WalkPagePacket[] = rec.packets.map((p) => {
    const frames = framesOf.get(p.index) ?? [];
    const marks = p.trace.captureMarks;
    const ordered = p.trace.ordered;
    // The host each node happened on: its own, else the last one named before it (as trace.txt's `-- on`).
    const hosts: (string | undefined)[] = [];
    let host: string | undefined;
    for (const n of ordered) {
      if (n.node !== undefined) host = n.node;
      hosts.push(host);
    }
    const actions = (from: number, to: number): WalkPageAction[] => {
      const out: WalkPageAction[] = [];
      for (let i = from; i < to; i++) {
        const a = action(ordered[i]!, hosts[i], dumpFlow);
        if (a) out.push(a);
      }
      return out;
    };
    // Marks and frames pair up one to one (both are made by the same capture call); if a frame has no mark
    // (a capture made outside the runtime), its actions are left empty rather than guessed.
    const paired = marks.length === frames.length;
    const hops = frames.map((f, k) => {
      if (!f.bytes) throw new Error(`frame ${f.number} has no bytes: record the walk with keepBytes`);
      const point = rec.points[f.point];
      return {
        frame: f.number,
        point: point?.name ?? `point ${f.point}`,
        host: point?.host ?? '',
        direction: f.direction,
        timeNs: f.timeNs,
        bytes: f.bytes,
        ...(f.comment !== undefined ? { comment: f.comment } : {}),
        acted: paired ? actions(k === 0 ? 0 : marks[k - 1]!, marks[k]!) : [],
      };
    });
    const o = p.outcome;
    const packet: WalkPagePacket = { number: p.index + 1, label: p.label, origin: p.origin, hops };
    if (o) {
      packet.outcome = `${o.kind} at ${o.host}${o.reason ? `: ${o.reason}` : ''}`;
      if (o.kind === 'dropped') packet.dropped = true;
    }
    const after = paired ? actions(marks.length ? marks[marks.length - 1]! : 0, ordered.length) : [];
    if (after.length) packet.after = after;
    return packet;
  });
  const input: WalkPageInput = { title: head.title, packets };
  if (head.subtitle !== undefined) input.subtitle = head.subtitle;
  if (head.notes) input.notes = head.notes;
  if (head.pictureSvg !== undefined) input.pictureSvg = head.pictureSvg;
  return input;
}
