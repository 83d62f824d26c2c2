/**
 * Egress IPs, 4.x style (openshift-sdn since 2021-05): table 101 sends a namespace's external traffic to an OVS
 * select group numbered by its VNID; each bucket is one node that holds one of the namespace's egress IPs.
 *
 *   remote egress node: bucket=actions=move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:<nodeIP>->tun_dst,output:1
 *   this node holds it: bucket=actions=set_field:<tun0 MAC>->eth_dst,set_field:<mark>->pkt_mark,output:2 (only bucket)
 *   table 101:          priority=100,ip,reg0=V actions=ct(commit),group:V   (no ct(commit) when the bucket is local)
 *   no node holds one:  priority=100,reg0=V actions=drop
 *
 * Which egress IPs are usable follows common.EgressIPTracker: an IP claimed by two namespaces stops the namespace's
 * egress (drop); an IP held by no node or by two nodes, or two of the namespace's IPs on the same node, is skipped.
 * Simplified: nodes are never offline (no ping monitor), and egressCIDRs auto-assignment is not modelled (only the
 * IPs listed in HostSubnet.egressIPs count). Group text is the `ovs-ofctl -O OpenFlow13 dump-groups` normal form
 * (ports by number, pkt_mark in hex without padding) and loads with `add-groups`.
 */

import { type Ipv4Address, ipv4ToString, macToString } from '../../codecs/bytes.js';
import type { HostSubnet, NetNamespace } from '../cluster/types.js';
import { netNamespacesByVnid, type SdnNodeContext, TUN0_OFPORT, VXLAN0_OFPORT } from './openshift-context.js';
import type { FlowSpec } from './openshift-flow-text.js';

/** Kubelet's drop mark bit (egressip.go defaultKubeletDropBit); egress marks must avoid it. */
export const KUBELET_DROP_BIT = 0x8000;
/** KUBE-MARK-MASQ in 4.x: CNO sets iptables-masquerade-bit 0, so the mask is 1 << 0. */
export const DEFAULT_MASQUERADE_BIT = 0x1;

/**
 * getMarkForVNID: the pkt_mark (and iptables `--mark`) for a namespace's egress traffic. Never 0, never has the
 * masquerade or kubelet drop bit, and distinct per VNID. `masqueradeBit` is the bit's value (1 << n), not n.
 */
export function egressMark(vnid: number, masqueradeBit: number = DEFAULT_MASQUERADE_BIT): number {
  let v = vnid >>> 0;
  if (v === 0) v = 0xff000000;
  if ((v & KUBELET_DROP_BIT) !== 0) v = ((v | 0x10000000) ^ KUBELET_DROP_BIT) >>> 0;
  if ((v & masqueradeBit) !== 0) v = ((v | 0x01000000) ^ masqueradeBit) >>> 0;
  return v >>> 0;
}

/** One usable egress IP of a namespace and the node that holds it (common.EgressIPAssignment). */
export interface EgressIpAssignment {
  egressIP: Ipv4Address;
  node: HostSubnet;
}

/** Per VNID with egress IPs: the usable assignments in the namespace's order (empty = drop its traffic). */
export function egressIpAssignments(ctx: SdnNodeContext): Map<number, EgressIpAssignment[]> {
  const out = new Map<number, EgressIpAssignment[]>();
  const { cluster } = ctx;
  const byVnid = [...netNamespacesByVnid(cluster).values()].filter((ns) => ns.egressIPs.length > 0);
  const claimants = (ip: Ipv4Address): NetNamespace[] => byVnid.filter((ns) => ns.egressIPs.includes(ip));
  const holders = (ip: Ipv4Address): HostSubnet[] => cluster.hostSubnets.filter((h) => h.egressIPs.includes(ip));
  for (const ns of byVnid) {
    let active: EgressIpAssignment[] = [];
    for (const ip of ns.egressIPs) {
      if (claimants(ip).length > 1) {
        active = []; // "gets no egress due to multiply-assigned egress IP"
        break;
      }
      const nodes = holders(ip);
      if (nodes.length !== 1) continue; // unassigned, or claimed by several nodes
      const node = nodes[0]!;
      const sameNode = ns.egressIPs.some(
        (other) => other !== ip && holders(other).length === 1 && holders(other)[0] === node,
      );
      if (sameNode) continue; // "Multiple EgressIPs for VNID on node"
      active.push({ egressIP: ip, node });
    }
    out.set(ns.netid, active);
  }
  return out;
}

/** Table 101 flows and the select groups for this node (SetNamespaceEgressViaEgressIPs / ...Dropped). */
export function egressIpFlowsAndGroups(ctx: SdnNodeContext): { flows: FlowSpec[]; groups: string[] } {
  const flows: FlowSpec[] = [];
  const groups: string[] = [];
  const byVnid = [...egressIpAssignments(ctx)].sort((a, b) => a[0] - b[0]);
  for (const [vnid, active] of byVnid) {
    if (active.length === 0) {
      flows.push({ table: 101, priority: 100, match: { reg0: vnid }, actions: 'drop' });
      continue;
    }
    let buckets: string[] = [];
    let local = false;
    for (const a of active) {
      if (a.node.hostIP === ctx.localIP) {
        // This node SNATs itself: the frame may have come over VXLAN addressed to the source node's tun0 MAC.
        const mark = `0x${egressMark(vnid).toString(16)}`;
        buckets = [
          `set_field:${macToString(ctx.local.tun0Mac)}->eth_dst,set_field:${mark}->pkt_mark,output:${TUN0_OFPORT}`,
        ];
        local = true;
        break;
      }
      const tunDst = ipv4ToString(a.node.hostIP);
      buckets.push(`move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31],set_field:${tunDst}->tun_dst,output:${VXLAN0_OFPORT}`);
    }
    groups.push(`group_id=${vnid},type=select,${buckets.map((b) => `bucket=actions=${b}`).join(',')}`);
    // ct(commit) makes the egress node's reply, which comes back over VXLAN with VNID 0, a +rpl here.
    const actions = `${local ? '' : 'ct(commit),'}group:${vnid}`;
    flows.push({ table: 101, priority: 100, match: { proto: 'ip', reg0: vnid }, actions });
  }
  return { flows, groups };
}
