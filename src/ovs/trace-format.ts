/**
 * Text for br0's part of a packet trace, in the layout of `ovs-appctl ofproto/trace` on OVS 3.1:
 *
 *   Flow: ip,in_port=3,vlan_tci=0x0000,dl_src=...,nw_frag=no
 *
 *   bridge("br0")
 *   -------------
 *    0. ct_state=-trk,ip, priority 1000
 *       ct(table=0)
 *       drop
 *        -> A clone of the packet is forked to recirculate. ...
 *
 *   Final flow: unchanged
 *   Datapath actions: ct,recirc(0x1)
 *
 *   ===============================================================================
 *   recirc(0x1) - resume conntrack with ct_state=new|trk
 *   ===============================================================================
 *
 * Differences from OVS, on purpose: no `Megaflow:` line (we have no megaflow cache), `Datapath actions:` lists
 * only outputs, conntrack and recirculations (no set()), and the recirc header names the ct_state our conntrack
 * actually returned instead of OVS's "default ct_state=trk|new (use --ct-next ...)".
 */

import { ipv4ToString, macToString } from '../../codecs/bytes.js';
import type { TraceNode, TraceRecorder } from '../trace/types.js';
import type { CtRequest } from './compile-actions.js';
import {
  ETH_TYPE_ARP,
  ETH_TYPE_IP,
  ETH_TYPE_RARP,
  FRAG_ANY,
  FRAG_LATER,
  IPPROTO_ICMP,
  IPPROTO_TCP,
  N_REGS,
  W_ARP_SHA_HI,
  W_ARP_THA_HI,
  W_CT_MARK,
  W_CT_STATE,
  W_CT_ZONE,
  W_DL_DST_HI,
  W_DL_SRC_HI,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW_DST,
  W_NW_FRAG,
  W_NW_PROTO,
  W_NW_SRC,
  W_NW_TOS,
  W_NW_TTL,
  N_KEY_WORDS,
  W_PKT_MARK,
  W_REG0,
  W_TP_DST,
  W_TP_SRC,
  W_TUN_DST,
  W_TUN_ID_HI,
  W_TUN_ID_LO,
  W_TUN_SRC,
  ipProtoShorthand,
} from './fields.js';
import type { FlowSpec } from './flow-text.js';
import { ctStateFlags, formatPort, hexC } from './match.js';

/** `Flow:` text of a flow key, in the field order of OVS's flow_format (cold path: traces only). */
export function formatFlowKey(key: Int32Array, recircId = 0): string {
  const u = (w: number): number => key[w]! >>> 0;
  const mac = (w: number): string => macToString((u(w) & 0xffff) * 0x100000000 + u(w + 1));
  const out: string[] = [];
  if (u(W_PKT_MARK)) out.push(`pkt_mark=${hexC(u(W_PKT_MARK))}`);
  if (recircId) out.push(`recirc_id=${hexC(recircId)}`);
  if (u(W_CT_STATE)) out.push(`ct_state=${ctStateFlags(u(W_CT_STATE))}`);
  if (u(W_CT_ZONE)) out.push(`ct_zone=${u(W_CT_ZONE)}`);
  if (u(W_CT_MARK)) out.push(`ct_mark=${hexC(u(W_CT_MARK))}`);
  if (recircId) out.push('eth');
  const type = u(W_DL_TYPE);
  const proto = u(W_NW_PROTO);
  const isIp = type === ETH_TYPE_IP;
  const isArp = type === ETH_TYPE_ARP || type === ETH_TYPE_RARP;
  const shorthand = isIp
    ? (ipProtoShorthand(proto) ?? 'ip')
    : isArp
      ? type === ETH_TYPE_ARP
        ? 'arp'
        : 'rarp'
      : undefined;
  if (shorthand) out.push(shorthand);
  for (let i = 0; i < N_REGS; i++) if (u(W_REG0 + i)) out.push(`reg${i}=${hexC(u(W_REG0 + i))}`);
  const tunId = u(W_TUN_ID_HI) * 0x100000000 + u(W_TUN_ID_LO);
  if (tunId) out.push(`tun_id=${hexC(tunId)}`);
  if (u(W_TUN_SRC) || u(W_TUN_DST))
    out.push(`tun_src=${ipv4ToString(u(W_TUN_SRC))}`, `tun_dst=${ipv4ToString(u(W_TUN_DST))}`);
  out.push(
    `in_port=${formatPort(u(W_IN_PORT))}`,
    'vlan_tci=0x0000',
    `dl_src=${mac(W_DL_SRC_HI)}`,
    `dl_dst=${mac(W_DL_DST_HI)}`,
  );
  if (!shorthand) out.push(`dl_type=0x${type.toString(16).padStart(4, '0')}`);
  if (isArp) {
    out.push(
      `arp_spa=${ipv4ToString(u(W_NW_SRC))}`,
      `arp_tpa=${ipv4ToString(u(W_NW_DST))}`,
      `arp_op=${proto}`,
      `arp_sha=${mac(W_ARP_SHA_HI)}`,
      `arp_tha=${mac(W_ARP_THA_HI)}`,
    );
  } else if (isIp) {
    out.push(`nw_src=${ipv4ToString(u(W_NW_SRC))}`, `nw_dst=${ipv4ToString(u(W_NW_DST))}`);
    if (!ipProtoShorthand(proto)) out.push(`nw_proto=${proto}`);
    const frag = u(W_NW_FRAG);
    out.push(
      `nw_tos=${u(W_NW_TOS) & 0xfc}`,
      `nw_ecn=${u(W_NW_TOS) & 3}`,
      `nw_ttl=${u(W_NW_TTL)}`,
      `nw_frag=${frag & FRAG_LATER ? 'later' : frag & FRAG_ANY ? 'first' : 'no'}`,
    );
    if (proto === IPPROTO_ICMP) out.push(`icmp_type=${u(W_TP_SRC)}`, `icmp_code=${u(W_TP_DST)}`);
    else if (ipProtoShorthand(proto) && proto !== 2) out.push(`tp_src=${u(W_TP_SRC)}`, `tp_dst=${u(W_TP_DST)}`);
    if (proto === IPPROTO_TCP) out.push('tcp_flags=0');
  }
  return out.join(',');
}

/** Section markers the bridge puts in TraceNode.data.section. */
export type BridgeTraceSection = 'flow' | 'summary' | 'recirc';

const RULE = '='.repeat(79);

/** Four spaces per level, like OVS. `data.indent` shifts a node itself, `data.extraIndent` its children. */
function renderNode(n: TraceNode, depth: number, lines: string[]): void {
  const own = depth + (typeof n.data?.indent === 'number' ? n.data.indent : 0);
  lines.push(`${' '.repeat(4 * own)}${n.text}`);
  const extra = typeof n.data?.extraIndent === 'number' ? n.data.extraIndent : 0;
  for (const c of n.children ?? []) renderNode(c, own + 1 + extra, lines);
}

/**
 * Render the TraceNodes that Bridge.process recorded for one packet (top-level nodes: flow lines, bridge
 * sections, summaries and recirculation headers) as ofproto/trace-style text.
 */
export function renderBridgeTrace(nodes: readonly TraceNode[]): string {
  const lines: string[] = [];
  for (const n of nodes) {
    const section = n.data?.section;
    if (section === 'recirc') {
      lines.push('', RULE, n.text, RULE);
    } else if (section === 'flow') {
      if (lines.length) lines.push('');
      lines.push(n.text);
    } else if (section === 'summary') {
      lines.push('');
      for (const c of n.children ?? []) lines.push(c.text);
    } else if (n.kind === 'bridge') {
      lines.push('', n.text, '-'.repeat(n.text.length));
      for (const c of n.children ?? []) renderNode(c, 0, lines);
    } else {
      renderNode(n, 0, lines);
    }
  }
  return lines.join('\n') + '\n';
}

/** ` 0. ct_state=-trk,ip, priority 1000`: a matched flow's line in a trace (built once per flow). */
export function flowTraceText(spec: FlowSpec): string {
  const m = spec.match.format();
  const cookie = spec.cookie !== 0n ? `, cookie 0x${spec.cookie.toString(16)}` : '';
  return `${String(spec.table).padStart(2)}. ${m ? `${m}, ` : ''}priority ${spec.priority}${cookie}`;
}

/** The `Flow:` line and `bridge("br0")` section that open a traced pass (and `thaw` when it resumes a recirculation). */
export function tracePassStart(
  trace: TraceRecorder,
  bridge: string,
  key: Int32Array,
  recircId: number,
  table: number,
): void {
  trace.add('detail', `Flow: ${formatFlowKey(key, recircId)}`, { section: 'flow' });
  trace.open('bridge', `bridge("${bridge}")`, { bridge });
  if (recircId) {
    trace.open('detail', 'thaw', { indent: 1 });
    trace.add('detail', `Resuming from table ${table}`);
    trace.close();
  }
}

/** The summary that closes a traced pass: `Final flow:`, `Datapath actions:`, and a recursion failure. */
export function tracePassEnd(
  trace: TraceRecorder,
  before: Int32Array,
  key: Int32Array,
  recircId: number,
  dpActions: readonly string[],
  tooDeep: boolean,
): void {
  trace.close();
  let changed = false;
  for (let w = 0; w < N_KEY_WORDS; w++) if (before[w] !== key[w]) changed = true;
  trace.open('detail', 'summary', { section: 'summary' });
  trace.add('detail', `Final flow: ${changed ? formatFlowKey(key, recircId) : 'unchanged'}`);
  trace.add('detail', `Datapath actions: ${dpActions.length ? dpActions.join(',') : 'drop'}`);
  if (tooDeep) trace.add('error', 'Translation failed (Recursion too deep), packet is dropped.');
  trace.close();
}

/**
 * The lines of a ct(table=N) that forks a recirculation, its datapath actions, and the header of the resumed pass
 * (returned; `ctState` is what conntrack answered).
 */
export function traceCtRecirc(
  trace: TraceRecorder,
  req: CtRequest,
  isTail: boolean,
  table: number,
  id: number,
  ctState: number,
  dpActions: string[],
): string {
  if (isTail) trace.add('action', 'drop');
  trace.add(
    'detail',
    ` -> A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table ${table}.`,
  );
  trace.add('detail', ' -> Sets the packet to an untracked state, and clears all the conntrack fields.');
  const args = [req.commit ? 'commit' : '', req.zone ? `zone=${req.zone}` : '', req.nat ? 'nat' : '']
    .filter(Boolean)
    .join(',');
  dpActions.push(`ct${args ? `(${args})` : ''}`, `recirc(0x${id.toString(16)})`);
  return `recirc(0x${id.toString(16)}) - resume conntrack with ct_state=${ctStateFlags(ctState) || '0'}`;
}
