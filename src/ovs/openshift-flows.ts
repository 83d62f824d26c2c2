/**
 * The br0 flow set openshift-sdn programs on one node (openshift/sdn HEAD layout, tables 0 to 253), generated from
 * the cluster model as `ovs-ofctl -O OpenFlow13 dump-flows br0 --no-stats` would print it (see
 * openshift-flow-text.ts for the exact form) and loadable back with `ovs-ofctl -O OpenFlow13 add-flows br0 -`.
 *
 * Sources: SDN ovscontroller.go (SetupOVS, setupPodFlows, AddHostSubnetRules, UpdateEgressNetworkPolicyRules,
 * UpdateLocalMulticastFlows, UpdateVXLANMulticastFlows), singletenant.go / multitenant.go / networkpolicy.go
 * (tables 27, 30, 80), egressip.go (table 101 and groups); facts in shared/research/openshift-sdn.md §1, §4, §6.
 *
 * Omitted on purpose:
 * - the OVN-Kubernetes hybrid-overlay flows in table 10 (priority 210/200, SDN live migration only);
 * - the `pod.network.openshift.io/fixed-vnid-host` HostSubnet annotation (`load:<vnid>->NXM_NX_TUN_ID` in tables
 *   50/90): the model has no annotations;
 * - EgressNetworkPolicy dnsName rules (the model has CIDR selectors only);
 * - NetworkPolicy's transient isolation flows (openshift-netpol.ts).
 * Egress router pods need nothing here beyond their ordinary pod flows: their macvlan0 sits on the node NIC,
 * outside OVS (research §2, §4).
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import type { Cluster, Pod } from '../cluster/types.js';
import {
  buildNodeContext,
  FIRST_POD_OFPORT,
  hostSubnetCookie,
  isLocalSdnPod,
  type NodePorts,
  podKey,
  type SdnNodeContext,
  TUN0_OFPORT,
  VXLAN0_OFPORT,
} from './openshift-context.js';
import { type FlowSpec, FlowSet, ofHex } from './openshift-flow-text.js';
import { egressIpFlowsAndGroups } from './openshift-groups.js';
import { networkPolicyFlows } from './openshift-netpol.js';

export type { NodePorts } from './openshift-context.js';
export { egressMark } from './openshift-groups.js';

/**
 * Rule version in the table 253 note. openshift/sdn bumps it whenever the flows change; 13 is the layout described
 * here (a later HEAD shows 0x0E, which adds the hybrid-overlay flows this module omits).
 */
export const RULE_VERSION = 13;
/** node.go plugin ids, the first byte of the note. */
export const PLUGIN_IDS = { subnet: 0, multitenant: 1, networkpolicy: 2 } as const;
/** Multicast destinations (224.0.0.0/4). */
const MULTICAST = { network: 0xe0000000, prefix: 4, mask: 0xf0000000 };

const TUN_ID_FROM_REG0 = 'move:NXM_NX_REG0[]->NXM_NX_TUN_ID[0..31]';
const REG0_FROM_TUN_ID = 'move:NXM_NX_TUN_ID[0..31]->NXM_NX_REG0[]';
const OUTPUT_REG2 = 'output:NXM_NX_REG2[]';

/** ofports: vxlan0 = 1, tun0 = 2, then each pod of this node on the pod network from 3, in cluster.pods order. */
export function assignPodPorts(cluster: Cluster, node: string): NodePorts {
  const pods = new Map<string, number>();
  let next = FIRST_POD_OFPORT;
  for (const p of cluster.pods) if (isLocalSdnPod(p, node)) pods.set(podKey(p), next++);
  return { pods };
}

/**
 * The table 253 note action as OVS prints it: SDN writes `note:%02X.%02X` (plugin id, rule version); OVS stores the
 * two bytes padded with zeros to the 8-byte action boundary and dumps them lowercase: `note:00.0d.00.00.00.00`.
 */
export function versionNote(mode: keyof typeof PLUGIN_IDS): string {
  const hex = (v: number): string => v.toString(16).padStart(2, '0');
  return `note:${hex(PLUGIN_IDS[mode])}.${hex(RULE_VERSION)}.00.00.00.00`;
}

/** `00:00:0a:80:00:02/00:00:ff:ff:ff:ff`: table 20's ARP check that the sender MAC's low 4 bytes are the IP. */
function ipMacMatch(ip: number): string {
  const b = [ip >>> 24, (ip >>> 16) & 0xff, (ip >>> 8) & 0xff, ip & 0xff].map((x) => x.toString(16).padStart(2, '0'));
  return `00:00:${b.join(':')}/00:00:ff:ff:ff:ff`;
}

/** SetupOVS: the skeleton every node has, before pods, nodes and policies. */
function setupFlows(ctx: SdnNodeContext): FlowSpec[] {
  const { clusterCidr: cluster, subnet, gateway, serviceCidr } = ctx;
  const vxlanPort = ctx.cluster.network.vxlanPort;
  const f = (table: number, priority: number | undefined, match: FlowSpec['match'], actions: string): FlowSpec => ({
    table,
    priority,
    match,
    actions,
  });
  return [
    // Table 0: conntrack for every IP packet, then dispatch on in_port.
    f(0, 1000, { ctState: '-trk', proto: 'ip' }, 'ct(table=0)'),
    f(
      0,
      200,
      { proto: 'arp', inPort: VXLAN0_OFPORT, nwSrc: cluster, nwDst: subnet },
      `${REG0_FROM_TUN_ID},goto_table:10`,
    ),
    f(0, 200, { proto: 'ip', inPort: VXLAN0_OFPORT, nwSrc: cluster }, `${REG0_FROM_TUN_ID},goto_table:10`),
    f(0, 200, { proto: 'ip', inPort: VXLAN0_OFPORT, nwDst: cluster }, `${REG0_FROM_TUN_ID},goto_table:10`),
    f(0, 150, { inPort: VXLAN0_OFPORT }, 'drop'),
    f(0, 400, { proto: 'ip', inPort: TUN0_OFPORT, nwSrc: gateway }, 'goto_table:30'),
    // Service traffic back from iptables after DNAT: reload the client's VNID in table 25.
    f(0, 300, { proto: 'ip', inPort: TUN0_OFPORT, nwSrc: subnet, nwDst: cluster }, 'goto_table:25'),
    f(0, 250, { proto: 'ip', inPort: TUN0_OFPORT, nwDst: MULTICAST }, 'drop'),
    f(0, 200, { proto: 'arp', inPort: TUN0_OFPORT, nwSrc: gateway, nwDst: cluster }, 'goto_table:30'),
    f(0, 200, { proto: 'ip', inPort: TUN0_OFPORT }, 'goto_table:30'),
    f(0, 150, { inPort: TUN0_OFPORT }, 'drop'),
    f(0, 100, { proto: 'arp' }, 'goto_table:20'),
    f(0, 100, { proto: 'ip' }, 'goto_table:20'),
    f(0, 0, {}, 'drop'),
    f(10, 0, {}, 'drop'),
    // Table 20: pods may not send VXLAN themselves.
    f(20, 300, { proto: 'udp', tpDst: vxlanPort }, 'drop'),
    f(20, 0, {}, 'drop'),
    f(25, 0, {}, 'drop'),
    f(27, 0, {}, 'drop'),
    f(30, 0, {}, 'goto_table:31'),
    // Table 31: general routing.
    f(31, 300, { proto: 'arp', nwDst: gateway }, `output:${TUN0_OFPORT}`),
    f(31, 200, { proto: 'arp', nwDst: subnet }, 'goto_table:40'),
    f(31, 100, { proto: 'arp', nwDst: cluster }, 'goto_table:50'),
    f(31, 300, { proto: 'ip', nwDst: gateway }, `output:${TUN0_OFPORT}`),
    f(31, 100, { proto: 'ip', nwDst: serviceCidr }, 'goto_table:60'),
    // Replies to a local pod: undo service DNAT / egress SNAT inside OVS.
    f(31, 250, { ctState: '+rpl', proto: 'ip', nwDst: subnet }, 'ct(table=70,nat)'),
    f(31, 200, { proto: 'ip', nwDst: subnet }, 'goto_table:70'),
    f(31, 100, { proto: 'ip', nwDst: cluster }, 'goto_table:90'),
    f(31, 50, { proto: 'ip', inPort: VXLAN0_OFPORT, nwDst: MULTICAST }, 'goto_table:120'),
    f(31, 25, { proto: 'ip', nwDst: MULTICAST }, 'goto_table:110'),
    f(31, 0, { proto: 'ip' }, 'goto_table:99'),
    f(31, 0, { proto: 'arp' }, 'drop'),
    f(40, 0, {}, 'drop'),
    f(50, 0, {}, 'drop'),
    // Table 60: every service packet goes to tun0, where kube-proxy's iptables DNAT it (one flow since 2023).
    f(60, 200, {}, `output:${TUN0_OFPORT}`),
    f(70, 0, {}, 'drop'),
    // Table 80: the node itself may always reach its pods.
    f(80, 300, { proto: 'ip', nwSrc: gateway }, OUTPUT_REG2),
    f(80, 0, {}, 'drop'),
    f(90, 0, {}, 'drop'),
    // Table 99: DNS to the node IP bypasses egress IPs and EgressNetworkPolicy.
    f(99, 200, { proto: 'tcp', nwDst: ctx.localIP, tpDst: 53 }, `output:${TUN0_OFPORT}`),
    f(99, 200, { proto: 'udp', nwDst: ctx.localIP, tpDst: 53 }, `output:${TUN0_OFPORT}`),
    f(99, 0, {}, 'goto_table:100'),
    f(100, 0, {}, 'goto_table:101'),
    // Table 101: replies never use an egress IP.
    f(101, 150, { ctState: '+rpl' }, `output:${TUN0_OFPORT}`),
    f(101, 0, {}, `output:${TUN0_OFPORT}`),
    f(110, 0, {}, 'drop'),
    f(120, 0, {}, 'drop'),
    // FinishSetupOVS: the version note, at the default priority.
    f(253, undefined, {}, versionNote(ctx.mode)),
  ];
}

/** setupPodFlows: anti-spoofing and VNID in (20, 25), delivery out (40, 70). */
function podFlows(ctx: SdnNodeContext): FlowSpec[] {
  const flows: FlowSpec[] = [];
  for (const { pod, ofport, vnid } of ctx.localPods) {
    const load = `load:${ofHex(vnid)}->NXM_NX_REG0[]`;
    flows.push(
      {
        table: 20,
        priority: 100,
        match: { proto: 'arp', inPort: ofport, nwSrc: pod.ip, arpSha: ipMacMatch(pod.ip) },
        actions: `${load},goto_table:30`,
      },
      {
        table: 20,
        priority: 100,
        match: { proto: 'ip', inPort: ofport, nwSrc: pod.ip },
        actions: `${load},goto_table:27`,
      },
      { table: 25, priority: 100, match: { proto: 'ip', nwSrc: pod.ip }, actions: `${load},goto_table:27` },
      { table: 40, priority: 100, match: { proto: 'arp', nwDst: pod.ip }, actions: `output:${ofport}` },
      {
        table: 70,
        priority: 100,
        match: { proto: 'ip', nwDst: pod.ip },
        actions: `load:${ofHex(vnid)}->NXM_NX_REG1[],load:${ofHex(ofport)}->NXM_NX_REG2[],goto_table:80`,
      },
    );
  }
  return flows;
}

/** AddHostSubnetRules: accept VXLAN from each other node (10) and route ARP/IP to its subnet (50, 90). */
function hostSubnetFlows(ctx: SdnNodeContext): FlowSpec[] {
  const flows: FlowSpec[] = [];
  for (const hs of ctx.remotes) {
    const cookie = hostSubnetCookie(hs.uid);
    const toNode = `${TUN_ID_FROM_REG0},set_field:${ipv4ToString(hs.hostIP)}->tun_dst,output:${VXLAN0_OFPORT}`;
    flows.push(
      { table: 10, priority: 100, cookie, match: { tunSrc: hs.hostIP }, actions: 'goto_table:30' },
      { table: 50, priority: 100, cookie, match: { proto: 'arp', nwDst: hs.subnet }, actions: toNode },
      { table: 90, priority: 100, cookie, match: { proto: 'ip', nwDst: hs.subnet }, actions: toNode },
    );
  }
  return flows;
}

/** Tables 27 and 80 for the plugin in use (singletenant.go, multitenant.go, networkpolicy.go Start/EnsureVNIDRules). */
function isolationFlows(ctx: SdnNodeContext): FlowSpec[] {
  switch (ctx.mode) {
    case 'subnet':
      return [
        { table: 27, priority: 500, match: {}, actions: 'goto_table:30' },
        { table: 80, priority: 200, match: {}, actions: OUTPUT_REG2 },
      ];
    case 'multitenant': {
      const flows: FlowSpec[] = [
        { table: 27, priority: 500, match: {}, actions: 'goto_table:30' },
        // VNID 0 is global: it reaches and is reachable from every namespace.
        { table: 80, priority: 200, match: { reg0: 0 }, actions: OUTPUT_REG2 },
        { table: 80, priority: 200, match: { reg1: 0 }, actions: OUTPUT_REG2 },
      ];
      const inUse = [...new Set(ctx.localPods.map((p) => p.vnid))].filter((v) => v !== 0).sort((a, b) => a - b);
      for (const v of inUse)
        flows.push({ table: 80, priority: 100, match: { reg0: v, reg1: v }, actions: OUTPUT_REG2 });
      return flows;
    }
    case 'networkpolicy':
      return networkPolicyFlows(ctx);
  }
}

/** Normalises an EgressNetworkPolicy selector: 0.0.0.0/0 (and the legacy 0.0.0.0/32) mean "everywhere". */
function isEverywhere(c: { network: number; prefix: number }): boolean {
  return c.network === 0 && (c.prefix === 0 || c.prefix === 32);
}

/**
 * UpdateEgressNetworkPolicyRules, table 100, for every namespace of the cluster (not only those with local pods:
 * an egress-IP node applies a remote namespace's policy again). Rule i of n gets priority n - i.
 */
function egressNetworkPolicyFlows(ctx: SdnNodeContext): FlowSpec[] {
  const flows: FlowSpec[] = [];
  const vnids = [...new Set(ctx.cluster.egressNetworkPolicies.map((p) => ctx.vnidOf(p.namespace)))].sort(
    (a, b) => a - b,
  );
  for (const vnid of vnids) {
    const policies = ctx.cluster.egressNetworkPolicies.filter((p) => ctx.vnidOf(p.namespace) === vnid);
    const namespaces = ctx.cluster.netNamespaces.filter((ns) => ns.netid === vnid);
    if (vnid === 0) continue; // "EgressNetworkPolicy in global network namespace is not allowed"
    if (namespaces.length > 1 || policies.length > 1) {
      // Shared NetNamespace, or several policies: SDN refuses to guess and drops all the namespace's egress.
      flows.push({ table: 100, priority: 1, match: { reg0: vnid }, actions: 'drop' });
      continue;
    }
    const rules = policies[0]!.rules;
    rules.forEach((rule, i) => {
      flows.push({
        table: 100,
        priority: rules.length - i,
        match: { proto: 'ip', reg0: vnid, nwDst: isEverywhere(rule.cidrSelector) ? undefined : rule.cidrSelector },
        actions: rule.type === 'Allow' ? 'goto_table:101' : 'drop',
      });
    });
  }
  return flows;
}

/**
 * Multicast (tables 110, 111, 120). Subnet mode has no per-namespace multicast. Multitenant programs table 110 for
 * every multicast-enabled VNID when it sees the NetNamespace; networkpolicy mode only when a pod of the VNID starts
 * on this node (the pod manager's UpdateLocalMulticastRules), so only VNIDs with local pods there.
 */
function multicastFlows(ctx: SdnNodeContext): FlowSpec[] {
  const flows: FlowSpec[] = [];
  // UpdateVXLANMulticastFlows: head-end replication to every other node, actions sorted as strings.
  const remote = ctx.remotes
    .map((hs) => `set_field:${ipv4ToString(hs.hostIP)}->tun_dst,output:${VXLAN0_OFPORT}`)
    .sort();
  flows.push({
    table: 111,
    priority: 100,
    match: {},
    actions: remote.length > 0 ? `${TUN_ID_FROM_REG0},${remote.join(',')},goto_table:120` : 'goto_table:120',
  });
  if (ctx.mode === 'subnet') return flows;
  const enabled = new Set(ctx.cluster.netNamespaces.filter((ns) => ns.multicast).map((ns) => ns.netid));
  const localVnids = new Set(ctx.localPods.map((p) => p.vnid));
  const vnids = [...enabled].filter((v) => ctx.mode === 'multitenant' || localVnids.has(v)).sort((a, b) => a - b);
  for (const vnid of vnids) {
    flows.push({ table: 110, match: { reg0: vnid }, actions: 'goto_table:111' });
    // Every local pod of the VNID, the sender included (OVS skips output to the in_port); sorted as strings.
    const outputs = ctx.localPods
      .filter((p) => p.vnid === vnid)
      .map((p) => `output:${p.ofport}`)
      .sort();
    if (outputs.length > 0)
      flows.push({ table: 120, priority: 100, match: { reg0: vnid }, actions: outputs.join(',') });
  }
  return flows;
}

/** Egress IPs and EgressNetworkPolicy need VNIDs: SDN runs them only with the multitenant and networkpolicy plugins. */
function supportsVnids(ctx: SdnNodeContext): boolean {
  return ctx.mode !== 'subnet';
}

/**
 * Every flow of br0 on `node` (lines with `table=N, ` prefixes, ordered by table, priority from high to low, then
 * SDN's insertion order) and the egress-IP select groups (`group_id=V,type=select,bucket=...`, by group id).
 * `podsOfNode`, when the caller has it, is this node's pods in cluster order (saves a scan of every pod).
 */
export function generateNodeFlows(
  cluster: Cluster,
  node: string,
  ports: NodePorts,
  podsOfNode?: readonly Pod[],
): { flows: string[]; groups: string[] } {
  const ctx = buildNodeContext(cluster, node, ports, podsOfNode);
  const set = new FlowSet();
  const add = (flows: FlowSpec[]): void => {
    for (const f of flows) set.add(f);
  };
  add(setupFlows(ctx));
  add(isolationFlows(ctx));
  add(podFlows(ctx));
  add(hostSubnetFlows(ctx));
  add(multicastFlows(ctx));
  let groups: string[] = [];
  if (supportsVnids(ctx)) {
    add(egressNetworkPolicyFlows(ctx));
    const egress = egressIpFlowsAndGroups(ctx);
    add(egress.flows);
    groups = egress.groups;
  }
  return { flows: set.lines(), groups };
}
