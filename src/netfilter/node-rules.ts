/**
 * Everything iptables holds on an OpenShift SDN node: openshift-sdn's chains (openshift/sdn
 * pkg/network/node/iptables.go, `getNodeIPTablesChains` and `ensureEgressIPRules`) plus kube-proxy's
 * (kube-proxy.ts). openshift-sdn sets its rules up first and kube-proxy prepends its jumps later, so kube-proxy's
 * jumps come first in the built-in chains (the order on a node that started normally; it depends on start order).
 *
 * openshift-sdn, per node (masquerade bit 0 in 4.x, so the mark is 0x1):
 *   filter OPENSHIFT-FIREWALL-ALLOW (from INPUT): VXLAN in, `-i tun0` in, and per hosted egress IP
 *          `-d <egressIP>/32 -m conntrack --ctstate NEW -j REJECT` (nothing may connect to an egress IP)
 *   filter OPENSHIFT-ADMIN-OUTPUT-RULES (from FORWARD `-i tun0 ! -o tun0`): empty, for administrators
 *   nat    OPENSHIFT-MASQUERADE (from POSTROUTING): per hosted egress IP `-s <clusterCIDR> -m mark --mark <mark>
 *          -j SNAT --to-source <egressIP>` (prepended), `-m mark --mark 0x1/0x1 -j RETURN` (kube-proxy's),
 *          `-s <clusterCIDR> -j OPENSHIFT-MASQUERADE-2`
 *   nat    OPENSHIFT-MASQUERADE-2: `-d <clusterCIDR> -j RETURN`, `-j MASQUERADE` (pod -> external via node IP)
 *   filter OPENSHIFT-FIREWALL-FORWARD (from FORWARD): INVALID from the cluster dropped, to/from it accepted
 *   filter OPENSHIFT-BLOCK-OUTPUT (from OUTPUT and FORWARD): SYNs to the Machine Config Server 22623/22624 rejected
 *   raw    OPENSHIFT-NOTRACK (from PREROUTING and OUTPUT): `-p udp --dport 4789 -j NOTRACK`
 *
 * The egress-IP mark is getMarkForVNID: VNID 0 -> 0xff000000; if the kubelet drop bit 0x8000 is set,
 * (v|0x10000000)^0x8000; if the masquerade bit is set, (v|0x01000000)^bit; printed "0x%08x", matched exactly.
 */

import { cidrToString, ipv4ToString } from '../../codecs/bytes.js';
import type { Cluster, HostSubnet } from '../cluster/types.js';
import { SharedChains } from './compile.js';
import { Netfilter, type NetfilterOptions } from './evaluate.js';
import { ruleFromArgs } from './iptables-restore.js';
import { addKubeProxyRules, type KubeProxyOptions } from './kube-proxy.js';
import {
  appendRule,
  emptyRuleset,
  ensureChain,
  ensureTable,
  insertRule,
  type Ruleset,
  type TableName,
} from './rules.js';

/** SDN egressip.go defaultKubeletDropBit. */
const KUBELET_DROP_BIT = 0x8000;
/** The node NIC's name (the default-route interface). */
export const NODE_NIC = 'eth0';
export const TUN0 = 'tun0';

export interface NodeRulesOptions {
  /** iptables-masquerade-bit (0 in OpenShift 4.x). */
  masqueradeBit?: number;
  /** kube-proxy's MASQUERADE --random-fully (default true). */
  randomFully?: boolean;
  localDetector?: KubeProxyOptions['localDetector'];
  /** Leave kube-proxy's rules out (only openshift-sdn's). */
  withoutKubeProxy?: boolean;
  /**
   * kube-proxy's rules built once for the whole cluster (sharedKubeProxy, with the same options): the node's
   * Ruleset holds its user chains as they are instead of a copy, and its netfilter evaluates them compiled once.
   */
  kubeProxy?: SharedKubeProxy;
}

/** kube-proxy's rules of a cluster, the same on every node, and their chains compiled once (see SharedChains). */
export interface SharedKubeProxy {
  rules: Ruleset;
  chains: SharedChains;
}

/** kube-proxy's rules for every node of `cluster` (they depend on the cluster, not the node), built and compiled once. */
export function sharedKubeProxy(cluster: Cluster, opts: NodeRulesOptions = {}): SharedKubeProxy {
  const rules = emptyRuleset();
  addKubeProxyRules(rules, cluster, kubeProxyOptions(cluster, opts));
  return { rules, chains: new SharedChains(rules) };
}

function kubeProxyOptions(cluster: Cluster, opts: NodeRulesOptions): KubeProxyOptions {
  return {
    clusterCIDR: cluster.network.clusterNetwork,
    masqueradeBit: opts.masqueradeBit ?? 0,
    randomFully: opts.randomFully ?? true,
    localDetector: opts.localDetector ?? 'cidr',
  };
}

/**
 * Add kube-proxy's rules built beforehand to a node's openshift-sdn rules, ending as addKubeProxyRules on the
 * node's Ruleset would: its jumps first in the built-in chains (copied: their counters are the node's), its user
 * chains after the node's own in each table (shared, never copied here).
 */
function mergeKubeProxy(rs: Ruleset, kp: Ruleset): void {
  for (const [name, kt] of kp.tables) {
    const t = ensureTable(rs, name);
    for (const c of kt.chains.values()) {
      if (c.policy !== undefined) {
        // A built-in chain (only those have a policy).
        const own = t.chains.get(c.name)!;
        own.rules = [...c.rules.map((r) => ({ ...r })), ...own.rules];
      } else {
        if (t.chains.has(c.name))
          throw new Error(`iptables: chain ${c.name} of table ${name} is both openshift-sdn's and kube-proxy's`);
        t.chains.set(c.name, c);
      }
    }
  }
}

/** getMarkForVNID (SDN egressip.go): the pkt_mark that selects a namespace's egress IP SNAT rule. */
export function markForVnid(vnid: number, masqueradeBit = 1): number {
  let v = vnid >>> 0;
  if (v === 0) v = 0xff000000;
  if (v & KUBELET_DROP_BIT) v = ((v | 0x10000000) ^ KUBELET_DROP_BIT) >>> 0;
  if (v & masqueradeBit) v = ((v | 0x01000000) ^ masqueradeBit) >>> 0;
  return v >>> 0;
}

function hostSubnet(cluster: Cluster, node: string): HostSubnet {
  const hs = cluster.hostSubnets.find((h) => h.name === node);
  if (!hs)
    throw new Error(
      `no HostSubnet for node ${JSON.stringify(node)} (known: ${cluster.hostSubnets.map((h) => h.name).join(', ')})`,
    );
  return hs;
}

/** Egress IPs hosted on this node that some NetNamespace claims, with that namespace's mark; sorted by IP. */
export function hostedEgressIps(
  cluster: Cluster,
  node: string,
  masqueradeBit = 1,
): { ip: number; vnid: number; mark: number }[] {
  const hs = hostSubnet(cluster, node);
  const out: { ip: number; vnid: number; mark: number }[] = [];
  for (const ip of hs.egressIPs) {
    const ns = cluster.netNamespaces.find((n) => n.egressIPs.includes(ip));
    if (ns) out.push({ ip, vnid: ns.netid, mark: markForVnid(ns.netid, masqueradeBit) });
  }
  return out.sort((a, b) => a.ip - b.ip);
}

/** The node's iptables ruleset: openshift-sdn's chains plus kube-proxy's. */
export function buildNodeRules(cluster: Cluster, node: string, opts: NodeRulesOptions = {}): Ruleset {
  const rs = emptyRuleset();
  const bitValue = 1 << (opts.masqueradeBit ?? 0);
  const bit = `0x${bitValue.toString(16)}`;
  const net = cluster.network;
  const cidr = cidrToString(net.clusterNetwork);
  const vxlan = String(net.vxlanPort);
  const add = (table: TableName, chain: string, args: string[]): void =>
    appendRule(rs, table, chain, ruleFromArgs(table, args));
  for (const t of ['raw', 'filter', 'nat'] as const) ensureTable(rs, t);

  // getNodeIPTablesChains, in its order; each jump is prepended while walking the list backwards, so jumps from
  // one built-in chain keep list order.
  const chains: { table: TableName; name: string; src?: string; srcRule?: string[]; rules: string[][] }[] = [
    {
      table: 'filter',
      name: 'OPENSHIFT-FIREWALL-ALLOW',
      src: 'INPUT',
      srcRule: ['-m', 'comment', '--comment', 'firewall overrides'],
      rules: [
        ['-p', 'udp', '--dport', vxlan, '-m', 'comment', '--comment', 'VXLAN incoming', '-j', 'ACCEPT'],
        ['-i', TUN0, '-m', 'comment', '--comment', 'from SDN to localhost', '-j', 'ACCEPT'],
      ],
    },
    {
      table: 'filter',
      name: 'OPENSHIFT-ADMIN-OUTPUT-RULES',
      src: 'FORWARD',
      srcRule: ['-i', TUN0, '!', '-o', TUN0, '-m', 'comment', '--comment', 'administrator overrides'],
      rules: [],
    },
    {
      table: 'nat',
      name: 'OPENSHIFT-MASQUERADE',
      src: 'POSTROUTING',
      srcRule: ['-m', 'comment', '--comment', 'rules for masquerading OpenShift traffic'],
      rules: [
        ['-m', 'mark', '--mark', `${bit}/${bit}`, '-j', 'RETURN'],
        [
          '-s',
          cidr,
          '-m',
          'comment',
          '--comment',
          'masquerade pod-to-external traffic',
          '-j',
          'OPENSHIFT-MASQUERADE-2',
        ],
      ],
    },
    {
      table: 'filter',
      name: 'OPENSHIFT-FIREWALL-FORWARD',
      src: 'FORWARD',
      srcRule: ['-m', 'comment', '--comment', 'firewall overrides'],
      rules: [
        [
          '-s',
          cidr,
          '-m',
          'comment',
          '--comment',
          'attempted resend after connection close',
          '-m',
          'conntrack',
          '--ctstate',
          'INVALID',
          '-j',
          'DROP',
        ],
        ['-d', cidr, '-m', 'comment', '--comment', 'forward traffic from SDN', '-j', 'ACCEPT'],
        ['-s', cidr, '-m', 'comment', '--comment', 'forward traffic to SDN', '-j', 'ACCEPT'],
      ],
    },
    {
      table: 'nat',
      name: 'OPENSHIFT-MASQUERADE-2',
      rules: [
        ['-d', cidr, '-m', 'comment', '--comment', 'masquerade pod-to-external traffic', '-j', 'RETURN'],
        ['-j', 'MASQUERADE'],
      ],
    },
    {
      table: 'filter',
      name: 'OPENSHIFT-BLOCK-OUTPUT',
      src: 'OUTPUT',
      srcRule: ['-m', 'comment', '--comment', 'firewall overrides'],
      rules: [
        ['-p', 'tcp', '-m', 'tcp', '--dport', '22623', '--syn', '-j', 'REJECT'],
        ['-p', 'tcp', '-m', 'tcp', '--dport', '22624', '--syn', '-j', 'REJECT'],
      ],
    },
    {
      table: 'filter',
      name: 'OPENSHIFT-BLOCK-OUTPUT',
      src: 'FORWARD',
      srcRule: ['-m', 'comment', '--comment', 'firewall overrides'],
      rules: [],
    },
    {
      table: 'raw',
      name: 'OPENSHIFT-NOTRACK',
      src: 'OUTPUT',
      srcRule: ['-m', 'comment', '--comment', 'disable conntrack for vxlan'],
      rules: [['-p', 'udp', '--dport', vxlan, '-j', 'NOTRACK']],
    },
    {
      table: 'raw',
      name: 'OPENSHIFT-NOTRACK',
      src: 'PREROUTING',
      srcRule: ['-m', 'comment', '--comment', 'disable conntrack for vxlan'],
      rules: [['-p', 'udp', '--dport', vxlan, '-j', 'NOTRACK']],
    },
  ];
  for (const c of chains) {
    const chain = ensureChain(rs, c.table, c.name);
    // The same chain listed twice (two jumps) gets its rules once (EnsureRule).
    if (chain.rules.length === 0) for (const r of c.rules) add(c.table, c.name, r);
    if (c.src) add(c.table, c.src, [...c.srcRule!, '-j', c.name]);
  }

  // Egress IPs hosted here (ensureEgressIPRules): SNAT prepended to OPENSHIFT-MASQUERADE, REJECT appended.
  const egress = hostedEgressIps(cluster, node, bitValue);
  for (let i = egress.length - 1; i >= 0; i--) {
    const e = egress[i]!;
    const markText = `0x${e.mark.toString(16).padStart(8, '0')}`;
    insertRule(
      rs,
      'nat',
      'OPENSHIFT-MASQUERADE',
      ruleFromArgs('nat', [
        '-s',
        cidr,
        '-m',
        'mark',
        '--mark',
        markText,
        '-j',
        'SNAT',
        '--to-source',
        ipv4ToString(e.ip),
      ]),
    );
  }
  for (const e of egress)
    add('filter', 'OPENSHIFT-FIREWALL-ALLOW', [
      '-d',
      ipv4ToString(e.ip),
      '-m',
      'conntrack',
      '--ctstate',
      'NEW',
      '-j',
      'REJECT',
    ]);

  if (opts.kubeProxy) mergeKubeProxy(rs, opts.kubeProxy.rules);
  else if (!opts.withoutKubeProxy) addKubeProxyRules(rs, cluster, kubeProxyOptions(cluster, opts));
  return rs;
}

/** The node's interface addresses netfilter needs (primary first): NIC = node IP + egress IPs, tun0 = gateway. */
export function nodeInterfaces(cluster: Cluster, node: string): Record<string, number[]> {
  const hs = hostSubnet(cluster, node);
  const gateway = (hs.subnet.network | 1) >>> 0; // GenerateDefaultGateway: subnet base with the low bit set
  return { [NODE_NIC]: [hs.hostIP, ...hs.egressIPs], [TUN0]: [gateway], lo: [0x7f000001] };
}

/** A node's netfilter: its rules, interface addresses and a seeded random source. */
export function createNodeNetfilter(
  cluster: Cluster,
  node: string,
  opts: NetfilterOptions & NodeRulesOptions = {},
): Netfilter {
  return new Netfilter(buildNodeRules(cluster, node, opts), {
    ...opts,
    node: opts.node ?? node,
    interfaces: opts.interfaces ?? nodeInterfaces(cluster, node),
    shared: opts.shared ?? opts.kubeProxy?.chains,
  });
}
