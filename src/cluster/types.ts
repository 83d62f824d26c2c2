/**
 * The cluster model: the OpenShift SDN objects a node's data path is programmed from. Addresses are integers
 * (codecs/bytes.ts); names are as `oc get` shows them. Loaded and validated by cluster/load.ts; the built-in
 * ARO cluster is cluster/builtin.ts.
 */

import type { Ipv4Address, Ipv4Cidr, MacAddress } from '../../codecs/bytes.js';

export type PluginMode = 'subnet' | 'multitenant' | 'networkpolicy';

export const PLUGIN_NAMES: Record<PluginMode, string> = {
  subnet: 'redhat/openshift-ovs-subnet',
  multitenant: 'redhat/openshift-ovs-multitenant',
  networkpolicy: 'redhat/openshift-ovs-networkpolicy',
};

/** `ClusterNetwork` object (network.openshift.io/v1) plus node-level settings. */
export interface ClusterNetwork {
  name: string; // "default"
  clusterNetwork: Ipv4Cidr; // 10.128.0.0/14
  hostSubnetLength: number; // 9 => /23 per node
  serviceNetwork: Ipv4Cidr; // 172.30.0.0/16
  mode: PluginMode;
  /** Node NIC MTU (1500); the overlay MTU is mtu - 50. */
  mtu: number;
  vxlanPort: number; // 4789
}

/** `HostSubnet` object: one per node. */
export interface HostSubnet {
  /** Node name (also the HostSubnet name and `host`). */
  name: string;
  hostIP: Ipv4Address;
  subnet: Ipv4Cidr;
  egressIPs: Ipv4Address[];
  egressCIDRs: Ipv4Cidr[];
  /** metadata.uid; table 10 cookies are the first 4 bytes of sha256(uid). */
  uid: string;
  /** Node NIC MAC on the underlay (derived deterministically when not given). */
  nicMac: MacAddress;
  /** tun0 MAC (OVS picks a random one on a real node; deterministic here). */
  tun0Mac: MacAddress;
}

/** `NetNamespace` object: a namespace's VNID. */
export interface NetNamespace {
  name: string;
  netid: number;
  egressIPs: Ipv4Address[];
  multicast: boolean;
  /** Labels of the Namespace of the same name (for NetworkPolicy namespaceSelector); set by cluster/build.ts. */
  namespaceLabels?: Record<string, string>;
}

export interface Pod {
  namespace: string;
  name: string;
  node: string;
  ip: Ipv4Address;
  hostNetwork: boolean;
  labels: Record<string, string>;
  /** Derived 0a:58:<ip> for SDN pods; the node NIC MAC for hostNetwork pods. */
  mac: MacAddress;
  /** Container ports the pod listens on: `${protocol}/${port}`, e.g. "TCP/1433". */
  ports: { protocol: 'TCP' | 'UDP'; port: number }[];
  /** Egress router pods: macvlan settings (pod.network.openshift.io/assign-macvlan). */
  egressRouter?: EgressRouterConfig;
}

export interface EgressRouterConfig {
  source: Ipv4Address; // EGRESS_SOURCE
  gateway: Ipv4Address; // EGRESS_GATEWAY
  /** EGRESS_DESTINATION lines: a fallback IP and/or per-port redirects. */
  destinations: { port?: number; protocol?: 'TCP' | 'UDP'; ip: Ipv4Address; targetPort?: number }[];
  macvlanMac: MacAddress;
}

export interface ServicePort {
  name?: string;
  protocol: 'TCP' | 'UDP';
  port: number;
  targetPort: number;
  nodePort?: number;
}

export interface Service {
  namespace: string;
  name: string;
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  clusterIP: Ipv4Address;
  ports: ServicePort[];
  selector: Record<string, string>;
  /** LoadBalancer ingress IPs (status.loadBalancer.ingress[].ip) and spec.externalIPs. */
  externalIPs: Ipv4Address[];
}

export interface EndpointAddress {
  ip: Ipv4Address;
  /** namespace/name of the pod behind it, when it is a pod. */
  pod?: string;
  node?: string;
}

export interface Endpoints {
  namespace: string;
  name: string;
  addresses: EndpointAddress[];
  ports: { name?: string; protocol: 'TCP' | 'UDP'; port: number }[];
}

export interface EgressNetworkPolicyRule {
  type: 'Allow' | 'Deny';
  cidrSelector: Ipv4Cidr;
}

export interface EgressNetworkPolicy {
  namespace: string;
  name: string;
  rules: EgressNetworkPolicyRule[];
}

/** A NetworkPolicy reduced to what openshift-sdn's table 80 (ingress) / 27 (egress) compile. */
export interface NetworkPolicyPeer {
  podSelector?: Record<string, string>;
  namespaceSelector?: Record<string, string>;
  ipBlock?: { cidr: Ipv4Cidr; except: Ipv4Cidr[] };
}

export interface NetworkPolicyRule {
  peers: NetworkPolicyPeer[]; // empty = all sources/destinations
  ports: { protocol: 'TCP' | 'UDP'; port: number }[]; // empty = all ports
}

export interface NetworkPolicy {
  namespace: string;
  name: string;
  podSelector: Record<string, string>; // empty = all pods in the namespace
  policyTypes: ('Ingress' | 'Egress')[];
  ingress: NetworkPolicyRule[];
  egress: NetworkPolicyRule[];
}

/** A host outside the cluster, reached through the underlay gateway. */
export interface ExternalHost {
  name: string;
  ip: Ipv4Address;
  mac: MacAddress;
}

/** The physical network the node NICs sit on. */
export interface Underlay {
  cidr: Ipv4Cidr; // 192.168.0.0/24
  gateway: Ipv4Address; // 192.168.0.1
  gatewayMac: MacAddress;
  mtu: number; // node NIC MTU (1500)
}

export interface Cluster {
  network: ClusterNetwork;
  hostSubnets: HostSubnet[];
  netNamespaces: NetNamespace[];
  pods: Pod[];
  services: Service[];
  endpoints: Endpoints[];
  egressNetworkPolicies: EgressNetworkPolicy[];
  networkPolicies: NetworkPolicy[];
  underlay: Underlay;
  externalHosts: ExternalHost[];
}

/** Overlay MTU: node MTU minus the 50 bytes of VXLAN overhead (CNO: `mtu = hostMTU - 50`). */
export function overlayMtu(n: ClusterNetwork): number {
  return n.mtu - 50;
}
