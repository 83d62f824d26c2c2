/**
 * What one node's openshift-sdn process knows when it programs br0: its own HostSubnet and gateway, the other
 * nodes, its local pods with their ofports and VNIDs, and how namespaces map to VNIDs. Built once per node from the
 * cluster model and shared by the table generators (openshift-flows.ts, openshift-netpol.ts, openshift-groups.ts).
 */

import { createHash } from 'node:crypto';
import type { Ipv4Address, Ipv4Cidr } from '../../codecs/bytes.js';
import type { Cluster, HostSubnet, NetNamespace, Pod, PluginMode } from '../cluster/types.js';

/** ofports SDN creates itself (SetupOVS: `ofport_request=1` for vxlan0, 2 for tun0). */
export const VXLAN0_OFPORT = 1;
export const TUN0_OFPORT = 2;
/** First ofport OVS hands to a pod veth (they are added without an ofport request). */
export const FIRST_POD_OFPORT = 3;

/** Where the brief's NodePorts comes from: one ofport per pod on the pod network of this node. */
export interface NodePorts {
  /** ofport of each non-hostNetwork pod on this node, keyed `namespace/name` (3, 4, ... in creation order) */
  pods: Map<string, number>;
}

export interface LocalPod {
  pod: Pod;
  ofport: number;
  vnid: number;
}

export interface SdnNodeContext {
  cluster: Cluster;
  mode: PluginMode;
  local: HostSubnet;
  localIP: Ipv4Address;
  /** The node's /23 (HostSubnet.subnet). */
  subnet: Ipv4Cidr;
  /** tun0's address: the subnet base with the low bit set (common.GenerateDefaultGateway). */
  gateway: Ipv4Address;
  clusterCidr: Ipv4Cidr;
  serviceCidr: Ipv4Cidr;
  /** Every other HostSubnet (subnets.go skips the one whose HostIP is the local IP), in cluster order. */
  remotes: HostSubnet[];
  /** Pods on the pod network of this node, in ofport order. */
  localPods: LocalPod[];
  /** VNID of a namespace: 0 for everything in subnet mode; the NetNamespace's netid otherwise. */
  vnidOf(namespace: string): number;
}

/** `namespace/name`, the key of NodePorts.pods. */
export function podKey(p: Pod): string {
  return `${p.namespace}/${p.name}`;
}

/** Pods that get a veth on br0: on this node and not hostNetwork. */
export function isLocalSdnPod(p: Pod, node: string): boolean {
  return p.node === node && !p.hostNetwork;
}

/** GenerateDefaultGateway: the first address of the subnet (`ip[3] | 1`). */
export function defaultGateway(subnet: Ipv4Cidr): Ipv4Address {
  return (subnet.network | 1) >>> 0;
}

/** Table 10/50/90 cookie of a remote node's flows: the first 4 bytes of sha256(HostSubnet UID) (hostSubnetCookie). */
export function hostSubnetCookie(uid: string): number {
  return createHash('sha256').update(uid, 'utf8').digest().readUInt32BE(0);
}

export function findHostSubnet(cluster: Cluster, node: string): HostSubnet {
  const hs = cluster.hostSubnets.find((h) => h.name === node);
  if (!hs) throw new Error(`openshift-sdn: no HostSubnet for node ${JSON.stringify(node)}`);
  return hs;
}

/**
 * The NetNamespace SDN tracks for a VNID. Several namespaces can share one (join-projects, or the global VNID 0);
 * the node's per-VNID maps keep the last one added, which is the last in cluster order here.
 */
export function netNamespacesByVnid(cluster: Cluster): Map<number, NetNamespace> {
  const m = new Map<number, NetNamespace>();
  for (const ns of cluster.netNamespaces) m.set(ns.netid, ns);
  return m;
}

/** `podsOfNode`: the node's pods in cluster order, when the caller has them (otherwise every pod is scanned). */
export function buildNodeContext(
  cluster: Cluster,
  node: string,
  ports: NodePorts,
  podsOfNode: readonly Pod[] = cluster.pods,
): SdnNodeContext {
  const local = findHostSubnet(cluster, node);
  const mode = cluster.network.mode;
  const netids = new Map(cluster.netNamespaces.map((ns) => [ns.name, ns.netid]));
  const vnidOf = (namespace: string): number => {
    if (mode === 'subnet') return 0;
    const v = netids.get(namespace);
    if (v === undefined) throw new Error(`openshift-sdn: no NetNamespace for namespace ${JSON.stringify(namespace)}`);
    return v;
  };
  const localPods: LocalPod[] = [];
  for (const pod of podsOfNode) {
    if (!isLocalSdnPod(pod, node)) continue;
    const ofport = ports.pods.get(podKey(pod));
    if (ofport === undefined) throw new Error(`openshift-sdn: no ofport for pod ${podKey(pod)} on ${node}`);
    localPods.push({ pod, ofport, vnid: vnidOf(pod.namespace) });
  }
  localPods.sort((a, b) => a.ofport - b.ofport);
  return {
    cluster,
    mode,
    local,
    localIP: local.hostIP,
    subnet: local.subnet,
    gateway: defaultGateway(local.subnet),
    clusterCidr: cluster.network.clusterNetwork,
    serviceCidr: cluster.network.serviceNetwork,
    remotes: cluster.hostSubnets.filter((h) => h !== local && h.hostIP !== local.hostIP),
    localPods,
    vnidOf,
  };
}
