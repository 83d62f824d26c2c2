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
import { EmulatedNode } from './emulated-node.js';
import { Runtime } from './runtime.js';
import { Stack } from './stack.js';

export const GATEWAY_HOST = 'underlay-gateway';

export interface EmulationOptions {
  seed?: number;
  /**
   * Replay recorded walks for frames whose headers were seen before (src/fastpath; default true). The output is
   * the same either way; false walks every packet (to compare, or to profile the slow path).
   */
  fastPath?: boolean;
}

export class Emulation {
  readonly runtime: Runtime;
  readonly underlay: Segment;
  readonly internet: Segment;
  readonly gateway: Stack;
  readonly nodes = new Map<string, EmulatedNode>();
  readonly externals = new Map<string, Stack>();

  constructor(readonly cluster: Cluster, opts: EmulationOptions = {}) {
    const rt = (this.runtime = new Runtime(opts.seed ?? 1, { fastPath: opts.fastPath }));
    this.underlay = new Segment(rt, 'underlay');
    this.internet = new Segment(rt, 'internet');
    const u = cluster.underlay;

    for (const hs of cluster.hostSubnets) this.nodes.set(hs.name, new EmulatedNode(rt, cluster, hs, this.underlay));
    // Endpoints on node addresses (the API server behind `kubernetes` on the masters) listen in the node's kernel.
    for (const ep of cluster.endpoints) {
      for (const a of ep.addresses) {
        const node = [...this.nodes.values()].find((n) => n.hostSubnet.hostIP === a.ip);
        if (!node || a.pod) continue;
        for (const p of ep.ports) {
          if (p.protocol === 'TCP') node.kernel.sockets.listenTcp(p.port, appFor(`${ep.namespace}/${ep.name} on ${node.name}`, p.port));
          else node.kernel.sockets.listenUdp(p.port, appFor(`${ep.namespace}/${ep.name} on ${node.name}`, p.port));
        }
      }
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
        for (const ip of svc.externalIPs) if (((ip & u.cidr.mask) >>> 0) === u.cidr.network) gw.setNeighbour(gwIn, ip, lbNode.nic.mac);
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

  node(name: string): EmulatedNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${JSON.stringify(name)}`);
    return n;
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

  /** Every stack, for lookups by address. */
  *stacks(): Iterable<Stack> {
    for (const n of this.nodes.values()) {
      yield n.kernel;
      for (const p of n.pods.values()) yield p.stack;
    }
    yield this.gateway;
    yield* this.externals.values();
  }

  /**
   * Let pending neighbour resolution finish (retries, then failure with ICMP host unreachable), as the kernel would
   * within a few seconds; called after each flow so no packet is left waiting in an ARP queue.
   */
  settle(): void {
    // Hosts are all made by the constructor: list them once (settle runs after every flow of a bulk run).
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
