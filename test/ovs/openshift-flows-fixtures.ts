/**
 * Small hand-built clusters for the OpenShift flow tests, independent of the YAML loader. The reference node is the
 * one of shared/research/openshift-sdn.md §1 (openshift/sdn's ovscontroller_test.go): node subnet 10.128.0.0/23,
 * gateway 10.128.0.1, node IP 172.17.0.4, remote node 10.0.123.45 with 10.128.2.0/23 (HostSubnet UID "node1UID"),
 * pod 10.128.0.2 on ofport 3 with VNID 42.
 */

import { cidr, ipv4, mac } from '../../codecs/bytes.js';
import type { Cluster, HostSubnet, NetNamespace, Pod, PluginMode } from '../../src/cluster/types.js';

export const TUN0_MAC = 'c6:ac:2c:13:48:4b';

export function hostSubnet(name: string, hostIP: string, subnet: string, egressIPs: string[] = []): HostSubnet {
  return {
    name,
    hostIP: ipv4(hostIP),
    subnet: cidr(subnet),
    egressIPs: egressIPs.map(ipv4),
    egressCIDRs: [],
    uid: `${name}UID`,
    nicMac: mac('00:0d:3a:00:00:01'),
    tun0Mac: mac(name === 'node0' ? TUN0_MAC : '0a:00:00:00:00:01'),
  };
}

export function netNamespace(name: string, netid: number, extra: Partial<NetNamespace> = {}): NetNamespace {
  return { name, netid, egressIPs: [], multicast: false, ...extra };
}

export function pod(
  namespace: string,
  name: string,
  node: string,
  ip: string,
  labels: Record<string, string> = {},
  hostNetwork = false,
): Pod {
  const a = ipv4(ip);
  return {
    namespace,
    name,
    node,
    ip: a,
    hostNetwork,
    labels,
    mac: 0x0a5800000000 + a,
    ports: [],
  };
}

export function makeCluster(mode: PluginMode, parts: Partial<Cluster> = {}): Cluster {
  return {
    network: {
      name: 'default',
      clusterNetwork: cidr('10.128.0.0/14'),
      hostSubnetLength: 9,
      serviceNetwork: cidr('172.30.0.0/16'),
      mode,
      mtu: 1500,
      vxlanPort: 4789,
    },
    hostSubnets: [
      hostSubnet('node0', '172.17.0.4', '10.128.0.0/23'),
      hostSubnet('node1', '10.0.123.45', '10.128.2.0/23'),
    ],
    netNamespaces: [netNamespace('default', 0), netNamespace('ns1', 42)],
    pods: [pod('ns1', 'pod-a', 'node0', '10.128.0.2')],
    services: [],
    endpoints: [],
    egressNetworkPolicies: [],
    networkPolicies: [],
    underlay: {
      cidr: cidr('172.17.0.0/16'),
      gateway: ipv4('172.17.0.1'),
      gatewayMac: mac('12:34:56:78:9a:bc'),
      mtu: 1500,
    },
    externalHosts: [],
    ...parts,
  };
}

/** enp1 of ovscontroller_test.go: Allow 192.168.0.0/16, Deny 192.168.1.0/24, Allow 192.168.1.1/32. */
export const ENP1_RULES = [
  { type: 'Allow' as const, cidrSelector: cidr('192.168.0.0/16') },
  { type: 'Deny' as const, cidrSelector: cidr('192.168.1.0/24') },
  { type: 'Allow' as const, cidrSelector: cidr('192.168.1.1/32') },
];

/**
 * The reference node, fleshed out so every table has content: multitenant; ns1 (VNID 42) with pod-a on ofport 3
 * and EgressNetworkPolicy enp1; namespace mcast (VNID 99, multicast) with three pods on ofports 4-6; namespace eip
 * (VNID 37) whose egress IP 10.0.12.100 is held by node3 (10.0.12.34); remote nodes 10.0.123.45, 10.0.45.123 and
 * 10.0.12.34.
 */
export function referenceCluster(mode: PluginMode = 'multitenant'): Cluster {
  return makeCluster(mode, {
    hostSubnets: [
      hostSubnet('node0', '172.17.0.4', '10.128.0.0/23'),
      hostSubnet('node1', '10.0.123.45', '10.128.2.0/23'),
      hostSubnet('node2', '10.0.45.123', '10.129.0.0/23'),
      hostSubnet('node3', '10.0.12.34', '10.130.0.0/23', ['10.0.12.100']),
    ],
    netNamespaces: [
      netNamespace('default', 0),
      netNamespace('ns1', 42),
      netNamespace('mcast', 99, { multicast: true }),
      netNamespace('eip', 37, { egressIPs: [ipv4('10.0.12.100')] }),
    ],
    pods: [
      pod('ns1', 'pod-a', 'node0', '10.128.0.2'),
      pod('mcast', 'm1', 'node0', '10.128.0.3'),
      pod('mcast', 'm2', 'node0', '10.128.0.4'),
      pod('mcast', 'm3', 'node0', '10.128.0.5'),
      pod('eip', 'e1', 'node1', '10.128.2.2'),
    ],
    egressNetworkPolicies: [{ namespace: 'ns1', name: 'enp1', rules: ENP1_RULES }],
  });
}
