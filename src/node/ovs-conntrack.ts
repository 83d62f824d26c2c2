/**
 * OVS's `ct()` action on a node's kernel conntrack: the glue between the OVS datapath and nf_conntrack, as the
 * kernel's ovs_ct_execute (net/openvswitch/conntrack.c) is — neither br0's flow tables nor iptables, so it lives
 * here with the node that owns both. br0 reaches it through BridgeHost.conntrack; it shares the table iptables uses
 * (zone 0), as on a real node.
 *
 *   ct([zone=N])            track (nf_conntrack_in), or reuse the entry the kernel attached (skb_nfct_cached)
 *   ct(nat)                 apply the connection's existing binding in the packet's direction (ovs_ct_nat)
 *   ct(commit,nat(...))     bind a new connection to the range first (nf_nat_setup_info)
 *   ct(commit,exec(...))    store ct_mark (ovs_ct_set_mark), then confirm the entry (nf_conntrack_confirm)
 */

import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { CT_NEW, CT_REL, CT_RPL, CT_TRK } from '../buffer/packet-buffer.js';
import { type ConntrackEntry, IPS_DST_NAT, IPS_SRC_NAT } from '../netfilter/conntrack.js';
import { ctEntryText, ctStateText } from '../netfilter/conntrack-format.js';
import type { Netfilter } from '../netfilter/evaluate.js';
import { MANIP_DST, MANIP_SRC, natInitialized, natRange, setupNat, type ManipType } from '../netfilter/nat.js';
import type { CtRequest } from '../ovs/compile-actions.js';
import type { TraceRecorder } from '../trace/types.js';

/** What ct() asks of conntrack (a CtRequest without the recirculation table; absent fields are off, zone 0). */
export type OvsCtArgs = Partial<Omit<CtRequest, 'table'>>;

/**
 * OVS `ct([commit][,nat][,zone=N])` in the netfilter's conntrack: track (or reuse the entry the kernel attached, as
 * skb_nfct_cached does), with `nat` apply the connection's existing binding in the packet's direction (un-DNAT
 * replies, both manips when the connection has SNAT and DNAT; a NEW connection is not NATed), with `commit`
 * confirm the entry. Sets pkt.ctState/ctZone. Returns why conntrack refused the packet (table full, insert clash:
 * the datapath drops it), or undefined.
 */
export function ovsCtExecute(
  nf: Netfilter,
  pkt: PacketBuffer,
  l3: number,
  args: OvsCtArgs,
  trace?: TraceRecorder,
): string | undefined {
  const zone = args.zone ?? 0;
  const e0 = pkt.ctEntry as ConntrackEntry | null;
  if (e0 && (e0.untracked || e0.zone === zone)) {
    if (!(pkt.ctState & CT_TRK)) pkt.ctState = nf.conntrack.stateOfAttached(pkt, l3);
    if (trace)
      trace.add(
        'ct',
        `ct(zone=${zone}): cached entry ${ctStateText(pkt.ctState)}`,
        { zone, state: ctStateText(pkt.ctState) },
        nf.node,
      );
  } else if (!nf.track(pkt, l3, true, trace, zone)) {
    return nf.lastRule() ?? 'conntrack refused the packet';
  }
  const e = pkt.ctEntry as ConntrackEntry | null;
  const st = pkt.ctState;
  const spec = args.natSpec;
  if (args.nat && spec?.kind && args.commit && e && !e.untracked && !e.confirmed && spec.addrMin !== undefined) {
    // A new connection with an explicit range: bind it (nf_nat_setup_info) and translate this packet.
    const manip = spec.kind === 'src' ? MANIP_SRC : MANIP_DST;
    if (!natInitialized(e, manip)) {
      nf.watch.observer?.veto('NAT binding set up'); // changes the entry: the next packet walks differently
      const random = spec.flags?.includes('random') ?? false;
      const range = natRange(spec.addrMin, spec.addrMax ?? spec.addrMin, spec.portMin, spec.portMax, random);
      setupNat(nf.conntrack, e, manip, range, nf.random);
    }
    nf.applyBinding(pkt, l3, e, 0, manip, trace);
  } else if (
    args.nat &&
    e &&
    !e.untracked &&
    !(st & CT_NEW) &&
    e.status & (IPS_SRC_NAT | IPS_DST_NAT) &&
    (!(st & CT_REL) || st & CT_RPL || args.commit)
  ) {
    const dir = st & CT_RPL ? 1 : 0;
    const srcNat = (e.status & IPS_SRC_NAT) !== 0;
    const first: ManipType = dir === 1 ? (srcNat ? MANIP_DST : MANIP_SRC) : srcNat ? MANIP_SRC : MANIP_DST;
    nf.applyBinding(pkt, l3, e, dir, first, trace);
    if (srcNat && e.status & IPS_DST_NAT)
      nf.applyBinding(pkt, l3, e, dir, first === MANIP_SRC ? MANIP_DST : MANIP_SRC, trace);
  }
  if (args.commit && e && !e.untracked && args.mark !== undefined) {
    e.mark = args.mark >>> 0;
    pkt.ctMark = e.mark;
  }
  if (args.commit && e && !e.untracked && !e.confirmed) {
    if (!nf.conntrack.confirm(pkt, nf.now())) return 'conntrack: insert failed (clash)';
    if (trace) trace.add('ct', `ct(commit): confirmed ${ctEntryText(e)}`, undefined, nf.node);
  }
  return undefined;
}
