/**
 * Emulation: a whole cluster brought up from its model — every node, pod namespace and port, the underlay
 * segment, the underlay gateway and the external hosts behind it — sharing one Runtime.
 *
 * Outside the cluster (simplified, and said so): the underlay gateway is a plain router with one leg on the
 * node subnet and one on an "internet" segment where the external hosts live (each external host's /24 is
 * connected to the gateway's internet leg, gateway address .1).
 */

import { cidr, type Ipv4Address } from '../../codecs/bytes.js';
import type { Cluster, Pod } from '../cluster/types.js';
import { NetInterface } from '../ports/net-interface.js';
import { Segment } from '../ports/segment.js';
import { appFor } from './apps.js';
import { ClusterIndex } from '../cluster/cluster-index.js';
import { sharedKubeProxy, type SharedKubeProxy } from '../netfilter/node-rules.js';
import { EmulatedNode, type NodeSite } from './emulated-node.js';
import { Runtime, type PathCacheFactory } from '../runtime/runtime.js';
import { Stack } from './stack.js';

export const GATEWAY_HOST = 'underlay-gateway';

export interface EmulationOptions {
  seed?: number;
  /**
   * A whole-walk cache that replays recorded walks for frames whose headers were seen before: src/fastpath's
   * `createFastPath`, injected by whoever builds the emulation (the data path does not know it). The output is the
   * same either way; without one every packet walks (to compare, or to profile the slow path).
   */
  fastPath?: PathCacheFactory;
}

export class Emulation {
  readonly runtime: Runtime;
  readonly underlay: Segment;
  readonly internet: Segment;
  readonly gateway: Stack;
  /**
   * Every node of the cluster, in HostSubnet order. A node's kernel, NIC and tun0 exist from the start; its br0,
   * iptables and pods are built when a walk first reaches it or when asked for (`node(name)`, or any of the
   * node's data-path accessors): see EmulatedNode.
   */
  readonly nodes = new Map<string, EmulatedNode>();
  readonly externals = new Map<string, Stack>();
  /** Lookups into the cluster (pods by name and by node, services...), built once. */
  readonly index: ClusterIndex;
  private readonly builtNodes: EmulatedNode[] = [];
  private readonly builtListeners: ((node: EmulatedNode) => void)[] = [];

  constructor(
    readonly cluster: Cluster,
    opts: EmulationOptions = {},
  ) {
    const rt = (this.runtime = new Runtime(opts.seed ?? 1, { fastPath: opts.fastPath }));
    this.underlay = new Segment(rt, 'underlay');
    this.internet = new Segment(rt, 'internet');
    const u = cluster.underlay;
    const index = (this.index = new ClusterIndex(cluster));

    // Endpoints on node addresses (the API server behind `kubernetes` on the masters) listen in the node's kernel.
    const listeners = new Map<string, { protocol: 'TCP' | 'UDP'; port: number; serverName: string }[]>();
    for (const ep of cluster.endpoints) {
      for (const a of ep.addresses) {
        const node = index.nodeByHostIp.get(a.ip);
        if (!node || a.pod) continue;
        let l = listeners.get(node.name);
        if (!l) listeners.set(node.name, (l = []));
        for (const p of ep.ports)
          l.push({ protocol: p.protocol, port: p.port, serverName: `${ep.namespace}/${ep.name} on ${node.name}` });
      }
    }
    let kubeProxy: SharedKubeProxy | undefined;
    const site: NodeSite = {
      underlay: this.underlay,
      podsOf: (node) => index.podsByNode.get(node) ?? [],
      kernelListeners: (node) => listeners.get(node) ?? [],
      kubeProxy: () => (kubeProxy ??= sharedKubeProxy(cluster)),
      built: (node) => {
        this.builtNodes.push(node);
        this.allStacks = undefined;
        for (const f of this.builtListeners) f(node);
      },
    };
    for (const hs of cluster.hostSubnets) {
      const node = new EmulatedNode(rt, cluster, hs, site);
      this.nodes.set(hs.name, node);
      // An egress router's macvlan0 is a station of its own on the underlay, beside the node NIC: built with it,
      // so the underlay's stations (and the order broadcasts are flooded in) are those of a whole cluster.
      if (index.podsByNode.get(hs.name)?.some((p) => p.egressRouter && !p.hostNetwork)) node.build();
    }

    const gw = (this.gateway = new Stack(rt, GATEWAY_HOST));
    gw.forwarding = true;
    const gwIn = gw.addInterface(new NetInterface(rt, gw, 'eth0', u.gatewayMac, u.mtu));
    gwIn.addAddress({ ip: u.gateway, prefix: u.cidr.prefix });
    this.underlay.attach(gwIn);
    gw.routes.add({ dst: u.cidr, dev: gwIn, proto: 'kernel', scope: 'link', src: u.gateway });
    const gwOut = gw.addInterface(new NetInterface(rt, gw, 'eth1', 0x02_00_5e_00_71_01, 1500));
    this.internet.attach(gwOut);

    // A LoadBalancer's ingress IP on the underlay is delivered by the gateway to one worker (Azure's load balancer
    // with floating IP keeps the destination address), where kube-proxy's KUBE-FW/KUBE-EXT rules take over.
    const lbNode = [...this.nodes.values()].find((n) => !/master/.test(n.name)) ?? [...this.nodes.values()][0];
    if (lbNode) {
      for (const svc of cluster.services) {
        if (svc.type !== 'LoadBalancer') continue;
        for (const ip of svc.externalIPs)
          if ((ip & u.cidr.mask) >>> 0 === u.cidr.network) gw.setNeighbour(gwIn, ip, lbNode.nic.mac);
      }
    }

    let extIndex = 0;
    for (const ext of cluster.externalHosts) {
      const s = new Stack(rt, ext.name);
      const net24 = cidr(`${ipToNet24(ext.ip)}/24`);
      const gwSide = (net24.network | 1) >>> 0;
      if (!gwOut.hasAddress(gwSide)) {
        gwOut.addAddress({ ip: gwSide, prefix: 24 });
        gw.routes.add({ dst: net24, dev: gwOut, proto: 'kernel', scope: 'link', src: gwSide });
      }
      const mac = ext.mac || 0x02_00_5e_00_72_00 + ++extIndex;
      const e = s.addInterface(new NetInterface(rt, s, 'eth0', mac, 1500));
      e.addAddress({ ip: ext.ip, prefix: 24 });
      this.internet.attach(e);
      s.routes.add({ dst: net24, dev: e, proto: 'kernel', scope: 'link', src: ext.ip });
      s.routes.add({ dst: cidr('0.0.0.0/0'), via: gwSide, dev: e });
      for (const port of [80, 443, 8080]) s.sockets.listenTcp(port, appFor(ext.name, port));
      s.sockets.listenUdp(53, appFor(ext.name, 53));
      this.externals.set(ext.name, s);
    }
  }

  /** The node named `name`, with its data path built (br0, iptables, pods); throws for an unknown name. */
  node(name: string): EmulatedNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${JSON.stringify(name)}`);
    return n.build();
  }

  /** Build every node now (what a whole-cluster view needs: shard replicas, state comparisons). */
  buildAll(): this {
    for (const n of this.nodes.values()) n.build();
    return this;
  }

  /** How many nodes have their data path built so far. */
  get builtNodeCount(): number {
    return this.builtNodes.length;
  }

  /** Call `f` for every node built from now on (nodes built before are in `nodes` with `built` true). */
  onNodeBuilt(f: (node: EmulatedNode) => void): void {
    this.builtListeners.push(f);
  }

  /** The stack a pod's traffic starts from: its own namespace, or its node's kernel for hostNetwork pods. */
  podStack(pod: Pod): Stack {
    const node = this.node(pod.node);
    if (pod.hostNetwork) return node.kernel;
    const inst = node.pods.get(`${pod.namespace}/${pod.name}`);
    if (!inst) throw new Error(`pod ${pod.namespace}/${pod.name} has no namespace on ${pod.node}`);
    return inst.stack;
  }

  external(name: string): Stack {
    const s = this.externals.get(name);
    if (!s) throw new Error(`no external host ${JSON.stringify(name)}`);
    return s;
  }

  /** Every stack that exists (the pods of nodes not built yet have none), for lookups by address. */
  *stacks(): Iterable<Stack> {
    for (const n of this.nodes.values()) {
      yield n.kernel;
      if (n.built) for (const p of n.pods.values()) yield p.stack;
    }
    yield this.gateway;
    yield* this.externals.values();
  }

  /**
   * Let pending neighbour resolution finish (retries, then failure with ICMP host unreachable), as the kernel would
   * within a few seconds; called after each flow so no packet is left waiting in an ARP queue.
   */
  settle(): void {
    // Listed once per set of built nodes (settle runs after every flow of a bulk run).
    const all = (this.allStacks ??= [...this.stacks()]);
    for (let round = 0; round < 8; round++) {
      let failed = 0;
      for (let i = 0; i < all.length; i++) failed += all[i]!.settleNeighbours();
      if (failed === 0) return;
    }
  }
  private allStacks: Stack[] | undefined;

  /** The host that owns an address (first match), for traces and pictures. */
  hostOf(ip: Ipv4Address): Stack | undefined {
    for (const s of this.stacks()) if (s.isLocalAddress(ip)) return s;
    return undefined;
  }
}

function ipToNet24(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.0`;
}
