/**
 * Render the packets of a walk as text (ofproto/trace style for the br0 parts, one indented line per step
 * elsewhere) and as JSON.
 */

import type { TraceNode } from './types.js';

/**
 * What rendering reads of a walked packet. The node's WalkPacket (node/runtime.ts) has this shape; it is declared
 * here, by its user, so the trace does not depend on the node that records it.
 */
export interface TracedPacket {
  index: number;
  origin: string;
  label: string;
  /** Virtual time of creation, ns. */
  createdNs: number;
  trace: { readonly root: TraceNode[] };
  outcome?: { kind: 'delivered' | 'dropped' | 'consumed'; host: string; reason?: string };
}

function renderNodes(nodes: TraceNode[], indent: string, out: string[], state: { host?: string }): void {
  for (const n of nodes) {
    if (n.node !== undefined && n.node !== state.host) {
      state.host = n.node;
      out.push(`${indent}-- on ${n.node}`);
    }
    const marker = n.kind === 'drop' ? '!! ' : n.kind === 'deliver' ? '=> ' : '';
    // Bridge trace lines carry their own ofproto/trace indentation; keep it.
    for (const line of n.text.split('\n')) out.push(`${indent}${marker}${line}`);
    if (n.children?.length) renderNodes(n.children, indent + '    ', out, state);
  }
}

/** Human-readable trace of one packet. */
export function renderPacketTrace(p: TracedPacket): string {
  const out: string[] = [];
  const outcome = p.outcome
    ? `${p.outcome.kind}${p.outcome.reason ? `: ${p.outcome.reason}` : ''} at ${p.outcome.host}`
    : 'in flight';
  out.push(
    `=== packet ${p.index + 1}: ${p.label} (from ${p.origin}, t=${(p.createdNs / 1e9).toFixed(6)}s) -> ${outcome}`,
  );
  renderNodes(p.trace.root, '  ', out, {});
  return out.join('\n');
}

export function renderWalkTrace(title: string, packets: readonly TracedPacket[]): string {
  return [`# ${title}`, '', ...packets.map((p) => renderPacketTrace(p) + '\n')].join('\n') + '\n';
}

export interface PacketJson {
  index: number;
  origin: string;
  label: string;
  createdNs: number;
  outcome: TracedPacket['outcome'] | null;
  hops: TraceNode[];
}

export function packetsToJson(packets: readonly TracedPacket[]): PacketJson[] {
  return packets.map((p) => ({
    index: p.index + 1,
    origin: p.origin,
    label: p.label,
    createdNs: p.createdNs,
    outcome: p.outcome ?? null,
    hops: p.trace.root,
  }));
}
