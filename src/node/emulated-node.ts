/**
 * One OpenShift SDN node: its kernel (NIC on the underlay, tun0, routes, forwarding, iptables and conntrack),
 * br0 with the flows openshift-sdn programs for it, vxlan0, and one veth per pod-network pod, each pod with its
 * own network namespace (a Stack with eth0).
 *
 * Node routes follow SDN `sdn_controller.go setup`: the automatic `<subnet> dev tun0` route is deleted and
 * `<clusterNetwork> dev tun0 scope link` and `<serviceNetwork> dev tun0` are added. Pod routes follow the CNI
 * plugin: default and service network via the gateway, cluster network on-link, 224.0.0.0/4 on-link.
 */

import { createHash } from 'node:crypto';
import { cidr, type Ipv4Cidr } from '../../codecs/bytes.js';
import type { Cluster, HostSubnet, Pod } from '../cluster/types.js';
import { overlayMtu } from '../cluster/types.js';
import { Bridge, type BridgeHost, type CtRequest, type FlowRule } from '../ovs/bridge.js';
import { generateNodeFlows, type NodePorts } from '../ovs/openshift-flows.js';
import { defaultGateway, FIRST_POD_OFPORT, isLocalSdnPod, podKey } from '../ovs/openshift-context.js';
import { NetInterface } from '../ports/net-interface.js';
import { OFPORT_TUN0, OFPORT_VXLAN, Tun0Port, VethHostPort, type OvsPort } from '../ports/ovs-ports.js';
import type { Segment } from '../ports/segment.js';
import { Vxlan0Port } from '../ports/vxlan0.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { TraceRecorder } from '../trace/types.js';
import { CT_INV, CT_TRK } from '../buffer/packet-buffer.js';
import { createNodeNetfilter, type SharedKubeProxy } from '../netfilter/node-rules.js';
import { createEgressRouterNetfilter } from '../netfilter/egress-router.js';
import { MacvlanLink } from '../ports/macvlan.js';
import type { Netfilter } from '../netfilter/evaluate.js';
import { ETHERNET_HEADER_LEN } from '../../codecs/ethernet.js';
import { HOP_NS } from '../runtime/clock.js';
import { appFor } from './apps.js';
import { ovsCtExecute } from './ovs-conntrack.js';
import type { Runtime } from '../runtime/runtime.js';
import { Stack } from './stack.js';

const MULTICAST: Ipv4Cidr = cidr('224.0.0.0/4');

/** A pod on the pod network: its namespace stack, eth0 and the veth host end on br0. */
export interface PodInstance {
  pod: Pod;
  stack: Stack;
  eth0: NetInterface;
  veth: VethHostPort;
}

/** Host-end veth name: `veth` + 8 hex digits (random on a real node; derived from the pod name here). */
export function vethName(pod: Pod): string {
  return 'veth' + createHash('sha256').update(`${pod.namespace}/${pod.name}`).digest('hex').slice(0, 8);
}

/** What a node needs from its emulation beyond the cluster model (kept by the Emulation, shared by its nodes). */
export interface NodeSite {
  /** The underlay segment the node NIC (and any egress router's macvlan) plugs into. */
  readonly underlay: Segment;
  /** This node's pods in cluster order (hostNetwork ones included). */
  podsOf(node: string): readonly Pod[];
  /** Services listening in the node kernel besides hostNetwork pods (Endpoints on the node's own address). */
  kernelListeners(node: string): readonly { protocol: 'TCP' | 'UDP'; port: number; serverName: string }[];
  /** kube-proxy's rules, the same on every node: built and compiled once for the cluster, shared by the nodes. */
  kubeProxy(): SharedKubeProxy;
  /** Called once, right after the node's data path is built. */
  built(node: EmulatedNode): void;
}

/** The parts of a node built on first use (see EmulatedNode). */
interface NodeDataPath {
  bridge: Bridge;
  netfilter: Netfilter;
  vxlan0: Vxlan0Port;
  tun0Port: Tun0Port;
  pods: Map<string, PodInstance>;
}

/**
 * A node in two steps, so a cluster of thousands of nodes costs only the nodes a walk crosses:
 *  - at once (the "shell"): the kernel stack with its NIC on the underlay (node IP and egress IPs), tun0 with the
 *    gateway address, and the routes. That is all an underlay ARP needs: a broadcast reaches every node, and
 *    each answers or ignores it as the kernel's arp_process does, without iptables or OVS (ARP bypasses both);
 *  - on first use (`build()`): br0 with its flows and groups, iptables and conntrack, vxlan0, tun0's OVS port,
 *    and every pod with its namespace, eth0 and veth. An IPv4 frame arriving at the NIC (a VXLAN frame, traffic to
 *    the node IP), any of the accessors below, and Emulation.node() build it.
 * Building is deterministic and order-free (every random stream is forked by name from the run's seed), so the
 * same walk writes the same bytes whichever nodes were built before it, and in whatever order.
 */
export class EmulatedNode implements BridgeHost {
  readonly name: string;
  readonly kernel: Stack;
  readonly nic: NetInterface;
  readonly tun0: NetInterface;
  private dataPath: NodeDataPath | undefined;
  private readonly ports: (OvsPort | undefined)[] = [];

  constructor(
    readonly runtime: Runtime,
    readonly cluster: Cluster,
    readonly hostSubnet: HostSubnet,
    private readonly site: NodeSite,
  ) {
    const net = cluster.network;
    this.name = hostSubnet.name;
    const k = (this.kernel = new Stack(runtime, this.name));
    k.forwarding = true; // SDN sets net.ipv4.ip_forward=1

    // NIC on the underlay, with egress IPs as secondary addresses labelled `<if>:eip` (SDN egressip.go).
    const nic = (this.nic = k.addInterface(
      new NetInterface(runtime, k, 'eth0', hostSubnet.nicMac, cluster.underlay.mtu),
    ));
    nic.addAddress({ ip: hostSubnet.hostIP, prefix: cluster.underlay.cidr.prefix });
    for (const eip of hostSubnet.egressIPs)
      nic.addAddress({ ip: eip, prefix: cluster.underlay.cidr.prefix, label: 'eth0:eip' });
    // The first IPv4 frame for this node builds its data path before the kernel sees the frame; ARP never does.
    nic.peer = site.underlay.attachStation(
      nic.mac,
      {
        receiveFrame: (pkt) => {
          if (this.dataPath === undefined && isIpv4Frame(pkt)) this.build();
          nic.receiveFrame(pkt);
        },
      },
      nic,
    );

    const gateway = defaultGateway(hostSubnet.subnet);
    this.tun0 = k.addInterface(new NetInterface(runtime, k, 'tun0', hostSubnet.tun0Mac, overlayMtu(net)));
    this.tun0.addAddress({ ip: gateway, prefix: hostSubnet.subnet.prefix });
    this.tun0.scrubOnTransmit = false; // kernel -> OVS keeps the skb's conntrack entry

    k.routes.add({ dst: cluster.underlay.cidr, dev: nic, proto: 'kernel', scope: 'link', src: hostSubnet.hostIP });
    k.routes.add({ dst: cidr('0.0.0.0/0'), via: cluster.underlay.gateway, dev: nic });
    k.routes.add({ dst: net.clusterNetwork, dev: this.tun0, scope: 'link' });
    k.routes.add({ dst: net.serviceNetwork, dev: this.tun0 });
  }

  /** True once br0, iptables and the pods exist. */
  get built(): boolean {
    return this.dataPath !== undefined;
  }

  /** Build the data path now (idempotent); returns the node. */
  build(): this {
    if (this.dataPath === undefined) {
      this.dataPath = this.buildDataPath();
      this.site.built(this);
    }
    return this;
  }

  get bridge(): Bridge {
    return (this.dataPath ?? this.build().dataPath!).bridge;
  }

  get netfilter(): Netfilter {
    return (this.dataPath ?? this.build().dataPath!).netfilter;
  }

  get vxlan0(): Vxlan0Port {
    return (this.dataPath ?? this.build().dataPath!).vxlan0;
  }

  get tun0Port(): Tun0Port {
    return (this.dataPath ?? this.build().dataPath!).tun0Port;
  }

  /** Pods on the pod network of this node, by `namespace/name`, in ofport order. */
  get pods(): Map<string, PodInstance> {
    return (this.dataPath ?? this.build().dataPath!).pods;
  }

  private buildDataPath(): NodeDataPath {
    const { runtime, cluster, hostSubnet } = this;
    const net = cluster.network;
    const mtu = overlayMtu(net);
    const k = this.kernel;
    const underlay = this.site.underlay;

    // br0 and its ports.
    const { config, watch } = runtime;
    const bridge = new Bridge('br0', this, { pool: runtime.pool, now: () => runtime.clock.now / 1e6, config, watch }); // ms, for dump-flows durations
    const netfilter = createNodeNetfilter(cluster, this.name, {
      random: runtime.rng.fork(`netfilter:${this.name}`),
      clock: runtime.clock,
      config,
      watch,
      kubeProxy: this.site.kubeProxy(),
    });
    k.netfilter = netfilter;
    const vxlan0 = new Vxlan0Port(runtime, this.name, k, hostSubnet.hostIP, bridge, net.vxlanPort);
    const tun0Port = new Tun0Port(runtime, this.name, bridge);
    this.ports[OFPORT_VXLAN] = vxlan0;
    this.ports[OFPORT_TUN0] = tun0Port;
    this.tun0.peer = tun0Port;
    tun0Port.kernelDevice = this.tun0;
    const pods = new Map<string, PodInstance>();
    this.dataPath = { bridge, netfilter, vxlan0, tun0Port, pods }; // the pods' setup below reads them

    // Pods, in ofport order (vxlan0 = 1, tun0 = 2, pods from 3 in cluster order: assignPodPorts).
    const gateway = defaultGateway(hostSubnet.subnet);
    const local = this.site.podsOf(this.name);
    const assigned = localPodPorts(local, this.name);
    for (const pod of local) {
      const key = `${pod.namespace}/${pod.name}`;
      if (pod.hostNetwork) {
        for (const p of pod.ports) this.listen(k, p.protocol, p.port, `${key} (hostNetwork)`);
        continue;
      }
      const ofport = assigned.pods.get(key);
      if (ofport === undefined) continue;
      const ps = new Stack(runtime, key);
      const eth0 = ps.addInterface(new NetInterface(runtime, ps, 'eth0', pod.mac, mtu));
      eth0.addAddress({ ip: pod.ip, prefix: hostSubnet.subnet.prefix });
      ps.routes.add({ dst: hostSubnet.subnet, dev: eth0, proto: 'kernel', scope: 'link', src: pod.ip });
      ps.routes.add({ dst: cidr('0.0.0.0/0'), via: gateway, dev: eth0 });
      ps.routes.add({ dst: net.serviceNetwork, via: gateway, dev: eth0 });
      ps.routes.add({ dst: net.clusterNetwork, dev: eth0 });
      ps.routes.add({ dst: MULTICAST, dev: eth0 });
      for (const p of pod.ports) this.listen(ps, p.protocol, p.port, key);
      if (pod.egressRouter) this.setUpEgressRouter(ps, pod, eth0, underlay);
      const veth = new VethHostPort(runtime, this.name, ofport, vethName(pod), bridge);
      veth.mtu = mtu;
      veth.peer = eth0;
      eth0.peer = veth;
      this.ports[ofport] = veth;
      pods.set(key, { pod, stack: ps, eth0, veth });
    }
    // Endpoints on the node's own address (the API server behind `kubernetes` on the masters) listen in its kernel.
    for (const l of this.site.kernelListeners(this.name)) this.listen(k, l.protocol, l.port, l.serverName);

    const { flows, groups } = generateNodeFlows(cluster, this.name, assigned, local);
    for (const g of groups) bridge.addGroup(g);
    bridge.addFlows(flows.join('\n'));
    return this.dataPath;
  }

  /**
   * The legacy egress router (openshift/images egress-router.sh, iptables version): macvlan0 on the node NIC with
   * EGRESS_SOURCE/32, `ip route add $GW/32 dev macvlan0`, the default route moved to macvlan0, IP forwarding on,
   * and nat PREROUTING DNAT to EGRESS_DESTINATION / POSTROUTING SNAT to EGRESS_SOURCE.
   */
  private setUpEgressRouter(ps: Stack, pod: Pod, eth0: NetInterface, underlay: Segment): void {
    const cfg = pod.egressRouter!;
    const rt = this.runtime;
    const mv = ps.addInterface(new NetInterface(rt, ps, 'macvlan0', cfg.macvlanMac, this.cluster.underlay.mtu));
    mv.addAddress({ ip: cfg.source, prefix: 32 });
    new MacvlanLink(rt, mv, this.nic).attach(underlay);
    ps.routes.remove(cidr('0.0.0.0/0'), eth0);
    ps.routes.add({ dst: { network: cfg.gateway, prefix: 32, mask: 0xffffffff }, dev: mv, scope: 'link' });
    ps.routes.add({ dst: cidr('0.0.0.0/0'), via: cfg.gateway, dev: mv });
    ps.forwarding = true;
    ps.netfilter = createEgressRouterNetfilter(cfg, pod.ip, {
      random: rt.rng.fork(`netfilter:${pod.namespace}/${pod.name}`),
      now: () => rt.clock.now,
      node: `${pod.namespace}/${pod.name}`,
      config: rt.config,
      watch: rt.watch,
    });
  }

  private listen(stack: Stack, protocol: 'TCP' | 'UDP', port: number, serverName: string): void {
    if (protocol === 'TCP') stack.sockets.listenTcp(port, appFor(serverName, port));
    else stack.sockets.listenUdp(port, appFor(serverName, port));
  }

  // ---- BridgeHost

  output(port: number, pkt: PacketBuffer, _trace?: TraceRecorder, rule?: FlowRule): void {
    const p = this.ports[port];
    if (!p) return this.runtime.drop(pkt, this.name, `br0: output to missing port ${port}`);
    const rt = this.runtime;
    // The flow that output the frame is the next capture point's comment.
    if (rt.capture) pkt.hopReason = rule ? rule.hopComment(this.bridge.name) : undefined;
    rt.clock.advance(HOP_NS.bridge);
    p.output(pkt);
  }

  /** OVS ct(): the same kernel conntrack table iptables uses (zone 0), as on a real node. */
  conntrack(pkt: PacketBuffer, req: CtRequest, trace?: TraceRecorder): string | undefined {
    // br0 flows only send IP to ct(); frames on br0 are untagged Ethernet. (Only a built node's br0 calls this.)
    const refused = ovsCtExecute(this.dataPath!.netfilter, pkt, pkt.start + ETHERNET_HEADER_LEN, req, trace);
    if (refused !== undefined) pkt.ctState = CT_TRK | CT_INV;
    return refused;
  }

  portName(port: number): string {
    return this.ports[port]?.name ?? `port${port}`;
  }

  /**
   * Move a pod's veth to another ofport (a real node's numbering, state/): the pod keeps its namespace and eth0,
   * br0 sees it on the new port.
   */
  movePodPort(key: string, ofport: number): void {
    const inst = this.pods.get(key);
    if (!inst || inst.veth.ofport === ofport) return;
    if (ofport <= OFPORT_TUN0 || this.ports[ofport]) throw new Error(`ofport ${ofport} of ${this.name} is taken`);
    const veth = new VethHostPort(this.runtime, this.name, ofport, inst.veth.name, this.bridge);
    veth.peer = inst.eth0;
    inst.eth0.peer = veth;
    this.ports[inst.veth.ofport] = undefined;
    this.ports[ofport] = veth;
    this.pods.set(key, { ...inst, veth });
  }

  /** The br0 ports in ofport order (vxlan0, tun0, veths). */
  ovsPorts(): OvsPort[] {
    return this.ports.filter((p): p is OvsPort => p !== undefined);
  }
}

/** An Ethernet frame carrying IPv4 (what makes an unbuilt node build its data path). */
function isIpv4Frame(pkt: PacketBuffer): boolean {
  const d = pkt.data,
    s = pkt.start;
  return pkt.end - s >= ETHERNET_HEADER_LEN && d[s + 12] === 0x08 && d[s + 13] === 0x00;
}

/** ofports of a node's pods on the pod network, from 3 in cluster order (assignPodPorts on this node's pods). */
function localPodPorts(local: readonly Pod[], node: string): NodePorts {
  const pods = new Map<string, number>();
  let next = FIRST_POD_OFPORT;
  for (const p of local) if (isLocalSdnPod(p, node)) pods.set(podKey(p), next++);
  return { pods };
}
