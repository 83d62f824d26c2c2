/**
 * Lookups the data path needs, built once per Cluster as Maps (no linear scans when a packet asks "which pod has
 * this IP" or "which node owns this subnet"). The Cluster must not be changed after the index is built.
 */

import { prefixMask, type Ipv4Address } from '../../codecs/bytes.js';
import type { Cluster, Endpoints, ExternalHost, HostSubnet, NetNamespace, Pod, Service } from './types.js';

export class ClusterIndex {
  /** HostSubnet by node name. */
  readonly nodeByName = new Map<string, HostSubnet>();
  /** HostSubnet by node IP (hostIP on the underlay). */
  readonly nodeByHostIp = new Map<Ipv4Address, HostSubnet>();
  /** Pod by `namespace/name`. */
  readonly podByKey = new Map<string, Pod>();
  /** Pod by its overlay IP. hostNetwork pods share their node's IP and are not in this map (see nodeByHostIp). */
  readonly podByIp = new Map<Ipv4Address, Pod>();
  /** Pods of each node, in file order. */
  readonly podsByNode = new Map<string, Pod[]>();
  /** Service by `namespace/name`. */
  readonly serviceByKey = new Map<string, Service>();
  /** Service by cluster IP. */
  readonly serviceByClusterIp = new Map<Ipv4Address, Service>();
  /** Endpoints by `namespace/name` (the Service's). */
  readonly endpointsByKey = new Map<string, Endpoints>();
  /** NetNamespace by namespace name. */
  readonly netNamespaceByName = new Map<string, NetNamespace>();
  /** The node currently hosting each egress IP (HostSubnet.egressIPs after automatic assignment). */
  readonly egressNodeByIp = new Map<Ipv4Address, HostSubnet>();
  /** External hosts by IP. */
  readonly externalHostByIp = new Map<Ipv4Address, ExternalHost>();

  /** Node subnets all have the same prefix, so `ip & subnetMask` finds a pod IP's node in one lookup. */
  private readonly subnetMask: number;
  private readonly nodeBySubnet = new Map<number, HostSubnet>();

  constructor(readonly cluster: Cluster) {
    this.subnetMask = prefixMask(32 - cluster.network.hostSubnetLength);
    for (const h of cluster.hostSubnets) {
      this.nodeByName.set(h.name, h);
      this.nodeByHostIp.set(h.hostIP, h);
      this.nodeBySubnet.set(h.subnet.network, h);
      this.podsByNode.set(h.name, []);
      for (const ip of h.egressIPs) this.egressNodeByIp.set(ip, h);
    }
    for (const p of cluster.pods) {
      this.podByKey.set(`${p.namespace}/${p.name}`, p);
      if (!p.hostNetwork) this.podByIp.set(p.ip, p);
      this.podsByNode.get(p.node)!.push(p);
    }
    for (const s of cluster.services) {
      this.serviceByKey.set(`${s.namespace}/${s.name}`, s);
      this.serviceByClusterIp.set(s.clusterIP, s);
    }
    for (const e of cluster.endpoints) this.endpointsByKey.set(`${e.namespace}/${e.name}`, e);
    for (const n of cluster.netNamespaces) this.netNamespaceByName.set(n.name, n);
    for (const x of cluster.externalHosts) this.externalHostByIp.set(x.ip, x);
  }

  node(name: string): HostSubnet | undefined {
    return this.nodeByName.get(name);
  }

  pod(namespace: string, name: string): Pod | undefined {
    return this.podByKey.get(`${namespace}/${name}`);
  }

  service(namespace: string, name: string): Service | undefined {
    return this.serviceByKey.get(`${namespace}/${name}`);
  }

  endpoints(namespace: string, name: string): Endpoints | undefined {
    return this.endpointsByKey.get(`${namespace}/${name}`);
  }

  /** The VNID of a namespace (every namespace an object uses has a NetNamespace). */
  vnid(namespace: string): number | undefined {
    return this.netNamespaceByName.get(namespace)?.netid;
  }

  /** The node whose subnet holds an overlay address (a pod IP or a node's tun0 gateway), if any. */
  nodeForOverlayIp(ip: Ipv4Address): HostSubnet | undefined {
    return this.nodeBySubnet.get((ip & this.subnetMask) >>> 0);
  }

  /** The node hosting an egress IP, or undefined when no node does (the namespace's egress is then dropped). */
  egressNode(ip: Ipv4Address): HostSubnet | undefined {
    return this.egressNodeByIp.get(ip);
  }
}
